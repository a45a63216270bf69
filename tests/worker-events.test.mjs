// Auth0 Event Streams pushes to the built worker (POST /api/auth0/events): real-shaped CloudEvents
// deliveries, duplicates and out-of-order deliveries, deletions a lagging listing cannot undo, a
// missed push corrected by the next full sync, and every refusal (secrets, bodies, content types).

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users, startWorker } from "./support/worker.mjs";
import { startTenant, expectedUserRow, storedMemberships, truthMemberships } from "./support/tenant.mjs";

requireBuiltWorker();

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const EVENT_STREAM_TOKEN = "event-stream-secret-0123456789abcdef";
const ROUTE = "/api/auth0/events";

let seq = 0;
/** A delivery as Auth0 sends it; `long` uses the event-types page's spelling. */
function cloudEvent(type, object, { long = false, time = new Date().toISOString(), id = `evt_${String(++seq).padStart(22, "0")}` } = {}) {
  const e = {
    id,
    source: "urn:auth0:demo-tenant.us.auth0.com",
    time,
    a0tenant: "demo-tenant",
    a0stream: "est_vjFVP5pVdfvsfRKatshkVV",
    data: { object },
  };
  if (long) Object.assign(e, { spec_version: "1.0", type: `com.auth0.${type}` });
  else Object.assign(e, { specversion: "1.0", type });
  return e;
}

function push(w, event, { token = EVENT_STREAM_TOKEN, contentType = "application/json", body } = {}) {
  const headers = { "content-type": contentType };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return w.fetch(ROUTE, { method: "POST", headers, body: body ?? JSON.stringify(event) });
}

