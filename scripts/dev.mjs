// Runs the worker locally (`npm run dev`): build, migrate local D1, start `wrangler dev` against a real or demo Auth0 tenant, run a first sync.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// The local binary rather than npx: no registry lookup, and one process fewer between us and wrangler.
const WRANGLER = path.join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
const DATABASE = "auth0-license-sync";
const CRON_QUERY = "*/10+*+*+*+*";
const DEMO_DOMAIN = "demo-tenant.us.auth0.com";
const PLACEHOLDER_DOMAIN = "your-tenant.us.auth0.com";
export const DEMO_VIEWER_TOKEN = "demo-viewer-token";
/** The worker refuses a shorter VIEWER_TOKEN (src/config/viewer.rs, MIN_VIEWER_TOKEN). */
export const MIN_VIEWER_TOKEN = 16;
// The demo's push secrets (at least 16 characters, as the worker requires): made up, like the tenant.
export const DEMO_LOG_STREAM_TOKEN = "demo-log-stream-token";
export const DEMO_EVENT_STREAM_TOKEN = "demo-event-stream-token";
const PUSH_INTERVAL_MS = 5000;
const CREDENTIALS = ["AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"];
const READY_TIMEOUT_MS = 90_000;
const SYNC_TIMEOUT_MS = 120_000;

const USAGE = `Usage: node scripts/dev.mjs [options]     (npm run dev -- [options])

Builds the worker, applies migrations to the local D1 database and starts \`wrangler dev\`.
With AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET in .dev.vars it syncs that tenant;
otherwise it starts a demo Auth0 tenant on 127.0.0.1 and syncs that.

Options:
  --demo             use the demo tenant even when .dev.vars holds credentials (.dev.vars is ignored)
  --port N           port of the worker (default 8787)
  --demo-port N      port of the demo Auth0 tenant (default 8788)
  --demo-users N     users in the demo tenant (default 3000)
  --persist-to DIR   local D1 state directory (default: wrangler's .wrangler/state);
                     demo and real-tenant runs share it unless you separate them
  --no-initial-sync  do not run a sync right after start
  --history-days N   demo only: before the first sync, sync the demo tenant's past at simulated times
                     over this many days (weekly, then daily for the last week), each time with its
                     users and its log as they were then, so the trend charts have history
                     (default 91; 0 for none; skipped when --persist-to's D1 already holds syncs)
  --no-demo-push     demo only: do not push logins and user changes to the worker every 5 s
                     (DEMO_PUSH=0 in the environment does the same)
  --help             show this help`;

/** An expected problem: printed as one line, without a stack. */
class DevError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Parse a .dev.vars file the way wrangler (dotenv) does: KEY=value, optional `export `, single, double
 * or backtick quotes, `#` comments; an unquoted value ends at the first `#`.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseDevVars(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = raw.match(/^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/);
    if (!m) continue;
    const [, key, rest] = m;
    let value;
    const q = rest[0];
    const close = q === '"' || q === "'" || q === "`" ? rest.indexOf(q, 1) : -1;
    if (close > 0) {
      value = rest.slice(1, close);
      if (q === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    } else {
      value = rest.split("#")[0].trim();
    }
    out[key] = value;
  }
  return out;
}

/**
 * Pick real or demo mode from the .dev.vars values.
 * @param {Record<string, string> | null} devVars null when there is no .dev.vars
 * @returns {{mode: "real"|"demo", token: string, warnings: string[]}}
 */
