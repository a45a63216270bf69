// How soon a deletion in Auth0 shows (issue 19 §1), in the built worker against the fake tenant,
// on simulated time (TEST_CLOCK with the cron event's scheduledTime) and the default schedule
// (FULL_SYNC_INTERVAL_HOURS=24, FULL_SYNC_AUTO_MAX_REQUESTS=200 unless set):
// - with the seed's scopes (no read:logs) there is no deletion signal, so the tick right after a
//   deletion is a full listing that marks the users removed, with the right counts;
// - with read:logs and the log followed without a gap, ticks stay incremental and the log's
//   `sdu` removes the deleted users;
// - without a signal and a full listing costlier than FULL_SYNC_AUTO_MAX_REQUESTS, the full
//   listing runs hourly.
// /api/summary and the dashboard say how soon, why, and what would make it sooner.

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
const SEED_SCOPES = ["read:users", "read:organizations", "read:organization_members"];

const tick = (w, ms) => tickOnce(w, ms);

async function removedAt(w, id) {
  return (await w.db.prepare("SELECT removed_at FROM users WHERE user_id = ?").bind(id).first()).removed_at;
}

async function deletions(w) {
  const res = await w.authedFetch("/api/summary");
  assert.equal(res.status, 200);
  return (await res.json()).deletions;
}

/** D1's current users equal the tenant's, column by column. */
async function assertD1EqualsTenant(w, fake) {
  const rows = await readD1Users(w.db, { includeRemoved: false });
  const keys = Object.keys(expectedUserRow(fake.users[0]));
  const got = rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])));
  const want = fake.users.map(expectedUserRow).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
  assert.deepEqual(got, want);
}

