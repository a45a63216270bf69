// Hostile requests against the built worker in workerd: every answer is below 500 with a message,
// and the worker logs no panic (issue 9 §2). The native fuzz (src/api/tests/fuzz.rs) runs thousands of
// cases through the pure API; this one sends a few hundred through the real runtime, headers,
// body reading, D1 and Access verification included.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startFakeAuth0, makeUsers, mulberry32 } from "./support/fake-auth0.mjs";
import { startWorker, requireBuiltWorker, tenantBindings } from "./support/worker.mjs";
import { makeKeyPair, signJwt, accessClaims, startJwksServer } from "./support/access-keys.mjs";

const VIEWER_TOKEN = "fuzz-viewer-token";
const EVENT_STREAM_TOKEN = "fuzz-event-stream-token-0123456789";
const EVENTS = "/api/auth0/events";
const AUD = "aud-fuzz-0123456789";
const CASES = 400;
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

// What a panicking or trapping worker prints: Rust's panic message, the wasm trap, an uncaught throw.
const CRASH = /panicked|RuntimeError|unreachable|Uncaught|worker hung|Worker exceeded/i;

// Ids that need care in a path: `+` is a literal there, `|` and `/` are encoded by clients.
const ODD_IDS = ["sms|+15550100", "email|a+b@x.io", "oidc|ü/é"];
const ODD_ORG = "org_a+b";

const ROUTES = [
  "/", "/runs", "/login", "/logout", "/healthz", "/users.csv", "/api/users", "/api/summary",
  "/api/organizations", "/api/sync-runs", "/api/sync", "/api/users/sms%7C%2B15550100",
  "/api/users/sms|+15550100", `/api/organizations/${encodeURIComponent(ODD_ORG)}/members`,
  "/api/organizations/org_a+b/members", "/api/users/", "/api", "/nope", "/api/organizations/x/members/y",
  "/api/changes", "/changes", "/changes.csv", "/api/changes/1",
  EVENTS, "/api/auth0/event",
  "/api/applications", "/api/applications/app%7C1", "/api/applications/app|1/users", "/api/applications//users",
  "/applications", "/applications/app%7C1", "/applications.csv", "/applications/app|1/users.csv", "/applications/x/y",
  "/api/trends", "/api/trends/",
  "/users/sms%7C%2B15550100", "/users/sms|+15550100", "/users/", "/users/x/y",
];
const PARAMS = ["limit", "cursor", "activity", "status", "connection", "organization", "inactive_days", "never_logged_in", "q", "sort", "token", "x",
  "since", "until", "type", "user_id", "client_id", "days", "by", "last_login_days"];
const GOOD = ["5", "active_30d", "never", "1000", "all", "removed", "active", "30", "true", "false", "email:desc", "last_login", "user_id:asc", ODD_ORG,
  "2025-01-01", "2025-06-01T00:00:00Z", "2025-02-30", "user_added", "baseline", ODD_IDS[0],
  "90", "1096", "0", "connection", "organization", "application", "30-60", "365-", "60-30"];
