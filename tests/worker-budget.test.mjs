// End-to-end: under Free-plan per-invocation budgets (50 Auth0 requests, 50 D1 queries) a 5,000-user tenant syncs completely across cron invocations.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startFakeAuth0, makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { startWorker, requireBuiltWorker, readD1Users, countRows, tenantBindings } from "./support/worker.mjs";
import { expectedUserRow, storedMemberships, truthMemberships } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const BUDGET = 50;
// Far above what 5,000 users need at 50 requests per invocation; a loop that never ends is a bug.
const MAX_CALLS = 100;
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

// Every request the worker sent to the fake: each is a Workers subrequest counted by the budget.
const sent = (s) => s.api + s.token + s.download;

async function newestRun(db) {
  return db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();
}

/**
 * One main cron tick, then continuation ticks until the newest run is no longer running.
 * Returns the finished run and, per call, what it cost (from the fake and the run's own count).
 */
async function syncAcrossInvocations(w, fake) {
  const calls = [];
  let cron = "*/15 * * * *";
  for (let i = 0; i < MAX_CALLS; i++) {
    const before = { stats: sent(fake.stats()), run: await newestRun(w.db) };
    const r = await w.scheduled(cron);
    assert.equal(r.outcome, "ok");
    const run = await newestRun(w.db);
    // A call that opened a new run starts its d1_queries from 0.
    const sameRun = before.run && run && before.run.id === run.id;
    calls.push({
      requests: sent(fake.stats()) - before.stats,
      queries: run.d1_queries - (sameRun ? before.run.d1_queries : 0),
      apiRequests: run.api_requests - (sameRun ? before.run.api_requests : 0),
      invocationsAdded: run.invocations - (sameRun ? before.run.invocations : 0),
      runId: run.id,
    });
    if (run.status !== "running") return { run, calls };
    cron = "* * * * *";
  }
  assert.fail(`the run was still running after ${MAX_CALLS} invocations`);
}

describe("Free-plan budgets: 5,000 users across invocations", () => {
  let fake, w;
  const users = makeUsers(5000, { seed: 51, now: NOW, cluster: { size: 1200, at: "2023-09-09T09:09:09.909Z" } });
  const { organizations, members } = makeOrganizations(2, { seed: 51, users, sizes: [1100, 37] });

  before(async () => {
    fake = await startFakeAuth0({ users: [...users], organizations, members });
    w = await startWorker({
      bindings: tenantBindings(fake, {
        VIEWER_TOKEN,
        SYNC_MAX_AUTH0_REQUESTS: String(BUDGET),
        SYNC_MAX_D1_QUERIES: String(BUDGET),
      }),
    });
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("the first sync is one run over several invocations, each within its budget", async () => {
    const { run, calls } = await syncAcrossInvocations(w, fake);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(await countRows(w.db, "sync_runs"), 1, "one logical run");
    assert.ok(calls.every((c) => c.runId === run.id));
    assert.ok(run.invocations > 1, `invocations = ${run.invocations}`);
    const worked = calls.filter((c) => c.requests > 0 || c.queries > 0);
    assert.equal(worked.length, calls.length, "every call until the end continued the run");
    assert.equal(run.invocations, worked.length);
    assert.ok(calls.every((c) => c.invocationsAdded === 1), JSON.stringify(calls));
    for (const [i, c] of calls.entries()) {
      assert.ok(c.requests <= BUDGET, `invocation ${i + 1} sent ${c.requests} requests`);
      assert.ok(c.queries <= BUDGET, `invocation ${i + 1} made ${c.queries} D1 queries`);
      // The run's own count must agree with what the fake received.
      assert.equal(c.apiRequests, c.requests, `invocation ${i + 1}: api_requests vs the fake`);
    }
    assert.equal(run.users_seen, 5000);
    assert.equal(run.users_added, 5000);
    assert.equal(run.users_removed, 0);
    assert.equal(run.organizations_seen, 2);
    assert.equal(run.memberships_seen, 1137);
    assert.equal(fake.stats().export, 1, "the 1,200-user millisecond is read from one export");
    assert.equal(fake.requests.filter((r) => r.status >= 400).length, 0, "no rejected request");
  });

  test("D1 holds exactly the fake's users and memberships", async () => {
    const rows = await readD1Users(w.db);
    assert.deepEqual(rows.map((r) => r.user_id), fake.users.map((u) => u.user_id).sort());
    const byId = new Map(rows.map((r) => [r.user_id, r]));
    for (const u of fake.users) {
      const exp = expectedUserRow(u);
      const row = byId.get(u.user_id);
      for (const k of Object.keys(exp)) assert.deepEqual(row[k], exp[k], `${u.user_id}.${k}`);
    }
    assert.deepEqual(await storedMemberships(w.db), truthMemberships(fake));
  });

  test("a second full sync of the unchanged tenant writes no rows", async () => {
    fake.resetStats();
    const { run, calls } = await syncAcrossInvocations(w, fake);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(await countRows(w.db, "sync_runs"), 2);
    assert.ok(calls.every((c) => c.requests <= BUDGET && c.queries <= BUDGET), JSON.stringify(calls));
    assert.equal(run.invocations, calls.length);
    assert.deepEqual([run.users_seen, run.users_added, run.users_updated, run.users_removed], [5000, 0, 0, 0]);
    assert.equal(run.rows_written, 0);
  });

  test("a continuation tick with nothing paused creates no run and sends no request", async () => {
    fake.resetStats();
    const runs = await countRows(w.db, "sync_runs");
    const last = await newestRun(w.db);
    const r = await w.scheduled("* * * * *");
    assert.equal(r.outcome, "ok");
    assert.equal(await countRows(w.db, "sync_runs"), runs);
    assert.deepEqual(await newestRun(w.db), last);
    const s = fake.stats();
    assert.equal(sent(s) + s.other, 0, JSON.stringify(s));
  });
});
