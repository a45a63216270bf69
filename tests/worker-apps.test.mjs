// Applications end to end in workerd against the fake Auth0: who can reach each application
// equals a reference computed here from the fake's own data, toggling enabled clients moves
// reach (and writes reach events), and each optional scope can be absent.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations, CONNECTIONS } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, parseCsv } from "./support/worker.mjs";
import { startTenant } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
requireBuiltWorker();

// read:logs too (an empty log adds no note), so a run's history holds only what the
// applications part says.
const ALL_SCOPES = ["read:users", "read:organizations", "read:organization_members",
  "read:clients", "read:connections", "read:organization_connections", "read:logs"];
const [DB, GOOGLE, SAML, WAAD] = CONNECTIONS.map((c) => c.id);

async function sync(w) {
  const res = await w.authedFetch("/api/sync", { method: "POST" });
  assert.equal(res.status, 200);
  return (await res.json()).run;
}

/** A tenant with applications of every kind, wired to connections and organizations. */
function tenantOptions(scopes = ALL_SCOPES) {
  const users = makeUsers(300, { seed: 12, now: NOW });
  const { organizations, members } = makeOrganizations(3, { seed: 12, users, sizes: [60, 25, 4] });
  const applications = [
    { client_id: "spa_portal", name: "Portal <img src=x onerror=alert(1)>", app_type: "spa" },
    { client_id: "web_billing", name: "=Billing", app_type: "regular_web" },
    { client_id: "native_mobile", name: "Mobile", app_type: "native" },
    { client_id: "b2b_console", name: "Partner console", app_type: "regular_web", organization_usage: "require" },
    { client_id: "test-client-id", name: "auth0-license-sync", app_type: "non_interactive" },
  ];
  const enabledClients = new Map([
    [DB, ["spa_portal", "web_billing", "b2b_console", "test-client-id"]],
    [GOOGLE, ["spa_portal", "native_mobile"]],
    [SAML, ["b2b_console"]],
    [WAAD, []],
  ]);
  const orgConnections = new Map([[organizations[0].id, [SAML]], [organizations[1].id, [DB, SAML]]]);
  return { users, organizations, members, applications, enabledClients, orgConnections, scopes, appPageSize: 2 };
}

/** Who can reach each non-M2M application, by the rule, from the fake's data. */
function reference(fake) {
  const byName = new Map(fake.connections.map((c) => [c.name, c.id]));
  const orgsOf = new Map();
  for (const [org, ids] of fake.members) for (const u of ids) orgsOf.set(u, [...(orgsOf.get(u) ?? []), org]);
  const out = {};
  for (const a of fake.applications) {
    if (a.app_type === "non_interactive") continue;
    out[a.client_id] = fake.users.filter((u) => {
      if (u.blocked) return false;
      return u.identities.some((i) => {
        const con = byName.get(i.connection);
        if (!con || !(fake.enabledClients.get(con) ?? []).includes(a.client_id)) return false;
        if (a.organization_usage !== "require") return true;
        return (orgsOf.get(u.user_id) ?? []).some((o) => (fake.orgConnections.get(o) ?? []).includes(con));
      });
    }).map((u) => u.user_id).sort();
  }
  return out;
}