export function decideMode(devVars) {
  const vars = devVars ?? {};
  // The example's placeholder domain counts as unset, so a copied .dev.vars.example means "demo".
  const has = (k) => typeof vars[k] === "string" && vars[k].trim() !== "" && !(k === "AUTH0_DOMAIN" && vars[k].trim() === PLACEHOLDER_DOMAIN);
  const token = has("VIEWER_TOKEN") ? vars.VIEWER_TOKEN.trim() : "";
  const warnings = [];
  if (token && [...token].length < MIN_VIEWER_TOKEN) {
    warnings.push(`VIEWER_TOKEN in .dev.vars is shorter than ${MIN_VIEWER_TOKEN} characters: the worker refuses every viewer until it is longer (see .dev.vars.example).`);
  }
  if (CREDENTIALS.every(has)) {
    if (!token) {
      warnings.push("VIEWER_TOKEN is not set in .dev.vars: the API refuses every request (all but /healthz) until you add one (see .dev.vars.example).");
    }
    return { mode: "real", token, warnings };
  }
  const present = CREDENTIALS.filter(has);
  if (present.length) {
    const missing = CREDENTIALS.filter((k) => !has(k));
    warnings.push(`.dev.vars sets ${present.join(", ")} but not ${missing.join(", ")}: using the demo tenant instead.`);
  }
  return { mode: "demo", token: token || DEMO_VIEWER_TOKEN, warnings };
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "8787" },
        "demo-port": { type: "string", default: "8788" },
        "demo-users": { type: "string", default: "3000" },
        "persist-to": { type: "string" },
        "no-initial-sync": { type: "boolean", default: false },
        "history-days": { type: "string", default: "91" },
        "no-demo-push": { type: "boolean", default: false },
        demo: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new DevError(`${e.message} (see --help)`, 2);
  }
  const int = (name, min, max) => {
    const raw = values[name];
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new DevError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`, 2);
    return n;
  };
  const opts = {
    help: values.help,
    port: int("port", 1, 65535),
    demoPort: int("demo-port", 1, 65535),
    demoUsers: int("demo-users", 0, 1_000_000),
    // Absolute, because wrangler runs from the repository root, not the caller's directory.
    persistTo: values["persist-to"] ? path.resolve(values["persist-to"]) : null,
    initialSync: !values["no-initial-sync"],
    historyDays: int("history-days", 0, 366),
    demoPush: !values["no-demo-push"] && !/^(0|false|no|off)$/i.test(process.env.DEMO_PUSH ?? ""),
    demo: values.demo,
  };
  if (opts.port === opts.demoPort) throw new DevError("--port and --demo-port must differ", 2);
  return opts;
}

/** Fail early with a clear message rather than letting wrangler or the demo hit EADDRINUSE. */
function assertPortFree(port, hint) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", (e) => {
      reject(e.code === "EADDRINUSE" || e.code === "EACCES"
        ? new DevError(`port ${port} on 127.0.0.1 is ${e.code === "EACCES" ? "not allowed" : "already in use"}; ${hint}`)
        : e);
    });
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Env for wrangler: no phoning home (there is no network beyond the registries, so it would stall). */
function wranglerEnv(extra = {}) {
  return { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...extra };
}

function build() {
  const r = spawnSync("sh", ["scripts/build.sh"], { cwd: REPO_ROOT, stdio: "inherit" });
  if (r.error) throw new DevError(`could not run scripts/build.sh: ${r.error.message}`);
  if (r.status !== 0) throw new DevError(`building the worker failed (scripts/build.sh exited ${r.status ?? r.signal}); see the output above`);
}

function applyMigrations(persistTo) {
  const args = [WRANGLER, "d1", "migrations", "apply", DATABASE, "--local"];
  if (persistTo) args.push("--persist-to", persistTo);
  // On a terminal wrangler asks "About to apply N migration(s) ... continue?" and waits; with no TTY on
  // stdin or CI=true it takes the fallback "yes" itself. Do both so it never waits.
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"], env: wranglerEnv({ CI: "true" }) });
  if (r.error) throw new DevError(`could not run wrangler: ${r.error.message}`);
  if (r.status !== 0) throw new DevError(`applying migrations to the local D1 database failed (wrangler exited ${r.status ?? r.signal}); see the output above`);
}

/** Alive as long as any process of the group (wrangler, workerd) is. */
export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts wrangler dev in its own process group: killing only the top process would leave workerd running. */
function startWrangler({ port, inspectorPort, persistTo, vars, ignoreDevVars }) {
  const args = [WRANGLER, "dev", "--local", "--test-scheduled", "--ip", "127.0.0.1", "--port", String(port),
    "--inspector-port", String(inspectorPort), "--show-interactive-dev-session=false"];
  if (persistTo) args.push("--persist-to", persistTo);
  // Given an env file, wrangler reads it instead of .dev.vars: an empty one leaves only our --var values.
  if (ignoreDevVars) args.push("--env-file", "/dev/null");
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  // SKIP_WORKER_BUILD: we just built; wrangler's [build] command then returns at once.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: wranglerEnv({ SKIP_WORKER_BUILD: "1" }),
  });
  const w = { child, pgid: child.pid, exited: null, buffer: [], live: false };
  // Quiet until the server answers (its output is shown if start-up fails); streamed afterwards.
  const onData = (stream) => (chunk) => {
    if (w.live) stream.write(chunk);
    else {
      w.buffer.push(chunk);
      if (w.buffer.length > 500) w.buffer.shift();
    }
  };
  child.stdout.on("data", onData(process.stdout));
  child.stderr.on("data", onData(process.stderr));
  w.exit = new Promise((resolve) => {
    child.once("error", (e) => { w.exited = { code: 1, error: e }; resolve(w.exited); });
    child.once("exit", (code, signal) => { w.exited = { code, signal }; resolve(w.exited); });
  });
  w.dumpBuffer = () => {
    const text = Buffer.concat(w.buffer.map((b) => Buffer.from(b))).toString("utf8");
    if (text.trim()) process.stderr.write(`----- wrangler output -----\n${text}${text.endsWith("\n") ? "" : "\n"}---------------------------\n`);
    w.buffer = [];
  };
  return w;
}

/** Stops wrangler and workerd: SIGTERM to the group, SIGKILL whatever is left after a grace period. */
async function stopWrangler(w, graceMs = 5000) {
  if (!w || !groupAlive(w.pgid)) return;
  killGroup(w.pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupAlive(w.pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(w.pgid)) {
    killGroup(w.pgid, "SIGKILL");
    while (groupAlive(w.pgid) && Date.now() < deadline + 2000) await sleep(50);
  }
}

/** POST (no body unless given) over a fresh connection; answers like [get]. */
function post(url, { token, timeoutMs = 5000, body = "", headers: extra = {} } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { "content-length": String(Buffer.byteLength(body)), ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
    const req = http.request(url, { method: "POST", headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs / 1000} s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** GET over a fresh connection (agent: false), so no pooled keep-alive socket into workerd outlives it. */
function get(url, { token, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // Not JSON (e.g. /__scheduled answers "ok").
        }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs / 1000} s`)));
    req.on("error", reject);
  });
}