async function pushOk(w, event, opts) {
  const res = await push(w, event, opts);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

async function user(w, id) {
  const res = await w.authedFetch(`/api/users/${encodeURIComponent(id)}`);
  assert.equal(res.status, 200);
  return (await res.json()).user;
}

async function sync(w) {
  assert.equal((await w.scheduled()).outcome, "ok");
  const { runs } = await (await w.authedFetch("/api/sync-runs?limit=1")).json();
  return runs[0];
}

/** D1's current users equal the fake tenant's, column by column. */
async function assertD1EqualsTenant(w, fake) {
  const rows = await readD1Users(w.db, { includeRemoved: false });
  const got = rows.map((r) => {
    const out = {};
    for (const k of Object.keys(expectedUserRow(fake.users[0]))) out[k] = r[k];
    return out;
  });
  const want = fake.users.map(expectedUserRow).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
  assert.deepEqual(got, want);
  assert.deepEqual(await storedMemberships(w.db), truthMemberships(fake));
}

const later = (iso, ms) => new Date(Date.parse(iso) + ms).toISOString();

describe("Auth0 Event Streams pushes", () => {
  let fake, w;
  const users = makeUsers(60, { seed: 11, now: NOW });
  const { organizations, members } = makeOrganizations(1, { seed: 11, users, sizes: [10] });
  before(async () => {
    ({ fake, w } = await startTenant({ users: [...users], organizations, members }, { VIEWER_TOKEN, EVENT_STREAM_TOKEN }));
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("wrong and missing secrets are refused, and never logged", async () => {
    const e = cloudEvent("user.updated", fake.users[0]);
    for (const token of [null, "wrong", `${EVENT_STREAM_TOKEN}x`, VIEWER_TOKEN]) {
      const res = await push(w, e, { token });
      assert.equal(res.status, 401, `token ${token}`);
      assert.match((await res.json()).error, /EVENT_STREAM_TOKEN/);
    }
    const basic = await w.fetch(ROUTE, { method: "POST", headers: { authorization: `Basic ${EVENT_STREAM_TOKEN}` }, body: "{}" });
    assert.equal(basic.status, 401);
    await basic.arrayBuffer();
    // A browser-looking cross-site request with the right token is still Auth0's to make.
    const res = await w.fetch(ROUTE, {
      method: "POST",
      headers: { authorization: `Bearer ${EVENT_STREAM_TOKEN}`, "content-type": "application/json", origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      body: JSON.stringify({ ...cloudEvent("user.updated", {}), a0purpose: "test" }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "test");
    assert.ok(!w.logs.some((l) => l.includes(EVENT_STREAM_TOKEN)), w.logs.join("\n"));
  });

  test("bad bodies get a 4xx with a message; unknown types are acknowledged", async () => {
    for (const [init, status] of [
      [{ body: "{not json" }, 400],
      [{ body: "[]" }, 400],
      [{ body: "" }, 400],
      [{ contentType: "text/plain", body: "{}" }, 415],
      [{ body: JSON.stringify({ pad: "x".repeat(1_100_000) }) }, 413],
    ]) {
      const res = await push(w, null, init);
      assert.equal(res.status, status, init.body?.slice(0, 20));
      assert.ok((await res.json()).error);
    }
    // Streamed (the client may or may not declare its length): refused past 1 MB either way.
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream({
      pull(c) {
        if (sent >= 40) c.close();
        else { sent++; c.enqueue(chunk); }
      },
    });
    const streamed = await w.fetch(ROUTE, {
      method: "POST",
      headers: { authorization: `Bearer ${EVENT_STREAM_TOKEN}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    });
    assert.equal(streamed.status, 413);
    assert.match((await streamed.json()).error, /over 1048576 bytes/);
    const unknown = await pushOk(w, cloudEvent("organization.created", { id: "org_x" }));
    assert.deepEqual([unknown.status, unknown.ignored], ["ignored", true]);
    const wrongGet = await w.fetch(ROUTE, { headers: { authorization: `Bearer ${EVENT_STREAM_TOKEN}` } });
    assert.equal(wrongGet.status, 405);
    await wrongGet.arrayBuffer();
    assert.ok(w.logs.some((l) => /auth0 event .*ignored/.test(l)), "ignored events are logged");
  });

  test("updates apply at once, duplicates and older deliveries change nothing", async () => {
    const u = fake.users[1];
    const older = { ...u, name: "Older Name", updated_at: later(NOW, 1000) };
    const newer = { ...u, name: "Newer Name", updated_at: later(NOW, 2000) };
    Object.assign(u, { name: newer.name, updated_at: newer.updated_at });
    const newerEvent = cloudEvent("user.updated", newer, { long: true });
    assert.equal((await pushOk(w, newerEvent)).status, "applied");
    assert.equal((await pushOk(w, newerEvent)).status, "duplicate");
    assert.equal((await pushOk(w, cloudEvent("user.updated", older))).status, "unchanged");
    const row = await user(w, u.user_id);
    assert.deepEqual([row.name, row.updated_at], ["Newer Name", newer.updated_at]);
  });

  test("a created user appears at once, whatever order its events come in", async () => {
    const [fresh] = makeUsers(1, { seed: 77, now: NOW });
    fresh.user_id = "auth0|pushed-user";
    fresh.created_at = later(NOW, 5000);
    const created = { ...fresh, updated_at: fresh.created_at, name: "First" };
    Object.assign(fresh, { updated_at: later(NOW, 6000), name: "Second" });
    fake.users.push(fresh);
    assert.equal((await pushOk(w, cloudEvent("user.updated", { ...fresh }))).status, "applied");
    assert.equal((await pushOk(w, cloudEvent("user.created", created, { long: true }))).status, "unchanged");
    const row = await user(w, fresh.user_id);
    assert.deepEqual([row.name, row.removed_at], ["Second", null]);
    const { results } = await w.db.prepare("SELECT type FROM access_events WHERE user_id = ?").bind(fresh.user_id).all();
    assert.deepEqual(results.map((r) => r.type), ["user_added"]);
  });

  test("membership events apply at once and in event order", async () => {
    const org = organizations[0].id;
    const outsider = fake.users.find((u) => !fake.members.get(org).includes(u.user_id));
    const t = later(NOW, 10_000);
    const added = cloudEvent("organization.member.added", { organization: { id: org, name: "x" }, user: { user_id: outsider.user_id } }, { time: t });
    assert.equal((await pushOk(w, added)).status, "applied");
    const res = await w.authedFetch(`/api/organizations/${org}/members?limit=100`);
    assert.ok((await res.json()).members.some((m) => m.user_id === outsider.user_id));
    const removed = cloudEvent("organization.member.deleted", { organization: { id: org }, user: { user_id: outsider.user_id } }, { time: later(t, 1000), long: true });
    const lateAdd = cloudEvent("organization.member.added", { organization: { id: org }, user: { user_id: outsider.user_id } }, { time: later(t, 500) });
    assert.equal((await pushOk(w, removed)).status, "applied");
    assert.equal((await pushOk(w, lateAdd)).status, "unchanged");
    const after = await (await w.authedFetch(`/api/organizations/${org}/members?limit=100`)).json();
    assert.ok(!after.members.some((m) => m.user_id === outsider.user_id));
  });

  test("a deleted user is removed at once, a stale update does not bring them back, and the full sync confirms it", async () => {
    const gone = fake.users.splice(2, 1)[0];
    const deletedAt = later(NOW, 20_000);
    const ev = cloudEvent("user.deleted", { ...gone, deleted_at: deletedAt });
    assert.equal((await pushOk(w, ev)).status, "applied");
    assert.ok((await user(w, gone.user_id)).removed_at, "removed at once");
    const current = await (await w.authedFetch("/api/users?limit=1000")).json();
    assert.ok(!current.users.some((u) => u.user_id === gone.user_id));
    const stale = cloudEvent("user.updated", { ...gone, name: "Zombie", updated_at: later(NOW, 15_000) });
    assert.equal((await pushOk(w, stale)).status, "unchanged");
    assert.ok((await user(w, gone.user_id)).removed_at, "still removed");
    // The change history has the removal once, from the push.
    const { results } = await w.db.prepare("SELECT type, run_id, detail FROM access_events WHERE user_id = ?").bind(gone.user_id).all();
    assert.deepEqual(results.map((r) => [r.type, r.run_id]), [["user_removed", null]]);
    assert.match(results[0].detail, /deleted in Auth0/);
    // Its members leave with it in the tenant; the full listing confirms the deletion.
    for (const [org, ids] of fake.members) fake.members.set(org, ids.filter((id) => id !== gone.user_id));
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.ok((await user(w, gone.user_id)).removed_at);
    await assertD1EqualsTenant(w, fake);
  });

  test("a deletion event outranks a listing older than it; a newer incarnation comes back", async () => {
    const kept = fake.users[3];
    const ev = cloudEvent("user.deleted", { user_id: kept.user_id, deleted_at: later(NOW, 30_000) });
    assert.equal((await pushOk(w, ev)).status, "applied");
    assert.ok((await user(w, kept.user_id)).removed_at);
    // The search index has not dropped the user yet: a complete listing still shows them, as
    // last updated before the deletion. The event is the newer word.
    assert.ok(kept.updated_at < later(NOW, 30_000));
    let run = await sync(w);
    assert.equal(run.status, "succeeded");
    assert.ok((await user(w, kept.user_id)).removed_at, "a lagging listing does not undo the deletion");
    // Created again under the same id (a social login after the deletion): updated after it.
    kept.updated_at = later(NOW, 60_000);
    run = await sync(w);
    assert.equal(run.status, "succeeded");
    assert.equal((await user(w, kept.user_id)).removed_at, null);
    await assertD1EqualsTenant(w, fake);
  });

  test("a missed push is corrected by the next full reconcile", async () => {
    const u = fake.users[4];
    Object.assign(u, { name: "Changed Without A Push", updated_at: later(NOW, 40_000), blocked: true });
    const [lost] = makeUsers(1, { seed: 78, now: NOW });
    lost.user_id = "auth0|never-pushed";
    fake.users.push(lost);
    const stale = await user(w, u.user_id);
    assert.notEqual(stale.name, "Changed Without A Push");
    const run = await sync(w);
    assert.equal(run.status, "succeeded");
    assert.equal((await user(w, u.user_id)).name, "Changed Without A Push");
    assert.equal((await user(w, lost.user_id)).removed_at, null);
    await assertD1EqualsTenant(w, fake);
  });
});

describe("Auth0 Event Streams pushes without EVENT_STREAM_TOKEN", () => {
  test("the route refuses everyone and names the setting", async () => {
    const w = await startWorker({ bindings: { VIEWER_TOKEN } });
    try {
      for (const token of [null, "anything-at-all-0123456789", VIEWER_TOKEN]) {
        const res = await push(w, cloudEvent("user.updated", { user_id: "x" }), { token });
        assert.equal(res.status, 403);
        assert.match((await res.json()).error, /EVENT_STREAM_TOKEN is not set/);
      }
    } finally {
      await w.close();
    }
  });
});
