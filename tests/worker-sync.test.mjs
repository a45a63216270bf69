// End-to-end tests of the built worker against the fake Auth0 tenant.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users, readSyncRuns } from "./support/worker.mjs";
import { startTenant, expectedUserRow } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

const setup = (fakeOpts = {}) => startTenant(fakeOpts, { VIEWER_TOKEN });

// The cron trigger, as production runs it; the outcome is read back from the sync history,
// since Workers report every scheduled event as a success.
async function sync(w) {
  const r = await w.scheduled();
  assert.equal(r.outcome, "ok");
  const res = await w.authedFetch("/api/sync-runs?limit=1");
  const { runs } = await res.json();
  return { status: res.status, run: runs[0] };
}

async function listAllUsers(w, params = "") {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 100; i++) {
    const qs = new URLSearchParams(params);
    qs.set("limit", "1000");
    if (cursor) qs.set("cursor", cursor);
    const res = await w.authedFetch(`/api/users?${qs}`);
    assert.equal(res.status, 200);
    const body = await res.json();
    out.push(...body.users);
    cursor = body.next_cursor;
    if (cursor === null) return out;
  }
  throw new Error("/api/users cursor never ended");
}

function assertNoApiMisuse(fake) {
  const bad = fake.requests.filter((r) => r.status === 400);
  assert.deepEqual(bad, [], "the worker sent requests the API rejects (cap, per_page, q, search_engine)");
  assert.equal(fake.leakedAuthOnDownload, false, "bearer token sent to the signed export URL");
  for (const r of fake.requests.filter((x) => x.kind === "users")) {
    assert.equal(r.query.search_engine, "v3");
    assert.ok(r.query.sort === "created_at:1" || r.query.sort === "created_at:-1", `unsorted listing: ${JSON.stringify(r.query)}`);
  }
}

