// Per-application usage from the tenant's log (read:logs), end to end in workerd against the fake
// Auth0: D1's app_usage equals the fake's log to the millisecond, across budgeted invocations and
// runs without counting an event twice; a checkpoint lost to retention is a recorded gap; without
// read:logs the users still sync and the history names the scope.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, mulberry32 } from "./support/fake-auth0.mjs";
import { requireBuiltWorker } from "./support/worker.mjs";
import { startTenant, storedUsage as stored, syncToEnd, usageFromLog as truth } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
// The application scopes too (the fake lists no applications), so a run's history holds only what
// the log part says.
const BASE_SCOPES = ["read:users", "read:organizations", "read:organization_members", "read:clients", "read:connections"];
const SCOPES = [...BASE_SCOPES, "read:logs"];
requireBuiltWorker();

/** Appends `n` scripted events: logins, silent auth, token exchanges, failures, M2M tokens. */
function script(fake, users, n, seed) {
  const r = mulberry32(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const base = Date.parse(NOW) - 20 * 86_400_000 + fake.logs.length * 37_000;
  for (let i = 0; i < n; i++) {
    const type = pick(["s", "s", "s", "ssa", "sertft", "seacft", "f", "fp", "seccft", "sapi"]);
    const m2m = type === "seccft";
    const e = {
      type,
      // Not quite in log_id order, as Auth0's dates are not.
      date: new Date(base + i * 37_000 + Math.floor(r() * 60_000)).toISOString(),
      client_id: m2m ? "demo_m2m" : pick(["demo_spa", "demo_web", "demo_admin"]),
    };
    if (!m2m && r() > 0.03) e.user_id = pick(users).user_id;
    fake.logEvent(e);
  }
}

async function firstUses(db) {
  const { results } = await db.prepare(
    "SELECT user_id, client_id, baseline, run_id, at FROM access_events WHERE type = 'app_first_use' ORDER BY user_id, client_id",
  ).all();
  return results;
}

describe("application usage from the log", () => {
  let fake, w;
  const users = makeUsers(120, { seed: 11, now: NOW });
  before(async () => {
    ({ fake, w } = await startTenant({ users, scopes: SCOPES }, { VIEWER_TOKEN }));
    script(fake, users, 1234, 1);
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("usage equals the log, to the millisecond", async () => {
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.error, null);
    assert.deepEqual(await stored(w.db), truth(fake.logs));
    const cursor = await w.db.prepare("SELECT checkpoint, tracking_since, newest_date FROM log_cursor").first();
    assert.equal(cursor.checkpoint, fake.logs.at(-1).log_id);
    assert.equal(cursor.tracking_since, fake.logs.map((e) => e.date).sort()[0]);
    assert.equal(cursor.newest_date, fake.logs.map((e) => e.date).sort().at(-1));
    const logCalls = fake.requests.filter((r) => r.kind === "logs");
    assert.ok(logCalls.every((r) => r.status === 200), "no refused request");
    assert.equal(logCalls[0].query.sort, "date:1", "started from the oldest event kept");
    assert.ok(logCalls.slice(1).every((r) => r.query.from && r.query.take === "100"), "then by checkpoint");
    // Each pair's first use, once, as the baseline of the first read of the retained log.
    const firsts = await firstUses(w.db);
    assert.deepEqual(firsts.map((e) => [e.user_id, e.client_id, e.at]), truth(fake.logs).map((r) => [r.user_id, r.client_id, r.first_used]));
    assert.ok(firsts.every((e) => e.baseline === 1 && e.run_id === run.id));
  });

  test("with nothing new, the log costs one request and writes nothing", async () => {
    fake.resetStats();
    const before = await stored(w.db);
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded");
    assert.equal(fake.stats().logs, 1);
    assert.deepEqual(await stored(w.db), before);
  });

  test("new events are added once, however often the sync runs; a new pair is one first use", async () => {
    const pairsBefore = truth(fake.logs).length;
    script(fake, users, 321, 2);
    const date = new Date(Date.parse(fake.logs.at(-1).date) - 1).toISOString();
    fake.logEvent({ type: "s", date, client_id: "demo_new", user_id: users[0].user_id });
    const { run } = await syncToEnd(w);
    await syncToEnd(w);
    assert.deepEqual(await stored(w.db), truth(fake.logs));
    const changes = (await firstUses(w.db)).filter((e) => e.baseline === 0);
    assert.equal(changes.length, truth(fake.logs).length - pairsBefore);
    assert.ok(changes.every((e) => e.run_id === run.id));
    assert.ok(changes.some((e) => e.client_id === "demo_new" && e.user_id === users[0].user_id && e.at === date));
  });

  test("a checkpoint lost to retention restarts from the oldest event kept and records the gap", async () => {
    const read = fake.logs.length;
    const newestRead = fake.logs.map((e) => e.date).sort().at(-1);
    script(fake, users, 400, 3);
    fake.expireLogs(150); // the 250 oldest new events are gone before the next sync
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const oldestKept = fake.logs[fake.logsKeptFrom].date;
    assert.match(run.error, new RegExp(`usage unknown from ${newestRead} to ${oldestKept}`));
    const runs = await (await w.authedFetch("/api/sync-runs")).json();
    assert.equal(runs.runs[0].error, run.error, "the history says so");
    const { results: gaps } = await w.db.prepare("SELECT run_id, gap_from, gap_until FROM usage_gaps").all();
    assert.deepEqual(gaps, [{ run_id: run.id, gap_from: newestRead, gap_until: oldestKept }]);
    const seen = [...fake.logs.slice(0, read), ...fake.logs.slice(fake.logsKeptFrom)];
    assert.deepEqual(await stored(w.db), truth(seen));
  });
});

describe("application usage within budgets", () => {
  test("a backlog read across budgeted invocations, paused and resumed, counts each event once", async () => {
    const users = makeUsers(300, { seed: 12, now: NOW });
    const { fake, w } = await startTenant({ users, scopes: SCOPES }, { VIEWER_TOKEN, SYNC_MAX_AUTH0_REQUESTS: "20", SYNC_MAX_D1_QUERIES: "20" });
    try {
      script(fake, users, 5000, 4);
      const first = await syncToEnd(w);
      assert.equal(first.run.status, "succeeded", JSON.stringify(first.run));
      assert.ok(first.calls > 2, `the log took ${first.calls} invocations`);
      assert.deepEqual(await stored(w.db), truth(fake.logs));
      // More events; the minute's continuation ticks and a new run share them.
      script(fake, users, 1500, 5);
      await w.scheduled("*/15 * * * *");
      for (let i = 0; i < 100; i++) {
        const { n } = await w.db.prepare("SELECT COUNT(*) AS n FROM sync_runs WHERE status = 'running'").first();
        if (n === 0) break;
        await w.scheduled("* * * * *");
      }
      assert.deepEqual(await stored(w.db), truth(fake.logs));
      const { results } = await w.db.prepare("SELECT status FROM sync_runs ORDER BY id").all();
      assert.deepEqual(results.map((r) => r.status), ["succeeded", "succeeded"]);
    } finally { await w.close(); await fake.close(); }
  });
});

describe("without read:logs", () => {
  test("the users sync, usage is skipped, and the history names the scope", async () => {
    const users = makeUsers(80, { seed: 13, now: NOW });
    const { fake, w } = await startTenant({ users, scopes: BASE_SCOPES }, { VIEWER_TOKEN });
    try {
      script(fake, users, 50, 6);
      const { run } = await syncToEnd(w);
      assert.equal(run.status, "succeeded");
      assert.equal(run.users_seen, 80);
      assert.match(run.error, /^application usage not enabled: grant read:logs to the M2M app in Auth0 → Applications → APIs/);
      assert.equal(fake.stats().logs, 0);
      assert.deepEqual(await stored(w.db), []);
    } finally { await w.close(); await fake.close(); }
  });
});
