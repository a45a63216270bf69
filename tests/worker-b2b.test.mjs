// End to end in workerd: a B2B tenant of 15,000 organizations and 2,000 users syncs completely,
// every statement within D1's limits (issue 20, Done when 1).

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { requireBuiltWorker } from "./support/worker.mjs";
import { startTenant, storedMemberships, truthMemberships } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const ORGS = 15_000;
const USERS = 2_000;
const BIG = 1_100;
// Generous per-invocation budgets keep the ticks few; members are still one Auth0 request per
// organization, so the sync spans invocations (15,000 requests at 5,000 each).
const BUDGET = 5_000;
// Far above what the tenant needs at BUDGET per invocation; a loop that never ends is a bug.
const MAX_TICKS = 60;
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

async function newestRun(db) {
  return db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();
}

/** The main cron tick, then continuation ticks until the newest run is no longer running. */
async function syncToEnd(w) {
  let cron = "*/15 * * * *";
  for (let ticks = 1; ticks <= MAX_TICKS; ticks++) {
    const r = await w.scheduled(cron);
    assert.equal(r.outcome, "ok");
    const run = await newestRun(w.db);
    if (run.status !== "running") return { run, ticks };
    cron = "* * * * *";
  }
  assert.fail(`the run was still running after ${MAX_TICKS} ticks`);
}

describe(`a B2B tenant: ${ORGS.toLocaleString("en")} organizations, ${USERS.toLocaleString("en")} users`, () => {
  let fake, w, result;
  const started = Date.now();
  const users = makeUsers(USERS, { seed: 20, now: NOW });
  // Org 0 has 1,100 members (past offset paging's 1,000); the others 0–3.
  const { organizations, members } = makeOrganizations(ORGS, {
    seed: 20, users, sizes: [BIG], minMembers: 0, maxMembers: 3, style: "customers",
  });

  before(async () => {
    ({ fake, w } = await startTenant({ users, organizations, members }, {
      VIEWER_TOKEN,
      SYNC_MAX_AUTH0_REQUESTS: String(BUDGET),
      SYNC_MAX_D1_QUERIES: String(BUDGET),
    }));
  });
  after(async () => {
    await w?.close();
    await fake?.close();
    console.log(`# worker-b2b: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  });

  test("the fake tenant is what the test claims", () => {
    assert.equal(organizations.length, ORGS);
    assert.equal(new Set(organizations.map((o) => o.id)).size, ORGS);
    assert.match(organizations[41].name, /^customer-00042-[a-z0-9-]+-(emea|amer|apac)$/);
    assert.match(organizations[41].display_name, /^Customer 00042: .+ (EMEA|AMER|APAC) \(.+\)$/);
    assert.equal(members.get(organizations[0].id).length, BIG);
    const small = organizations.slice(1).map((o) => members.get(o.id).length);
    assert.ok(small.every((n) => n >= 0 && n <= 3));
    for (const n of [0, 1, 2, 3]) assert.ok(small.includes(n), `some organization has ${n} members`);
    // Large enough that one JSON value of all organizations is past D1's 2,000,000 bytes per value.
    assert.ok(JSON.stringify(organizations).length > 2_000_000);
  });

  test("the sync completes across invocations and succeeds", async () => {
    const t0 = Date.now();
    result = await syncToEnd(w);
    const { run, ticks } = result;
    console.log(`# worker-b2b: sync ${((Date.now() - t0) / 1000).toFixed(1)} s over ${ticks} ticks, ` +
      `${run.api_requests} Auth0 requests, ${run.d1_queries} D1 queries`);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    // The seed scopes: the run's notes say which optional parts are not enabled, nothing else
    // (a D1 limit would end the run failed, naming the database).
    assert.doesNotMatch(run.error ?? "", /database|D1|limit/i);
    assert.ok(ticks > 1, `ticks = ${ticks}`);
    assert.equal(run.invocations, ticks);
    assert.equal(run.users_seen, USERS);
    assert.equal(run.organizations_seen, ORGS);
    const truth = truthMemberships(fake);
    assert.equal(run.memberships_seen, [...truth.values()].reduce((n, ids) => n + ids.length, 0));
    assert.equal(fake.requests.filter((r) => r.status >= 400).length, 0, "no rejected request");
  });

  test("the API shows every organization with its exact member count", async () => {
    assert.equal(result?.run.status, "succeeded", "the sync ran");
    const res = await w.authedFetch("/api/organizations");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.organizations.length, ORGS);
    const got = new Map(body.organizations.map((o) => [o.id, o]));
    for (const o of organizations) {
      const api = got.get(o.id);
      assert.ok(api, `${o.id} is listed`);
      assert.deepEqual([api.name, api.display_name, api.removed_at], [o.name, o.display_name, null], o.id);
      assert.equal(api.member_count, new Set(members.get(o.id)).size, `${o.id}'s member count`);
    }
    assert.equal(got.get(organizations[0].id).member_count, BIG);
    assert.deepEqual(await storedMemberships(w.db), truthMemberships(fake));
    const { n } = await w.db.prepare("SELECT COUNT(*) AS n FROM users WHERE removed_at IS NULL").first();
    assert.equal(n, USERS);
  });

  test("the sync history shows the run succeeded and no failed run", async () => {
    const res = await w.authedFetch("/api/sync-runs?limit=100");
    assert.equal(res.status, 200);
    const { runs } = await res.json();
    assert.ok(runs.length >= 1);
    assert.equal(runs[0].status, "succeeded", JSON.stringify(runs[0]));
    assert.deepEqual(runs.filter((r) => r.status === "failed").map((r) => r.error), []);
  });
});
