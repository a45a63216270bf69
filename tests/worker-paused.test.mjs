// D1's daily limit in the built worker (issue 19): a run whose write D1 refuses with the Free
// plan's daily-limit error ends `paused`, is left alone until 00:00 UTC, and then continues where
// it stopped, losing nothing. The refusal comes from a SQLite trigger in the test's D1 raising
// D1's documented text, so the worker's production code runs unchanged (no test hook). Time is
// simulated with TEST_CLOCK=scheduled-time.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users } from "./support/worker.mjs";
import { startTenant } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const T = Date.parse("2025-06-02T22:00:00.000Z");
const MIDNIGHT = Date.parse("2025-06-03T00:00:00.000Z");
const MIN = 60_000;
// Cloudflare's changelog "D1 enforces free tier daily query limits" (2026-09-01).
const REFUSAL = "Your account has exceeded D1's free tier daily row write limit. Upgrade to a paid plan or wait until tomorrow (midnight UTC) to continue.";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

async function tick(w, cron, ms) {
  assert.equal((await w.scheduled(cron, new Date(ms))).outcome, "ok");
  const { runs } = await (await w.authedFetch("/api/sync-runs?limit=5")).json();
  return runs;
}

describe("D1's daily write limit pauses a run until the reset", () => {
  let fake, w;
  const users = makeUsers(3000, { seed: 20, now: NOW });
  const sorted = users.map((u) => u.created_at).sort();
  before(async () => {
    ({ fake, w } = await startTenant({ users: [...users] }, { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time" }));
    // D1 "runs out" of rows written halfway through the first sync.
    await w.db.prepare(
      `CREATE TRIGGER daily_limit BEFORE INSERT ON users WHEN NEW.created_at >= '${sorted[1500]}'
       BEGIN SELECT RAISE(ABORT, '${REFUSAL.replaceAll("'", "''")}'); END`,
    ).run();
  });
  after(async () => { await w?.close(); await fake?.close(); });

  let paused;
  test("the refused run ends paused, naming the limit and the reset", async () => {
    const runs = await tick(w, "*/15 * * * *", T);
    assert.equal(runs.length, 1);
    paused = runs[0];
    assert.equal(paused.status, "paused", JSON.stringify(paused));
    assert.match(paused.error, /daily limit of 100,000 rows written/);
    assert.match(paused.error, /2025-06-03T00:00:00\.000Z/);
    assert.doesNotMatch(paused.error, /D1_ERROR|SQLITE/, "D1's own text stays in the logs");
    const stored = (await readD1Users(w.db)).length;
    assert.ok(stored > 0 && stored < 3000, `${stored} users stored before the refusal`);
    const row = await w.db.prepare("SELECT cursor FROM sync_runs WHERE id = ?").bind(paused.id).first();
    assert.ok(row.cursor, "the run keeps where it continues");
    const html = await (await w.authedFetch("/")).text();
    assert.match(html, /badge paused/);
  });

  test("until 00:00 UTC no trigger retries it, nor asks Auth0 anything", async () => {
    await w.db.prepare("DROP TRIGGER daily_limit").run();
    fake.resetStats();
    for (const [cron, at] of [["* * * * *", T + MIN], ["*/15 * * * *", T + 30 * MIN], ["* * * * *", MIDNIGHT - MIN]]) {
      const runs = await tick(w, cron, at);
      assert.equal(runs.length, 1, "no new run");
      assert.deepEqual(runs[0], paused, `${cron} at ${new Date(at).toISOString()}`);
    }
    const s = fake.stats();
    assert.equal(s.api + s.token, 0);
  });

  test("the first tick after the reset continues it to the end, losing nothing", async () => {
    const runs = await tick(w, "* * * * *", MIDNIGHT + MIN);
    assert.equal(runs.length, 1, "the same run");
    const done = runs[0];
    assert.equal(done.id, paused.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done));
    assert.equal(done.invocations, 2);
    assert.equal(done.users_seen, 3000);
    assert.equal(done.users_added, 3000);
    const stored = await readD1Users(w.db, { includeRemoved: false });
    assert.deepEqual(stored.map((u) => u.user_id), users.map((u) => u.user_id).sort());
  });
});