describe("with the seed's scopes, the tick after a deletion lists everything and removes", () => {
  let fake, w;
  const users = makeUsers(1200, { seed: 31, now: NOW });
  before(async () => {
    ({ fake, w } = await startTenant(
      { users: [...users], scopes: SEED_SCOPES },
      { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time", FULL_SYNC_INTERVAL_HOURS: "24" },
    ));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  let first;
  test("the first tick is a full listing, and the summary says why the next is too", async () => {
    first = await tick(w, T);
    assert.equal(first.status, "succeeded", JSON.stringify(first));
    assert.equal(first.kind, "full");
    assert.equal(first.users_seen, 1200);
    const d = await deletions(w);
    assert.deepEqual(
      [d.within_hours, d.shows, d.signal, d.full_listing_every_hours, d.full_listing_requests, d.faster],
      [0, "at the next sync", null, 0, first.api_requests, null],
    );
    assert.match(d.why, /read:logs/);
    assert.match(d.why, new RegExp(`took ${first.api_requests} Auth0 requests`));
  });

  test("50 users deleted: the next tick is full and marks exactly them removed", async () => {
    const gone = users.slice(100, 150).map((u) => u.user_id);
    for (const [i, id] of gone.entries()) fake.deleteUser(id, { at: T + 2 * MIN + i * 1000 });
    fake.updateUser(users[5].user_id, { name: "Renamed Five" }, { at: T + 3 * MIN });
    fake.updateUser(users[6].user_id, { name: "Renamed Six" }, { at: T + 3 * MIN });
    const born = fake.createUser({}, { at: T + 4 * MIN });
    const run = await tick(w, T + 10 * MIN);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.kind, "full", "no deletion signal: a full listing, not an incremental tick");
    assert.deepEqual(
      [run.users_seen, run.users_added, run.users_updated, run.users_removed],
      [1151, 1, 2, 50],
    );
    for (const id of gone) assert.ok(await removedAt(w, id), id);
    assert.equal(await removedAt(w, users[99].user_id), null);
    assert.equal(await removedAt(w, born.user_id), null);
    const counts = (await (await w.authedFetch("/api/summary")).json()).counts;
    assert.equal(counts.removed, 50);
    assert.equal(counts.current, 1151);
    await assertD1EqualsTenant(w, fake);
  });

  test("the dashboard says how soon a deletion shows", async () => {
    const html = await (await w.authedFetch("/")).text();
    assert.match(html, /id="deletions"/);
    assert.match(html, /shows as removed here <strong>at the next sync<\/strong>/);
  });
});

describe("with read:logs and the log followed, ticks stay incremental and sdu removes", () => {
  let fake, w;
  const users = makeUsers(1200, { seed: 37, now: NOW });
  before(async () => {
    ({ fake, w } = await startTenant(
      { users: [...users], scopes: [...SEED_SCOPES, "read:logs"] },
      { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time", FULL_SYNC_INTERVAL_HOURS: "24" },
    ));
    // The log has history before the first sync, which reads it to its end: followed since.
    fake.login(users[0].user_id, { at: T - HOUR });
  });
  after(async () => { await w?.close(); await fake?.close(); });

  let first;
  test("the first tick is full and reads the log; the log is then the deletion signal", async () => {
    first = await tick(w, T);
    assert.equal(first.status, "succeeded", JSON.stringify(first));
    assert.equal(first.kind, "full");
    const d = await deletions(w);
    assert.deepEqual(
      [d.within_hours, d.shows, d.signal, d.full_listing_every_hours, d.faster],
      [0, "at the next sync", "log", 24, null],
    );
    assert.match(d.why, /sdu/);
  });

  test("deleted users are removed by the next incremental tick, through the log", async () => {
    const gone = users.slice(200, 220).map((u) => u.user_id);
    for (const [i, id] of gone.entries()) fake.deleteUser(id, { at: T + 2 * MIN + i * 1000 });
    // Gone without an event: only the next full listing may notice.
    const silent = users[300].user_id;
    fake.users.splice(fake.users.findIndex((u) => u.user_id === silent), 1);
    fake.resetStats();
    const run = await tick(w, T + 10 * MIN);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.kind, "incremental");
    assert.deepEqual([run.users_seen, run.users_added, run.users_updated, run.users_removed], [0, 0, 0, 20]);
    assert.ok(run.api_requests < first.api_requests / 3, JSON.stringify(run));
    assert.equal(fake.stats().organizations + fake.stats().members, 0, "no full listing");
    for (const id of gone) assert.ok(await removedAt(w, id), id);
    assert.equal(await removedAt(w, silent), null, "absence proves nothing between full listings");
  });

  test("a gap in the log ends the signal: the next tick is a full listing", async () => {
    // Retention drops every event the worker has not read, and more arrive: the next read
    // restarts from the oldest kept event and records the gap.
    fake.login(users[1].user_id, { at: T + 12 * MIN });
    fake.login(users[2].user_id, { at: T + 13 * MIN });
    fake.expireLogs(1);
    const gapped = await tick(w, T + 20 * MIN);
    assert.equal(gapped.kind, "incremental");
    assert.match(gapped.error ?? "", /usage unknown from/);
    const d = await deletions(w);
    assert.deepEqual([d.signal, d.within_hours], [null, 0], JSON.stringify(d));
    assert.match(d.why, /lost to its retention/);
    const run = await tick(w, T + 30 * MIN);
    assert.equal(run.kind, "full");
    assert.equal(run.users_removed, 1, "the user gone without an event");
    await assertD1EqualsTenant(w, fake);
    // Followed since that listing: the log is the signal again.
    assert.equal((await deletions(w)).signal, "log");
    assert.equal((await tick(w, T + 40 * MIN)).kind, "incremental");
  });
});

describe("without a signal, a full listing costlier than FULL_SYNC_AUTO_MAX_REQUESTS runs hourly", () => {
  let fake, w;
  const users = makeUsers(600, { seed: 41, now: NOW });
  before(async () => {
    ({ fake, w } = await startTenant(
      { users: [...users], scopes: SEED_SCOPES },
      {
        VIEWER_TOKEN, TEST_CLOCK: "scheduled-time", FULL_SYNC_INTERVAL_HOURS: "24",
        FULL_SYNC_AUTO_MAX_REQUESTS: "3",
      },
    ));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("ticks between are incremental, and the hour's tick removes the deleted", async () => {
    const first = await tick(w, T);
    assert.equal(first.kind, "full");
    assert.ok(first.api_requests > 3, JSON.stringify(first));
    const d = await deletions(w);
    assert.deepEqual([d.within_hours, d.shows, d.signal, d.full_listing_every_hours], [1, "within an hour", null, 1]);
    assert.match(d.why, /FULL_SYNC_AUTO_MAX_REQUESTS \(3\)/);
    assert.match(d.faster, /read:logs/);
    assert.match(d.faster, /Event Stream/);
    const gone = users.slice(10, 15).map((u) => u.user_id);
    for (const id of gone) fake.deleteUser(id, { at: T + MIN });
    const kinds = [];
    for (const m of [10, 20, 30, 40, 50]) kinds.push((await tick(w, T + m * MIN)).kind);
    assert.deepEqual(kinds, Array(5).fill("incremental"));
    for (const id of gone) assert.equal(await removedAt(w, id), null, "only a full listing sees it");
    const hourly = await tick(w, T + HOUR);
    assert.equal(hourly.kind, "full");
    assert.equal(hourly.users_removed, 5);
    for (const id of gone) assert.ok(await removedAt(w, id), id);
    const html = await (await w.authedFetch("/")).text();
    assert.match(html, /<strong>within an hour<\/strong>/);
  });
});