async function waitHealthy(url, w) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (w.exited) {
      w.dumpBuffer();
      throw new DevError(`wrangler dev exited during start-up (${w.exited.error?.message ?? `code ${w.exited.code ?? w.exited.signal}`})`, w.exited.code || 1);
    }
    try {
      const r = await get(`${url}/healthz`);
      if (r.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(500);
  }
  w.dumpBuffer();
  throw new DevError(`wrangler dev did not answer ${url}/healthz with 200 within ${READY_TIMEOUT_MS / 1000} s`);
}

async function newestRun(url, token) {
  const r = await get(`${url}/api/sync-runs?limit=1`, { token });
  if (r.status !== 200) return { status: r.status, run: null, body: r.text };
  return { status: 200, run: r.json?.runs?.[0] ?? null };
}

/** Runs the cron handler once and reports the run it recorded. Problems are reported, not fatal. */
async function initialSync(url, token) {
  const started = Date.now();
  // Remember the newest run so one left in a persisted state dir is not mistaken for ours.
  const before = token ? await newestRun(url, token).catch(() => null) : null;
  const canObserve = before?.status === 200;
  const prevId = before?.run?.id ?? 0;
  console.log("Running a first sync (the cron trigger)...");
  // The scheduled handler runs the whole sync before this answers, but poll the history anyway:
  // the request could time out on a big tenant while the sync goes on.
  const trigger = get(`${url}/__scheduled?cron=${CRON_QUERY}`, { timeoutMs: SYNC_TIMEOUT_MS })
    .then((r) => ({ ok: r.status === 200, status: r.status, text: r.text }))
    .catch((e) => ({ ok: false, error: e.message }));
  if (!canObserve) {
    const t = await trigger;
    if (!t.ok) console.warn(`WARNING: triggering the first sync failed: ${t.error ?? `HTTP ${t.status} ${t.text}`}`);
    else console.log("First sync finished; its result is in GET /api/sync-runs (needs VIEWER_TOKEN).");
    return;
  }
  let triggerDoneAt = null;
  const triggerDone = trigger.then(() => { triggerDoneAt = Date.now(); });
  while (Date.now() - started < SYNC_TIMEOUT_MS) {
    const { run } = await newestRun(url, token).catch(() => ({ run: null }));
    const ours = run && run.id > prevId ? run : null;
    if (ours && ours.status !== "running") {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`First sync ${ours.status}: ${ours.users_seen} users seen, ${ours.users_added} added, ${ours.users_updated} updated, ${ours.users_removed} removed (run #${ours.id}, ${secs} s)`);
      if (ours.error) console.log(`  error: ${ours.error}`);
      return;
    }
    // The cron handler runs the sync to the end before it answers, so once it has answered for a few
    // seconds without a finished run, none is coming: another sync held the lock, it could not start,
    // or the worker was reloaded mid-run (which leaves the run marked "running").
    if (triggerDoneAt && Date.now() - triggerDoneAt > 5000) {
      const t = await trigger;
      const why = t.ok ? "" : ` (${t.error ?? `HTTP ${t.status}`})`;
      console.warn(ours
        ? `WARNING: the first sync (run #${ours.id}) is still marked running though the cron handler returned${why}; see wrangler's log above.`
        : `WARNING: the first sync recorded no run${why}; another sync may hold the lock, see wrangler's log above.`);
      return;
    }
    // Look again as soon as the handler answers, else every second.
    if (triggerDoneAt) await sleep(1000);
    else await Promise.race([triggerDone, sleep(1000)]);
  }
  console.warn(`WARNING: the first sync was still running after ${SYNC_TIMEOUT_MS / 1000} s; watch GET /api/sync-runs.`);
}

