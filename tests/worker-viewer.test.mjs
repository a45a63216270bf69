// End-to-end tests of the viewer surface (login, JSON API, dashboard, CSV, Cloudflare Access) of the built worker in workerd.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { startFakeAuth0, makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { startWorker, requireBuiltWorker, readD1Users, parseCsv, tenantBindings } from "./support/worker.mjs";
import { makeKeyPair, signJwt, accessClaims, startJwksServer } from "./support/access-keys.mjs";

const VIEWER_TOKEN = "viewer-secret-token";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();
const DAY = 86_400_000;
const iso = (ms) => new Date(ms).toISOString();
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// The worker filters against its own clock, so fixtures are generated relative to the real now.
const NOW_MS = Date.now();

// Move last logins that fall within 6 h of a relative cut-off (30/60/90/180 days) 12 h earlier, so
// the truth computed here cannot disagree with the worker's clock by a few milliseconds.
function awayFromCutoffs(users, nowMs) {
  for (const u of users) {
    if (!u.last_login) continue;
    let t = Date.parse(u.last_login);
    for (const d of [30, 60, 90, 180]) {
      if (Math.abs(t - (nowMs - d * DAY)) < 6 * 3600_000) t -= 12 * 3600_000;
    }
    u.last_login = iso(t);
  }
  return users;
}

// Names an attacker (or an odd directory) could put into Auth0.
const HOSTILE_NAMES = [
  "<script>alert(1)</script>",
  "\"><img src=x onerror=alert(1)>",
  "=HYPERLINK(\"http://x\")",
  "'); DROP TABLE users;--",
  "0123456789abcdef".repeat(640), // 10 KB
  "שלום \u202Eevil.exe\u202C مرحبا بك",
  "Emoji 👩🏽‍💻🦀🎉 Person",
  "-2+3",
  "@SUM(A1:A9)",
  "+1 555 0100",
  "\tTabbed",
  "\rCarriage",
  "Multi\r\nLine, \"quoted\"",
];

function auth0User({ id, email, name, createdMs, lastLoginMs, blocked }) {
  const u = {
    created_at: iso(createdMs),
    email,
    email_verified: true,
    identities: [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: id.split("|").pop(), isSocial: false }],
    name,
    nickname: "n",
    updated_at: iso(lastLoginMs ?? createdMs),
    user_id: id,
  };
  if (lastLoginMs !== undefined) { u.last_login = iso(lastLoginMs); u.logins_count = 3; }
  if (blocked !== undefined) u.blocked = blocked;
  return u;
}

const hostileUsers = HOSTILE_NAMES.map((name, i) => auth0User({
  id: `auth0|hostile${String(i).padStart(3, "0")}`,
  email: `hostile${i}@example.com`,
  name,
  createdMs: NOW_MS - (400 + i) * DAY,
  lastLoginMs: i % 3 === 0 ? undefined : NOW_MS - (i * 11 + 1) * DAY - 3600_000,
}));
// Data outside the name column: a hostile email, an id that needs percent-encoding, and a name whose
// case differs only in non-ASCII letters.
const oddUsers = [
  auth0User({ id: "auth0|hostileemail", email: "<script>alert(2)</script>@evil.test", name: "Evil Mail", createdMs: NOW_MS - 500 * DAY, lastLoginMs: NOW_MS - 3 * DAY }),
  auth0User({ id: "oauth2|partner|a/b c%2F#?+&=x", email: "weird.id@example.com", name: "Weird Id", createdMs: NOW_MS - 501 * DAY, blocked: true }),
  auth0User({ id: "auth0|unicodecase", email: "zoe.astrom@example.com", name: "Zoë Åström", createdMs: NOW_MS - 502 * DAY, lastLoginMs: NOW_MS - 1 * DAY }),
];

const neutralised = (v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);

async function sync(w) {
  const res = await w.authedFetch("/api/sync", { method: "POST" });
  assert.equal(res.status, 200);
  return (await res.json()).run;
}

async function listAll(w, params, { limit = 1000 } = {}) {
  const out = [];
  const pages = [];
  let cursor = null;
  for (let i = 0; i < 1000; i++) {
    const qs = new URLSearchParams(params);
    qs.set("limit", String(limit));
    if (cursor) qs.set("cursor", cursor);
    const res = await w.authedFetch(`/api/users?${qs}`);
    assert.equal(res.status, 200, `/api/users?${qs}: ${res.status}`);
    const body = await res.json();
    pages.push(body.users.length);
    out.push(...body.users);
    cursor = body.next_cursor;
    if (cursor === null) return { users: out, pages };
  }
  throw new Error("/api/users cursor never ended");
}

