// Incremental syncs in the built worker against the fake tenant, on simulated time (TEST_CLOCK with
// the cron event's scheduledTime) and the default schedule (a full listing every 24 hours): a tick
// between full listings lists only users updated since the last one (a few requests), takes
// deletions only from explicit events (the log's `sdu` by polling or Log Stream, Event Streams'
// user.deleted), never lets a lagging listing undo a deletion, and the next full listing removes
// the user whose deletion no event reported. D1 then equals the tenant; the history shows each
// run's kind.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users } from "./support/worker.mjs";
import { startTenant, expectedUserRow, tickOnce } from "./support/tenant.mjs";

requireBuiltWorker();

const NOW = "2025-06-01T12:00:00.000Z";
const T = Date.parse(NOW) + 86_400_000; // the first sync
const MIN = 60_000;
const HOUR = 60 * MIN;
const VIEWER_TOKEN = "viewer-secret-token";
const LOG_STREAM_TOKEN = "log-stream-secret-0123456789abcdef";
const EVENT_STREAM_TOKEN = "event-stream-secret-0123456789abcdef";
const SCOPES = ["read:users", "read:organizations", "read:organization_members", "read:logs"];
const iso = (ms) => new Date(ms).toISOString();

const tick = (w, ms) => tickOnce(w, ms, "*/15 * * * *");

async function stored(w, id) {
  return w.db.prepare("SELECT name, last_login, logins_count, removed_at FROM users WHERE user_id = ?").bind(id).first();
}