/**
 * The sync times of a simulated history of `days` days before now: weekly, then daily for the last
 * week (UTC noon), oldest first.
 */
export function historyTimes(nowMs, days) {
  const DAY = 86_400_000;
  const today = Math.floor(nowMs / DAY) * DAY + 12 * 3600_000;
  const out = [];
  for (let d = days; d >= 1; d -= d > 7 ? 7 : 1) out.push(today - d * DAY);
  // The newest replayed listing is over a day old, so the cron's first tick at the present is a
  // full listing (FULL_SYNC_INTERVAL_HOURS, default 24) whatever the hour: an incremental tick
  // from a replayed past would show only what changed since, not the tenant as it is now.
  return out.filter((t) => t <= nowMs - 25 * 3600_000);
}

/**
 * Runs the demo tenant's past through the worker: for each simulated time, the demo tenant shows
 * its users and its log as they were then (`showPast` in scripts/demo-auth0.mjs: nothing created,
 * logged in or logged later), and a sync runs at that time (TEST_CLOCK), so the snapshots behind
 * the trend charts come from real syncs of a past that could have happened. The tenant is left as
 * it is now. Skipped when the local D1 already holds syncs (a persisted state): replaying the past
 * over the present would roll its users back.
 * @returns {Promise<number[]>} the simulated times synced
 */
