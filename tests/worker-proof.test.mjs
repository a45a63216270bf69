// End to end: the listing proof by difference (issue 19 §3). A tenant that does not change while it
// is listed costs at most 2 % more requests than its pages and tokens; a user deleted while a block
// is paged never gets another user marked removed.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, readD1Users } from "./support/worker.mjs";
import { startTenant } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const PER_PAGE = 100;
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

const newestRun = (db) => db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();

/** The cron tick, then continuation ticks until the run ends. */
async function syncToEnd(w) {
  let cron = "*/15 * * * *";
  for (let i = 0; i < 100; i++) {
    assert.equal((await w.scheduled(cron)).outcome, "ok");
    const run = await newestRun(w.db);
    if (run.status !== "running") return run;
    cron = "* * * * *";
  }
  throw new Error("the run never ended");
}

async function activeIds(w) {
  return new Set((await readD1Users(w.db)).filter((r) => r.removed_at === null).map((r) => r.user_id));
}

/** Requests the user listing took (pages, read-aheads, counts, tokens) over its minimum. */
function listingRatio(fake, n, invocations) {
  const s = fake.stats();
  const minimum = Math.ceil(n / PER_PAGE) + invocations;
  return { requests: s.users + s.token, minimum, ratio: (s.users + s.token) / minimum };
}

describe("the listing proof by difference", () => {
  const n = 5000;
  // One invocation lists it all, as the bench's budget does: the ratio is the listing's alone.
  const bindings = { VIEWER_TOKEN, SYNC_MAX_AUTH0_REQUESTS: "1000", SYNC_MAX_D1_QUERIES: "1000" };

  for (const capTotals of [false, true]) {
    describe(capTotals ? "totals capped at 1000 (counts as before)" : "totals that count every match", () => {
      let fake, w;
      const users = makeUsers(n, { seed: 19, now: NOW });
      before(async () => ({ fake, w } = await startTenant({ users: [...users], capTotals }, bindings)));
      after(async () => { await w?.close(); await fake?.close(); });

      test("a quiet tenant's full listing is exact, and its cost is printed", async () => {
        fake.resetStats();
        const run = await syncToEnd(w);
        assert.equal(run.status, "succeeded", JSON.stringify(run));
        assert.deepEqual(await activeIds(w), new Set(fake.users.map((u) => u.user_id)));
        const { requests, minimum, ratio } = listingRatio(fake, n, run.invocations);
        const counts = fake.requests.filter((r) => r.kind === "users" && r.query.per_page === "1").length;
        console.log(`${n} users, ${capTotals ? "capped" : "uncapped"} totals: ${requests} listing requests `
          + `for a minimum of ${minimum} = ${ratio.toFixed(3)}x (${counts} counts)`);
        if (capTotals) assert.ok(counts > 0, "capped totals cannot prove by difference");
        else {
          assert.equal(counts, 0, "no block needed a count");
          assert.ok(ratio <= 1.02, `${ratio.toFixed(3)}x`);
        }
      });
    });
  }

  describe("a user deleted while a block is paged", () => {
    let fake, w;
    const users = makeUsers(3000, { seed: 23, now: NOW });
    before(async () => ({ fake, w } = await startTenant({ users: [...users], capTotals: false }, bindings)));
    after(async () => { await w?.close(); await fake?.close(); });

    test("never gets a user who is still there marked removed", async () => {
      assert.equal((await syncToEnd(w)).status, "succeeded");
      const byCreated = [...fake.users].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
      const gone = byCreated[50].user_id; // on the first page
      let users = 0;
      fake.onApiRequest = (_, { kind }) => {
        if (kind !== "users") return;
        users += 1;
        // Before the third page: every later position moves back by one.
        if (users === 3) fake.users = fake.users.filter((u) => u.user_id !== gone);
      };
      try {
        const run = await syncToEnd(w);
        assert.ok(["succeeded", "partial"].includes(run.status), JSON.stringify(run));
        const active = await activeIds(w);
        for (const u of fake.users) assert.ok(active.has(u.user_id), `${u.user_id} falsely removed`);
        if (run.status === "succeeded") assert.ok(!active.has(gone), "the deleted user is marked removed");
        console.log(`deleted while paged: run ${run.status}, ${run.users_removed} removed, ${run.api_requests} requests`);
      } finally { fake.onApiRequest = null; }
    });
  });
});
