// The demo's pushes (`npm run dev`, scripts/dev.mjs pushRound with demoActivity of scripts/demo-auth0.mjs)
// against the built worker over HTTP: every push answers 200 and D1 then holds exactly what the demo
// tenant holds, so the next sync changes nothing; a refused push is a warning, and the sync brings it.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemoAuth0, demoActivity } from "../scripts/demo-auth0.mjs";
import { pushRound, DEMO_LOG_STREAM_TOKEN, DEMO_EVENT_STREAM_TOKEN } from "../scripts/dev.mjs";
import { requireBuiltWorker, readD1Users, startWorkerHttp, tenantBindings } from "./support/worker.mjs";
import { expectedUserRow, storedUsage, syncToEnd } from "./support/tenant.mjs";

requireBuiltWorker();

const VIEWER_TOKEN = "viewer-secret-token";

/** Lines the pusher prints, kept instead. */
function capture() {
  const lines = { log: [], warn: [] };
  return { lines, out: { log: (l) => lines.log.push(l), warn: (l) => lines.warn.push(l) } };
}

/** D1's current users equal the demo tenant's, column by column. */
async function assertD1EqualsTenant(w, fake) {
  const want = fake.users.map(expectedUserRow).sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
  const got = (await readD1Users(w.db, { includeRemoved: false })).map((r) => {
    const out = {};
    for (const k of Object.keys(want[0])) out[k] = r[k];
    return out;
  });
  assert.deepEqual(got, want);
}

describe("the demo's pushes", () => {
  let fake, w, url;
  before(async () => {
    fake = await startDemoAuth0({ port: 0, users: 300, rateLimit: { burst: 1e9, perSecond: 1e9 } });
    fake.exportPolls = 0;
    w = await startWorkerHttp({
      bindings: tenantBindings(fake, { VIEWER_TOKEN, LOG_STREAM_TOKEN: DEMO_LOG_STREAM_TOKEN, EVENT_STREAM_TOKEN: DEMO_EVENT_STREAM_TOKEN }),
    });
    url = w.url.replace(/\/$/, "");
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("every push answers 200, D1 then holds what the tenant holds, and the next sync changes nothing", async () => {
    const activity = demoActivity(fake, { seed: 5, createEvery: 2 });
    const usersBefore = fake.users.length;
    const logsBefore = fake.logs.length;
    const { lines, out } = capture();
    for (let i = 0; i < 4; i++) {
      const r = await pushRound({ url, activity, logToken: DEMO_LOG_STREAM_TOKEN, eventToken: DEMO_EVENT_STREAM_TOKEN, out });
      assert.ok(r.statuses.length >= 5, JSON.stringify(r));
      assert.ok(r.statuses.every((s) => s === 200), JSON.stringify(r));
    }
    assert.deepEqual(lines.warn, []);
    assert.equal(lines.log.length, 4);
    for (const l of lines.log) {
      const m = l.match(/^Demo push: 3 logins -> HTTP 200 \((\d+) counted\); (\d+) user events -> HTTP 200 x(\d+) \((\d+) applied\)/);
      assert.ok(m, l);
      assert.equal(m[1], "3", l);
      assert.deepEqual([m[3], m[4]], [m[2], m[2]], l);
    }
    // Two rounds of four created a user each; twelve logins went into the tenant's log.
    assert.equal(fake.users.length, usersBefore + 2);
    const pushed = fake.logs.slice(logsBefore);
    assert.equal(pushed.length, 12);

    // Before any sync, the pushes alone brought every change.
    await assertD1EqualsTenant(w, fake);
    const moved = await storedUsage(w.db);
    for (const e of pushed) {
      const row = moved.find((r) => r.user_id === e.user_id && r.client_id === e.client_id);
      assert.ok(row && row.last_login >= e.date && row.last_seen >= e.date, `${e.user_id} ${e.client_id}: ${JSON.stringify(row)}`);
    }

    // The sync reads the same users and the same log events (same log_ids): nothing left to change.
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.deepEqual([run.users_added, run.users_updated, run.users_removed], [0, 0, 0], JSON.stringify(run));
    assert.deepEqual(await storedUsage(w.db), moved);
    await assertD1EqualsTenant(w, fake);
  });

  test("a refused push is a warning, not an exception, and the next sync brings its changes", async () => {
    const activity = demoActivity(fake, { seed: 6 });
    const { lines, out } = capture();
    const r = await pushRound({ url, activity, logToken: "wrong-log-stream-token", eventToken: "wrong-event-stream-token", out });
    assert.ok(r.statuses.length >= 5 && r.statuses.every((s) => s === 401), JSON.stringify(r));
    assert.match(lines.log[0], /^Demo push: 3 logins -> HTTP 401; \d+ user events -> HTTP 401 x\d+ \(0 applied\)/);
    assert.equal(lines.warn.length, 1);
    assert.match(lines.warn[0], /^WARNING: the worker refused \d+ demo pushes \(the next sync brings the changes instead\): \/api\/auth0\/log-stream answered HTTP 401: unauthorized/);
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.ok(run.users_updated > 0, JSON.stringify(run));
    await assertD1EqualsTenant(w, fake);
  });

  test("a worker that does not answer is a warning too", async () => {
    const { lines, out } = capture();
    const r = await pushRound({ url: "http://127.0.0.1:1", activity: demoActivity(fake, { seed: 7 }), logToken: "x", eventToken: "y", out });
    assert.ok(r.statuses.every((s) => s === 0), JSON.stringify(r));
    assert.match(lines.log[0], /-> HTTP no answer/);
    assert.match(lines.warn[0], /answered nothing/);
  });
});
