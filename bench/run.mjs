// Benchmark (`npm run bench`): runs the built worker in workerd against the fake Auth0 and prints cost, speed and size figures with their targets.
//
// Usage: npm run bench [-- --sizes 10000,100000] [--skip-free] [--latency-requests 200]
//   [--skip-day | --only-day] [--day-size 100000] [--cadence-minutes N] (a simulated day: today's schedule vs
//   incremental syncs vs + push; N defaults to the sync cron in wrangler.toml)
//   [--skip-coldstart | --only-coldstart] [--coldstart-samples 15] (cold start vs bench/minimal-worker)
// Figures, not assertions: the machine may be noisy. Exits non-zero only when a sync is wrong
// (D1 does not hold the fake's users) or fails.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations, mulberry32 } from "../tests/support/fake-auth0.mjs";
import { startWorker, workerBuilt, tenantBindings, REPO_ROOT } from "../tests/support/worker.mjs";
import { workerdCpu, nativePerPage, cpuRows } from "./cpu.mjs";
import { Miniflare } from "miniflare";

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
    // A simulated day (issue 11): today's schedule vs incremental syncs vs incremental + push.
    "skip-day": { type: "boolean", default: false },
    "only-day": { type: "boolean", default: false },
    "day-size": { type: "string", default: "100000" },
    "tick-seconds": { type: "string", default: "3" },
    "full-ticks": { type: "string", default: "2" },
    "cadence-minutes": { type: "string" },
    // The listing proof by difference (issue 19 §3): a quiet tenant's full listing vs its minimum.
    "skip-proof": { type: "boolean", default: false },
    "only-proof": { type: "boolean", default: false },
    "proof-size": { type: "string", default: "100000" },
    "proof-capped": { type: "boolean", default: false },
    // Rows written on the D1 Free plan (issue 19 §2) alone: a first sync and the log following.
    "only-rows": { type: "boolean", default: false },
    "rows-size": { type: "string", default: "10000" },
    // The CPU per invocation under the Free plan's budgets (issue 19): bench/cpu.mjs.
    "skip-cpu": { type: "boolean", default: false },
    "cpu-size": { type: "string", default: "10000" },
    // Cold start against a minimal D1 worker built the same way (issue 20 §3): bench/minimal-worker.
    "skip-coldstart": { type: "boolean", default: false },
    "only-coldstart": { type: "boolean", default: false },
    "coldstart-samples": { type: "string", default: "15" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log("npm run bench [-- --sizes 10000,100000] [--skip-free] [--free-size 10000] [--latency-requests 200] [--log-events 10000]\n"
    + "  [--only-dashboard] [--dashboard-size 10000] [--dashboard-requests 40] [--baseline-script old/build/index.js]\n"
    + "  [--skip-day | --only-day] [--day-size 100000] [--tick-seconds 3] [--full-ticks 2] [--cadence-minutes 10]\n"
    + "  [--skip-proof | --only-proof] [--proof-size 100000] [--proof-capped]\n"
    + "  [--only-rows] [--rows-size 10000] [--log-events 10000]\n"
    + "  [--skip-cpu] [--cpu-size 10000]\n"
    + "  [--skip-coldstart | --only-coldstart] [--coldstart-samples 15]");
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
if (!args["only-day"] && !args["only-dashboard"] && !args["only-coldstart"]) console.log(`sizes: ${SIZES.join(", ")}; budgets ${BUDGET}/${BUDGET}; organizations: ${ORG_SHARES.map((p) => `${p * 100}%`).join("/")} of N`);

const rows = []; // [section, measure, figure, target, met]
const row = (section, measure, figure, target = "", met = "") => rows.push({ section, measure, figure, target, met });
const results = { date, machine, budgets: { auth0Requests: BUDGET, d1Queries: BUDGET }, sizes: [], free: null, freeUnconfigured: null, logs: null, wasm: null, latency: null, rows };

// ---------------------------------------------------------------------------------------------
// The listing proof by difference (issue 19 §3): a tenant that does not change while it is listed,
// users only, its totals counting every match (as the issue reads Auth0's); with --proof-capped
// also with totals capped at 1000, where each full block pays a count. Minimum = ⌈N/100⌉ pages + 1
// token per invocation; requests = the fake's users requests (pages, read-aheads, counts) + tokens.
// --only-proof runs it alone and writes bench/last-run-proof.json.
// ---------------------------------------------------------------------------------------------
async function proofListing(n, capTotals) {
  const users = makeUsers(n, { seed: 19, now: NOW });
  const { fake, w } = await start({ users, organizations: [], members: new Map() }, { fakeOpts: { capTotals } });
  try {
    fake.resetStats();
    const { run, wallMs } = await syncToEnd(w);
    const s = fake.stats();
    const check = await verify(w, fake);
    const counts = fake.requests.filter((r) => r.kind === "users" && r.query.per_page === "1").length;
    const requests = s.users + s.token;
    const minimum = Math.ceil(n / PER_PAGE) + run.invocations;
    return { n, capTotals, status: run.status, usersOk: check.usersOk, requests, minimum, ratio: requests / minimum, counts, invocations: run.invocations, wallMs };
  } finally {
    await w.close();
    await fake.close();
  }
}

async function proofSection() {
  const n = Number(args["proof-size"]);
  const out = [];
  for (const capTotals of args["proof-capped"] ? [false, true] : [false]) {
    const sec = `listing proof N=${n}, ${capTotals ? "totals capped at 1000" : "uncapped totals"}`;
    console.log(`\n[${sec}] a quiet tenant's first sync …`);
    const p = await proofListing(n, capTotals);
    if (p.status !== "succeeded" || !p.usersOk) wrong = true;
    row(sec, "status / D1 users = fake", `${p.status} / ${p.usersOk ? "equal" : "differ"}`, "succeeded, equal", ok(p.status === "succeeded" && p.usersOk));
    row(sec, "listing requests / minimum", `${p.requests} / ${p.minimum} = ${fmt(p.ratio, 4)}`, capTotals ? "" : "≤ 1.02", capTotals ? "" : ok(p.ratio <= 1.02));
    row(sec, "  of which counts (one-user pages)", p.counts);
    row(sec, "invocations / wall", `${p.invocations} / ${fmt(p.wallMs / 1000)} s`);
    out.push(p);
  }
  results.proof = out;
}

// ---------------------------------------------------------------------------------------------
// Cold start (issue 20 §3): a fresh workerd, hence a fresh isolate, per sample; the time from
// `new Miniflare` to the first response's body, which includes compiling and instantiating the
// wasm, against bench/minimal-worker (one D1 query) built the same way. The ready → first response
// part is shown too. Samples alternate the two workers (and which goes first) so that load on the
// machine falls on both; one warm-up pair (disk cache, workerd binary) is not counted.
// --only-coldstart runs it alone and writes bench/last-run-coldstart.json.
// ---------------------------------------------------------------------------------------------
const MINIMAL_DIR = path.join(REPO_ROOT, "bench/minimal-worker");

// Built like scripts/build.sh does, and rebuilt when anything it is made from is newer.
function ensureMinimalBuilt() {
  const wasm = path.join(MINIMAL_DIR, "build/index_bg.wasm");
  const newest = (p) => {
    const st = fs.statSync(p);
    if (!st.isDirectory()) return st.mtimeMs;
    return Math.max(0, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
  };
  if (fs.existsSync(path.join(MINIMAL_DIR, "build/index.js")) && fs.existsSync(wasm)
    && ["src", "Cargo.toml", "Cargo.lock", "build.sh"].every((f) => newest(path.join(MINIMAL_DIR, f)) <= fs.statSync(wasm).mtimeMs)) return;
  console.log("bench/minimal-worker/build missing or stale: building it (sh bench/minimal-worker/build.sh) …");
  const r = spawnSync("sh", ["build.sh"], { cwd: MINIMAL_DIR, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`minimal worker build failed (exit ${r.status})`);
}

async function coldStartSample(scriptPath, route) {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: path.dirname(scriptPath),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-06-01",
    d1Databases: { DB: "coldstart" },
    d1Persist: false,
    cf: false,
    handleRuntimeStdio() {}, // quiet; the status is checked instead
  });
  try {
    await mf.ready;
    const t1 = performance.now();
    const res = await mf.dispatchFetch(`http://localhost${route}`);
    const body = await res.text();
    const t2 = performance.now();
    return { totalMs: t2 - t0, firstMs: t2 - t1, status: res.status, body };
  } finally {
    await mf.dispose();
  }
}

async function coldStartSection() {
  const samples = Number(args["coldstart-samples"]);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`--coldstart-samples: not a positive integer: ${args["coldstart-samples"]}`);
  ensureMinimalBuilt();
  const minimalScript = path.join(MINIMAL_DIR, "build/index.js");
  const workers = {
    ours: { script: path.join(REPO_ROOT, "build/index.js"), route: "/healthz", expect: (r) => r.status === 200 && r.body === '{"ok":true}' },
    minimal: { script: minimalScript, route: "/", expect: (r) => r.status === 200 && r.body === "ok 1" },
    minimalNoD1: { script: minimalScript, route: "/no-d1", expect: (r) => r.status === 200 && r.body === "ok" },
  };
  const names = Object.keys(workers);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  const firsts = Object.fromEntries(names.map((n) => [n, []]));
  const sec = `cold start, ${samples} samples each`;
  console.log(`\n[${sec}] a new Miniflare per sample, rotating build/ and bench/minimal-worker (/ and /no-d1) …`);
  for (let i = -1; i < samples; i++) {
    const k = ((i % names.length) + names.length) % names.length;
    for (const name of [...names.slice(k), ...names.slice(0, k)]) {
      const w = workers[name];
      const r = await coldStartSample(w.script, w.route);
      if (!w.expect(r)) {
        wrong = true;
        console.error(`✗ cold start of ${name}: ${w.route} answered ${r.status} ${JSON.stringify(r.body.slice(0, 200))}`);
      }
      if (i < 0) continue; // the warm-up round
      times[name].push(r.totalMs);
      firsts[name].push(r.firstMs);
    }
  }
  const s = (xs) => ({ median: quantile(xs, 0.5), p90: quantile(xs, 0.9) });
  const fig = (name) => ({ route: workers[name].route, total: s(times[name]), firstRequest: s(firsts[name]), samplesMs: times[name].map((x) => Math.round(x * 10) / 10) });
  const out = {
    samples,
    measured: "new Miniflare → first response body (total, the figure compared); mf.ready → first response body (firstRequest)",
    ours: { ...fig("ours"), wasmBytes: fs.statSync(path.join(REPO_ROOT, "build/index_bg.wasm")).size },
    minimal: { ...fig("minimal"), wasmBytes: fs.statSync(path.join(MINIMAL_DIR, "build/index_bg.wasm")).size },
    minimalNoD1: fig("minimalNoD1"),
  };
  out.ratioMedian = out.ours.total.median / out.minimal.total.median;
  out.ratioNoD1Median = out.ours.total.median / out.minimalNoD1.total.median;
  out.ratioFirstRequestMedian = out.ours.firstRequest.median / out.minimal.firstRequest.median;
  results.coldStart = out;
  const kb = (b) => `${fmt(b / 1024, 1)} KB`;
  const line = (label, f) => row(sec, `${label}: new → first response, median / p90`, `${fmt(f.total.median)} / ${fmt(f.total.p90)} ms`);
  line(`ours, /healthz (${kb(out.ours.wasmBytes)} wasm)`, out.ours);
  line(`minimal D1 worker, / (one D1 query; ${kb(out.minimal.wasmBytes)} wasm)`, out.minimal);
  line("minimal D1 worker, /no-d1", out.minimalNoD1);
  row(sec, "ratio ours / minimal (medians)", fmt(out.ratioMedian));
  row(sec, "ratio ours / minimal /no-d1 (medians)", fmt(out.ratioNoD1Median));
  row(sec, "ready → first response, ours / minimal / minimal /no-d1 (medians)",
    `${fmt(out.ours.firstRequest.median)} / ${fmt(out.minimal.firstRequest.median)} / ${fmt(out.minimalNoD1.firstRequest.median)} ms`);
}