async function reachByApi(w) {
  const list = await (await w.authedFetch("/api/applications")).json();
  const out = {};
  for (const a of list.applications) {
    const ids = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({ limit: "37", ...(cursor ? { cursor } : {}) });
      const page = await (await w.authedFetch(`/api/applications/${encodeURIComponent(a.client_id)}/users?${q}`)).json();
      ids.push(...page.users.filter((u) => u.can_reach).map((u) => u.user_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.equal(a.users_can_reach, ids.length, a.client_id);
    out[a.client_id] = ids.sort();
  }
  return out;
}

describe("applications end to end", () => {
  let fake, w;
  before(async () => ({ fake, w } = await startTenant(tenantOptions(), { VIEWER_TOKEN })));
  after(async () => { await w?.close(); await fake?.close(); });

  test("who can reach each application equals the rule applied to the tenant", async () => {
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.error, null);
    const want = reference(fake);
    assert.ok(Object.values(want).every((ids) => ids.length > 0), JSON.stringify(Object.values(want).map((x) => x.length)));
    assert.deepEqual(await reachByApi(w), want);
    // The secret was never asked for, so never stored; the M2M app is kept but not listed.
    assert.ok(fake.requests.filter((r) => r.kind === "applications").every((r) => r.query.fields && !r.query.fields.includes("secret")));
    const stored = await w.db.prepare("SELECT client_id FROM applications ORDER BY client_id").all();
    assert.equal(stored.results.length, 5);
    assert.equal((await w.authedFetch("/api/applications/test-client-id")).status, 404);
    const body = await (await w.authedFetch("/api/applications")).text();
    assert.ok(!body.includes("secret-of-"));
    const { n } = await w.db.prepare("SELECT COUNT(*) AS n FROM access_events WHERE type LIKE 'app_%'").first();
    assert.equal(n, 0, "the first sync is a baseline");
  });

  test("toggling a connection's clients moves reach and writes the reach events", async () => {
    const before = reference(fake);
    fake.enabledClients.set(GOOGLE, ["native_mobile", "web_billing"]);
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const want = reference(fake);
    assert.deepEqual(await reachByApi(w), want);
    const { results } = await w.db.prepare("SELECT type, client_id, user_id FROM access_events WHERE type LIKE 'app_%' ORDER BY client_id, user_id, type").all();
    const expected = [];
    for (const app of Object.keys(want)) {
      for (const u of want[app]) if (!before[app].includes(u)) expected.push({ type: "app_reachable", client_id: app, user_id: u });
      for (const u of before[app]) if (!want[app].includes(u)) expected.push({ type: "app_unreachable", client_id: app, user_id: u });
    }
    const key = (e) => `${e.client_id} ${e.user_id} ${e.type}`;
    expected.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    results.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    assert.ok(expected.length > 0);
    assert.deepEqual(results, expected);
    // Nothing changed: no writes, no events.
    const again = await sync(w);
    assert.equal(again.rows_written, 0);
  });

  test("pages and CSVs show the applications", async () => {
    const page = await (await w.authedFetch("/applications")).text();
    assert.ok(page.includes("Portal &lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(!page.includes("<img"));
    assert.ok(page.includes('href="/applications/spa_portal"'));
    const csv = await (await w.authedFetch("/applications.csv")).text();
    assert.ok(csv.includes("\"'=Billing\""), csv);
    const users = await (await w.authedFetch("/applications/spa_portal/users.csv")).text();
    assert.equal(users.trim().split("\r\n").length, 1 + reference(fake).spa_portal.length);
    const detail = await (await w.authedFetch(`/api/users/${encodeURIComponent(reference(fake).spa_portal[0])}`)).json();
    assert.ok(detail.applications.some((a) => a.client_id === "spa_portal" && a.can_reach === true));
    assert.equal((await w.authedFetch("/api/applications/spa_portal/users?activity=sometimes")).status, 400);
  });
});

describe("missing optional scopes", () => {
  for (const scope of ["read:clients", "read:connections"]) {
    test(`without ${scope} the user sync succeeds and every view says what to grant`, async () => {
      const { fake, w } = await startTenant(tenantOptions(ALL_SCOPES.filter((s) => s !== scope)), { VIEWER_TOKEN });
      try {
        const run = await sync(w);
        assert.equal(run.status, "succeeded", JSON.stringify(run));
        assert.equal(run.users_seen, 300);
        assert.match(run.error, new RegExp(`not enabled: grant ${scope}`));
        const runs = await (await w.authedFetch("/api/sync-runs")).json();
        assert.match(runs.runs[0].error, new RegExp(`grant ${scope}`));
        const api = await (await w.authedFetch("/api/applications")).json();
        assert.ok(api.not_enabled.some((n) => n.scope === scope && n.message.startsWith(`not enabled: grant ${scope}`)), JSON.stringify(api.not_enabled));
        const page = await (await w.authedFetch("/applications")).text();
        assert.ok(page.includes(`not enabled: grant ${scope}`));
        const kind = scope === "read:clients" ? "applications" : "connections";
        assert.equal(fake.requests.filter((r) => r.kind === kind).length, 0, "nothing asked without the scope");
      } finally { await w.close(); await fake.close(); }
    });
  }
});

describe("application users CSV streamed page by page", () => {
  test("an export longer than one page (1,000 rows) has every user exactly once, filters kept", async () => {
    const users = makeUsers(1234, { seed: 5, now: NOW });
    const applications = [{ client_id: "wide", name: "=Wide <b>", app_type: "spa" }];
    const enabledClients = new Map(CONNECTIONS.map((c) => [c.id, ["wide"]]));
    const { fake, w } = await startTenant({ users, applications, enabledClients, scopes: ALL_SCOPES }, { VIEWER_TOKEN });
    try {
      let run = await sync(w);
      while (run.status === "running" || run.cursor) run = await sync(w);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      const reach = fake.users.filter((u) => !u.blocked).map((u) => u.user_id).sort();
      assert.ok(reach.length > 1000, `${reach.length} users can reach it`);
      const res = await w.authedFetch("/applications/wide/users.csv");
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /^text\/csv/);
      assert.match(res.headers.get("content-disposition"), /application-users\.csv/);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], "the BOM, once, first");
      const header = "user_id,email,name,connection,can_reach,last_login,logins,last_seen";
      const text = bytes.subarray(3).toString("utf8");
      assert.ok(text.startsWith(`${header}\r\n`));
      assert.equal(text.split(header).length, 2, "one header");
      assert.ok(!text.includes("\uFEFF"), "one BOM");
      const ids = parseCsv(text).slice(1).map((r) => r[0]);
      assert.deepEqual([...ids].sort(), reach, "every user exactly once");
      // A filter holds across pages: the never-used users are everyone here (no log read).
      const q = users.find((u) => u.email)?.email.slice(0, 4);
      const filtered = parseCsv(await (await w.authedFetch(`/applications/wide/users.csv?activity=never&q=${encodeURIComponent(q)}`)).text()).slice(1);
      const api = [];
      for (let cursor = ""; ;) {
        const page = await (await w.authedFetch(`/api/applications/wide/users?activity=never&q=${encodeURIComponent(q)}&limit=1000${cursor}`)).json();
        api.push(...page.users.map((u) => u.user_id));
        if (!page.next_cursor) break;
        cursor = `&cursor=${encodeURIComponent(page.next_cursor)}`;
      }
      assert.ok(api.length > 0);
      assert.deepEqual(filtered.map((r) => r[0]), api);
    } finally {
      await w.close();
      await fake.close();
    }
  });
});
