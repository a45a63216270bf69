// Tests that the fake Auth0 tenant honours the Management API contract our worker is written against.

import { test, describe, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { startFakeAuth0, makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";

const NOW = "2025-06-01T12:00:00.000Z";

async function getToken(fake, overrides = {}) {
  const res = await fetch(`${fake.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      grant_type: "client_credentials",
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      audience: `https://${fake.domain}/api/v2/`,
      ...overrides,
    }),
  });
  return { status: res.status, body: await res.json() };
}

async function api(fake, token, path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${fake.url}${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, headers: res.headers, body };
}

const usersPath = (params) => `/api/v2/users?${new URLSearchParams({ search_engine: "v3", ...params })}`;

describe("token endpoint", () => {
  let fake;
  before(async () => { fake = await startFakeAuth0({ users: makeUsers(5, { now: NOW }) }); });
  after(() => fake.close());

  test("issues a bearer token with the granted scopes (JSON body)", async () => {
    const { status, body } = await getToken(fake);
    assert.equal(status, 200);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 86400);
    assert.equal(body.scope, "read:users read:organizations read:organization_members");
    assert.match(body.access_token, /^\S{20,}$/);
  });

  test("accepts a form-urlencoded body", async () => {
    const res = await fetch(`${fake.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials", client_id: "test-client-id", client_secret: "test-client-secret",
        audience: `https://${fake.domain}/api/v2/`,
      }),
    });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).access_token);
  });

  test("wrong secret and disabled app give 401 access_denied Unauthorized", async () => {
    const wrong = await getToken(fake, { client_secret: "nope" });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, { error: "access_denied", error_description: "Unauthorized" });
    fake.appDisabled = true;
    try {
      assert.equal((await getToken(fake)).status, 401);
    } finally { fake.appDisabled = false; }
  });

  test("wrong audience gives 403 Service not enabled", async () => {
    const r = await getToken(fake, { audience: "https://other.example/api/v2/" });
    assert.equal(r.status, 403);
    assert.deepEqual(r.body, { error: "access_denied", error_description: "Service not enabled within domain: https://other.example/api/v2/" });
  });

  test("no client grant (no scopes) gives 403 client-grant message", async () => {
    const saved = fake.scopes;
    fake.scopes = [];
    try {
      const r = await getToken(fake);
      assert.equal(r.status, 403);
      assert.equal(r.body.error, "access_denied");
      assert.match(r.body.error_description, /^Client is not authorized to access "https:\/\/demo-tenant\.us\.auth0\.com\/api\/v2\/"\. You need to create a "client-grant"/);
    } finally { fake.scopes = saved; }
  });

  test("bearer validation: missing header, unknown token, expired token", async () => {
    const missing = await api(fake, null, usersPath({}));
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { statusCode: 400, error: "Bad Request", message: "Bad HTTP authentication header format", errorCode: "Bearer" });

    const unknown = await api(fake, "not-a-token", usersPath({}));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.message, "Invalid token");

    const { body } = await getToken(fake);
    assert.equal((await api(fake, body.access_token, usersPath({}))).status, 200);
    fake.expireTokens();
    const expired = await api(fake, body.access_token, usersPath({}));
    assert.equal(expired.status, 401);
    assert.equal(expired.body.message, "Expired token received for JSON Web Token validation");
    assert.deepEqual(expired.body.attributes, { error: "Expired token received for JSON Web Token validation" });
  });

  test("revokeCredentials rotates the secret and kills tokens", async () => {
    const { body } = await getToken(fake);
    const oldSecret = fake.clientSecret;
    fake.revokeCredentials();
    assert.notEqual(fake.clientSecret, oldSecret);
    assert.equal((await getToken(fake, { client_secret: oldSecret })).status, 401);
    assert.equal((await api(fake, body.access_token, usersPath({}))).status, 401);
  });
});

