// End to end: a tenant with ties in created_at everywhere, reordered on every request, syncs exactly
// over several syncs with changes between them; a listing that cannot be proven ends partial.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users } from "./support/worker.mjs";
import { startTenant, expectedUserRow } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

async function sync(w) {
  assert.equal((await w.scheduled()).outcome, "ok");
  const res = await w.authedFetch("/api/sync-runs?limit=1");
  assert.equal(res.status, 200);
  return (await res.json()).runs[0];
}

/** D1 must hold exactly the tenant's users, column by column, and mark removed exactly `gone`. */
async function assertExact(w, fake, gone) {
  const rows = await readD1Users(w.db);
  const byId = new Map(rows.map((r) => [r.user_id, r]));
  const active = rows.filter((r) => r.removed_at === null);
  assert.equal(active.length, fake.users.length, "active users in D1");
  for (const u of fake.users) {
    const row = byId.get(u.user_id);
    assert.ok(row, `missing ${u.user_id}`);
    assert.equal(row.removed_at, null, `${u.user_id} falsely removed`);
    const exp = expectedUserRow(u);
    for (const k of Object.keys(exp)) assert.deepEqual(row[k], exp[k], `${u.user_id}.${k}`);
  }
  for (const id of gone) assert.ok(byId.get(id)?.removed_at, `${id} should be marked removed`);
}

function assertNoRejectedRequests(fake) {
  assert.deepEqual(fake.requests.filter((r) => r.status === 400), [], "requests the API rejects");
}

describe("ties in created_at reordered on every request", () => {
  let fake, w;
  const gone = [];
  const users = makeUsers(5000, { seed: 91, now: NOW, runs: { max: 30 } });
  before(async () => ({ fake, w } = await startTenant({ users: [...users], reorderTies: true }, { VIEWER_TOKEN })));
  after(async () => { await w?.close(); await fake?.close(); });

  test("the tenant really has runs of up to 30 users per millisecond", () => {
    const counts = new Map();
    for (const u of users) counts.set(u.created_at, (counts.get(u.created_at) ?? 0) + 1);
    assert.ok(Math.max(...counts.values()) >= 25 && counts.size < 1000, `${counts.size} instants`);
  });

  test("the first sync stores every user exactly once", async () => {
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.deepEqual([run.users_seen, run.users_added, run.users_removed], [5000, 5000, 0]);
    await assertExact(w, fake, gone);
    assertNoRejectedRequests(fake);
    console.log(`first sync of 5,000 users with reordered ties: ${run.api_requests} Auth0 requests`);
  });

  for (const round of [1, 2, 3]) {
    test(`round ${round}: adds, deletes and updates are applied, no one falsely removed`, async () => {
      fake.resetStats();
      // Deletions all over the history.
      for (const i of [4321 - round * 97, 2600 + round, 1200, 10 * round]) {
        gone.push(fake.users.splice(i, 1)[0].user_id);
      }
      // New users, two of them joining an existing millisecond's group.
      const fresh = makeUsers(3, { seed: 500 + round, now: NOW });
      fresh[0].created_at = fake.users[1500].created_at;
      fresh[1].created_at = fake.users[3333].created_at;
      fake.users.push(...fresh);
      for (const u of fake.users.slice(100 * round, 100 * round + 2)) {
        u.logins_count = (u.logins_count ?? 0) + 1;
        u.last_login = u.updated_at = `2025-06-0${round}T10:00:00.000Z`;
      }
      const run = await sync(w);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.deepEqual([run.users_added, run.users_updated, run.users_removed], [3, 2, 4]);
      assert.equal(run.users_seen, fake.users.length);
      await assertExact(w, fake, gone);
      assertNoRejectedRequests(fake);
    });
  }

  test("a listing that cannot be proven ends partial, with the numbers, and removes no one", async () => {
    const victim = fake.users.splice(777, 1)[0];
    const renamed = fake.users[5];
    renamed.name = "Renamed while unprovable";
    fake.totalError = 1; // every count Auth0 reports is one too many
    try {
      const run = await sync(w);
      assert.equal(run.status, "partial", JSON.stringify(run));
      assert.equal(run.users_removed, 0);
      assert.match(run.error, /could not be proven complete, so no one was marked removed/);
      assert.match(run.error, /range \[.+\): read \d+ distinct users, Auth0 reports \d+/);
      const rows = new Map((await readD1Users(w.db)).map((r) => [r.user_id, r]));
      assert.equal(rows.get(victim.user_id).removed_at, null, "not removed without proof");
      assert.equal(rows.get(renamed.user_id).name, renamed.name, "what was read is still written");
      const pending = await w.db.prepare("SELECT COUNT(*) AS n FROM sync_pending_removals").first();
      assert.equal(pending.n, 0);
    } finally { fake.totalError = 0; }
    // With honest counts again, the next sync proves the listing and applies the removal.
    const run = await sync(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.users_removed, 1);
    await assertExact(w, fake, [...gone, victim.user_id]);
  });
});