describe("worker end to end", () => {
  describe("5,000 users past the 1000 cap with a 1,500-user bulk import in one millisecond", () => {
    let fake, w, returning;
    const users = makeUsers(5000, { seed: 21, now: NOW, cluster: { size: 1500, at: "2024-03-03T03:03:03.303Z" } });
    const { organizations, members } = makeOrganizations(2, { seed: 21, users, sizes: [1200, 7] });
    before(async () => ({ fake, w } = await setup({ users: [...users], organizations, members })));
    after(async () => { await w?.close(); await fake?.close(); });

    test("health and viewer auth", async () => {
      assert.equal((await w.fetch("/healthz")).status, 200);
      for (const p of ["/api/users", "/api/sync-runs"]) {
        const res = await w.fetch(p);
        assert.ok([401, 403].includes(res.status), `${p} without a token gave ${res.status}`);
        await res.arrayBuffer();
        const wrong = await w.fetch(p, { headers: { authorization: "Bearer wrong" } });
        assert.ok([401, 403].includes(wrong.status));
        await wrong.arrayBuffer();
      }
    });

    test("first sync stores every user with the right columns", async () => {
      const { run } = await sync(w);
      assert.equal(run.status, "succeeded", JSON.stringify(run));
      assert.equal(run.users_seen, 5000);
      assert.equal(run.users_added, 5000);
      assert.equal(fake.stats().export, 1, "the unsplittable millisecond is read from one export job");
      assert.equal(run.users_removed, 0);
      assert.ok(fake.stats().token <= 1, "one token per run");
      assertNoApiMisuse(fake);

      const rows = await readD1Users(w.db);
      assert.equal(rows.length, 5000);
      const byId = new Map(rows.map((r) => [r.user_id, r]));
      for (const u of users) {
        const row = byId.get(u.user_id);
        assert.ok(row, `missing ${u.user_id}`);
        const exp = expectedUserRow(u);
        for (const k of Object.keys(exp)) assert.deepEqual(row[k], exp[k], `${u.user_id}.${k}`);
        assert.ok(row.first_seen_at);
        assert.equal(row.removed_at, null);
      }
    });

    test("an unchanged tenant syncs with no changes", async () => {
      fake.resetStats();
      const { run } = await sync(w);
      assert.equal(run.status, "succeeded");
      assert.equal(run.users_added, 0);
      assert.equal(run.users_updated, 0);
      assert.equal(run.users_removed, 0);
      // D1 bills per row written: an unchanged tenant must cost (almost) nothing.
      assert.equal(run.rows_written, 0);
      assert.equal(run.users_seen, 5000);
      assertNoApiMisuse(fake);
    });

    test("adds, updates and removals are detected", async () => {
      const removedUsers = fake.users.splice(0, 3);
      const gone = removedUsers.map((u) => u.user_id);
      returning = removedUsers[1];
      for (const u of fake.users.slice(0, 2)) {
        u.logins_count = (u.logins_count ?? 0) + 1;
        u.last_login = u.updated_at = "2025-05-31T10:00:00.000Z";
      }
      const fresh = makeUsers(4, { seed: 999, now: NOW });
      fake.users.push(...fresh);
      const { run } = await sync(w);
      assert.equal(run.status, "succeeded");
      assert.deepEqual([run.users_added, run.users_updated, run.users_removed], [4, 2, 3]);

      const active = await listAllUsers(w);
      assert.equal(active.length, 5001);
      assert.equal(new Set(active.map((u) => u.user_id)).size, 5001);
      assert.ok(!active.some((u) => gone.includes(u.user_id)));
      const all = await listAllUsers(w, "status=all");
      assert.equal(all.length, 5004);
      for (const id of gone) assert.ok(all.find((u) => u.user_id === id).removed_at);
      const keys = ["user_id", "email", "name", "connection", "connections", "last_login", "logins_count", "created_at",
        "updated_at", "blocked", "email_verified", "first_seen_at", "removed_at"];
      for (const k of keys) assert.ok(k in active[0], `/api/users rows lack ${k}`);
    });

    test("a removed user who comes back is active again", async () => {
      fake.users.push(returning);
      const { run } = await sync(w);
      assert.equal(run.status, "succeeded");
      assert.deepEqual([run.users_added, run.users_updated, run.users_removed], [0, 1, 0]);
      const row = (await readD1Users(w.db)).find((r) => r.user_id === returning.user_id);
      assert.equal(row.removed_at, null);
    });

    test("a run that fails midway marks no one removed and keeps the data", async () => {
      const before = await readD1Users(w.db);
      const half = fake.users.splice(0, 2500);
      fake.faults = { failAfter: { requests: 12, status: 503 } };
      try {
        const { run } = await sync(w);
        assert.equal(run.status, "failed", JSON.stringify(run));
        assert.equal(run.users_removed, 0);
        assert.match(run.error, /did not answer usefully/);
        assert.deepEqual(await readD1Users(w.db), before);
      } finally {
        fake.faults = {};
        fake.users.unshift(...half);
      }
    });

    test("sync runs are listed newest first", async () => {
      const res = await w.authedFetch("/api/sync-runs");
      const { runs } = await res.json();
      assert.ok(runs.length >= 3);
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i - 1].started_at >= runs[i].started_at);
      for (const k of ["id", "started_at", "finished_at", "status", "trigger", "users_seen", "users_added", "users_updated",
        "users_removed", "api_requests", "rate_limited", "rows_written", "error"]) assert.ok(k in runs[0], `run lacks ${k}`);
      assert.equal((await readSyncRuns(w.db)).length, runs.length);
    });
  });

  describe("resilience", () => {
    test("rate limits and transient 5xx are survived", async () => {
      const users = makeUsers(400, { seed: 4, now: NOW });
      const { fake, w } = await setup({ users, rateLimit: { burst: 3, perSecond: 20 }, retryAfter: true, faultSeed: 7, faults: { error5xxRate: 0.1 } });
      try {
        const { run } = await sync(w);
        assert.equal(run.status, "succeeded", JSON.stringify(run));
        assert.equal((await readD1Users(w.db)).length, 400);
        assert.ok(run.api_requests >= 1);
        assert.equal(run.rate_limited >= 0, true);
      } finally { await w.close(); await fake.close(); }
    });

    test("bad credentials fail the run clearly and keep existing data", async () => {
      const { fake, w } = await setup({ users: makeUsers(30, { seed: 5, now: NOW }) });
      try {
        assert.equal((await sync(w)).run.status, "succeeded");
        fake.revokeCredentials();
        const { run } = await sync(w);
        assert.equal(run.status, "failed");
        assert.ok(run.error && run.error.length > 0);
        assert.equal((await readD1Users(w.db, { includeRemoved: false })).length, 30, "a failed run must not mark users removed");
      } finally { await w.close(); await fake.close(); }
    });

    test("the cron trigger runs a sync", async () => {
      const { fake, w } = await setup({ users: makeUsers(20, { seed: 6, now: NOW }) });
      try {
        const r = await w.scheduled();
        assert.equal(r.outcome, "ok");
        const runs = await readSyncRuns(w.db);
        assert.equal(runs.length, 1);
        assert.equal(runs[0].status, "succeeded");
        assert.equal((await readD1Users(w.db)).length, 20);
      } finally { await w.close(); await fake.close(); }
    });
  });
});