describe("GET /api/v2/users", () => {
  let fake, token;
  const users = makeUsers(1500, { seed: 3, now: NOW, cluster: { size: 40, at: "2023-05-05T05:05:05.505Z" } });
  before(async () => {
    fake = await startFakeAuth0({ users });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  test("the 1000-record cap gives 400 invalid_paging", async () => {
    assert.equal((await api(fake, token, usersPath({ per_page: "100", page: "9" }))).status, 200);
    assert.equal((await api(fake, token, usersPath({ per_page: "50", page: "19" }))).status, 200);
    for (const [per_page, page] of [["100", "10"], ["50", "20"], ["3", "333"]]) {
      const r = await api(fake, token, usersPath({ per_page, page }));
      assert.equal(r.status, 400, `per_page=${per_page} page=${page}`);
      assert.equal(r.body.errorCode, "invalid_paging");
      assert.match(r.body.message, /^You can only page through the first 1000 records/);
    }
  });

  test("per_page > 100 gives 400 invalid_query_string", async () => {
    const r = await api(fake, token, usersPath({ per_page: "101" }));
    assert.equal(r.status, 400);
    assert.equal(r.body.errorCode, "invalid_query_string");
    assert.match(r.body.message, /Too big: 101/);
    assert.match(r.body.message, /per_page/);
  });

  test("search_engine must be v3 and unsupported q is rejected", async () => {
    const noEngine = await api(fake, token, "/api/v2/users?per_page=1");
    assert.equal(noEngine.status, 400);
    assert.equal(noEngine.body.errorCode, "invalid_query_string");
    const badQ = await api(fake, token, usersPath({ q: 'email:"x@y.z"' }));
    assert.equal(badQ.status, 400);
    assert.equal(badQ.body.errorCode, "invalid_query_string");
  });

  test("include_totals shapes and the capped total", async () => {
    const bare = await api(fake, token, usersPath({ per_page: "5" }));
    assert.ok(Array.isArray(bare.body));
    assert.equal(bare.body.length, 5);
    const obj = await api(fake, token, usersPath({ per_page: "5", page: "2", include_totals: "true" }));
    assert.deepEqual(Object.keys(obj.body).sort(), ["length", "limit", "start", "total", "users"]);
    assert.equal(obj.body.start, 10);
    assert.equal(obj.body.limit, 5);
    assert.equal(obj.body.length, 5);
    assert.equal(obj.body.total, 1000); // 1500 users, capped
    fake.capTotals = false;
    try {
      assert.equal((await api(fake, token, usersPath({ per_page: "1", include_totals: "true" }))).body.total, 1500);
    } finally { fake.capTotals = true; }
  });

  test("fields/include_fields restrict the returned keys", async () => {
    const r = await api(fake, token, usersPath({ per_page: "3", fields: "user_id,created_at", include_fields: "true" }));
    for (const u of r.body) assert.deepEqual(Object.keys(u).sort(), ["created_at", "user_id"]);
  });

  test("sort=created_at:1 / -1 orders, ties are not in user_id order, pages are disjoint", async () => {
    const seen = [];
    for (let page = 0; page < 10; page++) {
      const r = await api(fake, token, usersPath({ sort: "created_at:1", per_page: "100", page: String(page) }));
      seen.push(...r.body);
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].created_at <= seen[i].created_at);
    assert.equal(new Set(seen.map((u) => u.user_id)).size, 1000);

    const tie = seen.filter((u) => u.created_at === "2023-05-05T05:05:05.505Z").map((u) => u.user_id);
    assert.equal(tie.length, 40);
    assert.notDeepEqual(tie, [...tie].sort(), "ties must not come back in user_id order");

    const desc = await api(fake, token, usersPath({ sort: "created_at:-1", per_page: "100" }));
    for (let i = 1; i < desc.body.length; i++) assert.ok(desc.body[i - 1].created_at >= desc.body[i].created_at);
    const newest = [...users].sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    assert.equal(desc.body[0].created_at, newest.created_at);
  });
});

describe("created_at range queries", () => {
  let fake, token;
  const stamps = [
    "2020-06-29T23:59:59.999Z", "2020-06-30T00:00:00.000Z", "2020-06-30T12:00:00.000Z",
    "2020-06-30T23:59:59.999Z", "2020-07-01T00:00:00.000Z", "2021-01-01T00:00:00.000Z",
  ];
  before(async () => {
    const users = makeUsers(stamps.length, { seed: 9, now: NOW }).map((u, i) => ({ ...u, created_at: stamps[i] }));
    fake = await startFakeAuth0({ users });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  async function match(q) {
    const r = await api(fake, token, usersPath({ q, sort: "created_at:1", per_page: "100" }));
    assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
    return r.body.map((u) => u.created_at);
  }

  test("inclusive, exclusive and mixed brackets on full timestamps", async () => {
    const a = stamps[1], b = stamps[4];
    assert.deepEqual(await match(`created_at:[${a} TO ${b}]`), stamps.slice(1, 5));
    assert.deepEqual(await match(`created_at:{${a} TO ${b}}`), stamps.slice(2, 4));
    assert.deepEqual(await match(`created_at:[${a} TO ${b}}`), stamps.slice(1, 4));
    assert.deepEqual(await match(`created_at:{${a} TO ${b}]`), stamps.slice(2, 5));
    assert.deepEqual(await match(`created_at:["${a}" TO ${b.replaceAll(":", "\\:")}]`), stamps.slice(1, 5));
  });

  test("open ends with *", async () => {
    assert.deepEqual(await match(`created_at:[* TO ${stamps[2]}]`), stamps.slice(0, 3));
    assert.deepEqual(await match(`created_at:{${stamps[2]} TO *]`), stamps.slice(3));
    assert.deepEqual(await match("created_at:[* TO *]"), stamps);
    assert.deepEqual(await match(""), stamps);
  });

  test("date-only bounds cover whole days like Elasticsearch", async () => {
    // Inclusive upper date covers the whole day; exclusive upper date stops at its midnight.
    assert.deepEqual(await match("created_at:[* TO 2020-06-30]"), stamps.slice(0, 4));
    assert.deepEqual(await match("created_at:[* TO 2020-06-30}"), stamps.slice(0, 1));
    assert.deepEqual(await match("created_at:[2020-06-30 TO 2020-06-30]"), stamps.slice(1, 4));
    assert.deepEqual(await match("created_at:{2020-06-30 TO *]"), stamps.slice(4));
  });

  test("garbage dates are rejected", async () => {
    const r = await api(fake, token, usersPath({ q: "created_at:[yesterday TO *]" }));
    assert.equal(r.status, 400);
    assert.equal(r.body.errorCode, "invalid_query_string");
  });
});

describe("organizations and members", () => {
  let fake, token;
  const users = makeUsers(250, { seed: 5, now: NOW });
  const { organizations, members } = makeOrganizations(3, { seed: 5, users, sizes: [100, 101, 0] });
  const [full, odd, empty] = organizations;
  before(async () => {
    fake = await startFakeAuth0({ users, organizations, members });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  async function allMembers(orgId, take) {
    const pages = [];
    let from;
    for (let i = 0; i < 20; i++) {
      const qs = new URLSearchParams({ take: String(take), ...(from ? { from } : {}) });
      const r = await api(fake, token, `/api/v2/organizations/${orgId}/members?${qs}`);
      assert.equal(r.status, 200);
      pages.push(r.body);
      if (!r.body.next || r.body.members.length === 0) break;
      from = r.body.next;
    }
    return pages;
  }

  test("checkpoint paging: an exactly full last page still has next, then an empty page", async () => {
    const pages = await allMembers(full.id, 50);
    assert.deepEqual(pages.map((p) => p.members.length), [50, 50, 0]);
    assert.ok(pages[1].next);
    assert.equal(pages[2].next, undefined);
    const ids = pages.flatMap((p) => p.members.map((m) => m.user_id));
    assert.deepEqual([...ids].sort(), [...members.get(full.id)].sort());
    const m = pages[0].members[0];
    const u = users.find((x) => x.user_id === m.user_id);
    assert.deepEqual(m, Object.fromEntries(Object.entries({ user_id: u.user_id, email: u.email, picture: u.picture, name: u.name }).filter(([, v]) => v !== undefined)));
  });

  test("checkpoint paging without the quirk and with a partial last page", async () => {
    fake.emptyFinalPage = false;
    try {
      assert.deepEqual((await allMembers(full.id, 50)).map((p) => p.members.length), [50, 50]);
    } finally { fake.emptyFinalPage = true; }
    const pages = await allMembers(odd.id, 100);
    assert.deepEqual(pages.map((p) => p.members.length), [100, 1]);
    assert.equal(pages[1].next, undefined);
    assert.deepEqual((await allMembers(empty.id, 50)).map((p) => p.members.length), [0]);
  });

  test("take > 100 is rejected, unknown org is 404, offset paging is capped", async () => {
    assert.equal((await api(fake, token, `/api/v2/organizations/${full.id}/members?take=101`)).body.errorCode, "invalid_query_string");
    const nf = await api(fake, token, "/api/v2/organizations/org_doesnotexist0000/members?take=5");
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.body, { statusCode: 404, error: "Not Found", message: "No organization found by that id or name", errorCode: "inexistent_organization" });
    const capped = await api(fake, token, `/api/v2/organizations/${full.id}/members?page=10&per_page=100`);
    assert.equal(capped.status, 400);
    assert.equal(capped.body.errorCode, "invalid_paging");
  });

  test("organizations in checkpoint and offset mode", async () => {
    const p1 = await api(fake, token, "/api/v2/organizations?take=2");
    assert.equal(p1.body.organizations.length, 2);
    assert.ok(p1.body.next);
    const p2 = await api(fake, token, `/api/v2/organizations?take=2&from=${p1.body.next}`);
    assert.equal(p2.body.organizations.length, 1);
    assert.equal(p2.body.next, undefined);
    const ids = [...p1.body.organizations, ...p2.body.organizations].map((o) => o.id).sort();
    assert.deepEqual(ids, organizations.map((o) => o.id).sort());
    const off = await api(fake, token, "/api/v2/organizations?page=0&per_page=10&include_totals=true");
    assert.deepEqual(Object.keys(off.body).sort(), ["limit", "organizations", "start", "total"]);
    assert.equal(off.body.total, 3);
    assert.ok(Array.isArray((await api(fake, token, "/api/v2/organizations?page=0&per_page=10")).body));
  });
});

describe("bulk export job", () => {
  let fake, token, now;
  const users = makeUsers(120, { seed: 11, now: NOW });
  before(async () => {
    now = Date.parse("2025-06-01T12:00:00.000Z");
    fake = await startFakeAuth0({ users: [...users], clock: () => now });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  test("pending → processing → completed, then gzip NDJSON without auth; URL expires after 60 s", async () => {
    const fields = [{ name: "email" }, { name: "created_at" }, { name: "identities" }, { name: "last_login" }];
    const created = await api(fake, token, "/api/v2/jobs/users-exports", { method: "POST", json: { format: "json", fields } });
    assert.equal(created.status, 201);
    assert.equal(created.body.type, "users_export");
    assert.equal(created.body.status, "pending");
    assert.equal(created.body.format, "json");
    assert.match(created.body.id, /^job_[A-Za-z0-9]{16}$/);
    const id = created.body.id;

    // Changes after the job was created must not show up in the export.
    fake.users.push({ ...users[0], user_id: "auth0|000000000000000000000000" });

    const statuses = [];
    let job;
    for (let i = 0; i < 5; i++) {
      job = (await api(fake, token, `/api/v2/jobs/${id}`)).body;
      statuses.push(job.status);
      if (job.status === "completed") break;
    }
    assert.deepEqual(statuses, ["pending", "pending", "processing", "completed"]);
    assert.equal(job.percentage_done, 100);
    assert.equal(job.time_left_seconds, 0);
    assert.ok(job.location.startsWith(`${fake.url}/exports/${id}.json.gz?sig=`));

    const res = await fetch(job.location);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/gzip");
    assert.equal(res.headers.get("content-encoding"), null);
    const lines = zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString("utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, users.length);
    assert.equal(fake.leakedAuthOnDownload, false);
    const byId = new Map(users.map((u) => [u.user_id, u]));
    for (const line of lines) {
      const u = byId.get(line.user_id);
      assert.ok(u, `unexpected user ${line.user_id}`);
      assert.deepEqual(line.identities, u.identities);
      assert.equal(line.created_at, u.created_at);
      assert.equal(line.email, u.email);
      assert.equal(line.last_login, u.last_login);
      assert.equal(line.name, undefined, "only requested fields are exported");
    }

    // Sending the bearer token to the signed URL is recorded as a leak.
    await (await fetch(job.location, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    assert.equal(fake.leakedAuthOnDownload, true);

    now += 61_000;
    const expired = await fetch(job.location);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /<Code>AccessDenied<\/Code>.*expired/);
    // Polling again gives a fresh URL.
    const again = (await api(fake, token, `/api/v2/jobs/${id}`)).body;
    assert.notEqual(again.location, job.location);
    assert.equal((await fetch(again.location)).status, 200);

    assert.equal((await fetch(`${fake.url}/exports/${id}.json.gz?sig=forged`)).status, 403);
    assert.equal((await api(fake, token, "/api/v2/jobs/job_0000000000000000")).status, 404);
  });

  test("connection_id filters the export; bad format is rejected", async () => {
    const conn = fake.connections.find((c) => c.name === "google-oauth2");
    const created = await api(fake, token, "/api/v2/jobs/users-exports", { method: "POST", json: { format: "json", connection_id: conn.id, fields: [{ name: "email" }] } });
    assert.equal(created.body.connection_id, conn.id);
    let job;
    do job = (await api(fake, token, `/api/v2/jobs/${created.body.id}`)).body; while (job.status !== "completed");
    const text = zlib.gunzipSync(Buffer.from(await (await fetch(job.location)).arrayBuffer())).toString("utf8");
    const ids = text.trim().split("\n").map((l) => JSON.parse(l).user_id);
    assert.deepEqual(ids.sort(), fake.users.filter((u) => u.identities[0].connection === "google-oauth2").map((u) => u.user_id).sort());
    assert.equal((await api(fake, token, "/api/v2/jobs/users-exports", { method: "POST", json: { format: "csv" } })).status, 400);
  });
});

describe("rate limits, scopes and faults", () => {
  test("empty bucket gives 429 with x-ratelimit headers and Retry-After; token endpoint is exempt", async () => {
    let now = 1_750_000_000_000;
    const fake = await startFakeAuth0({ users: makeUsers(3, { now: NOW }), rateLimit: { burst: 3, perSecond: 0.5 }, retryAfter: true, clock: () => now });
    try {
      const token = (await getToken(fake)).body.access_token;
      const remaining = [];
      for (let i = 0; i < 3; i++) {
        const r = await api(fake, token, usersPath({}));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get("x-ratelimit-limit"), "3");
        remaining.push(r.headers.get("x-ratelimit-remaining"));
      }
      assert.deepEqual(remaining, ["2", "1", "0"]);
      const limited = await api(fake, token, usersPath({}));
      assert.equal(limited.status, 429);
      assert.deepEqual(limited.body, { statusCode: 429, error: "Too Many Requests", message: "Global limit has been reached", errorCode: "too_many_requests" });
      assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
      assert.equal(limited.headers.get("x-ratelimit-reset"), String(Math.ceil((now + 2000) / 1000))); // one token per 2 s
      assert.equal(limited.headers.get("retry-after"), "2");
      for (let i = 0; i < 5; i++) assert.equal((await getToken(fake)).status, 200);
      now += 2000;
      assert.equal((await api(fake, token, usersPath({}))).status, 200);
      const s = fake.stats();
      assert.equal(s.rateLimited, 1);
      assert.equal(s.token, 6);
      assert.equal(s.users, 5);
      fake.resetStats();
      assert.equal(fake.stats().users, 0);
      assert.equal(fake.requests.length, 0);
    } finally { await fake.close(); }
  });

  test("403 insufficient_scope names the missing scope", async () => {
    const fake = await startFakeAuth0({ scopes: ["read:users"], organizations: [{ id: "org_aaaaaaaaaaaaaaaa", name: "a", display_name: "A" }] });
    try {
      const token = (await getToken(fake)).body.access_token;
      const orgs = await api(fake, token, "/api/v2/organizations?take=10");
      assert.equal(orgs.status, 403);
      assert.deepEqual(orgs.body, { statusCode: 403, error: "Forbidden", message: "Insufficient scope, expected any of: read:organizations", errorCode: "insufficient_scope" });
      const mem = await api(fake, token, "/api/v2/organizations/org_aaaaaaaaaaaaaaaa/members?take=10");
      assert.match(mem.body.message, /expected any of: read:organization_members$/);
      const noUsers = fake.issueToken({ scopes: ["read:organizations"] });
      assert.match((await api(fake, noUsers, usersPath({}))).body.message, /expected any of: read:users$/);
    } finally { await fake.close(); }
  });

  test("faults: 5xx, truncation, storm, failAfter", async () => {
    const fake = await startFakeAuth0({ users: makeUsers(20, { now: NOW }) });
    try {
      const token = (await getToken(fake)).body.access_token;
      fake.faults = { error5xxRate: 1 };
      const e = await api(fake, token, usersPath({}));
      assert.equal(e.status, 503);
      assert.equal(e.body.statusCode, 503);

      fake.faults = { truncateRate: 1 };
      const t = await fetch(`${fake.url}${usersPath({})}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(t.status, 200);
      await assert.rejects(t.json(), SyntaxError);

      fake.faults = { stormUntil: Date.now() + 60_000 };
      const s = await api(fake, token, usersPath({}));
      assert.equal(s.status, 429);
      assert.equal(s.headers.get("x-ratelimit-remaining"), "0");

      fake.faults = { failAfter: { requests: 2, status: 500, body: { statusCode: 500, error: "Internal Server Error", message: "boom" } } };
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await api(fake, token, usersPath({}))).status);
      assert.deepEqual(codes, [200, 200, 500, 500]);
      fake.faults = {};
      assert.equal((await api(fake, token, usersPath({}))).status, 200);
    } finally { await fake.close(); }
  });

  test("random faults are reproducible with the same faultSeed", async () => {
    const run = async () => {
      const fake = await startFakeAuth0({ users: makeUsers(2, { now: NOW }), faultSeed: 123, faults: { error5xxRate: 0.5 } });
      try {
        const token = fake.issueToken();
        const codes = [];
        for (let i = 0; i < 12; i++) codes.push((await api(fake, token, usersPath({}))).status);
        return codes;
      } finally { await fake.close(); }
    };
    const a = await run();
    assert.deepEqual(a, await run());
    assert.ok(a.includes(503) && a.includes(200));
  });
});

describe("ties in created_at, as Elasticsearch serves them", () => {
  let fake, token;
  const users = makeUsers(600, { seed: 8, now: NOW, runs: { max: 30 } });
  before(async () => {
    fake = await startFakeAuth0({ users, reorderTies: true });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  test("runs of up to 30 users share a millisecond all over the history", () => {
    const counts = new Map();
    for (const u of users) counts.set(u.created_at, (counts.get(u.created_at) ?? 0) + 1);
    const sizes = [...counts.values()];
    assert.ok(Math.max(...sizes) <= 30 + 2, "runs stay near the maximum");
    assert.ok(sizes.filter((n) => n > 1).length > counts.size / 2, "most instants are shared");
    for (const u of users) assert.ok(u.updated_at >= u.created_at);
    assert.deepEqual(users, makeUsers(600, { seed: 8, now: NOW, runs: { max: 30 } }));
  });

  test("equal sort keys come back in a new order on every request, sorted otherwise", async () => {
    const big = [...new Set(users.map((u) => u.created_at))]
      .find((t) => users.filter((u) => u.created_at === t).length >= 10);
    const q = `created_at:[${big} TO ${big}]`;
    const orders = new Set();
    for (let i = 0; i < 4; i++) {
      const r = await api(fake, token, usersPath({ q, per_page: "100", include_totals: "true", sort: "created_at:1" }));
      assert.equal(r.body.total, r.body.users.length);
      orders.add(r.body.users.map((u) => u.user_id).join());
    }
    assert.ok(orders.size > 1, "tie order changed between requests");
    const page = await api(fake, token, usersPath({ per_page: "100", sort: "created_at:1" }));
    const created = page.body.map((u) => u.created_at);
    assert.deepEqual(created, [...created].sort());
  });

  test("half-open ranges count exactly, and totalError falsifies every total", async () => {
    const sorted = users.map((u) => u.created_at).sort();
    const [a, b] = [sorted[100], sorted[400]];
    const want = sorted.filter((t) => t >= a && t < b).length;
    const count = async () =>
      (await api(fake, token, usersPath({ q: `created_at:[${a} TO ${b}}`, per_page: "1", include_totals: "true" }))).body.total;
    assert.equal(await count(), want);
    fake.totalError = 1;
    try { assert.equal(await count(), want + 1); } finally { fake.totalError = 0; }
  });
});

describe("generators", () => {
  test("makeUsers is deterministic per seed and honours the cluster", () => {
    const at = "2024-02-02T02:02:02.222Z";
    const a = makeUsers(2000, { seed: 42, now: NOW, cluster: { size: 300, at } });
    assert.deepEqual(a, makeUsers(2000, { seed: 42, now: NOW, cluster: { size: 300, at } }));
    assert.notDeepEqual(a, makeUsers(2000, { seed: 43, now: NOW, cluster: { size: 300, at } }));
    assert.equal(a.filter((u) => u.created_at === at).length, 300);
    assert.equal(new Set(a.map((u) => u.user_id)).size, 2000);

    const counts = new Map();
    for (const u of a) counts.set(u.created_at, (counts.get(u.created_at) ?? 0) + 1);
    assert.ok([...counts].some(([k, c]) => k !== at && c > 1), "some natural same-ms duplicates");

    const nowMs = Date.parse(NOW);
    for (const u of a) {
      assert.match(u.user_id, /^(auth0\|[0-9a-f]{24}|google-oauth2\|\d{21}|samlp\|acme\|.+@acme\.com|waad\|[0-9a-f-]{36})$/);
      assert.match(u.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(u.updated_at >= u.created_at);
      assert.ok(Date.parse(u.created_at) > nowMs - 3.1 * 365 * 86400e3);
      assert.ok(u.identities.length >= 1 && u.identities[0].connection);
      if (u.last_login) {
        assert.ok(Date.parse(u.last_login) >= nowMs - 200 * 86400e3 && u.last_login <= NOW);
        assert.ok(u.logins_count >= 1 && u.last_ip);
      } else assert.equal(u.logins_count, undefined);
      if (!u.email) assert.ok(u.user_id.startsWith("google-oauth2|"));
    }
    const share = (f) => a.filter(f).length / a.length;
    assert.ok(share((u) => u.blocked === true) > 0.01 && share((u) => u.blocked === true) < 0.06);
    assert.ok(share((u) => !u.last_login) > 0.1 && share((u) => !u.last_login) < 0.2);
    assert.ok(a.some((u) => u.identities.length > 1));
    for (const p of ["auth0|", "google-oauth2|", "samlp|", "waad|"]) assert.ok(a.some((u) => u.user_id.startsWith(p)));
  });

  test("makeOrganizations is deterministic and members are real users", () => {
    const users = makeUsers(50, { now: NOW });
    const a = makeOrganizations(4, { seed: 1, users, sizes: [50, 10, 0] });
    const b = makeOrganizations(4, { seed: 1, users, sizes: [50, 10, 0] });
    assert.deepEqual(a.organizations, b.organizations);
    assert.deepEqual([...a.members], [...b.members]);
    for (const o of a.organizations) assert.match(o.id, /^org_[A-Za-z0-9]{16}$/);
    assert.deepEqual(a.organizations.slice(0, 3).map((o) => a.members.get(o.id).length), [50, 10, 0]);
    const ids = new Set(users.map((u) => u.user_id));
    for (const list of a.members.values()) for (const id of list) assert.ok(ids.has(id));
  });
});

describe("the log (/api/v2/logs)", () => {
  let fake;
  const scopes = ["read:users", "read:logs"];
  before(async () => {
    fake = await startFakeAuth0({ scopes, logsTakeMax: 50 });
    for (let i = 0; i < 120; i++) {
      fake.logEvent({ type: i % 3 ? "s" : "seccft", date: new Date(Date.parse(NOW) + i * 1000).toISOString(), client_id: "demo_spa", user_id: i % 3 ? `auth0|${i}` : undefined });
    }
  });
  after(() => fake.close());

  test("pages by checkpoint with a Link header; an empty page links to itself", async () => {
    const { body: { access_token: t } } = await getToken(fake);
    const oldest = await api(fake, t, `/api/v2/logs?${new URLSearchParams({ sort: "date:1", per_page: "1" })}`);
    assert.equal(oldest.status, 200);
    assert.deepEqual(oldest.body.map((e) => e.log_id), [fake.logs[0].log_id]);
    let from = oldest.body[0].log_id;
    const read = [from];
    for (;;) {
      const page = await api(fake, t, `/api/v2/logs?from=${from}&take=50`);
      assert.equal(page.status, 200);
      const next = /^<([^>]+)>; rel="next"$/.exec(page.headers.get("link"))[1];
      const nextFrom = new URL(next).searchParams.get("from");
      if (!page.body.length) {
        assert.equal(nextFrom, from, "nothing new: the same URL");
        break;
      }
      read.push(...page.body.map((e) => e.log_id));
      assert.equal(nextFrom, page.body.at(-1).log_id);
      from = nextFrom;
    }
    assert.deepEqual(read, fake.logs.map((e) => e.log_id));
    assert.ok(fake.logs.every((e, i) => i === 0 || e.log_id > fake.logs[i - 1].log_id), "ids sort as text");
    assert.ok(fake.logs.filter((e) => e.type === "seccft").every((e) => e.user_id === undefined));
  });

  test("refuses a take above its cap, an expired checkpoint, and a token without read:logs", async () => {
    const { body: { access_token: t } } = await getToken(fake);
    const big = await api(fake, t, `/api/v2/logs?from=${fake.logs[0].log_id}&take=100`);
    assert.equal(big.status, 400);
    assert.match(big.body.message, /'take' must be at most 50/);
    fake.expireLogs(20);
    const expired = await api(fake, t, `/api/v2/logs?from=${fake.logs[0].log_id}&take=50`);
    assert.equal(expired.status, 400);
    assert.match(expired.body.message, /retention/);
    const oldest = await api(fake, t, "/api/v2/logs?sort=date:1&per_page=1");
    assert.equal(oldest.body[0].log_id, fake.logs[100].log_id);
    const kept = await api(fake, t, `/api/v2/logs?from=${fake.logs[100].log_id}&take=50`);
    assert.equal(kept.body.length, 19);
    const noScope = fake.issueToken({ scopes: ["read:users"] });
    const denied = await api(fake, noScope, "/api/v2/logs?sort=date:1&per_page=1");
    assert.equal(denied.status, 403);
    assert.equal(denied.body.errorCode, "insufficient_scope");
  });
});

describe("updated_at ranges, alone and with created_at (the incremental listing)", () => {
  let fake, token;
  // 300 users; created_at from makeUsers, updated_at set so each created_at and updated_at
  // boundary has users on both sides, with ties on both fields.
  const S = "2025-05-31T00:00:00.000Z";
  const users = makeUsers(300, { seed: 21, now: NOW, runs: { max: 4 } }).map((u, i) => {
    const t = Date.parse(S) + (i % 50 - 25) * 60_000; // half before S, half at or after; 50 distinct values
    return { ...u, updated_at: new Date(Math.max(t, Date.parse(u.created_at))).toISOString() };
  });
  before(async () => {
    fake = await startFakeAuth0({ users, capTotals: false });
    token = (await getToken(fake)).body.access_token;
  });
  after(() => fake.close());

  async function list(q, params = {}) {
    const r = await api(fake, token, usersPath({ q, sort: "created_at:1", per_page: "100", include_totals: "true", ...params }));
    assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
    return r.body;
  }
  const ids = (xs) => xs.map((u) => u.user_id).sort();
  const byCreated = (a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);

  test("updated_at:[S TO *] alone: exactly the users changed at or after S, totals and paging over them", async () => {
    const want = users.filter((u) => u.updated_at >= S).sort(byCreated);
    assert.ok(want.length > 100 && want.length < 300, `a filtered set of ${want.length} that needs two pages`);
    const p0 = await list(`updated_at:[${S} TO *]`);
    const p1 = await list(`updated_at:[${S} TO *]`, { page: "1" });
    assert.equal(p0.total, want.length);
    assert.equal(p1.total, want.length);
    assert.equal(p0.users.length, 100);
    assert.equal(p1.users.length, want.length - 100);
    const got = [...p0.users, ...p1.users];
    assert.deepEqual(ids(got), ids(want));
    assert.deepEqual(got.map((u) => u.created_at), want.map((u) => u.created_at), "sorted by created_at");
    // Exclusive lower bound and a closed range.
    assert.equal((await list(`updated_at:{${S} TO *]`)).total, users.filter((u) => u.updated_at > S).length);
    const hi = "2025-05-31T00:10:00.000Z";
    assert.equal((await list(`updated_at:[${S} TO ${hi}}`)).total, users.filter((u) => u.updated_at >= S && u.updated_at < hi).length);
  });

  test("created_at AND updated_at, both orders: the next block, a count and a straddle query", async () => {
    const changed = users.filter((u) => u.updated_at >= S).sort(byCreated);
    const A = changed[40].created_at;
    const B = changed[90].created_at;
    const want = changed.filter((u) => u.created_at >= A);
    const next = await list(`created_at:[${A} TO *] AND updated_at:[${S} TO *]`);
    assert.equal(next.total, want.length);
    const first = want.slice(0, 100);
    assert.equal(next.users.length, first.length);
    assert.deepEqual(next.users.map((u) => u.created_at), first.map((u) => u.created_at));
    assert.ok(next.users.every((u) => u.created_at >= A && u.updated_at >= S));
    const swapped = await list(`updated_at:[${S} TO *] AND created_at:[${A} TO *]`);
    assert.equal(swapped.total, want.length);
    // A count: per_page=1 with totals, half-open block [A, B).
    const count = await list(`created_at:[${A} TO ${B}} AND updated_at:[${S} TO *]`, { per_page: "1" });
    assert.equal(count.users.length, 1);
    assert.equal(count.total, changed.filter((u) => u.created_at >= A && u.created_at < B).length);
    // The straddle query: exactly one created_at millisecond, only its changed users.
    const tie = changed.map((u) => u.created_at).find((t, i, a) => a.indexOf(t) !== a.lastIndexOf(t))
      ?? changed[0].created_at;
    const straddle = await list(`created_at:[${tie} TO ${tie}] AND updated_at:[${S} TO *]`);
    assert.deepEqual(ids(straddle.users), ids(changed.filter((u) => u.created_at === tie)));
    assert.ok(straddle.users.every((u) => u.created_at === tie && u.updated_at >= S));
    // A user exactly at the boundary S counts with [ and not with {.
    const atS = users.filter((u) => u.updated_at === S);
    assert.ok(atS.length > 0);
    const u0 = atS[0];
    const exact = `created_at:[${u0.created_at} TO ${u0.created_at}]`;
    assert.ok((await list(`${exact} AND updated_at:[${S} TO *]`)).users.some((u) => u.user_id === u0.user_id));
    assert.ok(!(await list(`${exact} AND updated_at:{${S} TO *]`)).users.some((u) => u.user_id === u0.user_id));
  });

  test("other shapes still get a 400: another field, OR, a repeated field, three terms", async () => {
    for (const q of [
      `email:"x@y.z" AND updated_at:[${S} TO *]`,
      `created_at:[* TO *] OR updated_at:[${S} TO *]`,
      `updated_at:[${S} TO *] AND updated_at:[* TO *]`,
      `created_at:[* TO *] AND updated_at:[${S} TO *] AND created_at:[* TO *]`,
      `updated_at:[yesterday TO *]`,
    ]) {
      const r = await api(fake, token, usersPath({ q }));
      assert.equal(r.status, 400, q);
      assert.equal(r.body.errorCode, "invalid_query_string", q);
    }
  });
});

describe("stats (/api/v2/stats, read:stats)", () => {
  const dailyStats = [1, 2, 3].map((d) => ({ date: `2026-11-0${d}T00:00:00.000Z`, logins: d * 10, signups: d, leaked_passwords: 0 }));

  test("with read:stats: active users is a bare number, daily is filtered by from/to", async () => {
    const fake = await startFakeAuth0({ scopes: ["read:users", "read:stats"], activeUsers: 1234, dailyStats });
    try {
      const t = (await getToken(fake)).body.access_token;
      const active = await api(fake, t, "/api/v2/stats/active-users");
      assert.equal(active.status, 200);
      assert.equal(active.body, 1234);
      const daily = await api(fake, t, "/api/v2/stats/daily?from=20261102&to=20261103");
      assert.equal(daily.status, 200);
      assert.deepEqual(daily.body.map((d) => d.logins), [20, 30]);
      const bad = await api(fake, t, "/api/v2/stats/daily?from=2026-11-02");
      assert.equal(bad.status, 400);
      assert.equal(fake.stats().stats, 3);
    } finally { await fake.close(); }
  });

  test("without read:stats: 403 insufficient_scope on both", async () => {
    const fake = await startFakeAuth0({ activeUsers: 5, dailyStats });
    try {
      const t = (await getToken(fake)).body.access_token;
      for (const path of ["/api/v2/stats/active-users", "/api/v2/stats/daily?from=20261101&to=20261103"]) {
        const r = await api(fake, t, path);
        assert.equal(r.status, 403, path);
        assert.equal(r.body.errorCode, "insufficient_scope");
        assert.match(r.body.message, /read:stats/);
      }
    } finally { await fake.close(); }
  });
});

describe("mutation helpers (a tenant changing under the sync)", () => {
  let fake, token;
  const scopes = ["read:users", "read:logs"];
  beforeEach(async () => {
    fake = await startFakeAuth0({
      users: makeUsers(20, { seed: 31, now: NOW }), scopes,
      organizations: [{ id: "org_a", name: "a", display_name: "A" }],
      applications: [{ client_id: "app_one", name: "One" }],
    });
    fake.members.set("org_a", fake.users.slice(0, 5).map((u) => u.user_id));
    token = (await getToken(fake)).body.access_token;
  });
  afterEach(() => fake.close());
  const changedSince = async (s) =>
    (await api(fake, token, usersPath({ q: `updated_at:[${s} TO *]`, per_page: "100" }))).body.map((u) => u.user_id);

  test("updateUser patches fields, stamps updated_at (given or now), never before created_at", async () => {
    const [a, b] = fake.users;
    const at = "2025-06-02T00:00:00.000Z";
    const u = fake.updateUser(a.user_id, { name: "Renamed", blocked: true, email: undefined }, { at });
    assert.equal(u, fake.users[0]);
    assert.deepEqual([u.name, u.blocked, "email" in u, u.updated_at], ["Renamed", true, false, at]);
    assert.deepEqual(await changedSince(at), [a.user_id]);
    const before = Date.now();
    fake.updateUser(b.user_id, { name: "Now" });
    assert.ok(Date.parse(b.updated_at) >= before && Date.parse(b.updated_at) <= Date.now());
    fake.updateUser(b.user_id, {}, { at: "2001-01-01T00:00:00.000Z" });
    assert.equal(b.updated_at, b.created_at);
    assert.throws(() => fake.updateUser("auth0|nobody", {}), /no user auth0\|nobody/);
  });

  test("login moves last_login, logins_count and updated_at and logs an `s` event", async () => {
    const u = fake.users[3];
    const count = u.logins_count ?? 0;
    const at = Date.parse("2025-06-03T10:00:00.000Z");
    const { user, event } = fake.login(u.user_id, { at });
    assert.equal(user, u);
    assert.deepEqual([u.last_login, u.updated_at, u.logins_count], [new Date(at).toISOString(), new Date(at).toISOString(), count + 1]);
    assert.deepEqual([event.type, event.user_id, event.client_id, event.date], ["s", u.user_id, "app_one", u.last_login]);
    fake.login(u.user_id, { client_id: "app_two" });
    assert.equal(u.logins_count, count + 2);
    assert.equal(fake.logs.at(-1).client_id, "app_two");
    const listed = await api(fake, token, usersPath({ q: `updated_at:[${new Date(at).toISOString()} TO *]` }));
    assert.deepEqual(listed.body.map((x) => x.logins_count), [count + 2]);
  });

  test("deleteUser removes the user from the listing and organizations and logs `sdu`", async () => {
    const gone = fake.users[2];
    const at = "2025-06-04T00:00:00.000Z";
    const { user, event } = fake.deleteUser(gone.user_id, { at });
    assert.equal(user, gone);
    assert.equal(fake.users.length, 19);
    assert.ok(!fake.users.some((u) => u.user_id === gone.user_id));
    assert.ok(!fake.members.get("org_a").includes(gone.user_id));
    assert.equal(fake.members.get("org_a").length, 4);
    assert.deepEqual([event.type, event.user_id, event.date], ["sdu", gone.user_id, at]);
    const all = await api(fake, token, usersPath({ per_page: "100", include_totals: "true" }));
    assert.equal(all.body.total, 19);
    const logs = await api(fake, token, `/api/v2/logs?sort=date:1&per_page=100`);
    assert.deepEqual(logs.body.filter((e) => e.type === "sdu").map((e) => e.user_id), [gone.user_id]);
    assert.throws(() => fake.deleteUser(gone.user_id), /no user/);
  });

  test("createUser adds a fresh user stamped at the given instant; every log_id is unique and ordered", async () => {
    const at = "2025-06-05T00:00:00.000Z";
    const made = [fake.createUser({}, { at }), fake.createUser({ name: "Named" }, { at }), fake.createUser()];
    assert.equal(fake.users.length, 23);
    assert.equal(new Set(fake.users.map((u) => u.user_id)).size, 23);
    assert.deepEqual([made[0].created_at, made[0].updated_at, made[0].last_login, made[0].logins_count], [at, at, undefined, undefined]);
    assert.equal(made[1].name, "Named");
    assert.ok(made[2].created_at > at && made[2].updated_at === made[2].created_at);
    assert.deepEqual((await changedSince(at)).sort(), made.map((u) => u.user_id).sort());
    // Interleave every kind of event: log ids stay unique and in the log's order.
    fake.login(made[0].user_id);
    fake.deleteUser(made[1].user_id);
    fake.login(fake.users[0].user_id);
    fake.logEvent({ type: "f", date: new Date().toISOString(), client_id: "app_one" });
    const idsInOrder = fake.logs.map((e) => e.log_id);
    assert.equal(new Set(idsInOrder).size, idsInOrder.length);
    assert.deepEqual(idsInOrder, [...idsInOrder].sort());
    for (const u of fake.users) assert.ok(typeof u.updated_at === "string" && u.updated_at >= u.created_at, u.user_id);
  });
});
