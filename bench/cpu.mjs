// The CPU a sync costs per cron invocation (issue 19, "Free plan: CPU"), in two figures:
//  - workerd: the workerd process's CPU time (utime + stime of /proc/<pid>/stat) around each cron
//    invocation, minus an idle baseline (its CPU rate measured just before, times the invocation's
//    wall time), per invocation and per 1,000 users synced. It runs under the Free plan's budgets
//    (45 Auth0 requests, 45 D1 queries an invocation), so each invocation does what a Free one would.
//    Local D1 runs inside the same workerd process, so this is an upper bound of the Worker's own CPU.
//  - native: the pure per-page work (parse a 100-user Auth0 page, map the rows, plan the writes) in
//    a native release build: `cargo test --release --lib per_page_cpu -- --ignored` (src/sync/tests/cpu.rs).
//
// Usage: node bench/cpu.mjs [--size 10000] [--skip-native]   (also run by `npm run bench`)
// Figures, not assertions: the machine may be noisy, and /proc counts in clock ticks (10 ms at
// CLK_TCK 100), which is why the totals over many invocations are the figures to trust.

import fs from "node:fs";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { startFakeAuth0, makeUsers } from "../tests/support/fake-auth0.mjs";
import { startWorker, tenantBindings, REPO_ROOT } from "../tests/support/worker.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
/** The Free plan's per-invocation budgets as the README recommends them (below the 50s). */
export const FREE_BUDGET = 45;
/** The Free plan's CPU time per cron invocation. */
export const FREE_CPU_MS = 10;
const MAX_INVOCATIONS = 1000;

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** Pids of this process's children: Miniflare's workerd (the fake Auth0 runs in this process). */
export function childPids() {
  const pids = [];
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid) pids.push(Number(pid));
    } catch { /* ended meanwhile */ }
  }
  return pids;
}

/** CPU milliseconds (user + system, every thread) the processes have used so far. */
export function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15 of stat)
    } catch { /* ended */ }
  }
  return (ticks * 1000) / CLK_TCK;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** workerd's CPU per wall millisecond while nothing is asked of it. */
async function idleRate(pids, ms = 3000) {
  const c0 = cpuMs(pids);
  const t0 = performance.now();
  await sleep(ms);
  return (cpuMs(pids) - c0) / (performance.now() - t0);
}

const newestRun = (db) => db.prepare("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1").first();

