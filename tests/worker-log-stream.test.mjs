// Auth0 Log Streams (Custom Webhook) pushes to the built worker (POST /api/auth0/log-stream): every
// content format, duplicate and reordered deliveries, pushes and polls over the same events counted
// once (app_usage equals the fake tenant's log to the millisecond), bad items beside good ones, and
// every refusal (secrets, bodies), never a 5xx. The secret never reaches the worker's log.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, mulberry32 } from "./support/fake-auth0.mjs";
import { requireBuiltWorker } from "./support/worker.mjs";
import { SEEN_TYPES as SEEN, startTenant, storedUsage as stored, syncToEnd, usageFromLog as truth } from "./support/tenant.mjs";

requireBuiltWorker();

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
const LOG_STREAM_TOKEN = "log-stream-secret-0123456789abcdef";
const ROUTE = "/api/auth0/log-stream";
const SCOPES = ["read:users", "read:organizations", "read:organization_members", "read:clients", "read:connections", "read:logs"];

/** Appends `n` scripted events to the fake's log; returns them. */
function script(fake, users, n, seed) {
  const r = mulberry32(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const base = Date.parse(NOW) - 2 * 86_400_000 + fake.logs.length * 37_000;
  const out = [];
  for (let i = 0; i < n; i++) {
    const type = pick(["s", "s", "ssa", "sertft", "f", "seccft"]);
    const e = { type, date: new Date(base + i * 37_000 + Math.floor(r() * 60_000)).toISOString(), client_id: pick(["demo_spa", "demo_web"]) };
    if (type !== "seccft") e.user_id = pick(users).user_id;
    out.push(fake.logEvent(e));
  }
  return out;
}

const item = (e) => ({ log_id: e.log_id, data: e });
const lines = (events) => events.map((e) => JSON.stringify(item(e))).join("\n") + "\n";
const array = (events) => JSON.stringify(events.map(item));

function post(w, body, { auth = LOG_STREAM_TOKEN, method = "POST", headers = {} } = {}) {
  const h = { "content-type": "application/json", ...headers };
  if (auth !== null) h.authorization = auth;
  return w.fetch(ROUTE, { method, headers: h, body: method === "GET" ? undefined : body });
}

async function postOk(w, body, opts) {
  const res = await post(w, body, opts);
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

describe("Auth0 Log Stream pushes", () => {
  let fake, w;
  const users = makeUsers(40, { seed: 17, now: NOW });
  before(async () => {
    ({ fake, w } = await startTenant({ users, scopes: SCOPES }, { VIEWER_TOKEN, LOG_STREAM_TOKEN }));
    assert.equal((await syncToEnd(w)).run.status, "succeeded");
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("every content format is read, and usage equals the log to the millisecond", async () => {
    const events = script(fake, users, 90, 1);
    const a = await postOk(w, lines(events.slice(0, 30)));
    assert.equal(a.received, 30);
    const b = await postOk(w, array(events.slice(30, 60)), { auth: `Bearer ${LOG_STREAM_TOKEN}` });
    assert.equal(b.received, 30);
    let counted = a.counted + b.counted;
    for (const e of events.slice(60)) counted += (await postOk(w, JSON.stringify(item(e)))).counted;
    assert.equal(counted, events.filter((e) => e.user_id && SEEN.includes(e.type)).length);
    assert.deepEqual(await stored(w.db), truth(fake.logs));
  });

  test("duplicate and reordered deliveries change nothing", async () => {
    const before = await stored(w.db);
    const all = fake.logs.slice();
    const again = await postOk(w, array(all.slice().reverse()));
    assert.equal(again.counted, 0);
    await postOk(w, lines([...all.slice(10, 20), ...all.slice(10, 20)]));
    assert.deepEqual(await stored(w.db), before);
  });

  test("after a missed push, polling catches up without counting pushed events twice", async () => {
    const events = script(fake, users, 120, 2);
    // The stream delivered only every other event, out of order, then went down.
    await postOk(w, array(events.filter((_, i) => i % 2 === 0).reverse()));
    assert.equal((await syncToEnd(w)).run.status, "succeeded");
    assert.deepEqual(await stored(w.db), truth(fake.logs));
    // Auth0 then delivers the backlog late: already counted by polling, nothing changes.
    const late = await postOk(w, lines(events));
    assert.equal(late.counted, 0);
    assert.deepEqual(await stored(w.db), truth(fake.logs));
    const { n } = await w.db.prepare("SELECT count(*) AS n FROM log_seen").first();
    assert.ok(n > 0);
  });

  test("bad items are counted and the good ones applied", async () => {
    const events = script(fake, users, 10, 3);
    const body = lines(events) + "{not json\n" + JSON.stringify({ log_id: "x" }) + "\n[1]\n";
    const r = await postOk(w, body);
    assert.deepEqual([r.received, r.unreadable], [10, 3]);
    assert.deepEqual(await stored(w.db), truth(fake.logs));
    assert.ok(w.logs.some((l) => /auth0 log stream: 10 events, 3 unreadable items/.test(l)));
  });

  test("bad bodies and secrets get a 4xx with a message, and the secret is never logged", async () => {
    const before = await stored(w.db);
    const cases = [
      [{ body: "x".repeat((1 << 20) + 1) }, 413],
      [{ body: "{not json" }, 400],
      [{ body: "[1, 2" }, 400],
      [{ body: "42" }, 400],
      [{ body: "" }, 400],
      [{ body: "[]" }, 400],
      [{ body: array(fake.logs.slice(0, 2)), auth: null }, 401],
      [{ body: array(fake.logs.slice(0, 2)), auth: "wrong-secret-0123456789abcdef" }, 401],
      [{ body: array(fake.logs.slice(0, 2)), auth: `Basic ${LOG_STREAM_TOKEN}` }, 401],
      [{ body: "", method: "GET" }, 405],
    ];
    for (const [{ body, ...opts }, status] of cases) {
      const res = await post(w, body, opts);
      const json = await res.json();
      assert.equal(res.status, status, `${JSON.stringify(opts)} ${body.slice(0, 20)}: ${JSON.stringify(json)}`);
      assert.ok(typeof json.error === "string" && json.error.length > 10);
    }
    assert.deepEqual(await stored(w.db), before);
    assert.ok(!w.logs.some((l) => l.includes(LOG_STREAM_TOKEN)), "the secret reached the log");
  });

  test("garbage bodies and headers never get a 5xx", async () => {
    const r = mulberry32(99);
    const auths = [LOG_STREAM_TOKEN, `Bearer ${LOG_STREAM_TOKEN}`, "Bearer", "", null, "\t"];
    const statuses = new Set();
    for (let i = 0; i < 60; i++) {
      const n = Math.floor(r() * 200);
      let body = Array.from({ length: n }, () => String.fromCharCode(Math.floor(r() * 128))).join("");
      if (r() < 0.4) body = array(fake.logs.slice(0, 3)).slice(0, n);
      const res = await post(w, body, { auth: auths[Math.floor(r() * auths.length)], headers: { "content-type": r() < 0.5 ? "text/plain" : "application/json" } });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `case ${i}: ${res.status}`);
      statuses.add(res.status);
    }
    assert.ok(statuses.has(400) && statuses.has(401), [...statuses].join(","));
  });
});

describe("Auth0 Log Stream pushes without LOG_STREAM_TOKEN", () => {
  let fake, w;
  before(async () => {
    ({ fake, w } = await startTenant({ users: makeUsers(3, { seed: 1, now: NOW }), scopes: SCOPES }, { VIEWER_TOKEN }));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("the route refuses everyone", async () => {
    for (const auth of [LOG_STREAM_TOKEN, null, ""]) {
      const res = await post(w, "[]", { auth });
      const json = await res.json();
      assert.equal(res.status, 403);
      assert.match(json.error, /LOG_STREAM_TOKEN is not set/);
    }
  });
});