describe("viewer surface end to end", () => {
  let fake, w;
  const base = awayFromCutoffs(makeUsers(2300, { seed: 77, now: NOW_MS }), NOW_MS);
  const { organizations, members } = makeOrganizations(2, { seed: 77, users: base, sizes: [60, 7] });
  organizations.push({ id: "org_hostile0000000001", name: "hostile-org", display_name: "<script>alert(3)</script> & Co" });
  members.set("org_hostile0000000001", hostileUsers.slice(0, 4).map((u) => u.user_id));
  const everyone = [...base, ...hostileUsers, ...oddUsers];
  // Five ordinary users outside every organization disappear from Auth0 after the first sync.
  const inOrg = new Set([...members.values()].flat());
  const removed = base.filter((u) => !inOrg.has(u.user_id)).filter((_, i) => i % 400 === 7).slice(0, 5);
  const removedIds = new Set(removed.map((u) => u.user_id));

  // What the worker should report for each user.
  const truth = everyone.map((u) => ({
    user_id: u.user_id,
    email: u.email ?? null,
    name: u.name ?? null,
    connection: u.identities[0].connection,
    last_login: u.last_login ?? null,
    blocked: u.blocked === true,
    removed: removedIds.has(u.user_id),
  }));
  const current = truth.filter((t) => !t.removed);
  const ids = (list) => list.map((u) => u.user_id).sort(cmp);
  const cutoff = (days) => iso(Date.now() - days * DAY);
  const inactive = (t, days) => t.last_login === null || t.last_login < cutoff(days);

  before(async () => {
    fake = await startFakeAuth0({ users: [...everyone], organizations, members });
    w = await startWorker({
      bindings: tenantBindings(fake, { VIEWER_TOKEN }),
    });
    const first = await sync(w);
    assert.equal(first.status, "succeeded", JSON.stringify(first));
    assert.equal(first.users_seen, everyone.length);
    fake.users = fake.users.filter((u) => !removedIds.has(u.user_id));
    const second = await sync(w);
    assert.equal(second.status, "succeeded", JSON.stringify(second));
    assert.equal(second.users_removed, removed.length);
  });
  after(async () => { await w?.close(); await fake?.close(); });

  test("every response carries the security headers; pages allow only their hashed stylesheet", async () => {
    const cases = [
      ["/healthz", false, "application/json"],
      ["/api/users", true, "application/json"],
      ["/api/users", false, "application/json"], // 401
      ["/api/nope", true, "application/json"], // 404
      ["/", true, "text/html"],
      ["/login", false, "text/html"],
      ["/runs", true, "text/html"],
      ["/users.csv", true, "text/csv"],
    ];
    for (const [p, authed, type] of cases) {
      const res = await (authed ? w.authedFetch(p) : w.fetch(p));
      const body = await res.text();
      const h = res.headers;
      assert.equal(h.get("x-content-type-options"), "nosniff", p);
      assert.equal(h.get("referrer-policy"), "no-referrer", p);
      assert.equal(h.get("x-frame-options"), "DENY", p);
      assert.equal(h.get("cache-control"), "no-store", p);
      assert.ok(h.get("content-type").startsWith(type), `${p}: ${h.get("content-type")}`);
      const csp = h.get("content-security-policy");
      assert.ok(csp, `${p} has no CSP`);
      if (type === "text/html") {
        const m = /^default-src 'none'; style-src '(sha256-[A-Za-z0-9+/]+=*)'; img-src 'none'; script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/.exec(csp);
        assert.ok(m, `${p} CSP: ${csp}`);
        // The hash must be of the page's actual stylesheet, or the browser drops all styling.
        const style = /<style>([\s\S]*?)<\/style>/.exec(body)[1];
        assert.equal(m[1], `sha256-${crypto.createHash("sha256").update(style).digest("base64")}`, p);
        assert.ok(!/<script/i.test(body), `${p} has a script element`);
      } else {
        assert.match(csp, /default-src 'none'/, p);
        assert.match(csp, /frame-ancestors 'none'/, p);
      }
    }
  });

  test("login form, session cookie, forged cookies and logout", async () => {
    const page = await w.fetch("/", { redirect: "manual" });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login");
    await page.arrayBuffer();

    const form = await w.fetch("/login");
    assert.equal(form.status, 200);
    const html = await form.text();
    assert.match(html, /<form method="post" action="\/login">/);
    assert.match(html, /<input type="password" name="token"/);
    assert.match(html, /<button type="submit">Sign in<\/button>/);

    const post = (token) => w.fetch("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
    const wrong = await post("not-the-token");
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    assert.match(await wrong.text(), /That is not the viewer token\./);

    const ok = await post(VIEWER_TOKEN);
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get("location"), "/");
    await ok.arrayBuffer();
    const setCookie = ok.headers.get("set-cookie");
    const m = /^__Host-als_session=([^;]+); (.*)$/.exec(setCookie);
    assert.ok(m, setCookie);
    assert.deepEqual(m[2].split("; ").sort(), ["HttpOnly", "Max-Age=28800", "Path=/", "SameSite=Strict", "Secure"]);
    const session = m[1];
    assert.ok(!session.includes(VIEWER_TOKEN), "the cookie must not carry the token");

    const withCookie = (value, p, init = {}) => w.fetch(p, { redirect: "manual", ...init, headers: { cookie: `theme=dark; __Host-als_session=${value}` } });
    const dash = await withCookie(session, "/");
    assert.equal(dash.status, 200);
    const dashHtml = await dash.text();
    assert.match(dashHtml, /<h2>Seats<\/h2>/);
    assert.match(dashHtml, /Log out/);
    const api = await withCookie(session, "/api/users?limit=3");
    assert.equal(api.status, 200);
    assert.equal((await api.json()).users.length, 3);

    // Forgeries: a flipped MAC, a stretched expiry with the old MAC, junk, and an empty value.
    const [ver, exp, mac] = session.split(".");
    const flipped = `${ver}.${exp}.${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    const stretched = `${ver}.${Number(exp) + 365 * DAY}.${mac}`;
    for (const forged of [flipped, stretched, "v1.99999999999999.AAAA", "", VIEWER_TOKEN]) {
      const r = await withCookie(forged, "/");
      assert.equal(r.status, 303, `forged cookie ${forged} gave ${r.status}`);
      assert.equal(r.headers.get("location"), "/login");
      await r.arrayBuffer();
      const j = await withCookie(forged, "/api/users");
      assert.equal(j.status, 401, `forged cookie ${forged} on /api/users gave ${j.status}`);
      await j.arrayBuffer();
    }

    const out = await withCookie(session, "/logout", { method: "POST" });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get("location"), "/login");
    assert.match(out.headers.get("set-cookie"), /^__Host-als_session=; Path=\/; Max-Age=0;/);
    await out.arrayBuffer();
  });

  test("the store holds every user; removed users are marked", async () => {
    const rows = await readD1Users(w.db);
    assert.equal(rows.length, everyone.length);
    assert.deepEqual(rows.filter((r) => r.removed_at !== null).map((r) => r.user_id).sort(cmp), [...removedIds].sort(cmp));
  });

  test("status filters: default (current), active, blocked, removed, all", async () => {
    const expect = {
      "": current,
      active: current.filter((t) => !t.blocked),
      blocked: current.filter((t) => t.blocked),
      removed: truth.filter((t) => t.removed),
      all: truth,
    };
    assert.ok(expect.blocked.length > 10 && expect.removed.length === 5);
    for (const [status, want] of Object.entries(expect)) {
      const { users } = await listAll(w, status ? { status } : {});
      assert.deepEqual(ids(users), ids(want), `status=${status}`);
      for (const u of users) assert.equal(u.removed_at !== null, removedIds.has(u.user_id), u.user_id);
    }
  });

  test("connection, organization, inactive_days and never_logged_in filters match the tenant", async () => {
    for (const connection of ["google-oauth2", "acme-saml", "waad-contoso", "Username-Password-Authentication"]) {
      const { users } = await listAll(w, { connection });
      const want = current.filter((t) => t.connection === connection);
      assert.ok(want.length > 0);
      assert.deepEqual(ids(users), ids(want), `connection=${connection}`);
    }
    assert.deepEqual((await listAll(w, { connection: "no-such-connection" })).users, []);

    for (const org of organizations) {
      const { users } = await listAll(w, { organization: org.id });
      assert.deepEqual(ids(users), [...(members.get(org.id) ?? [])].sort(cmp), `organization=${org.id}`);
      for (const u of users) assert.ok(u.organizations.includes(org.id));
    }

    for (const days of [30, 90, 180]) {
      const { users } = await listAll(w, { inactive_days: String(days) });
      const want = current.filter((t) => inactive(t, days));
      assert.ok(want.length > 0 && want.length < current.length, `fixture has a mix for ${days} days`);
      assert.deepEqual(ids(users), ids(want), `inactive_days=${days}`);
      assert.ok(users.some((u) => u.last_login === null), "never-logged-in users count as inactive");
    }

    const never = await listAll(w, { never_logged_in: "true" });
    const wantNever = current.filter((t) => t.last_login === null);
    assert.ok(wantNever.length > 100);
    assert.deepEqual(ids(never.users), ids(wantNever));
    assert.deepEqual(ids((await listAll(w, { never_logged_in: "false" })).users), ids(current));

    // Filters combine with AND.
    const combo = await listAll(w, { connection: "google-oauth2", inactive_days: "30", status: "active" });
    assert.deepEqual(ids(combo.users), ids(current.filter((t) => t.connection === "google-oauth2" && inactive(t, 30) && !t.blocked)));
  });

  test("q is a case-insensitive substring of email or name", async () => {
    const lc = (s) => (s ?? "").toLowerCase();
    for (const q of ["LOVELACE", "@Acme.com", "ada.", "<script>", "DROP TABLE", "🦀", "\u202Eevil", "hostile1"]) {
      const { users } = await listAll(w, { q });
      const want = current.filter((t) => lc(t.email).includes(lc(q)) || lc(t.name).includes(lc(q)));
      assert.ok(want.length > 0, `fixture matches ${q}`);
      assert.deepEqual(ids(users), ids(want), `q=${q}`);
    }
    assert.deepEqual((await listAll(w, { q: "zzzz-no-such-user" })).users, []);
  });

  test("q matches names with non-ASCII capitals (Zoë Åström)", async () => {
    // Typed exactly as stored, and in other cases: all must find the user.
    for (const q of ["Åström", "åström", "ÅSTRÖM", "Zoë"]) {
      const { users } = await listAll(w, { q });
      assert.deepEqual(ids(users), ["auth0|unicodecase"], `q=${q} found ${JSON.stringify(ids(users))}`);
    }
  });

  test("sorts page through every user in the right order (limit=37)", async () => {
    const key = { last_login: (t) => t.last_login ?? "", email: (t) => t.email ?? "", user_id: (t) => t.user_id };
    for (const [sort, field, desc] of [["last_login:desc", "last_login", true], ["last_login", "last_login", false], ["email:asc", "email", false], ["user_id:desc", "user_id", true]]) {
      const { users, pages } = await listAll(w, { sort }, { limit: 37 });
      const want = [...current].sort((a, b) => {
        const c = cmp(key[field](a), key[field](b)) || cmp(a.user_id, b.user_id);
        return desc ? -c : c;
      });
      assert.equal(pages.length, Math.ceil(current.length / 37), sort);
      assert.ok(pages.slice(0, -1).every((n) => n === 37), `${sort}: page sizes ${pages}`);
      assert.deepEqual(users.map((u) => u.user_id), want.map((t) => t.user_id), sort);
    }
    // Never-logged-in users come last when newest logins come first.
    const { users } = await listAll(w, { sort: "last_login:desc" }, { limit: 1000 });
    const firstNever = users.findIndex((u) => u.last_login === null);
    assert.ok(firstNever > 0 && users.slice(firstNever).every((u) => u.last_login === null));
  });

  test("each bad parameter is a 400 naming it", async () => {
    const otherSortCursor = (await (await w.authedFetch("/api/users?limit=2&sort=email")).json()).next_cursor;
    assert.ok(otherSortCursor);
    const cases = [
      ["limit=0", "limit"], ["limit=1001", "limit"], ["limit=x", "limit"], ["limit=-1", "limit"],
      ["cursor=zz", "cursor"], [`cursor=${otherSortCursor}`, "cursor"],
      ["status=gone", "status"], ["inactive_days=0", "inactive_days"], ["inactive_days=abc", "inactive_days"],
      ["inactive_days=36501", "inactive_days"], ["never_logged_in=yes", "never_logged_in"],
      ["sort=name", "sort"], ["sort=email:up", "sort"], [`q=${"a".repeat(201)}`, "q"],
    ];
    for (const [query, name] of cases) {
      for (const p of ["/api/users", "/users.csv"]) {
        const res = await w.authedFetch(`${p}?${query}`);
        assert.equal(res.status, 400, `${p}?${query}`);
        assert.ok(res.headers.get("content-type").startsWith("application/json"));
        const body = await res.json();
        assert.ok(body.error.startsWith(`bad parameter \`${name}\`: `), `${p}?${query}: ${body.error}`);
      }
    }
    // The dashboard shows the problem above an unfiltered table instead of failing.
    const page = await w.authedFetch("/?status=gone");
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div class="error" role="alert">bad parameter `status`/);
  });

  test("/api/users/{id} returns the stored user, exactly; unknown ids are 404", async () => {
    const sample = [...hostileUsers, ...oddUsers, base[0], base[1], base.find((u) => u.user_id.startsWith("samlp|")), removed[0]];
    for (const u of sample) {
      const res = await w.authedFetch(`/api/users/${encodeURIComponent(u.user_id)}`);
      assert.equal(res.status, 200, u.user_id);
      const { user } = await res.json();
      assert.equal(user.user_id, u.user_id);
      assert.equal(user.email, u.email ?? null);
      assert.equal(user.name, u.name ?? null, `${u.user_id} name`);
      assert.equal(user.last_login, u.last_login ?? null);
      assert.equal(user.created_at, u.created_at);
      assert.equal(user.blocked, u.blocked === true);
      assert.equal(user.connection, u.identities[0].connection);
      assert.deepEqual(user.connections, u.identities.map((i) => i.connection));
      assert.equal(user.removed_at !== null, removedIds.has(u.user_id));
      assert.deepEqual(user.organizations.sort(cmp), organizations.filter((o) => (members.get(o.id) ?? []).includes(u.user_id)).map((o) => o.id).sort(cmp));
    }
    for (const missing of ["auth0|nobody", "auth0%7Cnobody", "%3Cscript%3E"]) {
      const res = await w.authedFetch(`/api/users/${missing}`);
      assert.equal(res.status, 404, missing);
      assert.deepEqual(await res.json(), { error: "not found" });
    }
  });

  test("/api/summary and the dashboard cards match counts computed from the tenant", async () => {
    const res = await w.authedFetch("/api/summary");
    assert.equal(res.status, 200);
    const s = await res.json();
    const want = {
      current: current.length,
      active: current.filter((t) => !t.blocked).length,
      blocked: current.filter((t) => t.blocked).length,
      removed: removedIds.size,
      never_logged_in: current.filter((t) => t.last_login === null).length,
      inactive_30: current.filter((t) => inactive(t, 30)).length,
      inactive_60: current.filter((t) => inactive(t, 60)).length,
      inactive_90: current.filter((t) => inactive(t, 90)).length,
    };
    assert.deepEqual(s.counts, want);

    const byConn = new Map();
    for (const t of current) byConn.set(t.connection, (byConn.get(t.connection) ?? 0) + 1);
    assert.deepEqual(
      [...s.by_connection].sort((a, b) => cmp(a.connection, b.connection)),
      [...byConn].map(([connection, users]) => ({ connection, users })).sort((a, b) => cmp(a.connection, b.connection)),
    );
    assert.deepEqual(s.by_connection.map((c) => c.users), [...s.by_connection.map((c) => c.users)].sort((a, b) => b - a), "largest first");
    assert.deepEqual(
      Object.fromEntries(s.by_organization.map((o) => [o.id, o.member_count])),
      Object.fromEntries(organizations.map((o) => [o.id, (members.get(o.id) ?? []).length])),
    );
    assert.equal(s.last_sync.status, "succeeded");
    assert.equal(s.last_complete_sync.id, s.last_sync.id);
    assert.ok(Math.abs(Date.parse(s.generated_at) - Date.now()) < 3600_000, "generated_at is now-ish");

    const html = await (await w.authedFetch("/")).text();
    const cards = Object.fromEntries([...html.matchAll(/<a class="card" href="[^"]*"><b>(\d+)<\/b><span>([^<]+)<\/span><\/a>/g)].map((m) => [m[2], Number(m[1])]));
    assert.deepEqual(cards, {
      "Active seats": want.active,
      Blocked: want.blocked,
      "Removed from Auth0": want.removed,
      "Never logged in": want.never_logged_in,
      "No login in 30 days": want.inactive_30,
      "No login in 60 days": want.inactive_60,
      "No login in 90 days": want.inactive_90,
    });
  });

  test("hostile names are stored exactly and escaped in HTML", async () => {
    const rows = new Map((await readD1Users(w.db)).map((r) => [r.user_id, r]));
    for (const u of [...hostileUsers, ...oddUsers]) {
      assert.equal(rows.get(u.user_id).name, u.name, `D1 ${u.user_id}`);
      assert.equal(rows.get(u.user_id).email, u.email, `D1 ${u.user_id}`);
    }

    const res = await w.authedFetch("/?q=hostile&limit=100");
    assert.equal(res.status, 200);
    const hostilePage = await res.text();
    // Every user whose email contains "hostile" is listed, linking to their page.
    assert.equal((hostilePage.match(/<tr><td><a href="\/users\/auth0%7C[^"]+">hostile\d+@example\.com</g) ?? []).length, hostileUsers.length);
    const html = hostilePage + await (await w.authedFetch("/?q=evil")).text();
    for (const raw of ["<script>alert", "<img src=x", "<script>alert(2)", "<script>alert(3)"]) {
      assert.ok(!html.includes(raw), `raw ${raw} in the dashboard`);
    }
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(html.includes("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(html.includes("&lt;script&gt;alert(2)&lt;/script&gt;@evil.test"));
    assert.ok(html.includes("&lt;script&gt;alert(3)&lt;/script&gt; &amp; Co"), "organization names are escaped");
    assert.ok(html.includes("&#39;); DROP TABLE users;--"));
    for (const verbatim of [HOSTILE_NAMES[4], HOSTILE_NAMES[5], HOSTILE_NAMES[6], "=HYPERLINK(&quot;http://x&quot;)"]) {
      assert.ok(html.includes(verbatim), `${verbatim.slice(0, 30)} shown verbatim`);
    }

    // Filter values are echoed into the form and links escaped, never as markup.
    for (const q of ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"]) {
      const page = await (await w.authedFetch(`/?${new URLSearchParams({ q })}`)).text();
      assert.ok(!page.includes("<script>alert") && !page.includes("<img src=x"), `q=${q} echoed raw`);
      assert.ok(page.includes(`name="q" value="${q.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")}"`), `q=${q} not echoed escaped`);
      const href = /<a href="(\/users\.csv\?[^"]*)" download>/.exec(page)?.[1];
      assert.ok(href, "CSV link present");
      assert.ok(!/[<>"' ]/.test(href), `CSV link not percent-encoded: ${href}`);
      assert.equal(new URL(href.replace(/&amp;/g, "&"), "http://x").searchParams.get("q"), q, "CSV link carries the filter");
    }

    // The SQL-looking name did nothing to the database.
    assert.equal((await w.db.prepare("SELECT COUNT(*) AS n FROM users").first()).n, everyone.length);
  });

  test("CSV export: every user across pages, BOM, CRLF, quoting and neutralised formulas", async () => {
    assert.ok(everyone.length > 2000);
    const res = await w.authedFetch("/users.csv?status=all");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(res.headers.get("content-disposition"), /^attachment; filename="[^"]+\.csv"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], "UTF-8 BOM");
    const text = bytes.toString("utf8").slice(1);
    const rows = parseCsv(text);
    const header = rows.shift();
    assert.deepEqual(header, ["user_id", "email", "name", "connection", "connections", "organizations", "last_login",
      "logins_count", "created_at", "updated_at", "blocked", "email_verified", "first_seen_at", "removed_at"]);
    assert.equal(rows.length, everyone.length);
    for (const r of rows) assert.equal(r.length, header.length, `row ${r[0]} has ${r.length} cells`);
    const col = Object.fromEntries(header.map((h, i) => [h, i]));
    const csvIds = rows.map((r) => r[col.user_id]);
    assert.deepEqual(csvIds, ids(truth).map(neutralised), "all users once, in user_id order");

    const byId = new Map(rows.map((r) => [r[col.user_id], r]));
    for (const t of truth) {
      const r = byId.get(neutralised(t.user_id));
      assert.equal(r[col.email], neutralised(t.email ?? ""), t.user_id);
      assert.equal(r[col.name], neutralised(t.name ?? ""), t.user_id);
      assert.equal(r[col.connection], t.connection);
      assert.equal(r[col.last_login], t.last_login ?? "");
      assert.equal(r[col.blocked], String(t.blocked));
      assert.equal(r[col.removed_at] !== "", t.removed, t.user_id);
    }
    for (const [name, quoted] of [
      ["=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""],
      ["-2+3", "\"'-2+3\""],
      ["@SUM(A1:A9)", "\"'@SUM(A1:A9)\""],
      ["+1 555 0100", "\"'+1 555 0100\""],
      ["\tTabbed", "\"'\tTabbed\""],
      ["Multi\r\nLine, \"quoted\"", "\"Multi\r\nLine, \"\"quoted\"\"\""],
    ]) {
      assert.ok(text.includes(`,${quoted},`), `${JSON.stringify(name)} not quoted as ${quoted}`);
    }
    assert.ok(text.includes(HOSTILE_NAMES[4]) && text.includes(HOSTILE_NAMES[5]) && text.includes(HOSTILE_NAMES[6]));
    // Outside quoted cells every line ends in CRLF: no bare LF anywhere.
    assert.ok(!/[^\r]\n/.test(text), "bare LF in the CSV");

    // Filters apply to the export as to /api/users, over all pages.
    const filtered = parseCsv((await (await w.authedFetch("/users.csv?inactive_days=30&sort=last_login:desc")).text()).slice(1));
    filtered.shift();
    const api = await listAll(w, { inactive_days: "30", sort: "last_login:desc" });
    assert.ok(api.users.length > 1000);
    assert.deepEqual(filtered.map((r) => r[col.user_id]), api.users.map((u) => neutralised(u.user_id)));
  });
});

describe("Cloudflare Access", () => {
  const AUD = "aud-tag-0123456789abcdef";
  const key = makeKeyPair("key-1");
  const otherKey = makeKeyPair("key-1"); // same kid, different key: a forged signature
  let jwks, fake, w, claims;

  before(async () => {
    jwks = await startJwksServer([key.jwk]);
    fake = await startFakeAuth0({ users: makeUsers(30, { seed: 3, now: NOW_MS }) });
    w = await startWorker({
      bindings: tenantBindings(fake, { VIEWER_TOKEN, ACCESS_TEAM_DOMAIN: jwks.url, ACCESS_AUD: AUD }),
    });
    // Without the Access header the bearer token still works (e.g. for the sync call).
    const run = await sync(w);
    assert.equal(run.status, "succeeded");
    claims = (over) => accessClaims({ issuer: jwks.url, aud: AUD, email: "alice.o'neil@example.com" }, over);
  });
  after(async () => { await w?.close(); await fake?.close(); await jwks?.close(); });

  const withJwt = (jwt, p, extra = {}) => w.fetch(p, { redirect: "manual", headers: { "cf-access-jwt-assertion": jwt, ...extra } });

  test("a valid assertion opens the dashboard and API without a bearer; keys are fetched once", async () => {
    assert.equal(jwks.requests, 0, "no keys fetched for requests without an assertion");
    const page = await withJwt(signJwt(claims(), { key }), "/");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(html.includes("alice.o&#39;neil@example.com"), "the Access email is shown, escaped");
    assert.ok(!html.includes("Log out"), "no session to log out of");
    for (const p of ["/api/users", "/api/summary", "/users.csv", "/runs"]) {
      const res = await withJwt(signJwt(claims(), { key }), p);
      assert.equal(res.status, 200, p);
      await res.arrayBuffer();
    }
    const users = await (await withJwt(signJwt(claims({ aud: ["other-app", AUD] }), { key }), "/api/users")).json();
    assert.equal(users.users.length, 30);
    assert.equal(jwks.requests, 1, "the JWKS is cached across requests");
  });

  test("bad assertions are refused with 403, even alongside a valid bearer token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const valid = signJwt(claims(), { key });
    const [h] = valid.split(".");
    const tamperedPayload = Buffer.from(JSON.stringify({ ...claims(), email: "mallory@example.com" })).toString("base64url");
    const hs256 = signJwt(claims(), { alg: "HS256", kid: "key-1", hmacSecret: key.publicKey.export({ type: "spki", format: "pem" }) });
    const cases = [
      ["expired", signJwt(claims({ exp: now - 3600 }), { key }), /expired/],
      ["wrong aud", signJwt(claims({ aud: ["someone-else"] }), { key }), /another application/],
      ["no aud", signJwt(claims({ aud: undefined }), { key }), /malformed/],
      ["wrong iss", signJwt(claims({ iss: "https://evil.cloudflareaccess.com" }), { key }), /another team/],
      ["iss on another port", signJwt(claims({ iss: `${jwks.url}1` }), { key }), /another team/],
      ["not yet valid", signJwt(claims({ nbf: now + 3600 }), { key }), /not valid yet/],
      ["signed by another key", signJwt(claims(), { key: otherKey }), /signature is invalid/],
      ["tampered payload", `${h}.${tamperedPayload}.${valid.split(".")[2]}`, /signature is invalid/],
      ["alg none", signJwt(claims(), { alg: "none", kid: "key-1" }), /RS256/],
      ["alg none, no signature part", signJwt(claims(), { alg: "none", kid: "key-1" }).split(".").slice(0, 2).join("."), /malformed/],
      ["HS256 keyed with the public key", hs256, /RS256/],
      ["garbage", "not.a.jwt", /malformed/],
    ];
    for (const [what, jwt, why] of cases) {
      for (const auth of [{}, { authorization: `Bearer ${VIEWER_TOKEN}` }]) {
        const res = await withJwt(jwt, "/api/users", auth);
        assert.equal(res.status, 403, `${what}${auth.authorization ? " + bearer" : ""}: ${res.status}`);
        const body = await res.json();
        assert.ok(body.error.startsWith("Cloudflare Access token rejected: "), `${what}: ${body.error}`);
        assert.match(body.error, why, what);
        assert.ok(!body.error.includes(jwt.slice(0, 20)), "the token is not echoed");
      }
      const page = await withJwt(jwt, "/");
      assert.equal(page.status, 403, `${what} on the dashboard`);
      await page.arrayBuffer();
    }
    assert.equal(jwks.requests, 1, "known key ids are not refetched");
  });

  test("an unknown key id refetches the keys at once, then at most once a minute", async () => {
    const before = jwks.requests;
    // The team rotates: a token signed with the new key makes the worker fetch the keys again.
    const rotated = makeKeyPair("key-2");
    jwks.keys = [key.jwk, rotated.jwk];
    const ok = await withJwt(signJwt(claims(), { key: rotated }), "/api/users");
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    assert.equal(jwks.requests, before + 1);
    // Made-up key ids right after are refused without another fetch each.
    for (let i = 0; i < 20; i++) {
      const probe = await withJwt(signJwt(claims(), { key, kid: `made-up-${i}` }), "/api/users");
      assert.equal(probe.status, 403);
      assert.match((await probe.json()).error, /does not publish/);
    }
    assert.equal(jwks.requests, before + 1, "unknown key ids within a minute fetch nothing");
    for (const k of [key, rotated]) {
      const again = await withJwt(signJwt(claims(), { key: k }), "/api/users");
      assert.equal(again.status, 200);
      await again.arrayBuffer();
    }
    assert.equal(jwks.requests, before + 1, "the refreshed keys are cached");
  });
});

describe("Cloudflare Access with the certs endpoint down", () => {
  const AUD = "aud-tag-0123456789abcdef";
  const key = makeKeyPair("key-1");
  let jwks, w;

  before(async () => {
    jwks = await startJwksServer([key.jwk]);
    jwks.status = 503;
    // Slow as well as down: requests that arrive meanwhile find the fetch under way.
    jwks.holdMs = 300;
    w = await startWorker({ bindings: { VIEWER_TOKEN, ACCESS_TEAM_DOMAIN: jwks.url, ACCESS_AUD: AUD } });
  });
  after(async () => { await w?.close(); await jwks?.close(); });

  test("concurrent requests share one certs fetch, and its failure is remembered", async () => {
    const jwt = signJwt(accessClaims({ issuer: jwks.url, aud: AUD, email: "a@example.com" }), { key });
    const ask = async () => {
      const res = await w.fetch("/api/users", { headers: { "cf-access-jwt-assertion": jwt } });
      assert.equal(res.status, 403);
      const { error } = await res.json();
      assert.match(error, /signing keys could not be loaded: .*HTTP 503/);
    };
    await Promise.all(Array.from({ length: 5 }, ask));
    assert.equal(jwks.requests, 1, "one fetch for five concurrent requests");
    // Within the 30 s that the failure is remembered, even with the endpoint back, no fetch.
    jwks.status = 200;
    for (let i = 0; i < 5; i++) await ask();
    assert.equal(jwks.requests, 1, "the failure is remembered");
  });
});

// Sessions, cross-site POSTs and half-configured Access, each against a worker of its own (the
// settings differ) with an empty database: none of it needs synced users.
describe("sessions and cross-site requests", () => {
  const SESSION_SECRET = "session-secret-kept-across-restarts";
  const workers = [];
  const start = async (bindings) => {
    const w = await startWorker({ bindings });
    workers.push(w);
    return w;
  };
  after(async () => { for (const w of workers) await w.close(); });

  const login = async (w, headers = {}) => {
    const res = await w.fetch("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ token: VIEWER_TOKEN }).toString(),
    });
    assert.equal(res.status, 303, `login: ${res.status} ${await res.text()}`);
    const m = /^(__Host-als_session=[^;]+);/.exec(res.headers.get("set-cookie"));
    assert.ok(m, res.headers.get("set-cookie"));
    return m[1];
  };
  const withCookie = (w, cookie, p, init = {}) => w.fetch(p, { redirect: "manual", ...init, headers: { cookie, ...init.headers } });
  const status = async (w, cookie, p = "/api/summary") => {
    const res = await withCookie(w, cookie, p);
    await res.arrayBuffer();
    return res.status;
  };

  test("cross-site POSTs to /api/sync, /login and /logout are refused; bearer scripts and same-origin forms work", async () => {
    const w = await start({ VIEWER_TOKEN });
    const cookie = await login(w, { origin: "http://localhost", "sec-fetch-site": "same-origin" });
    const foreign = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
    for (const p of ["/api/sync", "/login", "/logout", "/logout?everywhere=1"]) {
      for (const headers of [foreign, { origin: "https://evil.example" }, { "sec-fetch-site": "same-site" }]) {
        const res = await withCookie(w, cookie, p, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams({ token: VIEWER_TOKEN }).toString(),
        });
        assert.equal(res.status, 403, `${p} ${JSON.stringify(headers)}: ${res.status}`);
        assert.equal(res.headers.get("set-cookie"), null, p);
        assert.match((await res.json()).error, /^cross-site request refused/, p);
      }
    }
    assert.equal(await status(w, cookie), 200, "the session survived the refused logouts");
    // A script with the bearer token sends no Origin, and needs none.
    const run = await w.authedFetch("/api/sync", { method: "POST" });
    assert.equal(run.status, 200);
    await run.arrayBuffer();
    // The dashboard's own log-out form.
    const out = await withCookie(w, cookie, "/logout", {
      method: "POST",
      headers: { origin: "http://localhost", "sec-fetch-site": "same-origin" },
    });
    assert.equal(out.status, 303);
    assert.match(out.headers.get("set-cookie"), /^__Host-als_session=; Path=\/; Max-Age=0;/);
    await out.arrayBuffer();
  });

  test("removing or changing VIEWER_TOKEN ends the sessions it opened, even with SESSION_SECRET set", async () => {
    const first = await start({ VIEWER_TOKEN, SESSION_SECRET });
    const cookie = await login(first);
    assert.equal(await status(first, cookie), 200);
    // The same settings elsewhere accept the cookie: nothing about it is stored per isolate.
    const same = await start({ VIEWER_TOKEN, SESSION_SECRET });
    assert.equal(await status(same, cookie), 200);
    // The token removed: closed, with the reason; the cookie opens nothing.
    const removed = await start({ SESSION_SECRET });
    const page = await withCookie(removed, cookie, "/");
    assert.equal(page.status, 503);
    assert.match(await page.text(), /VIEWER_TOKEN is not set/);
    assert.equal(await status(removed, cookie), 503);
    // The token changed.
    const changed = await start({ VIEWER_TOKEN: `${VIEWER_TOKEN}-rotated`, SESSION_SECRET });
    assert.equal(await status(changed, cookie), 401);
    const dash = await withCookie(changed, cookie, "/");
    assert.equal(dash.status, 303);
    assert.equal(dash.headers.get("location"), "/login");
    await dash.arrayBuffer();
  });

  test("sign out everywhere ends every session, a copied cookie included", async () => {
    const w = await start({ VIEWER_TOKEN });
    const mine = await login(w);
    const copied = await login(w);
    assert.equal(await status(w, mine), 200);
    assert.equal(await status(w, copied), 200);
    const page = await (await withCookie(w, mine, "/")).text();
    assert.match(page, /<form method="post" action="\/logout\?everywhere=1"><button type="submit"[^>]*>Sign out everywhere<\/button><\/form>/);
    // Not signed in: refused, and nobody is signed out.
    const anon = await w.fetch("/logout?everywhere=1", { method: "POST", redirect: "manual" });
    assert.equal(anon.status, 401);
    await anon.arrayBuffer();
    assert.equal(await status(w, copied), 200);
    const all = await withCookie(w, mine, "/logout?everywhere=1", {
      method: "POST",
      headers: { origin: "http://localhost", "sec-fetch-site": "same-origin" },
    });
    assert.equal(all.status, 303);
    assert.equal(all.headers.get("location"), "/login");
    await all.arrayBuffer();
    assert.equal(await status(w, mine), 401);
    assert.equal(await status(w, copied), 401);
    const epoch = await w.db.prepare("SELECT epoch FROM session_epoch").first();
    assert.equal(epoch.epoch, 1);
    // A new sign-in works under the new epoch.
    assert.equal(await status(w, await login(w)), 200);
  });

  test("a VIEWER_TOKEN shorter than 16 characters closes every viewer route, naming it, even to that token", async () => {
    const short = "short-token";
    const w = await start({ VIEWER_TOKEN: short });
    for (const p of ["/", "/runs", "/login"]) {
      const page = await w.fetch(p, { redirect: "manual" });
      assert.equal(page.status, 503, p);
      const html = await page.text();
      assert.match(html, /VIEWER_TOKEN is shorter than 16 characters/, p);
      assert.ok(!html.includes(short), `${p}: the value is echoed`);
    }
    const login = await w.fetch("/login", {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: short }).toString(),
    });
    assert.equal(login.status, 503);
    assert.equal(login.headers.get("set-cookie"), null);
    await login.arrayBuffer();
    for (const [p, method] of [["/api/users", "GET"], ["/api/summary", "GET"], ["/api/sync", "POST"]]) {
      const res = await w.authedFetch(p, { method });
      assert.equal(res.status, 503, p);
      const { error } = await res.json();
      assert.match(error, /VIEWER_TOKEN is shorter than 16 characters/, p);
    }
    assert.equal((await w.fetch("/healthz")).status, 200);
    assert.ok(w.logs.some((l) => /viewer routes are closed: VIEWER_TOKEN/.test(l)), "logged for the operator");
  });

  test("half-configured Cloudflare Access names the missing setting on the dashboard and in the 403", async () => {
    for (const [bindings, missing, present] of [
      [{ VIEWER_TOKEN, ACCESS_TEAM_DOMAIN: "myteam.cloudflareaccess.com" }, "ACCESS_AUD", "ACCESS_TEAM_DOMAIN"],
      [{ VIEWER_TOKEN, ACCESS_AUD: "aud-tag" }, "ACCESS_TEAM_DOMAIN", "ACCESS_AUD"],
    ]) {
      const w = await start(bindings);
      const said = `${missing} is not set, but ${present} is`;
      for (const p of ["/", "/runs", "/login"]) {
        const page = await w.fetch(p, { redirect: "manual" });
        assert.equal(page.status, 403, p);
        assert.ok(page.headers.get("content-type").startsWith("text/html"), p);
        const html = await page.text();
        assert.ok(html.includes(said), `${p}: ${html}`);
        assert.ok(html.includes(`wrangler secret put ${missing}`), p);
      }
      const api = await w.authedFetch("/api/users");
      assert.equal(api.status, 403);
      const { error } = await api.json();
      assert.ok(error.includes("half configured") && error.includes(said), error);
    }
  });
});