/** One sync to its end, cron tick then continuation ticks, each invocation measured. */
async function measuredSync(w, pids, idle) {
  const calls = [];
  let cron = "*/15 * * * *";
  for (let i = 0; i < MAX_INVOCATIONS; i++) {
    const before = await newestRun(w.db);
    const c0 = cpuMs(pids);
    const t0 = performance.now();
    await w.scheduled(cron);
    const wall = performance.now() - t0;
    const cpu = cpuMs(pids) - c0;
    const run = await newestRun(w.db);
    const same = before?.id === run.id;
    calls.push({
      wallMs: wall,
      cpuMs: cpu,
      netMs: Math.max(0, cpu - idle * wall),
      users: run.users_seen - (same ? before.users_seen : 0),
      requests: run.api_requests - (same ? before.api_requests : 0),
      queries: run.d1_queries - (same ? before.d1_queries : 0),
    });
    if (run.status !== "running") return { run, calls };
    cron = "* * * * *";
  }
  throw new Error(`still running after ${MAX_INVOCATIONS} invocations`);
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

function summarise({ run, calls }, n, repeats = 1) {
  const net = calls.map((c) => c.netMs);
  const listing = calls.filter((c) => c.users > 0);
  return {
    status: run.status,
    invocations: calls.length,
    users: run.users_seen,
    cpuMs: sum(calls.map((c) => c.cpuMs)),
    netMs: sum(net),
    netPer1000Users: (sum(net) / (n * repeats)) * 1000,
    repeats,
    perInvocation: { median: quantile(net, 0.5), p90: quantile(net, 0.9), max: Math.max(...net) },
    usersPerListingInvocation: listing.length ? sum(listing.map((c) => c.users)) / listing.length : 0,
    netPerListingInvocation: listing.length ? sum(listing.map((c) => c.netMs)) / listing.length : 0,
    over10ms: net.filter((x) => x > FREE_CPU_MS).length,
  };
}

/** The workerd figures for a tenant of `n` users under the Free budgets. */
export async function workerdCpu({ n = 10_000, seed = 19, log = console.log } = {}) {
  if (!fs.existsSync("/proc/self/stat")) throw new Error("the CPU figures read /proc: Linux only");
  const users = makeUsers(n, { seed, now: NOW });
  const fake = await startFakeAuth0({ users });
  const w = await startWorker({
    bindings: tenantBindings(fake, {
      SYNC_MAX_AUTH0_REQUESTS: String(FREE_BUDGET),
      SYNC_MAX_D1_QUERIES: String(FREE_BUDGET),
    }),
  });
  try {
    const pids = childPids();
    if (!pids.length) throw new Error("no workerd child process found in /proc");
    // Instantiate the wasm first: a cold start is not the sync's cost.
    await w.fetch("/healthz");
    const idle = await idleRate(pids);
    log(`[cpu] workerd pids ${pids.join(",")}, CLK_TCK ${CLK_TCK}, idle ${(idle * 1000).toFixed(1)} ms CPU/s; first sync of ${n} …`);
    const first = summarise(await measuredSync(w, pids, idle), n);
    // /proc counts 10 ms ticks: small tenants repeat the re-sync so the total means something.
    const repeats = Math.min(20, Math.max(1, Math.ceil(20_000 / n)));
    log(`[cpu] no-change re-sync ×${repeats} …`);
    const all = { run: null, calls: [] };
    for (let i = 0; i < repeats; i++) {
      const one = await measuredSync(w, pids, idle);
      all.run = one.run;
      all.calls.push(...one.calls);
    }
    const resync = summarise(all, n, repeats);
    const { c } = await w.db.prepare("SELECT COUNT(*) AS c FROM users WHERE removed_at IS NULL").first();
    return { n, clkTck: CLK_TCK, budget: FREE_BUDGET, idleMsPerS: idle * 1000, first, resync, d1Users: c, correct: c === n && first.status === "succeeded" };
  } finally {
    await w.close();
    await fake.close();
  }
}

/** The native per-page figure: builds and runs the ignored test; null when it cannot. */
export function nativePerPage({ log = console.log } = {}) {
  log("[cpu] native per-page figure (cargo test --release … per_page_cpu; builds natively on first use) …");
  const r = spawnSync("cargo", ["test", "--release", "--lib", "per_page_cpu", "--", "--ignored", "--nocapture"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    // The release profile's LTO only slows this build; the optimisation level stays the wasm's.
    env: { ...process.env, CARGO_PROFILE_RELEASE_LTO: "false", CARGO_PROFILE_RELEASE_CODEGEN_UNITS: "16" },
  });
  const line = /per-page-cpu (.*)/.exec(r.stdout ?? "")?.[1];
  if (!line) {
    log(`[cpu] native figure unavailable (exit ${r.status}): ${(r.stderr ?? "").split("\n").slice(-5).join(" ")}`);
    return null;
  }
  return Object.fromEntries(line.split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
}

/** Rows for run.mjs's report: [measure, figure, target, met]. */
export function cpuRows(r, native) {
  const f = (x, d = 1) => (x == null || Number.isNaN(x) ? "–" : x.toFixed(d));
  const out = [];
  for (const [label, s] of [["first sync", r.first], ["no-change re-sync", r.resync]]) {
    out.push([`${label}: status / invocations / users${s.repeats > 1 ? ` (×${s.repeats} syncs)` : ""}`, `${s.status} / ${s.invocations} / ${s.users}`]);
    out.push([`${label}: workerd CPU net of idle (raw)`, `${f(s.netMs, 0)} ms (${f(s.cpuMs, 0)} ms)`]);
    out.push([`${label}: CPU per 1,000 users`, `${f(s.netPer1000Users)} ms`]);
    out.push([`${label}: CPU per invocation median / p90 / max`, `${f(s.perInvocation.median)} / ${f(s.perInvocation.p90)} / ${f(s.perInvocation.max)} ms`, `≤ ${FREE_CPU_MS} ms (Free)`, s.perInvocation.max <= FREE_CPU_MS ? "✓" : "✗"]);
    out.push([`${label}: users per listing invocation; its CPU`, `${f(s.usersPerListingInvocation, 0)}; ${f(s.netPerListingInvocation)} ms`]);
    out.push([`${label}: invocations over ${FREE_CPU_MS} ms`, `${s.over10ms} of ${s.invocations}`]);
  }
  if (native) {
    out.push(["native per 100-user page: parse / map / plan (first sync)", `${f(native.parse_us)} / ${f(native.map_us)} / ${f(native.plan_first_us)} µs`]);
    out.push(["native per page, total: first sync / re-sync", `${f(native.total_first_us)} / ${f(native.total_resync_us)} µs`]);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: args } = parseArgs({
    options: { size: { type: "string", default: "10000" }, "skip-native": { type: "boolean", default: false } },
  });
  const r = await workerdCpu({ n: Number(args.size) });
  const native = args["skip-native"] ? null : nativePerPage();
  for (const [m, fig, target = "", met = ""] of cpuRows(r, native)) console.log(`  ${m.padEnd(58)} ${String(fig).padEnd(32)} ${target} ${met}`);
  console.log(JSON.stringify({ workerd: r, native }, null, 2));
  if (!r.correct) process.exitCode = 1;
}
