// Benchmark (`npm run bench`): runs the built worker in workerd against the fake Auth0 and prints cost, speed and size figures with their targets.
//
// Usage: npm run bench [-- --sizes 10000,100000] [--skip-free] [--latency-requests 200]
// Figures, not assertions: the machine may be noisy. Exits non-zero only when a sync is wrong
// (D1 does not hold the fake's users) or fails.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations } from "../tests/support/fake-auth0.mjs";
import { startWorker, workerBuilt, tenantBindings, REPO_ROOT } from "../tests/support/worker.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "bench-viewer-token";
const BUDGET = 1000;
const ORG_SHARES = [0.01, 0.05, 0.1];
// Must match src/auth0/users.rs so the plain loop asks for exactly the worker's pages.
const USER_FIELDS = "user_id,email,email_verified,name,created_at,updated_at,last_login,logins_count,blocked,identities";
const PER_PAGE = 100;
const MAX_PAGES = 10;
const MAX_INVOCATIONS = 1000;

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000" },
    "skip-free": { type: "boolean", default: false },
    "free-size": { type: "string", default: "10000" },
    "latency-requests": { type: "string", default: "200" },
    "log-events": { type: "string", default: "10000" },
    // The dashboard with a year of trend snapshots against one without (or against another build).
    "only-dashboard": { type: "boolean", default: false },
    "skip-dashboard": { type: "boolean", default: false },
    "dashboard-size": { type: "string", default: "10000" },
    "dashboard-requests": { type: "string", default: "40" },
    "baseline-script": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("npm run bench [-- --sizes 10000,100000] [--skip-free] [--free-size 10000] [--latency-requests 200] [--log-events 10000]\n"
    + "  [--only-dashboard] [--dashboard-size 10000] [--dashboard-requests 40] [--baseline-script old/build/index.js]");
  process.exit(0);
}
const SIZES = args.sizes.split(",").map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
const FREE_SIZE = Number(args["free-size"]);
const LATENCY_N = Number(args["latency-requests"]);
if (!SIZES.length) throw new Error(`--sizes: no positive integers in "${args.sizes}"`);

let wrong = false; // a correctness failure: exit non-zero at the end
const ok = (b) => (b ? "✓" : "✗");
const fmt = (x, d = 2) => (x == null || Number.isNaN(x) ? "–" : Number.isInteger(x) ? String(x) : x.toFixed(d));
const sent = (s) => s.api + s.token + s.download; // every subrequest the worker made to Auth0

// ---------------------------------------------------------------------------------------------
// Memory of this process and its workerd children, sampled so a 100k run's growth is visible.
// ---------------------------------------------------------------------------------------------
function childRssMb() {
  let kb = 0;
  try {
    for (const pid of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid !== process.pid) continue;
        const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) kb += Number(m[1]);
      } catch { /* the process ended meanwhile */ }
    }
  } catch { /* no /proc: not Linux */ }
  return kb / 1024;
}
const peak = { node: 0, workerd: 0 };
const sampler = setInterval(() => {
  peak.node = Math.max(peak.node, process.memoryUsage().rss / 2 ** 20);
  peak.workerd = Math.max(peak.workerd, childRssMb());
}, 1000);
sampler.unref();