export async function simulateHistory(url, token, demo, days) {
  const started = Date.now();
  const { run: earlier } = await newestRun(url, token).catch(() => ({ run: null }));
  if (earlier) {
    console.log("The local D1 already holds syncs (a persisted state): the demo tenant's past is not replayed again.");
    return [];
  }
  const { showPast } = await import("./demo-auth0.mjs");
  const times = historyTimes(started, days);
  console.log(`Syncing the demo tenant's last ${days} days at ${times.length} simulated times, for the trend charts...`);
  const { rateLimit, exportPolls } = demo;
  // The past is replayed fast: no rate limit, export jobs done at once.
  demo.setRateLimit({ burst: 1e9, perSecond: 1e9 });
  demo.exportPolls = 0;
  let present = () => {};
  const synced = [];
  try {
    for (const t of times) {
      present();
      present = showPast(demo, t);
      // A manual sync at a simulated time: wrangler dev's /__scheduled passes no time on.
      const r = await post(`${url}/api/sync?at=${t}`, { token, timeoutMs: SYNC_TIMEOUT_MS });
      if (r.status !== 200 || !["succeeded", "partial"].includes(r.json?.run?.status)) {
        console.warn(`WARNING: the simulated sync of ${new Date(t).toISOString()} answered HTTP ${r.status} ${r.text.slice(0, 200)}; the history stops there.`);
        break;
      }
      synced.push(t);
    }
  } finally {
    present();
    demo.setRateLimit(rateLimit);
    demo.exportPolls = exportPolls;
  }
  console.log(`History synced in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return synced;
}

/** "200 x4, 401 x1" */
function statusCounts(statuses) {
  const counts = new Map();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${s || "no answer"}${n > 1 ? ` x${n}` : ""}`).join(", ");
}

/**
 * One round of the demo tenant's activity (`demoActivity` in scripts/demo-auth0.mjs) posted to the
 * worker as Auth0's streams post it: the logins as one Log Stream batch (JSON Lines, the token as
 * the whole Authorization header), each user change as one Event Streams delivery (bearer token).
 * Prints one line; a refused push is a warning, never an exception: the change is in the tenant
 * already, so the next sync brings it, as it would after a lost delivery from Auth0.
 * @returns {Promise<{logins: number, events: number, statuses: number[], renamed: {user_id: string, name: string}|null}>}
 */
export async function pushRound({ url, activity, logToken, eventToken, out = console, nowMs = Date.now() }) {
  const { logs, events, renamed } = activity.round(nowMs);
  const statuses = [];
  const refused = [];
  const deliver = async (route, body, authorization) => {
    const r = await post(`${url}${route}`, { body, headers: { authorization, "content-type": "application/json" }, timeoutMs: 30_000 })
      .catch((e) => ({ status: 0, text: e.message, json: null }));
    statuses.push(r.status);
    if (r.status !== 200) refused.push(`${route} answered ${r.status ? `HTTP ${r.status}` : "nothing"}: ${(r.json?.error ?? r.text).slice(0, 200)}`);
    return r;
  };
  const parts = [];
  if (logs.length) {
    const body = logs.map((e) => JSON.stringify({ log_id: e.log_id, data: e })).join("\n") + "\n";
    const r = await deliver("/api/auth0/log-stream", body, logToken);
    parts.push(`${logs.length} logins -> HTTP ${statusCounts([r.status])}${r.status === 200 ? ` (${r.json?.counted ?? "?"} counted)` : ""}`);
  }
  const eventStatuses = [];
  let applied = 0;
  for (const ev of events) {
    const r = await deliver("/api/auth0/events", JSON.stringify(ev), `Bearer ${eventToken}`);
    eventStatuses.push(r.status);
    if (r.json?.status === "applied") applied += 1;
  }
  if (events.length) parts.push(`${events.length} user events -> HTTP ${statusCounts(eventStatuses)} (${applied} applied)`);
  if (renamed) parts.push(`renamed ${renamed.user_id} to ${renamed.name}`);
  out.log(`Demo push: ${parts.join("; ") || "nothing (the demo tenant has no users)"}`);
  if (refused.length) {
    out.warn(`WARNING: the worker refused ${refused.length} demo push${refused.length > 1 ? "es" : ""} (the next sync brings the changes instead): ${refused[0]}`);
  }
  return { logins: logs.length, events: events.length, statuses, renamed };
}

/**
 * Runs [pushRound] every `intervalMs`, one round at a time, until stop() (which waits for a round
 * under way).
 */