// Raw fragments: malformed escapes, escapes of bytes that are not UTF-8, and text that is.
const JUNK = [
  "%", "%%", "%Z", "%zz", "%4", "%é", "%4é", "%€", "%FF", "%C3", "%C3%28", "%ED%A0%80", "%C0%AF", "%00",
  "+", "%2B", "|", "%7C", "%2F", "é", "🦀", "=", "==", "&&", ";", "\"", "<script>", "'--", "-1", "0",
  "99999999999999999999999", "18446744073709551616", "1e9", "last_login:sideways", "%2e%2e",
];
const METHODS = ["GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

function generator(seed) {
  const rnd = mulberry32(seed);
  const below = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[below(xs.length)];
  const junk = () => {
    let s = "";
    for (let i = below(5); i > 0; i--) {
      const k = below(4);
      s += k === 0 ? pick(JUNK) : k === 1 ? pick(GOOD) : k === 2 ? String.fromCharCode(0x21 + below(0x5e)) : "a";
    }
    // Now and then a huge value, beyond every limit a real one has.
    if (below(25) === 0) s += "%41".repeat(1000 + below(3000));
    return s;
  };
  // Header values must be byte strings without CR, LF or NUL: printable ASCII and Latin-1.
  const headerJunk = () => {
    let s = "";
    for (let i = below(40); i > 0; i--) s += String.fromCharCode(below(3) ? 0x20 + below(0x5f) : 0xa0 + below(0x60));
    return s;
  };
  const query = () => {
    const parts = [];
    for (let i = below(5); i > 0; i--) {
      const name = below(8) === 0 ? junk() : pick(PARAMS);
      const part = below(6) === 0 ? name : `${name}=${below(2) ? pick(GOOD) : junk()}`;
      parts.push(part);
      if (below(5) === 0) parts.push(below(2) ? part : `${name}=${pick(GOOD)}`); // repeated, or conflicting
    }
    return parts.join("&");
  };
  const path = () => {
    const k = below(6);
    if (k === 0) return `/${below(2) ? "api/" : ""}users/${junk() || "x"}`;
    if (k === 1) return below(2) ? `/api/organizations/${junk() || "x"}/members` : `/api/applications/${junk() || "x"}/users`;
    if (k === 2) return `${pick(ROUTES)}${junk()}`;
    return pick(ROUTES) + (below(5) === 0 ? "/" : "");
  };
  return { rnd, below, pick, junk, headerJunk, query, path };
}

/** The raw bytes of a form body: junk text, or bytes that are not UTF-8 at all. */
function body(g) {
  switch (g.below(5)) {
    case 0: return Buffer.concat([Buffer.from("token=%"), Buffer.from([0xc3, 0xa9]), Buffer.from(g.junk())]);
    case 1: return Buffer.from(Array.from({ length: g.below(64) }, () => g.below(256)));
    case 2: return Buffer.from(`token=${VIEWER_TOKEN}${g.junk()}`);
    case 3: return Buffer.from(g.query());
    default: return Buffer.from(`token=${g.junk()}`);
  }
}

async function expectMessage(res, method, what) {
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  // A HEAD answer has no body to carry the message.
  if (res.status >= 400 && method !== "HEAD") {
    if (type.startsWith("application/json")) {
      const error = JSON.parse(text).error;
      assert.ok(typeof error === "string" && error.length > 0, `${what}: ${text.slice(0, 200)}`);
    } else {
      assert.ok(text.includes('<div class="error"'), `${what}: ${text.slice(0, 200)}`);
    }
  }
  return text;
}

describe("hostile requests against the built worker", () => {
  const key = makeKeyPair("fuzz-key");
  let jwks, fake, w, cookie, validJwt;

  before(async () => {
    jwks = await startJwksServer([key.jwk]);
    const users = makeUsers(25, { seed: 11 });
    for (const [i, id] of ODD_IDS.entries()) users.push({ ...structuredClone(users[i]), user_id: id, email: `odd${i}@example.com` });
    const organizations = [{ id: ODD_ORG, name: "odd", display_name: "Odd + Co" }];
    const members = new Map([[ODD_ORG, [...ODD_IDS]]]);
    fake = await startFakeAuth0({
      users, organizations, members,
      scopes: ["read:users", "read:organizations", "read:organization_members", "read:clients", "read:connections"],
      applications: [{ client_id: "app|1", name: "<b>App</b>", app_type: "spa" }],
      enabledClients: new Map([["con_UPAuth0Database01", ["app|1"]]]),
    });
    w = await startWorker({
      bindings: tenantBindings(fake, { VIEWER_TOKEN, EVENT_STREAM_TOKEN, ACCESS_TEAM_DOMAIN: jwks.url, ACCESS_AUD: AUD }),
    });
    const run = await w.authedFetch("/api/sync", { method: "POST" });
    assert.equal(run.status, 200);
    assert.equal((await run.json()).run.status, "succeeded");
    const login = await w.fetch("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${VIEWER_TOKEN}`,
    });
    assert.equal(login.status, 303);
    cookie = login.headers.get("set-cookie").split(";")[0];
    validJwt = signJwt(accessClaims({ issuer: jwks.url, aud: AUD }), { key });
  });
  after(async () => { await w?.close(); await fake?.close(); await jwks?.close(); });

  test("a login form with % before a non-ASCII character is refused, not a crash", async () => {
    for (const raw of [[0x25, 0xc3, 0xa9], [0x25, 0x34, 0xc3, 0xa9], [0x25, 0xe2, 0x82, 0xac], [0x25, 0xff]]) {
      const res = await w.fetch("/login", {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: Buffer.concat([Buffer.from("token="), Buffer.from(raw)]),
      });
      assert.equal(res.status, 401, raw.join(","));
      assert.match(await res.text(), /not the viewer token/);
    }
    const after = await w.fetch("/healthz");
    assert.equal(after.status, 200, "the worker still answers");
    assert.deepEqual(w.logs.filter((l) => CRASH.test(l)), []);
  });

  test("a huge login body is not read whole: the isolate's memory does not grow with it", async () => {
    // Each sync logs the wasm instance's memory, which only ever grows: a 40 MB body read into
    // it would show.
    const memoryLines = () => w.logs.map((l) => /wasm memory (\d+) MiB/.exec(l)).filter(Boolean).map((m) => Number(m[1]));
    const syncNow = async () => {
      const seen = memoryLines().length;
      const res = await w.authedFetch("/api/sync", { method: "POST" });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      for (let i = 0; i < 50 && memoryLines().length === seen; i++) await new Promise((r) => setTimeout(r, 100));
      return memoryLines().at(-1);
    };
    const before = await syncNow();
    assert.ok(before > 0, "the sync logs its memory");
    const res = await w.fetch("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${VIEWER_TOKEN}&pad=${"a".repeat(40 * 1024 * 1024)}`,
    });
    assert.equal(res.status, 401, "an oversized form signs no one in");
    assert.match(await res.text(), /not the viewer token/);
    const after = await syncNow();
    assert.ok(after - before < 8, `wasm memory grew from ${before} to ${after} MiB`);
  });

  test("ids holding + and | resolve on /api/users/{id} and the members route", async () => {
    for (const id of ODD_IDS) {
      for (const p of [encodeURIComponent(id), id.replace("|", "%7C").replace("/", "%2F")]) {
        const res = await w.authedFetch(`/api/users/${p}`);
        assert.equal(res.status, 200, `${p}: ${res.status}`);
        assert.equal((await res.json()).user.user_id, id);
        const page = await w.authedFetch(`/users/${p}`);
        assert.equal(page.status, 200, `/users/${p}: ${page.status}`);
        assert.ok((await page.text()).includes(`href="/changes?user_id=${encodeURIComponent(id).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}"`), p);
      }
    }
    const space = await w.authedFetch("/api/users/sms%7C%2015550100");
    assert.equal(space.status, 404, "a space is not a plus");
    await space.arrayBuffer();
    const spacePage = await w.authedFetch("/users/sms%7C%2015550100");
    assert.equal(spacePage.status, 404);
    assert.match(await spacePage.text(), /User not found/);
    for (const p of [encodeURIComponent(ODD_ORG), ODD_ORG]) {
      const res = await w.authedFetch(`/api/organizations/${p}/members`);
      assert.equal(res.status, 200, p);
      const ids = (await res.json()).members.map((m) => m.user_id).sort();
      assert.deepEqual(ids, [...ODD_IDS].sort());
    }
    const bad = await w.authedFetch("/api/users/auth0%7C%FF");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /user_id.*UTF-8/);
  });

  test(`${CASES} seeded hostile requests answer below 500 with a message, and nothing panics`, async () => {
    const g = generator(20261201);
    const logsBefore = w.logs.length;
    const statuses = {};
    let sent = 0;
    for (let i = 0; i < CASES; i++) {
      const method = g.pick(METHODS);
      const q = g.below(3) ? g.query() : "";
      // The login form is the one body anyone may post: aim a share of the posts at it.
      const target = method === "POST" && g.below(3) === 0 ? "/login" : g.path();
      const p = `${target}${q ? `?${q}` : ""}`;
      let url;
      try {
        url = new URL(p, "http://localhost");
      } catch {
        continue; // not a URL a client could send
      }
      const headers = {};
      let signedIn = false;
      switch (g.below(6)) {
        case 0: headers.authorization = `Bearer ${VIEWER_TOKEN}`; signedIn = true; break;
        case 1: headers.authorization = `Bearer ${g.headerJunk()}`; break;
        case 2: headers.authorization = g.headerJunk(); break;
        default: break;
      }
      switch (g.below(6)) {
        case 0: headers.cookie = cookie; signedIn ||= !headers.authorization; break;
        case 1: headers.cookie = `als_session=${g.headerJunk()}`; break;
        case 2: headers.cookie = `als_session=v1.99999999999999999999999.${g.headerJunk()}; ${g.headerJunk()}`; break;
        default: break;
      }
      switch (g.below(6)) {
        case 0: headers["cf-access-jwt-assertion"] = validJwt; signedIn = true; break;
        case 1: headers["cf-access-jwt-assertion"] = g.headerJunk(); signedIn = false; break;
        case 2: {
          const [h, , s] = validJwt.split(".");
          headers["cf-access-jwt-assertion"] = `${h}.${Buffer.from(g.junk()).toString("base64url")}.${s}`;
          signedIn = false;
          break;
        }
        default: break;
      }
      const init = { method, headers, redirect: "manual" };
      if (method === "POST" || method === "PUT" || method === "PATCH") {
        init.body = body(g);
        headers["content-type"] = "application/x-www-form-urlencoded";
      }
      const what = `#${i} ${method} ${url.pathname}${url.search} ${JSON.stringify(headers).slice(0, 300)}`;
      const res = await w.mf.dispatchFetch(url.href, init);
      sent++;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      assert.ok(res.status < 500, `${what}: ${res.status}`);
      assert.ok([200, 303, 400, 401, 403, 404, 405, 409].includes(res.status), `${what}: ${res.status}`);
      await expectMessage(res, method, what);
      if (res.status >= 200 && res.status < 300 && !signedIn) {
        assert.ok(["/healthz", "/login", "/healthz/", "/login/"].includes(url.pathname), `${what}: open without credentials`);
      }
    }
    assert.ok(sent > CASES * 0.9, `${sent} sent`);
    for (const s of [200, 400, 401, 403, 404]) assert.ok(statuses[s] > 0, `no ${s}: ${JSON.stringify(statuses)}`);
    const crashes = w.logs.slice(logsBefore).filter((l) => CRASH.test(l));
    assert.deepEqual(crashes, [], "the worker logged a panic or trap");
    // Still serving, and the logs were being captured all along.
    const health = await w.fetch("/healthz");
    assert.equal(health.status, 200);
    assert.ok(w.logs.some((l) => /sync run \d+ succeeded/.test(l)), "worker logs are captured");
  });

  test("hostile deliveries to /api/auth0/events get a receipt or a 4xx with a message, and nothing panics", async () => {
    const g = generator(20261202);
    const logsBefore = w.logs.length;
    const statuses = {};
    const kinds = ["user.created", "user.updated", "user.deleted", "organization.member.added",
      "organization.member.deleted", "com.auth0.user.updated", "organization.created", "", 5];
    const junkValue = () => g.pick([null, 5, true, "x", g.junk(), [], {}, { id: g.junk() }, "2025-06-01T10:00:00Z"]);
    const eventBody = () => {
      const e = {
        id: g.below(6) ? `evt_${g.below(40)}` : junkValue(),
        type: g.pick(kinds),
        time: g.below(2) ? "2025-06-01T10:00:00.000Z" : junkValue(),
        data: g.below(5) ? { object: g.below(2) ? { ...g.pick(fake.users), updated_at: "2025-06-01T10:00:00.000Z" }
          : { organization: { id: g.below(2) ? ODD_ORG : junkValue() }, user: { user_id: g.pick(ODD_IDS) }, user_id: junkValue() } }
          : junkValue(),
      };
      e[g.below(2) ? "specversion" : "spec_version"] = g.below(6) ? "1.0" : junkValue();
      if (g.below(10) === 0) e.a0purpose = "test";
      const text = JSON.stringify(e);
      return g.below(8) === 0 ? text.slice(0, g.below(text.length)) : text;
    };
    for (let i = 0; i < 150; i++) {
      const method = g.below(8) === 0 ? g.pick(METHODS) : "POST";
      const headers = {};
      let authorized = false;
      switch (g.below(5)) {
        case 0: case 1: headers.authorization = `Bearer ${EVENT_STREAM_TOKEN}`; authorized = true; break;
        case 2: headers.authorization = `Bearer ${VIEWER_TOKEN}`; break;
        case 3: headers.authorization = g.headerJunk(); break;
        default: break;
      }
      if (g.below(4) === 0) Object.assign(headers, { origin: "https://evil.example", "sec-fetch-site": "cross-site" });
      headers["content-type"] = g.pick(["application/json", "application/json", "application/cloudevents+json", "text/plain", g.headerJunk()]);
      const init = { method, headers, redirect: "manual" };
      if (method !== "GET" && method !== "HEAD") {
        const k = g.below(6);
        init.body = k === 0 ? Buffer.from(Array.from({ length: g.below(64) }, () => g.below(256)))
          : k === 1 ? Buffer.from(g.junk()) : eventBody();
      }
      const what = `#${i} ${method} ${JSON.stringify(headers).slice(0, 200)} ${String(init.body ?? "").slice(0, 200)}`;
      const res = await w.mf.dispatchFetch(new URL(EVENTS, "http://localhost").href, init);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      assert.ok([200, 400, 401, 405, 413, 415].includes(res.status), `${what}: ${res.status}`);
      const text = await expectMessage(res, method, what);
      if (res.status === 200) {
        assert.ok(authorized, `${what}: accepted without the token`);
        assert.equal(typeof JSON.parse(text).status, "string", what);
      }
    }
    for (const s of [200, 400, 401, 415]) assert.ok(statuses[s] > 0, `no ${s}: ${JSON.stringify(statuses)}`);
    const logs = w.logs.slice(logsBefore);
    assert.deepEqual(logs.filter((l) => CRASH.test(l)), [], "the worker logged a panic or trap");
    assert.ok(!logs.some((l) => l.includes(EVENT_STREAM_TOKEN)), "the token reached the logs");
    assert.equal((await w.fetch("/healthz")).status, 200);
  });
});