// ---------------------------------------------------------------------------------------------
// Setup helpers
// ---------------------------------------------------------------------------------------------
function ensureBuilt() {
  if (workerBuilt() && fs.existsSync(path.join(REPO_ROOT, "build/index_bg.wasm"))) return;
  console.log("build/ missing: building the worker (sh scripts/build.sh) …");
  const r = spawnSync("sh", ["scripts/build.sh"], { cwd: REPO_ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`build failed (exit ${r.status})`);
}

function tenant(n, seed) {
  const users = makeUsers(n, { seed, now: NOW });
  const sizes = ORG_SHARES.map((p) => Math.round(n * p));
  const { organizations, members } = makeOrganizations(ORG_SHARES.length, { seed, users, sizes });
  return { users, organizations, members, sizes };
}

async function start(t, { fakeOpts = {}, bindings = {} } = {}) {
  const fake = await startFakeAuth0({ users: t.users, organizations: t.organizations, members: t.members, ...fakeOpts });
  const w = await startWorker({
    bindings: tenantBindings(fake, {
      VIEWER_TOKEN,
      SYNC_MAX_AUTH0_REQUESTS: String(BUDGET),
      SYNC_MAX_D1_QUERIES: String(BUDGET),
      ...bindings,
    }),
  });
  return { fake, w };
}

const newestRun = (db) => db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();

/** A main cron tick, then continuation ticks (as production's "* * * * *") until the run ends. */
async function syncToEnd(w) {
  const t0 = performance.now();
  let cron = "*/15 * * * *";
  for (let calls = 1; calls <= MAX_INVOCATIONS; calls++) {
    await w.scheduled(cron);
    const run = await newestRun(w.db);
    if (!run) throw new Error("the cron tick created no run");
    if (run.status !== "running") return { run, calls, wallMs: performance.now() - t0 };
    cron = "* * * * *";
  }
  throw new Error(`still running after ${MAX_INVOCATIONS} invocations`);
}

// Pages a checkpoint listing of m items takes: the fake (like Auth0) sends an empty final page
// after a full last page of members.
const memberPages = (m, emptyFinal) => (m === 0 ? 1 : Math.ceil(m / PER_PAGE) + (emptyFinal && m % PER_PAGE === 0 ? 1 : 0));

/** D1's active user ids and memberships equal the fake's? */
async function verify(w, fake) {
  const ids = [];
  // Paged so a 100k-row answer never has to cross the D1 binding in one piece.
  for (let last = ""; ;) {
    const { results } = await w.db
      .prepare("SELECT user_id FROM users WHERE removed_at IS NULL AND user_id > ? ORDER BY user_id LIMIT 10000")
      .bind(last).all();
    if (!results.length) break;
    for (const r of results) ids.push(r.user_id);
    last = results[results.length - 1].user_id;
  }
  const truth = fake.users.map((u) => u.user_id).sort();
  let usersOk = ids.length === truth.length && ids.every((id, i) => id === truth[i]);
  // SQLite's BINARY order and JS's code-unit order agree for these ASCII ids; compare as sets anyway.
  if (!usersOk && ids.length === truth.length) {
    const set = new Set(ids);
    usersOk = truth.every((id) => set.has(id));
  }
  const { results: ms } = await w.db.prepare("SELECT org_id, user_id FROM memberships WHERE removed_at IS NULL").all();
  const stored = new Set(ms.map((r) => `${r.org_id} ${r.user_id}`));
  const expected = new Set();
  for (const o of fake.organizations) for (const id of fake.members.get(o.id) ?? []) expected.add(`${o.id} ${id}`);
  const membersOk = stored.size === expected.size && [...expected].every((k) => stored.has(k));
  return { usersOk, d1Users: ids.length, fakeUsers: truth.length, membersOk, d1Members: stored.size, fakeMembers: expected.size };
}

/**
 * The same pages the worker reads, fetched straight from the fake with node's fetch: a token, the
 * keyset created_at windows of src/auth0/users.rs, then organizations and members by checkpoint.
 */
async function plainLoop(fake, { maxUserPages = Infinity, orgs: withOrgs = true } = {}) {
  const t0 = performance.now();
  const tok = await fetch(`${fake.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials", client_id: fake.clientId, client_secret: fake.clientSecret, audience: `https://${fake.domain}/api/v2/` }),
  }).then((r) => r.json());
  const headers = { authorization: `Bearer ${tok.access_token}` };
  const get = async (p) => {
    const r = await fetch(`${fake.url}${p}`, { headers });
    if (r.status !== 200) throw new Error(`plain loop: ${p} → ${r.status} ${await r.text()}`);
    return r.json();
  };
  let lower = null;
  let userPages = 0;
  while (userPages < maxUserPages) {
    const block = [];
    let full = true;
    for (let page = 0; page < MAX_PAGES; page++) {
      const q = new URLSearchParams({
        search_engine: "v3", per_page: String(PER_PAGE), page: String(page), include_totals: "true",
        sort: "created_at:1", fields: USER_FIELDS, include_fields: "true",
      });
      if (lower) q.set("q", `created_at:[${lower} TO *]`);
      const body = await get(`/api/v2/users?${q}`);
      userPages++;
      block.push(...body.users);
      if (body.users.length < PER_PAGE) { full = false; break; }
    }
    if (!full) break;
    const max = block.reduce((m, u) => (u.created_at > m ? u.created_at : m), "");
    if (block.every((u) => u.created_at === max)) throw new Error("plain loop: a 1000-user millisecond needs an export (not in this bench)");
    lower = max;
  }
  const orgs = [];
  for (let from = null; withOrgs;) {
    const body = await get(`/api/v2/organizations?take=${PER_PAGE}${from ? `&from=${encodeURIComponent(from)}` : ""}`);
    orgs.push(...body.organizations);
    if (!body.organizations.length || !body.next) break;
    from = body.next;
  }
  for (const o of orgs) {
    for (let from = null; ;) {
      const body = await get(`/api/v2/organizations/${encodeURIComponent(o.id)}/members?take=${PER_PAGE}&fields=user_id&include_fields=true${from ? `&from=${encodeURIComponent(from)}` : ""}`);
      if (!body.members.length || !body.next) break;
      from = body.next;
    }
  }
  return { wallMs: performance.now() - t0, userPages };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function latency(w, n) {
  const timed = async (p) => {
    const t0 = performance.now();
    const res = await w.authedFetch(p);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${p} → ${res.status}`);
    return performance.now() - t0;
  };
  const paths = { users: "/api/users?limit=100", health: "/healthz" };
  for (let i = 0; i < 10; i++) { await timed(paths.users); await timed(paths.health); } // warm-up
  const t = { users: [], health: [] };
  for (let i = 0; i < n; i++) {
    // Alternate which goes first so neither always follows the other.
    const order = i % 2 ? ["users", "health"] : ["health", "users"];
    for (const k of order) t[k].push(await timed(paths[k]));
  }
  const s = (xs) => ({ median: quantile(xs, 0.5), p90: quantile(xs, 0.9) });
  return { requests: n, users: s(t.users), health: s(t.health) };
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------
ensureBuilt();
const cpus = os.cpus();
const machine = {
  cpu: cpus[0]?.model ?? "unknown",
  cores: cpus.length,
  memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  node: process.version,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
};
const date = new Date().toISOString();
console.log(`auth0-license-sync bench — ${date}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.os}`);
console.log(`sizes: ${SIZES.join(", ")}; budgets ${BUDGET}/${BUDGET}; organizations: ${ORG_SHARES.map((p) => `${p * 100}%`).join("/")} of N`);

const rows = []; // [section, measure, figure, target, met]
const row = (section, measure, figure, target = "", met = "") => rows.push({ section, measure, figure, target, met });
const results = { date, machine, budgets: { auth0Requests: BUDGET, d1Queries: BUDGET }, sizes: [], free: null, freeUnconfigured: null, logs: null, wasm: null, latency: null, rows };

let latencyDone = null;
for (const n of args["only-dashboard"] ? [] : SIZES) {
  const sec = `N=${n}`;
  console.log(`\n[${sec}] generating tenant …`);
  const t = tenant(n, 7);
  const { fake, w } = await start(t);
  try {
    // Warm the fake's JIT with one block so the first sync is not charged for it alone.
    await plainLoop(fake, { maxUserPages: MAX_PAGES, orgs: false });
    console.log(`[${sec}] first sync …`);
    fake.resetStats();
    const first = await syncToEnd(w);
    const s1 = fake.stats();
    const check = await verify(w, fake);
    if (first.run.status !== "succeeded" || !check.usersOk || !check.membersOk) wrong = true;

    const orgPages = Math.ceil(t.organizations.length / PER_PAGE)
      + t.sizes.reduce((a, m) => a + memberPages(m, fake.emptyFinalPage), 0);
    const minimum = Math.ceil(n / PER_PAGE) + orgPages + first.run.invocations;
    const requests = sent(s1);

    console.log(`[${sec}] no-change re-sync …`);
    fake.resetStats();
    const again = await syncToEnd(w);
    const s2 = fake.stats();
    if (again.run.status !== "succeeded") wrong = true;

    console.log(`[${sec}] plain fetch loop …`);
    fake.resetStats();
    const plain = await plainLoop(fake);

    const r = {
      n, organizations: t.sizes,
      first: {
        status: first.run.status, wallMs: first.wallMs, invocations: first.run.invocations, calls: first.calls,
        requests, fakeStats: s1, minimum, ratio: requests / minimum,
        d1Queries: first.run.d1_queries, rowsWritten: first.run.rows_written,
        apiRequests: first.run.api_requests, rateLimited: first.run.rate_limited,
      },
      verify: check,
      resync: {
        status: again.run.status, wallMs: again.wallMs, invocations: again.run.invocations, requests: sent(s2),
        d1Queries: again.run.d1_queries, rowsWritten: again.run.rows_written, rowsPer1000: (again.run.rows_written / n) * 1000,
      },
      plain: { wallMs: plain.wallMs, userPages: plain.userPages, workerUserPages: s1.users, overhead: first.wallMs / plain.wallMs },
    };
    results.sizes.push(r);

    row(sec, "first sync status", r.first.status, "succeeded", ok(r.first.status === "succeeded"));
    row(sec, "D1 users = fake (count, ids)", `${check.d1Users} / ${check.fakeUsers}`, "equal", ok(check.usersOk));
    row(sec, "D1 memberships = fake", `${check.d1Members} / ${check.fakeMembers}`, "equal", ok(check.membersOk));
    row(sec, "Auth0 requests (first sync) / minimum", `${requests} / ${minimum} = ${fmt(r.first.ratio, 3)}`, "≤ 1.05", ok(r.first.ratio <= 1.05));
    row(sec, "  of which token / users / orgs+members", `${s1.token} / ${s1.users} / ${s1.organizations + s1.members}`);
    row(sec, "invocations (first sync)", r.first.invocations);
    row(sec, "D1 queries (first sync)", r.first.d1Queries);
    // D1 counts each index entry as a row written, so this is several rows per user.
    row(sec, "rows written (first sync; per user)", `${r.first.rowsWritten} (${fmt(r.first.rowsWritten / n)})`);
    row(sec, "first sync wall", `${fmt(first.wallMs / 1000)} s`);
    row(sec, "plain fetch loop wall (same pages)", `${fmt(plain.wallMs / 1000)} s (${plain.userPages} user pages vs worker ${s1.users})`);
    row(sec, "overhead ratio worker / plain", fmt(r.plain.overhead), "≤ 1.5", ok(r.plain.overhead <= 1.5));
    row(sec, "re-sync: invocations / requests / D1 queries", `${r.resync.invocations} / ${r.resync.requests} / ${r.resync.d1Queries}`);
    row(sec, "re-sync wall", `${fmt(again.wallMs / 1000)} s`);
    row(sec, "re-sync rows written (per 1000 users)", `${r.resync.rowsWritten} (${fmt(r.resync.rowsPer1000, 3)})`, "≤ 1 per 1000 (+ run record)", ok(r.resync.rowsPer1000 <= 1));

    if (n === Math.max(...SIZES)) {
      console.log(`[${sec}] latency: ${LATENCY_N} × /api/users?limit=100 and /healthz, interleaved …`);
      latencyDone = { n, ...(await latency(w, LATENCY_N)) };
    }
    // The worker logs its wasm linear memory after each invocation; it only grows, so the
    // largest value is the isolate's peak (the limit is 128 MB for the whole isolate).
    const mib = w.logs.map((l) => l.match(/wasm memory (\d+) MiB/)?.[1]).filter(Boolean).map(Number);
    r.wasmMemoryMiB = mib.length ? Math.max(...mib) : null;
    row(sec, "worker wasm memory, peak", r.wasmMemoryMiB === null ? "not logged" : `${r.wasmMemoryMiB} MiB`, "far below 128 MB", ok(r.wasmMemoryMiB !== null && r.wasmMemoryMiB <= 32));
  } finally {
    await w.close();
    await fake.close();
  }
  row(sec, "peak RSS so far: node / workerd", `${fmt(peak.node, 0)} MB / ${fmt(peak.workerd, 0)} MB`);
}

// The same tenant twice: the plan's rate configured, then paced by Auth0's headers alone.
for (const [key, label, bindings] of args["skip-free"] || args["only-dashboard"] ? [] : [
  ["free", "AUTH0_RATE_LIMIT_PER_SECOND=2 BURST=2", { AUTH0_RATE_LIMIT_PER_SECOND: "2", AUTH0_RATE_LIMIT_BURST: "2" }],
  ["freeUnconfigured", "no AUTH0_RATE_LIMIT_* (headers alone)", {}],
]) {
  const sec = `Free-plan pacing N=${FREE_SIZE}, ${key === "free" ? "configured" : "unconfigured"}`;
  console.log(`\n[${sec}] fake 2 rps burst 2, ${label} (about ${Math.round(FREE_SIZE / 200)} s) …`);
  const t = tenant(FREE_SIZE, 8);
  const { fake, w } = await start(t, {
    fakeOpts: { rateLimit: { burst: 2, perSecond: 2 } },
    bindings,
  });
  try {
    fake.resetStats();
    const run = await syncToEnd(w);
    const s = fake.stats();
    const check = await verify(w, fake);
    if (run.run.status !== "succeeded" || !check.usersOk) wrong = true;
    const requests = sent(s);
    const boundS = requests / 2;
    const wallS = run.wallMs / 1000;
    // Sends bunched just after whole seconds show pacing by the second-granular x-ratelimit-reset.
    const onTheSecond = fake.requests.filter((q) => q.at % 1000 < 60).length;
    results[key] = {
      n: FREE_SIZE, status: run.run.status, wallS, requests, boundS, ratio: wallS / boundS,
      onTheSecond, fake429: s.rateLimited, run429: run.run.rate_limited, invocations: run.run.invocations, verify: check,
    };
    const f = results[key];
    row(sec, "status / D1 users = fake", `${f.status} / ${check.d1Users} of ${check.fakeUsers}`, "succeeded, equal", ok(f.status === "succeeded" && check.usersOk));
    row(sec, "wall vs bound (requests ÷ 2 rps)", `${fmt(wallS, 1)} s vs ${fmt(boundS, 1)} s (${requests} requests) = ${fmt(f.ratio, 4)}`, "≤ 1.15", ok(f.ratio <= 1.15));
    row(sec, "requests sent < 60 ms after a whole second", `${onTheSecond} of ${fake.requests.length}`);
    row(sec, "429s met (fake / run.rate_limited)", `${f.fake429} / ${f.run429}`, "0", ok(f.fake429 === 0 && f.run429 === 0));
  } finally {
    await w.close();
    await fake.close();
  }
}

// Following the log (read:logs): requests and D1 rows per 1,000 events, and an idle tick's cost.
if (!args["only-dashboard"]) {
  const events = Number(args["log-events"]);
  const sec = `log following, ${events} events`;
  console.log(`\n[${sec}] …`);
  const t = tenant(1000, 9);
  const { fake, w } = await start(t, { fakeOpts: { scopes: ["read:users", "read:organizations", "read:organization_members", "read:logs"] } });
  try {
    await syncToEnd(w); // the users, and an empty log
    const clients = ["demo_spa", "demo_web", "demo_mobile", "demo_admin"];
    const base = Date.parse(NOW) - 7 * 86_400_000;
    for (let i = 0; i < events; i++) {
      const u = t.users[(i * 7919) % t.users.length];
      fake.logEvent({ type: ["s", "ssa", "sertft", "seacft", "f"][i % 5], date: new Date(base + i * 1000).toISOString(), client_id: clients[i % 4], user_id: u.user_id });
    }
    fake.resetStats();
    const read = await syncToEnd(w);
    const s1 = fake.stats();
    const pairs = (await w.db.prepare("SELECT COUNT(*) AS n, SUM(logins) AS logins FROM app_usage").first());
    const wantLogins = Math.ceil(events / 5);
    const usageOk = read.run.status === "succeeded" && pairs.logins === wantLogins;
    if (!usageOk) wrong = true;
    fake.resetStats();
    const idle = await syncToEnd(w);
    const s2 = fake.stats();
    results.logs = {
      events, status: read.run.status, logRequests: s1.logs, requestsPer1000: (s1.logs / events) * 1000,
      rowsWritten: read.run.rows_written, rowsPer1000: (read.run.rows_written / events) * 1000, pairs: pairs.n,
      d1Queries: read.run.d1_queries, idleLogRequests: s2.logs, idleRowsWritten: idle.run.rows_written,
    };
    const l = results.logs;
    row(sec, "status / logins in D1 = log", `${l.status} / ${pairs.logins} of ${wantLogins}`, "succeeded, equal", ok(usageOk));
    row(sec, "log requests (per 1,000 events)", `${l.logRequests} (${fmt(l.requestsPer1000)})`, "≈ 10 (100 a page)", ok(l.requestsPer1000 <= 10.5));
    row(sec, "D1 rows written (per 1,000 events)", `${l.rowsWritten} (${fmt(l.rowsPer1000)}); ${l.pairs} user-app pairs`);
    row(sec, "D1 queries of that run", l.d1Queries);
    row(sec, "idle tick: log requests / rows written", `${l.idleLogRequests} / ${l.idleRowsWritten}`, "1 / 0", ok(l.idleLogRequests === 1 && l.idleRowsWritten === 0));
  } finally {
    await w.close();
    await fake.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The dashboard's render time with all trend charts (a year of daily snapshots: tenant, every
// connection, every organization) against today's dashboard: by default the same worker with no
// snapshot (its charts empty), or with --baseline-script a build from before the charts.
// ---------------------------------------------------------------------------------------------
async function dashboardTimes(w, n) {
  const times = [];
  for (let i = 0; i < 5 + n; i++) {
    const t0 = performance.now();
    const res = await w.authedFetch("/");
    const body = await res.text();
    if (res.status !== 200 || !body.includes("Users</h2>")) throw new Error(`GET / → ${res.status}`);
    if (i >= 5) times.push(performance.now() - t0); // the first five warm up
  }
  return { median: quantile(times, 0.5), p90: quantile(times, 0.9) };
}

/** 365 days of snapshot rows for every series the worker's own snapshot wrote today. */
async function seedYear(db) {
  const today = await db.prepare("SELECT * FROM trend_days WHERE derived = 0 ORDER BY day DESC LIMIT 1").first();
  if (!today) throw new Error("the sync took no snapshot");
  const cols = "seats, active, blocked, removed, added, active_30, active_90, never, login_31_60, login_61_90, login_91_180, login_181_365, login_over_365, logins";
  const stmts = [];
  for (let d = 1; d < 365; d++) {
    stmts.push(db.prepare(`INSERT OR IGNORE INTO trend_days (day, scope, key, ${cols}, derived, taken_at)
      SELECT date(day, '-${d} days'), scope, key, ${cols.split(", ").map((c) => `CAST(${c} * (1 - ${d} / 1000.0) AS INTEGER)`).join(", ")}, 0, taken_at
      FROM trend_days WHERE day = ? AND derived = 0`).bind(today.day));
  }
  for (let i = 0; i < stmts.length; i += 50) await db.batch(stmts.slice(i, i + 50));
  return (await db.prepare("SELECT COUNT(*) AS n FROM trend_days").first()).n;
}

if (args["only-dashboard"] || !args["skip-dashboard"]) {
  const n = Number(args["dashboard-size"]);
  const reqs = Number(args["dashboard-requests"]);
  const sec = `dashboard on N=${n}`;
  console.log(`\n[${sec}] …`);
  const t = tenant(n, 11);
  const run = async (scriptPath) => {
    const fake = await startFakeAuth0({ users: t.users, organizations: t.organizations, members: t.members });
    const w = await startWorker({ scriptPath, bindings: tenantBindings(fake, { VIEWER_TOKEN }) });
    return { fake, w };
  };
  const charts = await run(undefined);
  let withCharts, without, rowsSeeded, baselineLabel;
  try {
    await syncToEnd(charts.w);
    without = await dashboardTimes(charts.w, reqs);
    baselineLabel = "same build, no snapshot (charts empty)";
    rowsSeeded = await seedYear(charts.w.db);
    withCharts = await dashboardTimes(charts.w, reqs);
    if (args["baseline-script"]) {
      const old = await run(path.resolve(args["baseline-script"]));
      try {
        await syncToEnd(old.w);
        without = await dashboardTimes(old.w, reqs);
        baselineLabel = `${args["baseline-script"]} (before the charts)`;
      } finally {
        await old.w.close();
        await old.fake.close();
      }
    }
  } finally {
    await charts.w.close();
    await charts.fake.close();
  }
  const ratio = withCharts.median / without.median;
  results.dashboard = { n, requests: reqs, snapshotRows: rowsSeeded, withCharts, baseline: without, baselineLabel, ratioMedian: ratio };
  row(sec, `GET / with a year of snapshots (${rowsSeeded} rows), median / p90`, `${fmt(withCharts.median)} / ${fmt(withCharts.p90)} ms`);
  row(sec, `GET /, ${baselineLabel}, median / p90`, `${fmt(without.median)} / ${fmt(without.p90)} ms`);
  row(sec, "ratio with charts / without (median)", fmt(ratio), "< 2", ok(ratio < 2));
}

{
  const sec = "wasm";
  const buf = fs.readFileSync(path.join(REPO_ROOT, "build/index_bg.wasm"));
  const gz = zlib.gzipSync(buf, { level: 9 }).length;
  results.wasm = { rawBytes: buf.length, gzipBytes: gz };
  row(sec, "build/index_bg.wasm raw", `${fmt(buf.length / 1024, 1)} KB (${buf.length} B)`);
  row(sec, "gzip -9", `${fmt(gz / 1024, 1)} KB (${gz} B)`, "≤ 300 KB", ok(gz <= 300 * 1024));
}

if (latencyDone) {
  const l = latencyDone;
  const sec = `latency on N=${l.n}`;
  const ratio = l.users.median / l.health.median;
  results.latency = { ...l, ratioMedian: ratio, ratioP90: l.users.p90 / l.health.p90 };
  row(sec, `/api/users?limit=100 median / p90 (${l.requests} req)`, `${fmt(l.users.median)} / ${fmt(l.users.p90)} ms`);
  row(sec, `/healthz median / p90 (${l.requests} req)`, `${fmt(l.health.median)} / ${fmt(l.health.p90)} ms`);
  row(sec, "ratio users / healthz (median; p90)", `${fmt(ratio)}; ${fmt(l.users.p90 / l.health.p90)}`, "≤ 3", ok(ratio <= 3));
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
const cols = ["measure", "figure", "target", "met"];
const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...rows.map((r) => String(r[c]).length))]));
let out = "";
let lastSection = null;
for (const r of rows) {
  if (r.section !== lastSection) {
    out += `\n${r.section}\n`;
    lastSection = r.section;
  }
  out += `  ${cols.map((c) => String(r[c]).padEnd(width[c])).join("  ")}`.trimEnd() + "\n";
}
console.log(out);
console.log(`peak RSS: node ${fmt(peak.node, 0)} MB, workerd ${fmt(peak.workerd, 0)} MB`);
results.peakRssMb = peak;
results.correct = !wrong;
// A dashboard-only run does not overwrite the full run's figures.
const outFile = args["only-dashboard"] ? "bench/last-run-dashboard.json" : "bench/last-run.json";
fs.writeFileSync(path.join(REPO_ROOT, outFile), JSON.stringify(results, null, 2) + "\n");
console.log(`written: ${outFile}`);
if (wrong) {
  console.error("✗ a sync failed or D1 does not match the fake (see above)");
  process.exitCode = 1;
}