if (args["only-coldstart"]) {
  await coldStartSection();
  for (const r of rows) console.log(`${r.section} | ${r.measure}: ${r.figure}${r.target ? ` (target ${r.target} ${r.met})` : ""}`);
  fs.writeFileSync(path.join(REPO_ROOT, "bench/last-run-coldstart.json"), JSON.stringify({ date, machine, coldStart: results.coldStart, correct: !wrong }, null, 2) + "\n");
  console.log("written: bench/last-run-coldstart.json");
  process.exit(wrong ? 1 : 0);
}

if (args["only-proof"]) {
  await proofSection();
  for (const r of rows) console.log(`${r.section} | ${r.measure}: ${r.figure}${r.target ? ` (target ${r.target} ${r.met})` : ""}`);
  fs.writeFileSync(path.join(REPO_ROOT, "bench/last-run-proof.json"), JSON.stringify({ date, machine, proof: results.proof, correct: !wrong }, null, 2) + "\n");
  console.log("written: bench/last-run-proof.json");
  process.exit(wrong ? 1 : 0);
}

let latencyDone = null;
for (const n of args["only-dashboard"] || args["only-day"] || args["only-rows"] ? [] : SIZES) {
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
for (const [key, label, bindings] of args["skip-free"] || args["only-dashboard"] || args["only-day"] || args["only-rows"] ? [] : [
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
if (!args["only-dashboard"] && !args["only-day"] && !args["only-rows"]) {
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

if (!args["skip-proof"] && !args["only-dashboard"] && !args["only-day"] && !args["only-rows"]) await proofSection();

// ---------------------------------------------------------------------------------------------
// A simulated day (issue 11) on one tenant with 1 % of users changing their profile, 5 % logging
// in and 20 deleted, under today's schedule (a full listing every 15 minutes, 96 ticks),
// incremental syncs, and incremental syncs plus pushes; (b) and (c) tick at the deployed cadence
// (the sync cron in wrangler.toml, or --cadence-minutes). Time is compressed (one cadence tick =
// --tick-seconds of real time) because the worker and the fake run on the real clock.
// ---------------------------------------------------------------------------------------------
const DAY_TICKS = 96; // today's schedule, (a)
const TICK_SIM_S = 900;
const DAY_SIM_S = DAY_TICKS * TICK_SIM_S;

// The sync cron's minutes from wrangler.toml (the "*/N * * * *" entry of `crons`), or null.
function wranglerCadenceMinutes() {
  try {
    const toml = fs.readFileSync(path.join(REPO_ROOT, "wrangler.toml"), "utf8");
    const crons = toml.match(/^\s*crons\s*=\s*\[([^\]]*)\]/m)?.[1].match(/"[^"]*"/g)?.map((c) => c.slice(1, -1).trim()) ?? [];
    const sync = crons.filter((c) => c !== "* * * * *");
    const m = sync.length === 1 ? sync[0].match(/^\*\/(\d+) \* \* \* \*$/) : null;
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const DAY_SCOPES = ["read:users", "read:organizations", "read:organization_members", "read:clients",
  "read:connections", "read:organization_connections", "read:logs"];
const DAY_APPS = [
  { client_id: "day_portal", name: "Portal", app_type: "spa" },
  { client_id: "day_billing", name: "Billing", app_type: "regular_web" },
  { client_id: "day_mobile", name: "Mobile", app_type: "native" },
  { client_id: "test-client-id", name: "auth0-license-sync", app_type: "non_interactive" },
];
const LOGIN_APPS = DAY_APPS.filter((a) => a.app_type !== "non_interactive").map((a) => a.client_id);
const EVENT_STREAM_TOKEN = "bench-event-stream-token-0123456789";
const LOG_STREAM_TOKEN = "bench-log-stream-token-0123456789";

/** The day's changes, deterministic: each {kind, userId, simT (s, in (0, 86400)), …}, by simT. */
function dayPlan(users, seed) {
  const r = mulberry32(seed);
  const order = users.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const n = users.length;
  const deletions = Math.min(20, Math.floor(n / 100));
  // Deleted users are never changed nor logged in; changes and logins may meet one user.
  const deleted = order.slice(0, deletions);
  const rest = order.slice(deletions);
  const changed = rest.slice(0, Math.round(n * 0.01));
  const loggedIn = rest.slice(Math.floor(changed.length / 2)).slice(0, Math.round(n * 0.05)); // half the changed log in too
  const simT = () => 1 + Math.floor(r() * (DAY_SIM_S - 2) * 1000) / 1000; // never on a tick
  const events = [
    ...deleted.map((i) => ({ kind: "delete", userId: users[i].user_id })),
    ...changed.map((i) => ({ kind: "change", userId: users[i].user_id, what: ["name", "name", "name", "email", "blocked"][Math.floor(r() * 5)] })),
    ...loggedIn.map((i) => ({ kind: "login", userId: users[i].user_id, client_id: LOGIN_APPS[Math.floor(r() * LOGIN_APPS.length)] })),
  ];
  for (const e of events) e.simT = simT();
  events.sort((a, b) => a.simT - b.simT);
  return { events, counts: { change: changed.length, login: loggedIn.length, delete: deletions } };
}

let eventSeq = 0;
const cloudEvent = (type, object) => ({
  id: `evt_bench${String(++eventSeq).padStart(18, "0")}`, source: "urn:auth0:demo-tenant.us.auth0.com",
  specversion: "1.0", type, time: new Date().toISOString(), a0tenant: "demo-tenant", a0stream: "est_bench", data: { object },
});

/** Makes one planned change in the fake (stamped with the real clock) and returns what to look for. */
function applyChange(fake, e) {
  const realAt = performance.now();
  if (e.kind === "change") {
    const u = fake.user(e.userId);
    const patch = e.what === "email" ? { email: `changed.${e.simT.toFixed(0)}.${u.email ?? "x@example.com"}` }
      : e.what === "blocked" ? { blocked: !u.blocked }
        : { name: `${u.name ?? "Someone"} (${e.simT.toFixed(0)})` };
    const user = fake.updateUser(e.userId, patch);
    return { ...e, realAt, stamp: user.updated_at, user: structuredClone(user) };
  }
  if (e.kind === "login") {
    const { event } = fake.login(e.userId, { client_id: e.client_id });
    return { ...e, realAt, stamp: event.date, event };
  }
  const { event } = fake.deleteUser(e.userId);
  return { ...e, realAt, stamp: event.date, event };
}

/** Delivers a change as Auth0 would push it: Event Streams and the Log Stream. */
async function pushChange(w, c) {
  const post = async (route, token, body) => {
    const res = await w.fetch(route, { method: "POST", headers: { "content-type": "application/json", authorization: token }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`push to ${route} → ${res.status} ${text}`);
  };
  if (c.kind === "change") await post("/api/auth0/events", `Bearer ${EVENT_STREAM_TOKEN}`, cloudEvent("user.updated", c.user));
  if (c.kind === "delete") await post("/api/auth0/events", `Bearer ${EVENT_STREAM_TOKEN}`, cloudEvent("user.deleted", { user_id: c.userId, deleted_at: c.stamp }));
  if (c.kind !== "change") await post("/api/auth0/log-stream", LOG_STREAM_TOKEN, [{ log_id: c.event.log_id, data: c.event }]);
}

/**
 * Which of these changes the API shows (GET /api/users/{id}: the user row and its applications'
 * usage): a Set of their indexes. Through the worker's HTTP API rather than the D1 binding, whose
 * synchronous proxy in Miniflare fails now and then over thousands of calls.
 */
async function visibleChanges(w, changes) {
  const got = new Map();
  for (const id of new Set(changes.map((c) => c.userId))) {
    const res = await w.authedFetch(`/api/users/${encodeURIComponent(id)}`);
    if (res.status !== 200) throw new Error(`GET /api/users/${id} → ${res.status}`);
    got.set(id, await res.json());
  }
  const seen = new Set();
  changes.forEach((c, i) => {
    const { user, applications = [] } = got.get(c.userId);
    const usage = applications.find((a) => a.client_id === c.client_id)?.last_login ?? "";
    const ok = c.kind === "delete" ? user.removed_at != null
      : c.kind === "change" ? user.updated_at >= c.stamp
        : (user.last_login != null && user.last_login >= c.stamp) || usage >= c.stamp;
    if (ok) seen.add(i);
  });
  return seen;
}

/** D1's users equal the fake tenant's: active ids, deleted ones removed, and each user's fields. */
async function verifyDay(db, fake, deletedIds) {
  const stored = new Map();
  for (let last = ""; ;) {
    const { results } = await db.prepare("SELECT user_id, email, name, blocked, last_login, logins_count, removed_at FROM users WHERE user_id > ? ORDER BY user_id LIMIT 10000").bind(last).all();
    if (!results.length) break;
    for (const r of results) stored.set(r.user_id, r);
    last = results[results.length - 1].user_id;
  }
  const problems = [];
  const active = [...stored.values()].filter((r) => r.removed_at == null).length;
  if (active !== fake.users.length) problems.push(`${active} active users in D1, ${fake.users.length} in the tenant`);
  for (const u of fake.users) {
    const r = stored.get(u.user_id);
    const want = { email: u.email ?? null, name: u.name ?? null, blocked: u.blocked ? 1 : 0, last_login: u.last_login ?? null, logins_count: u.logins_count ?? 0, removed_at: null };
    if (!r) { problems.push(`${u.user_id} missing`); continue; }
    for (const [k, v] of Object.entries(want)) if (r[k] !== v) problems.push(`${u.user_id} ${k}: ${JSON.stringify(r[k])} ≠ ${JSON.stringify(v)}`);
  }
  for (const id of deletedIds) if (stored.get(id)?.removed_at == null) problems.push(`${id} deleted in the tenant, not removed in D1`);
  return { ok: problems.length === 0, problems: problems.length, examples: problems.slice(0, 5), d1Active: active, fakeUsers: fake.users.length, deleted: deletedIds.length };
}

/** The newest sync_runs rows (GET /api/sync-runs), newest first. */
async function apiRuns(w, limit = 500) {
  const res = await w.authedFetch(`/api/sync-runs?limit=${limit}`);
  if (res.status !== 200) throw new Error(`GET /api/sync-runs → ${res.status}`);
  return (await res.json()).runs;
}
const maxRunId = async (w) => Math.max(0, ...(await apiRuns(w, 30)).map((r) => r.id));
const runById = async (w, id) => {
  const run = (await apiRuns(w, 30)).find((r) => r.id === id);
  if (!run) throw new Error(`run ${id} not among the newest runs`);
  return run;
};
/** Sum of rows_written of the runs with ids in (after, upTo]. */
const rowsOfRuns = async (w, after, upTo = Infinity) =>
  (await apiRuns(w)).filter((r) => r.id > after && r.id <= upTo).reduce((a, r) => a + (r.rows_written ?? 0), 0);

/** Continues run `id` with `* * * * *` ticks until it ends. */
async function continueRun(w, id) {
  for (let calls = 1; calls <= MAX_INVOCATIONS; calls++) {
    const run = await runById(w, id);
    if (run.status !== "running") return run;
    await w.scheduled("* * * * *");
  }
  throw new Error(`run ${id} still running after ${MAX_INVOCATIONS} invocations`);
}

// One sync cron tick (`cron`, e.g. "*/10 * * * *") run to its end; the run it started (a push
// summary row is not one).
async function cronTick(w, cron) {
  const before = await maxRunId(w);
  const t0 = performance.now();
  await w.scheduled(cron);
  const started = (await apiRuns(w, 30)).filter((r) => r.id > before && r.kind !== "push").map((r) => r.id);
  if (!started.length) throw new Error("the cron tick started no run");
  const run = await continueRun(w, Math.min(...started));
  return { run, wallMs: performance.now() - t0 };
}

/** POST /api/sync (manual: a full listing), continued to its end. */
async function manualSync(w) {
  const t0 = performance.now();
  const res = await w.authedFetch("/api/sync", { method: "POST" });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`POST /api/sync → ${res.status} ${JSON.stringify(body)}`);
  const run = await continueRun(w, body.run.id);
  return { run, wallMs: performance.now() - t0 };
}

const sleepUntil = (t) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
const fmtSpan = (s) => {
  if (s == null) return "–";
  if (s === Infinity) return "never (some change not shown)";
  if (s < 60) return `${fmt(s, s < 1 ? 3 : 1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
};

/**
 * A fake holding a fresh copy of the day's tenant. Its log holds one event from before the day
 * (the same in every copy), so the first sync reads the log and follows it from then on: read:logs
 * is then a deletion signal, and the ticks between full listings are incremental (issue 19).
 */
async function dayFake(t) {
  const fake = await startFakeAuth0({
    users: structuredClone(t.users), organizations: structuredClone(t.organizations),
    members: new Map([...t.members].map(([k, v]) => [k, [...v]])), applications: structuredClone(DAY_APPS), scopes: DAY_SCOPES,
  });
  fake.logEvent({ type: "sapi", date: "2026-01-01T00:00:00.000Z", client_id: fake.clientId });
  return fake;
}
function dayWorker(fake, dir, vars) {
  return startWorker({
    d1Persist: dir,
    bindings: tenantBindings(fake, {
      VIEWER_TOKEN, SYNC_MAX_AUTH0_REQUESTS: String(BUDGET), SYNC_MAX_D1_QUERIES: String(BUDGET),
      EVENT_STREAM_TOKEN, LOG_STREAM_TOKEN, ...vars,
    }),
  });
}

/** Freshness figures (seconds) of the changes that became visible; null for any never seen. */
function freshnessStats(changes) {
  const xs = changes.map((c) => c.freshS);
  const never = xs.filter((x) => x == null).length;
  const seen = xs.filter((x) => x != null);
  const by = {};
  for (const k of ["change", "login", "delete"]) {
    const ys = changes.filter((c) => c.kind === k && c.freshS != null).map((c) => c.freshS);
    by[k] = ys.length ? { median: quantile(ys, 0.5), max: Math.max(...ys) } : null;
  }
  return {
    changes: xs.length, never, median: seen.length ? quantile(seen, 0.5) : null,
    max: never ? Infinity : seen.length ? Math.max(...seen) : null,
    byPush: changes.filter((c) => c.via === "push").length, byTick: changes.filter((c) => c.via === "tick").length, by,
  };
}

/**
 * One variant of the day on a copy of the day-start database: ticks 1..`ticks`, one every
 * `tickSimS` simulated seconds (`tickRealS` real), each after its interval's changes (a change
 * belongs to the tick that follows it), optionally pushing every change as it is made.
 */
async function dayVariant(t, plan, dir, { vars, push, ticks, tickSimS, tickRealS }) {
  const dayTicks = DAY_SIM_S / tickSimS;
  const cron = `*/${tickSimS / 60} * * * *`;
  const fake = await dayFake(t);
  const w = await dayWorker(fake, dir, vars);
  try {
    const startId = await maxRunId(w);
    fake.resetStats();
    const changes = [];
    let pending = [];
    const tickRuns = [];
    let beforeFinal = null;
    let pushes = 0;
    for (let k = 1; k <= ticks; k++) {
      // The interval's changes at their compressed instants, then the tick at its end.
      const intervalStart = performance.now();
      for (const e of plan.events) {
        if (Math.ceil(e.simT / tickSimS) !== k) continue;
        await sleepUntil(intervalStart + ((e.simT - (k - 1) * tickSimS) / tickSimS) * tickRealS * 1000);
        const c = applyChange(fake, e);
        changes.push(c);
        if (push) {
          await pushChange(w, c);
          pushes++;
          if ((await visibleChanges(w, [c])).size) {
            c.freshS = (performance.now() - c.realAt) / 1000;
            c.via = "push";
            continue;
          }
        }
        pending.push(c);
      }
      await sleepUntil(intervalStart + tickRealS * 1000);
      if (k === dayTicks) {
        // The day is ticks 0..dayTicks-1; the last (the next midnight) only shows the last interval's changes.
        beforeFinal = { stats: fake.stats(), lastRunId: await maxRunId(w) };
      }
      const tick = await cronTick(w, cron);
      tickRuns.push({ k, id: tick.run.id, status: tick.run.status, kind: tick.run.kind ?? null, wallMs: tick.wallMs, rowsWritten: tick.run.rows_written, requests: tick.run.api_requests });
      if (tick.run.status !== "succeeded") throw new Error(`tick ${k}: run ${tick.run.id} ${tick.run.status}: ${tick.run.error}`);
      const seen = await visibleChanges(w, pending);
      for (const [i, c] of pending.entries()) {
        if (!seen.has(i)) continue;
        c.freshS = k * tickSimS - c.simT + tick.wallMs / 1000;
        c.via = "tick";
      }
      pending = pending.filter((_, i) => !seen.has(i));
      if (k % (dayTicks / 4) === 0) console.log(`  … tick ${k}/${ticks}: ${changes.length} changes made, ${pending.length} not shown yet, last tick ${fmtSpan(tick.wallMs / 1000)}`);
    }
    const stats = beforeFinal?.stats ?? fake.stats();
    const lastDayRun = beforeFinal?.lastRunId ?? (await maxRunId(w));
    const rows = { rows: await rowsOfRuns(w, startId, lastDayRun) };
    const dayRuns = (await apiRuns(w)).filter((r) => r.id > startId);
    let kinds = null;
    if (dayRuns.some((r) => r.kind !== undefined)) {
      const by = new Map();
      for (const r of dayRuns) {
        const k = by.get(r.kind) ?? { kind: r.kind, n: 0, rows: 0 };
        k.n += 1;
        k.rows += r.rows_written ?? 0;
        by.set(r.kind, k);
      }
      kinds = [...by.values()].sort((x, y) => (x.kind < y.kind ? -1 : 1));
    }
    const deletedIds = plan.events.filter((e) => e.kind === "delete" && Math.ceil(e.simT / tickSimS) <= ticks).map((e) => e.userId);
    const check = await verifyDay(w.db, fake, deletedIds);
    return {
      requests: sent(stats), fakeStats: stats, rowsWritten: rows.rows, tickRuns, kinds, pushes,
      freshness: freshnessStats(changes), verify: check,
      tickWallMs: { median: quantile(tickRuns.map((r) => r.wallMs), 0.5), max: Math.max(...tickRuns.map((r) => r.wallMs)) },
    };
  } finally {
    await w.close();
    await fake.close();
  }
}

async function simulatedDay({ n, tickSeconds, fullTicks, cadenceMin }) {
  // (b) and (c) tick every `cadenceMin` simulated minutes, `tickSeconds` real; (a) every 15
  // minutes on the same time scale.
  const cadenceS = cadenceMin * 60;
  const cadenceTicks = DAY_SIM_S / cadenceS;
  const overlap = Math.max(1, Math.round((300 * tickSeconds) / cadenceS));
  const sec = `A simulated day, N=${n}`;
  console.log(`\n[${sec}] generating tenant and the day's changes …`);
  const t = tenant(n, 12);
  const plan = dayPlan(t.users, 2026);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "als-bench-day-"));
  const startDir = path.join(base, "day-start");
  const out = { n, tickSeconds, cadenceMinutes: cadenceMin, overlapSeconds: overlap, ticks: cadenceTicks, todayTicks: DAY_TICKS, counts: plan.counts };
  try {
    // The tenant as it stands at midnight: a first sync (not counted), then the day's full
    // reconcile (POST /api/sync at 00:00), the same for every variant; each variant starts from a
    // copy of this database.
    {
      const fake = await dayFake(t);
      const w = await dayWorker(fake, startDir, { FULL_SYNC_INTERVAL_HOURS: "24", INCREMENTAL_OVERLAP_SECONDS: String(overlap) });
      try {
        console.log(`[${sec}] the tenant before the day: a first sync (not counted) …`);
        const first = await manualSync(w);
        if (first.run.status !== "succeeded") throw new Error(`first sync ${first.run.status}: ${first.run.error}`);
        console.log(`[${sec}] 00:00 — the day's full reconcile (POST /api/sync) …`);
        const before = await maxRunId(w);
        fake.resetStats();
        const start = await manualSync(w);
        const s = fake.stats();
        const rows = { rows: await rowsOfRuns(w, before) };
        if (start.run.status !== "succeeded") throw new Error(`day start ${start.run.status}: ${start.run.error}`);
        out.dayStart = { requests: sent(s), rowsWritten: rows.rows, wallMs: start.wallMs, kind: start.run.kind ?? null, invocations: start.run.invocations };
      } finally {
        await w.close();
        await fake.close();
      }
    }
    const copy = (name) => {
      const dir = path.join(base, name);
      fs.cpSync(startDir, dir, { recursive: true });
      return dir;
    };
    const d0 = out.dayStart;

    console.log(`[${sec}] (a) today's schedule: ${fullTicks - 1} more full listing(s) to extrapolate from …`);
    const a = await dayVariant(t, plan, copy("a"), { vars: { FULL_SYNC_INTERVAL_HOURS: "0" }, push: false, ticks: fullTicks - 1, tickSimS: TICK_SIM_S, tickRealS: (tickSeconds * TICK_SIM_S) / cadenceS });
    const perTick = (x) => x / (fullTicks - 1);
    a.measuredTicks = fullTicks;
    a.requestsPerDay = Math.round(d0.requests + (DAY_TICKS - 1) * perTick(a.requests));
    a.rowsPerDay = Math.round(d0.rowsWritten + (DAY_TICKS - 1) * perTick(a.rowsWritten));
    out.today = a;

    const incremental = { vars: { FULL_SYNC_INTERVAL_HOURS: "24", INCREMENTAL_OVERLAP_SECONDS: String(overlap) }, ticks: cadenceTicks, tickSimS: cadenceS, tickRealS: tickSeconds };
    console.log(`[${sec}] (b) incremental syncs: ${cadenceTicks} ticks (cron */${cadenceMin}) of ${tickSeconds} s …`);
    const b = await dayVariant(t, plan, copy("b"), { ...incremental, push: false });
    b.requestsPerDay = d0.requests + b.requests;
    b.rowsPerDay = d0.rowsWritten + b.rowsWritten;
    out.incremental = b;

    console.log(`[${sec}] (c) incremental syncs + push: ${cadenceTicks} ticks (cron */${cadenceMin}) of ${tickSeconds} s …`);
    const c = await dayVariant(t, plan, copy("c"), { ...incremental, push: true });
    c.requestsPerDay = d0.requests + c.requests;
    c.rowsPerDay = d0.rowsWritten + c.rowsWritten;
    out.push = c;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }

  const { today: a, incremental: b, push: c, dayStart: d0 } = out;
  const cap = 0.03 * a.requestsPerDay;
  out.goals = {
    requestsCap: cap,
    incrementalRequestsOk: b.requestsPerDay <= cap, pushRequestsOk: c.requestsPerDay <= cap,
    incrementalFreshOk: b.freshness.max <= 15 * 60, pushFreshOk: c.freshness.max <= 60,
  };
  for (const v of [a, b, c]) if (!v.verify.ok) wrong = true;

  row(sec, "cadence of (b) and (c)", `cron */${cadenceMin}: ${cadenceTicks} ticks a day; (a) today's */15: ${DAY_TICKS} ticks a day`);
  row(sec, "compression", `1 tick (${cadenceMin} min) = ${tickSeconds} s real; INCREMENTAL_OVERLAP_SECONDS=${overlap} (300 s scaled)`);
  row(sec, "the day's changes", `${plan.counts.change} profile changes, ${plan.counts.login} logins (s events), ${plan.counts.delete} deletions (sdu)`);
  row(sec, "00:00 full reconcile (POST /api/sync): requests / rows / wall", `${d0.requests} / ${d0.rowsWritten} / ${fmtSpan(d0.wallMs / 1000)}${d0.kind ? ` (kind ${d0.kind})` : ""}`);
  const kinds = (v) => (v.kinds ? v.kinds.map((k) => `${k.n} ${k.kind}`).join(", ") : "no kind column (worker before issue 11)");
  const fresh = (v) => `${fmtSpan(v.freshness.median)} / ${fmtSpan(v.freshness.max)}`;
  const freshBy = (v) => ["change", "login", "delete"].map((k) => `${k} ${fmtSpan(v.freshness.by[k]?.max)}`).join(", ");
  const verdict = (v) => (v.verify.ok ? `equal (${v.verify.d1Active} active, ${v.verify.deleted} removed)` : `${v.verify.problems} differences, e.g. ${v.verify.examples.join("; ")}`);

  let s = `${sec} (a) today's schedule, extrapolated`;
  row(s, `extrapolated to ${DAY_TICKS} ticks from`, `${a.measuredTicks} measured full listings (00:00 + ${a.measuredTicks - 1}); FULL_SYNC_INTERVAL_HOURS=0`);
  row(s, "Auth0 requests per day", `${a.requestsPerDay} (${d0.requests} + ${DAY_TICKS - 1} × ${fmt(a.requests / (a.measuredTicks - 1), 1)})`);
  row(s, "D1 rows written per day", `${a.rowsPerDay} (${d0.rowsWritten} + ${DAY_TICKS - 1} × ${fmt(a.rowsWritten / (a.measuredTicks - 1), 1)})`);
  row(s, "freshness median / max (measured ticks)", fresh(a));
  row(s, "tick wall (a full listing)", fmtSpan(a.tickWallMs.median / 1000));
  row(s, "D1 = tenant after the measured ticks", verdict(a), "equal", ok(a.verify.ok));

  s = `${sec} (b) incremental syncs (sdu deletions by polling the log)`;
  row(s, "Auth0 requests per day", `${b.requestsPerDay} (${fmt((100 * b.requestsPerDay) / a.requestsPerDay, 2)} % of (a))`, `≤ 3 % = ${Math.floor(cap)}`, ok(out.goals.incrementalRequestsOk));
  row(s, "  of which token / users / logs / other", `${b.fakeStats.token} / ${b.fakeStats.users} / ${b.fakeStats.logs} / ${b.fakeStats.api - b.fakeStats.users - b.fakeStats.logs} (+ 00:00: ${d0.requests})`);
  row(s, "D1 rows written per day", `${b.rowsPerDay} (00:00: ${d0.rowsWritten})`);
  row(s, "runs of the day (+ the final tick)", kinds(b));
  row(s, "freshness median / max (sim time)", fresh(b), "≤ 15 min", ok(out.goals.incrementalFreshOk));
  row(s, "  max by kind", freshBy(b));
  row(s, "tick wall median / max", `${fmtSpan(b.tickWallMs.median / 1000)} / ${fmtSpan(b.tickWallMs.max / 1000)}`);
  row(s, "D1 = tenant after the day + 1 tick", verdict(b), "equal", ok(b.verify.ok));

  s = `${sec} (c) incremental syncs + push (Event Streams + Log Stream)`;
  row(s, "Auth0 requests per day", `${c.requestsPerDay} (${fmt((100 * c.requestsPerDay) / a.requestsPerDay, 2)} % of (a))`, `≤ 3 % = ${Math.floor(cap)}`, ok(out.goals.pushRequestsOk));
  row(s, "D1 rows written per day", `${c.rowsPerDay} (00:00: ${d0.rowsWritten})`);
  row(s, "runs of the day (+ the final tick)", kinds(c));
  row(s, "pushes delivered / changes shown by push", `${c.pushes} / ${c.freshness.byPush} of ${c.freshness.changes} (rest by a tick)`);
  row(s, "freshness median / max", fresh(c), "≤ 60 s", ok(out.goals.pushFreshOk));
  row(s, "  max by kind", freshBy(c));
  row(s, "D1 = tenant after the day + 1 tick", verdict(c), "equal", ok(c.verify.ok));
  row(sec, "rows per day include", "rows_written of every sync_runs row of the day (00:00 full, cron ticks, push rows), not the final tick");
  row(sec, "freshness", "by a tick: (tick's sim time − change's) + the tick's real wall; by push: real time from the change to D1 showing it");
  // Per-tick detail is kept out of the JSON's size for a 100k day: summaries only.
  for (const v of [a, b, c]) v.tickRuns = v.tickRuns.length > 10 ? { count: v.tickRuns.length, first: v.tickRuns.slice(0, 3), last: v.tickRuns.slice(-2) } : v.tickRuns;
  results.day = out;
}

if (!args["skip-day"] && !args["only-dashboard"] && !args["only-rows"]) {
  let cadenceMin = args["cadence-minutes"] != null ? Number(args["cadence-minutes"]) : wranglerCadenceMinutes();
  if (cadenceMin == null) {
    cadenceMin = 10;
    console.log("note: no `*/N * * * *` sync cron found in wrangler.toml; the day's cadence falls back to 10 minutes");
  }
  if (!Number.isInteger(cadenceMin) || cadenceMin <= 0 || 1440 % cadenceMin !== 0) throw new Error(`cadence ${cadenceMin} min: must divide a day (1440 min)`);
  await simulatedDay({ n: Number(args["day-size"]), tickSeconds: Number(args["tick-seconds"]), fullTicks: Math.max(2, Number(args["full-ticks"])), cadenceMin });
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

if (!args["only-day"] && !args["only-rows"] && (args["only-dashboard"] || !args["skip-dashboard"])) {
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
  // Cloudflare checks only the uncompressed bundle (64 MiB); 1 MB gzip is a sanity bound (issue 20 §3).
  row(sec, "gzip -9", `${fmt(gz / 1024, 1)} KB (${gz} B)`, "≤ 1 MB", ok(gz <= 1024 * 1024));
}

// ---------------------------------------------------------------------------------------------
// Rows written on the D1 Free plan (issue 19 §2): 100,000 a day. A first sync's rows per user
// (users, their index entries, memberships) and the log following's rows per event.
// ---------------------------------------------------------------------------------------------
/** A first sync of `n` users (3 organizations) on a fresh database: its rows written. */
async function firstSyncRows(n) {
  const t = tenant(n, 7);
  const { fake, w } = await start(t);
  try {
    const first = await syncToEnd(w);
    const check = await verify(w, fake);
    const members = (await w.db.prepare("SELECT COUNT(*) AS n FROM memberships").first()).n;
    return { n, status: first.run.status, correct: first.run.status === "succeeded" && check.usersOk && check.membersOk, rowsWritten: first.run.rows_written, memberships: members };
  } finally {
    await w.close();
    await fake.close();
  }
}

/** The log following of `events` events (as in the log section) on a synced 1,000-user tenant. */
async function logRows(events) {
  const t = tenant(1000, 9);
  const { fake, w } = await start(t, { fakeOpts: { scopes: ["read:users", "read:organizations", "read:organization_members", "read:logs"] } });
  try {
    await syncToEnd(w);
    const clients = ["demo_spa", "demo_web", "demo_mobile", "demo_admin"];
    const base = Date.parse(NOW) - 7 * 86_400_000;
    for (let i = 0; i < events; i++) {
      const u = t.users[(i * 7919) % t.users.length];
      fake.logEvent({ type: ["s", "ssa", "sertft", "seacft", "f"][i % 5], date: new Date(base + i * 1000).toISOString(), client_id: clients[i % 4], user_id: u.user_id });
    }
    const read = await syncToEnd(w);
    const got = await w.db.prepare("SELECT COUNT(*) AS n, SUM(logins) AS logins FROM app_usage").first();
    return { events, status: read.run.status, correct: read.run.status === "succeeded" && got.logins === Math.ceil(events / 5), rowsWritten: read.run.rows_written, pairs: got.n };
  } finally {
    await w.close();
    await fake.close();
  }
}

if (!args["only-dashboard"] && !args["only-day"]) {
  const sec = "rows written (D1 Free plan: 100,000 a day)";
  const rowsN = Number(args["rows-size"]);
  const events = Number(args["log-events"]);
  // A full run reuses its own first sync of rows-size users and its log section; --only-rows
  // (or a run without that size) measures both here.
  const fromSizes = results.sizes.find((r) => r.n === rowsN);
  let users = fromSizes && { n: rowsN, status: fromSizes.first.status, correct: fromSizes.verify.usersOk && fromSizes.verify.membersOk, rowsWritten: fromSizes.first.rowsWritten, memberships: fromSizes.verify.d1Members };
  if (!users) {
    console.log(`\n[${sec}] first sync of ${rowsN} users …`);
    users = await firstSyncRows(rowsN);
  }
  let log = results.logs && { events: results.logs.events, status: results.logs.status, correct: results.logs.status === "succeeded", rowsWritten: results.logs.rowsWritten, pairs: results.logs.pairs };
  if (!log) {
    console.log(`[${sec}] log following, ${events} events …`);
    log = await logRows(events);
  }
  if (!users.correct || !log.correct) wrong = true;
  const perUser = users.rowsWritten / users.n;
  const perEvent = log.rowsWritten / log.events;
  results.rowsWritten = { users, log, perUser, perEvent, usersPerFreeDay: Math.floor(100_000 / perUser), eventsPerFreeDay: Math.floor(100_000 / perEvent) };
  row(sec, `rows written per user (first sync, N=${users.n})`, `${fmt(perUser)} (${users.rowsWritten}; ${users.memberships} memberships)`, "≤ 3", ok(perUser <= 3));
  row(sec, `rows written per log event (${log.events} events)`, `${fmt(perEvent)} (${log.rowsWritten}; ${log.pairs} user-app pairs)`, "≤ 1.5", ok(perEvent <= 1.5));
  row(sec, "one Free day (100,000 rows): first-sync users / log events", `${results.rowsWritten.usersPerFreeDay} / ${results.rowsWritten.eventsPerFreeDay}`);
  console.log(`rows written per user: ${fmt(perUser)}`);
  console.log(`rows written per log event: ${fmt(perEvent)}`);
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

// The CPU each invocation costs per 1,000 users under the Free budgets, and the native per-page
// work (bench/cpu.mjs; alone: node bench/cpu.mjs --size N).
if (!args["skip-cpu"] && !args["only-dashboard"] && !args["only-day"] && !args["only-rows"]) {
  const n = Number(args["cpu-size"]);
  const sec = `Free plan: CPU, N=${n} (budgets 45/45)`;
  console.log(`\n[${sec}] …`);
  const cpu = await workerdCpu({ n });
  if (!cpu.correct) wrong = true;
  const native = nativePerPage();
  results.cpu = { workerd: cpu, native };
  for (const [measure, figure, target = "", met = ""] of cpuRows(cpu, native)) row(sec, measure, figure, target, met);
}

if (!args["skip-coldstart"] && !args["only-dashboard"] && !args["only-day"] && !args["only-rows"]) await coldStartSection();

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
// A dashboard-only run does not overwrite the full run's figures; a day-only run replaces only `day`.
const outFile = args["only-dashboard"] ? "bench/last-run-dashboard.json" : "bench/last-run.json";
let written = results;
if (args["only-rows"]) {
  const file = path.join(REPO_ROOT, outFile);
  const kept = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  written = { ...kept, rowsWritten: { ...results.rowsWritten, date, machine, correct: !wrong } };
} else if (args["only-day"]) {
  const file = path.join(REPO_ROOT, outFile);
  const kept = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  written = { ...kept, day: { ...results.day, date, machine, correct: !wrong } };
}
fs.writeFileSync(path.join(REPO_ROOT, outFile), JSON.stringify(written, null, 2) + "\n");
console.log(`written: ${outFile}`);
if (wrong) {
  console.error("✗ a sync failed or D1 does not match the fake (see above)");
  process.exitCode = 1;
}