export function startDemoPusher({ intervalMs = PUSH_INTERVAL_MS, ...round }) {
  let timer = null;
  let running = null;
  let stopped = false;
  const tick = async () => {
    running = pushRound(round).catch((e) => (round.out ?? console).warn(`WARNING: a demo push round failed: ${e?.message ?? e}`));
    await running;
    running = null;
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

function printSummary({ url, token, mode, demo, persistTo, warnings }) {
  const auth = `-H "Authorization: Bearer ${token || "<VIEWER_TOKEN>"}"`;
  const state = persistTo ?? path.join(REPO_ROOT, ".wrangler/state");
  console.log("");
  console.log(mode === "demo"
    ? `auth0-license-sync is running locally against the DEMO Auth0 tenant (${demo.users} users at ${demo.url}).`
    : "auth0-license-sync is running locally against the Auth0 tenant in .dev.vars.");
  console.log(`  URL:           ${url}`);
  console.log(`  Dashboard:     ${url}/  (sign in with the viewer token)`);
  console.log(`  Viewer token:  ${token || "(none: set VIEWER_TOKEN in .dev.vars)"}`);
  console.log(`  Local D1:      ${path.relative(process.cwd(), state) || "."}`);
  console.log("Try:");
  console.log(`  curl ${auth} "${url}/api/users?limit=5"`);
  console.log(`  curl ${auth} "${url}/api/sync-runs?limit=5"`);
  console.log(`  curl -X POST ${auth} ${url}/api/sync        # run a sync now`);
  console.log(`  curl "${url}/__scheduled?cron=${CRON_QUERY}"   # fire the cron trigger`);
  if (demo?.pushing) {
    console.log(`The demo tenant pushes a few logins and user changes to the worker every ${PUSH_INTERVAL_MS / 1000} s, as Auth0's`);
    console.log("Log and Event Streams would (one \"Demo push\" line each); DEMO_PUSH=0 or --no-demo-push turns it off.");
  }
  // wrangler reruns the build on changes in src/, but with SKIP_WORKER_BUILD=1 (for a fast start) that is a
  // no-op, and it does not reload when build/ changes; a restart is the reliable way to pick up edits.
  console.log("This serves the build made at start: after editing src/, press Ctrl+C and run `npm run dev` again.");
  // Repeated here: the first print scrolled away under the build and migration output.
  for (const w of warnings) console.warn(`WARNING: ${w}`);
  console.log("Press Ctrl+C to stop.");
  console.log(`READY url=${url} token=${token} mode=${mode}`);
}

async function main(argv) {
  const opts = parseOptions(argv);
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const devVarsPath = path.join(REPO_ROOT, ".dev.vars");
  const devVars = !opts.demo && fs.existsSync(devVarsPath) ? parseDevVars(fs.readFileSync(devVarsPath, "utf8")) : null;
  const { mode, token, warnings } = decideMode(devVars);
  for (const w of warnings) console.warn(`WARNING: ${w}`);

  await assertPortFree(opts.port, "stop what uses it or pick another with --port");
  if (mode === "demo") await assertPortFree(opts.demoPort, "stop what uses it or pick another with --demo-port");

  if (!fs.existsSync(WRANGLER)) throw new DevError("wrangler is not installed (node_modules/wrangler is missing); run `npm run setup` first");
  build();
  applyMigrations(opts.persistTo);

  let demo = null;
  let w = null;
  let pusher = null;
  let stopping = false;
  const cleanup = async () => {
    await pusher?.stop();
    pusher = null;
    await stopWrangler(w);
    if (demo) await demo.close().catch(() => {});
    demo = null;
  };
  // Last resort if we die unexpectedly: never leave wrangler/workerd behind.
  process.on("exit", () => {
    if (w && groupAlive(w.pgid)) killGroup(w.pgid, "SIGKILL");
  });
  const shutdown = new Promise((resolve) => {
    const onSignal = (sig) => {
      if (stopping) {
        // A second Ctrl+C: do not wait for a graceful stop.
        if (w) killGroup(w.pgid, "SIGKILL");
        process.exit(130);
      }
      stopping = true;
      console.log(`\n${sig}: stopping wrangler${demo ? " and the demo tenant" : ""}...`);
      resolve({ signal: sig });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // A closed terminal would otherwise kill us without running the cleanup.
    process.on("SIGHUP", onSignal);
  });

  let vars = {};
  if (mode === "demo") {
    const { startDemoAuth0, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_LOG_RETENTION_DAYS } = await import("./demo-auth0.mjs");
    try {
      // The log goes back as far as the replayed history (and at least as far as the tenant keeps it).
      demo = await startDemoAuth0({ port: opts.demoPort, users: opts.demoUsers, domain: DEMO_DOMAIN, logDays: Math.max(opts.historyDays, DEMO_LOG_RETENTION_DAYS) });
    } catch (e) {
      if (e.code === "EADDRINUSE") throw new DevError(`port ${opts.demoPort} on 127.0.0.1 is already in use; pick another with --demo-port`);
      throw e;
    }
    console.log(`Demo Auth0 tenant (${opts.demoUsers} users) listening on ${demo.url}`);
    // --var bindings override .dev.vars entries of the same name, so the demo wins even if .dev.vars
    // exists with partial or empty credentials.
    vars = {
      AUTH0_DOMAIN: DEMO_DOMAIN,
      AUTH0_CLIENT_ID: DEMO_CLIENT_ID,
      AUTH0_CLIENT_SECRET: DEMO_CLIENT_SECRET,
      AUTH0_BASE_URL: demo.url,
      VIEWER_TOKEN: token,
      // Syncs at the cron event's simulated time, for the demo's history; the worker honours it only
      // with AUTH0_BASE_URL on 127.0.0.1 (src/clock.rs), so it cannot leak into a real deployment.
      TEST_CLOCK: "scheduled-time",
      // The demo's own pushes (startDemoPusher) authenticate with these.
      LOG_STREAM_TOKEN: DEMO_LOG_STREAM_TOKEN,
      EVENT_STREAM_TOKEN: DEMO_EVENT_STREAM_TOKEN,
    };
  }

  const url = `http://127.0.0.1:${opts.port}`;
  try {
    w = startWrangler({ port: opts.port, inspectorPort: await freePort(), persistTo: opts.persistTo, vars, ignoreDevVars: opts.demo });
    console.log(`Starting wrangler dev on ${url} (pid ${w.pgid}, process group ${w.pgid})...`);
    // Each phase below ends early on a signal or if wrangler dies.
    const interrupted = Promise.race([shutdown, w.exit.then((e) => ({ exited: e }))]);
    const finish = async (how) => {
      if (how.exited) {
        const { code, signal, error } = how.exited;
        w.dumpBuffer();
        console.error(`wrangler dev exited by itself (${error?.message ?? (signal ? `signal ${signal}` : `code ${code}`)})`);
        await cleanup();
        return signal || error ? 1 : code;
      }
      await cleanup();
      console.log("Stopped.");
      return 0;
    };
    const up = await Promise.race([waitHealthy(url, w).then(() => null), shutdown]);
    if (up) return finish(up);
    w.live = true;
    w.buffer = [];
    if (opts.initialSync && demo && opts.historyDays > 0) {
      const how = await Promise.race([simulateHistory(url, token, demo, opts.historyDays).then(() => null), interrupted]);
      if (how) return finish(how);
    }
    if (opts.initialSync) {
      const how = await Promise.race([initialSync(url, token).then(() => null), interrupted]);
      if (how) return finish(how);
    }
    const pushing = Boolean(demo && opts.demoPush);
    printSummary({ url, token, mode, demo: demo && { url: demo.url, users: opts.demoUsers, pushing }, persistTo: opts.persistTo, warnings });
    if (pushing) {
      const { demoActivity } = await import("./demo-auth0.mjs");
      pusher = startDemoPusher({ url, activity: demoActivity(demo), logToken: DEMO_LOG_STREAM_TOKEN, eventToken: DEMO_EVENT_STREAM_TOKEN });
    }
    return finish(await interrupted);
  } catch (e) {
    await cleanup();
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof DevError) console.error(`dev: ${e.message}`);
      else console.error(`dev: unexpected error: ${e?.stack ?? e}`);
      process.exit(e?.exitCode ?? 1);
    },
  );
}