describe("incremental syncs between full listings", () => {
  let fake, w;
  const users = makeUsers(2500, { seed: 23, now: NOW });
  const id = (i) => users[i].user_id;
  before(async () => {
    ({ fake, w } = await startTenant(
      { users: [...users], scopes: SCOPES },
      { VIEWER_TOKEN, LOG_STREAM_TOKEN, EVENT_STREAM_TOKEN, TEST_CLOCK: "scheduled-time", FULL_SYNC_INTERVAL_HOURS: "24" },
    ));
    // The log has history before the first sync, which reads it: the log is then followed, a
    // deletion signal, so the ticks between full listings are incremental (issue 19).
    fake.logEvent({ type: "sapi", date: iso(T - 60 * MIN), client_id: fake.clientId });
  });
  after(async () => { await w?.close(); await fake?.close(); });

  let full;
  test("the first tick is a full listing", async () => {
    full = await tick(w, T);
    assert.equal(full.status, "succeeded", JSON.stringify(full));
    assert.equal(full.kind, "full");
    assert.equal(full.users_seen, 2500);
    assert.equal(full.updated_since, null);
  });

  test("a tick lists only the updated users, and a deletion comes only from the log", async () => {
    fake.updateUser(id(1), { name: "Renamed One" }, { at: T + 5 * MIN });
    fake.login(id(2), { at: T + 6 * MIN });
    fake.deleteUser(id(3), { at: T + 7 * MIN }); // sdu in the log
    // Deleted with no event anywhere (a push that never came, no log entry): only the next
    // full listing may notice.
    fake.users.splice(fake.users.findIndex((u) => u.user_id === id(4)), 1);
    const born = fake.createUser({}, { at: T + 8 * MIN });
    fake.resetStats();
    const run = await tick(w, T + 15 * MIN);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.kind, "incremental");
    // The full listing's start (the tick plus the few ms the run took to start) minus the overlap.
    const since = Date.parse(run.updated_since);
    assert.ok(since >= T - 5 * MIN && since < T - 5 * MIN + 10_000, run.updated_since);
    assert.deepEqual([run.users_seen, run.users_added, run.users_updated, run.users_removed], [3, 1, 2, 1]);
    const s = fake.stats();
    assert.equal(s.users, 1, "one page of updated users, which counts itself");
    assert.equal(s.organizations + s.members, 0, "organizations wait for the full listing");
    assert.ok(run.api_requests <= 6 && run.api_requests < full.api_requests / 5, JSON.stringify(run));
    assert.equal((await stored(w, id(1))).name, "Renamed One");
    assert.equal((await stored(w, id(2))).logins_count, fake.user(id(2)).logins_count);
    assert.ok((await stored(w, id(3))).removed_at, "removed by the log's sdu");
    assert.equal((await stored(w, id(4))).removed_at, null, "absence proves nothing between full listings");
    assert.ok(await stored(w, born.user_id));
  });

  test("an Event Streams deletion sticks though a lagging listing still shows the user", async () => {
    const u = fake.updateUser(id(5), { name: "Last edit" }, { at: T + 19 * MIN });
    const res = await w.fetch("/api/auth0/events", {
      method: "POST",
      headers: { authorization: `Bearer ${EVENT_STREAM_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        specversion: "1.0", type: "user.deleted", id: "evt_00000000000000000000d5", source: "urn:auth0:t",
        time: iso(T + 20 * MIN), data: { object: { user_id: u.user_id, deleted_at: iso(T + 20 * MIN) } },
      }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.ok((await stored(w, id(5))).removed_at, "removed at once");
    // The search index has not caught up: the user is still listed, updated before the deletion.
    const run = await tick(w, T + 30 * MIN);
    assert.equal(run.kind, "incremental");
    assert.ok(run.users_seen >= 1);
    assert.ok((await stored(w, id(5))).removed_at, "the older listing did not bring the user back");
    fake.users.splice(fake.users.findIndex((x) => x.user_id === id(5)), 1);
  });

  test("a Log Stream deletion removes at once, and pushes show as push rows", async () => {
    const { event } = fake.deleteUser(id(6), { at: T + 35 * MIN });
    const res = await w.fetch("/api/auth0/log-stream", {
      method: "POST",
      headers: { authorization: LOG_STREAM_TOKEN, "content-type": "application/json" },
      body: JSON.stringify([{ log_id: event.log_id, data: event }]),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.removed, 1);
    assert.ok((await stored(w, id(6))).removed_at);
    const { runs } = await (await w.authedFetch("/api/sync-runs?limit=10")).json();
    const pushes = runs.filter((r) => r.kind === "push");
    assert.ok(pushes.length >= 1, JSON.stringify(runs));
    assert.ok(pushes.every((r) => r.trigger === "push" && r.status === "succeeded" && r.api_requests === 0));
    assert.equal(pushes.reduce((n, r) => n + r.users_removed, 0), 2, "the Event Streams and the Log Stream deletion");
    // Polling reads the same sdu later: nothing more.
    const run = await tick(w, T + 45 * MIN);
    assert.equal(run.users_removed, 0);
  });

  test("a listing that lags a push does not overwrite the newer pushed state", async () => {
    // The search index holds this state of the user...
    const listed = fake.updateUser(id(7), { name: "Listed name" }, { at: T + 46 * MIN });
    // ...while Auth0 pushes a newer change the index has not caught up with.
    const newer = { ...listed, name: "Pushed name", updated_at: iso(T + 47 * MIN) };
    const res = await w.fetch("/api/auth0/events", {
      method: "POST",
      headers: { authorization: `Bearer ${EVENT_STREAM_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        specversion: "1.0", type: "user.updated", id: "evt_00000000000000000000u7", source: "urn:auth0:t",
        time: iso(T + 47 * MIN), data: { object: newer },
      }),
    });
    assert.equal(res.status, 200, await res.text());
    const run = await tick(w, T + 60 * MIN);
    assert.equal(run.kind, "incremental");
    assert.ok(run.users_seen >= 1, JSON.stringify(run));
    assert.equal((await stored(w, id(7))).name, "Pushed name", "the older listing did not overwrite the push");
    // The index catches up.
    fake.updateUser(id(7), { name: "Pushed name" }, { at: T + 47 * MIN });
  });

  test("the next full listing removes the user no event reported, and D1 equals the tenant", async () => {
    const run = await tick(w, T + 24 * HOUR);
    assert.equal(run.kind, "full");
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.users_removed, 1, "the missed deletion; the others were removed already");
    assert.ok((await stored(w, id(4))).removed_at);
    const rows = await readD1Users(w.db, { includeRemoved: false });
    const keys = Object.keys(expectedUserRow(fake.users[0]));
    const got = rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])));
    const want = fake.users.map(expectedUserRow).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
    assert.deepEqual(got, want);
    const { runs } = await (await w.authedFetch("/api/sync-runs?limit=20")).json();
    assert.deepEqual(
      runs.filter((r) => r.kind !== "push").map((r) => r.kind).reverse(),
      ["full", "incremental", "incremental", "incremental", "incremental", "full"],
    );
    const html = await (await w.authedFetch("/runs")).text();
    assert.match(html, /<th>Kind<\/th>/);
    assert.match(html, />incremental</);
  });
});
