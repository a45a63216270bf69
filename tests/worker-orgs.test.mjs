// End-to-end tests of organization and membership sync in workerd against the fake Auth0.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { requireBuiltWorker } from "./support/worker.mjs";
import { startTenant, storedMemberships, truthMemberships } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

const setup = (fakeOpts) => startTenant(fakeOpts, { VIEWER_TOKEN });
const truth = truthMemberships;

async function sync(w) {
  const res = await w.authedFetch("/api/sync", { method: "POST" });
  assert.equal(res.status, 200);
  return (await res.json()).run;
}

describe("organizations end to end", () => {
  let fake, w;
  const users = makeUsers(2000, { seed: 31, now: NOW });
  // 1,300 members (past offset paging's 1000), one of exactly 200 (full pages, then the empty
  // final page the API sends), and a small one.
  const { organizations, members } = makeOrganizations(3, { seed: 31, users, sizes: [1300, 200, 5] });
  before(async () => ({ fake, w } = await setup({ users, organizations, members })));
  after(async () => { await w?.close(); await fake?.close(); });

  test("every organization and membership is stored, via checkpoint paging only", async () => {
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.organizations_seen, 3);
    assert.equal(run.memberships_seen, 1505);
    assert.deepEqual(await storedMemberships(w.db), truth(fake));
    const { results: orgs } = await w.db.prepare("SELECT id, name, display_name, removed_at FROM organizations ORDER BY id").all();
    assert.deepEqual(orgs, [...fake.organizations].sort((a, b) => a.id.localeCompare(b.id)).map((o) => ({ ...o, removed_at: null })));
    const memberCalls = fake.requests.filter((r) => r.kind === "members");
    assert.ok(memberCalls.every((r) => r.query.page === undefined && r.query.take), "members listed by from/take");
    assert.ok(memberCalls.every((r) => r.status === 200));
  });

  test("the API shows organizations, members and each user's organizations", async () => {
    const res = await w.authedFetch("/api/organizations");
    const body = await res.json();
    const big = body.organizations.find((o) => o.id === organizations[0].id);
    assert.deepEqual(Object.keys(big).sort(), ["display_name", "id", "member_count", "name", "removed_at"]);
    assert.equal(big.member_count, 1300);
    const seen = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({ limit: "500", ...(cursor ? { cursor } : {}) });
      const page = await (await w.authedFetch(`/api/organizations/${big.id}/members?${q}`)).json();
      seen.push(...page.members.map((m) => m.user_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen.sort(), truth(fake).get(big.id));
    const small = organizations[2].id;
    const filtered = await (await w.authedFetch(`/api/users?organization=${small}&limit=1000`)).json();
    assert.deepEqual(filtered.users.map((u) => u.user_id).sort(), truth(fake).get(small));
    for (const u of filtered.users) assert.ok(u.organizations.includes(small));
    assert.equal((await w.authedFetch("/api/organizations/org_missing/members")).status, 404);
  });

  test("a re-sync with no changes writes no membership rows", async () => {
    const run = await sync(w);
    assert.equal(run.status, "succeeded");
    assert.deepEqual([run.memberships_added, run.memberships_removed, run.rows_written], [0, 0, 0]);
  });

  test("a member who leaves is marked removed, and comes back", async () => {
    const org = organizations[0].id;
    const leaver = fake.members.get(org)[17];
    fake.members.set(org, fake.members.get(org).filter((u) => u !== leaver));
    let run = await sync(w);
    assert.deepEqual([run.memberships_added, run.memberships_removed], [0, 1]);
    const row = await w.db.prepare("SELECT removed_at FROM memberships WHERE org_id = ? AND user_id = ?").bind(org, leaver).first();
    assert.ok(row.removed_at);
    assert.deepEqual(await storedMemberships(w.db), truth(fake));
    fake.members.get(org).push(leaver);
    run = await sync(w);
    assert.deepEqual([run.memberships_added, run.memberships_removed], [1, 0]);
    assert.deepEqual(await storedMemberships(w.db), truth(fake));
  });
});

describe("missing organization scopes", () => {
  for (const [scope, message] of [
    ["read:organizations", /^organizations not synced: grant read:organizations to the M2M app in Auth0 → Applications → APIs/],
    ["read:organization_members", /^organization members not synced: grant read:organization_members to the M2M app in Auth0 → Applications → APIs/],
  ]) {
    test(`without ${scope} users still sync and the run is partial`, async () => {
      const users = makeUsers(150, { seed: 5, now: NOW });
      const { organizations, members } = makeOrganizations(2, { seed: 5, users, sizes: [20, 3] });
      const scopes = ["read:users", "read:organizations", "read:organization_members"].filter((s) => s !== scope);
      const { fake, w } = await setup({ users, organizations, members, scopes });
      try {
        const run = await sync(w);
        assert.equal(run.status, "partial");
        assert.match(run.error, message);
        assert.equal(run.users_seen, 150);
        const runs = await (await w.authedFetch("/api/sync-runs")).json();
        assert.equal(runs.runs[0].error, run.error, "the history shows the message");
        const { n } = await w.db.prepare("SELECT COUNT(*) AS n FROM memberships").first();
        assert.equal(n, 0);
      } finally { await w.close(); await fake.close(); }
    });
  }

  test("without read:users the run fails and says so", async () => {
    const { fake, w } = await setup({ users: makeUsers(10, { seed: 6, now: NOW }), scopes: ["read:organizations"] });
    try {
      const run = await sync(w);
      assert.equal(run.status, "failed");
      assert.match(run.error, /grant read:users/);
    } finally { await w.close(); await fake.close(); }
  });
});
