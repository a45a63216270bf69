// End-to-end: Free-plan budgets (45 Auth0 requests and 45 D1 queries per invocation) and a
// Free-plan rate limit (2 requests/s, burst 2) against a tenant whose units of work are each
// bigger than one invocation: 10,000 users, a 1,200-user millisecond (an export job) and an
// organization of 5,500 members (56 pages). The sync must converge to one exact `succeeded` run.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startFakeAuth0, makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { startWorker, requireBuiltWorker, readD1Users, countRows, tenantBindings } from "./support/worker.mjs";
import { expectedUserRow, storedMemberships, truthMemberships } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const BUDGET = 45;
// A loop that never ends is a bug; the run needs a handful of invocations.
const MAX_CALLS = 60;
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

const sent = (s) => s.api + s.token + s.download;

async function newestRun(db) {
  return db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();
}

describe("Free-plan budgets and rate limit: every unit of work spreads over invocations", () => {
  let fake, w;
  const users = makeUsers(10_000, { seed: 45, now: NOW, cluster: { size: 1200, at: "2024-02-02T02:02:02.202Z" } });
  const { organizations, members } = makeOrganizations(3, { seed: 45, users, sizes: [5500, 40, 3] });

  before(async () => {
    fake = await startFakeAuth0({ users, organizations, members, rateLimit: { burst: 2, perSecond: 2 } });
    w = await startWorker({
      bindings: tenantBindings(fake, {
        SYNC_MAX_AUTH0_REQUESTS: String(BUDGET),
        SYNC_MAX_D1_QUERIES: String(BUDGET),
        AUTH0_RATE_LIMIT_PER_SECOND: "2",
        AUTH0_RATE_LIMIT_BURST: "2",
      }),
    });
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("the first sync ends in one succeeded, exact run, each invocation within its budget", async () => {
    const started = Date.now();
    let cron = "*/15 * * * *";
    let run;
    const calls = [];
    for (let i = 0; i < MAX_CALLS; i++) {
      const before = { requests: sent(fake.stats()), run: await newestRun(w.db) };
      assert.equal((await w.scheduled(cron)).outcome, "ok");
      run = await newestRun(w.db);
      const same = before.run?.id === run.id;
      calls.push({
        requests: sent(fake.stats()) - before.requests,
        queries: run.d1_queries - (same ? before.run.d1_queries : 0),
      });
      if (run.status !== "running") break;
      // The continuation schedule, as production runs it (driven here in a loop, not by the minute).
      cron = "* * * * *";
    }
    console.log(`10,000 users, a 1,200-user millisecond and a 5,500-member organization: ${run.invocations} invocations, ${run.api_requests} Auth0 requests, ${run.d1_queries} D1 queries, ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    // Only the notes that the optional features are not enabled (no application scope, no
    // read:logs granted here).
    assert.match(run.error ?? "", /^(Applications: not enabled: grant read:clients [^]*)?$/);
    assert.equal(await countRows(w.db, "sync_runs"), 1, "one logical run");
    assert.equal(run.invocations, calls.length);
    assert.ok(run.invocations > 3, `invocations = ${run.invocations}`);
    for (const [i, c] of calls.entries()) {
      assert.ok(c.requests <= BUDGET, `invocation ${i + 1} sent ${c.requests} requests`);
      assert.ok(c.queries <= BUDGET, `invocation ${i + 1} made ${c.queries} D1 queries`);
    }
    assert.deepEqual([run.users_seen, run.users_added, run.users_removed], [10_000, 10_000, 0]);
    assert.deepEqual([run.organizations_seen, run.memberships_seen], [3, 5543]);
    const stats = fake.stats();
    assert.equal(stats.export, 1, "the 1,200-user millisecond is read from one export job, resumed if paused");
    // Pages read, not attempts: invocations run back to back here (a minute apart in production),
    // so one may start on the fake's drained bucket and meet a 429 whose retry re-sends a page.
    const membersRead = fake.requests.filter((r) => r.kind === "members" && r.status === 200).length;
    assert.equal(membersRead, 56 + 1 + 1, `each page of members read once: 56 + 1 + 1 (${stats.rateLimited} 429s met)`);
  });

  test("D1 holds exactly the tenant's users and memberships", async () => {
    const rows = await readD1Users(w.db);
    assert.deepEqual(rows.map((r) => r.user_id), users.map((u) => u.user_id).sort());
    const byId = new Map(rows.map((r) => [r.user_id, r]));
    for (const u of users) {
      const exp = expectedUserRow(u);
      const row = byId.get(u.user_id);
      for (const k of Object.keys(exp)) assert.deepEqual(row[k], exp[k], `${u.user_id}.${k}`);
      assert.equal(row.removed_at, null);
    }
    assert.deepEqual(await storedMemberships(w.db), truthMemberships(fake));
    assert.equal(await countRows(w.db, "sync_pending_removals"), 0);
  });
});
