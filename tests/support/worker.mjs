// Runs the built worker (build/index.js) in workerd through Miniflare's API, with D1 migrated, for end-to-end tests.

import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

// Wrangler/Miniflare must not phone home from tests.
process.env.WRANGLER_SEND_METRICS = "false";

/** Repository root, so paths do not depend on the caller's cwd. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DEFAULT_SCRIPT = path.join(REPO_ROOT, "build/index.js");
export const MIGRATIONS_DIR = path.join(REPO_ROOT, "migrations");

/**
 * Throws, naming the fix, unless the Rust worker has been built. The workerd tests call it as they
 * load, so without build/ they fail with the reason instead of being skipped (`npm test` builds
 * first, so there it always holds).
 */
export function requireBuiltWorker(scriptPath = DEFAULT_SCRIPT) {
  if (!fs.existsSync(scriptPath)) {
    throw new Error(`${path.relative(REPO_ROOT, scriptPath)} is missing, so the tests of the built worker cannot run: `
      + "run `npm run build` first (`npm test` does)");
  }
}

/**
 * The older name, for tests written as `skip = !workerBuilt() && "..."`: it throws like
 * [requireBuiltWorker] rather than returning false, so such a test fails instead of skipping.
 * @returns {true}
 */
export function workerBuilt(scriptPath = DEFAULT_SCRIPT) {
  requireBuiltWorker(scriptPath);
  return true;
}

/**
 * Split a SQLite script into single statements. Comments (-- and /* *\/) are dropped; semicolons inside
 * strings, quoted identifiers and CREATE TRIGGER ... BEGIN ... END bodies do not split.
 * @param {string} sql
 * @returns {string[]}
 */
export function splitSql(sql) {
  const out = [];
  let cur = "";
  let word = "";
  let depth = 0; // BEGIN/CASE ... END nesting, only tracked inside CREATE TRIGGER
  const isTrigger = () => /^\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(cur);
  const endWord = () => {
    if (!word) return;
    const w = word.toUpperCase();
    word = "";
    if (!isTrigger()) return;
    if (w === "BEGIN" || w === "CASE") depth++;
    else if (w === "END" && depth > 0) depth--;
  };
  const flush = () => {
    const s = cur.trim();
    if (s) out.push(s);
    cur = "";
    depth = 0;
  };

  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      endWord();
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? sql.length : nl - 1;
      cur += " ";
      continue;
    }
    if (c === "/" && next === "*") {
      endWord();
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 1;
      cur += " ";
      continue;
    }
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      endWord();
      const closer = c === "[" ? "]" : c;
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === closer) {
          if (closer !== "]" && sql[j + 1] === closer) { j++; continue; } // doubled quote escapes itself
          break;
        }
      }
      cur += sql.slice(i, j + 1);
      i = j;
      continue;
    }
    if (/[A-Za-z0-9_$]/.test(c)) {
      word += c;
      cur += c;
      continue;
    }
    endWord();
    if (c === ";" && depth === 0) { flush(); continue; }
    cur += c;
  }
  endWord();
  flush();
  return out;
}

/** migrations/NNNN_*.sql in order. */
export function listMigrations(dir = MIGRATIONS_DIR) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort()
    .map((name) => ({ name, path: path.join(dir, name) }));
}

/**
 * Apply not-yet-applied migrations, each file in one D1 batch (a transaction). Applied names are
 * recorded in d1_migrations like `wrangler d1 migrations apply`, so a persisted database is not
 * migrated twice.
 * @returns {Promise<string[]>} names applied now
 */
export async function applyMigrations(db, dir = MIGRATIONS_DIR) {
  await db.prepare(
    "CREATE TABLE IF NOT EXISTS d1_migrations(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
  ).run();
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
  const applied = [];
  for (const m of listMigrations(dir)) {
    if (done.has(m.name)) continue;
    const stmts = splitSql(fs.readFileSync(m.path, "utf8"));
    try {
      await db.batch([
        ...stmts.map((s) => db.prepare(s)),
        db.prepare("INSERT INTO d1_migrations(name) VALUES (?)").bind(m.name),
      ]);
    } catch (e) {
      throw new Error(`migration ${m.name} failed: ${e.message}`, { cause: e });
    }
    applied.push(m.name);
  }
  return applied;
}

/**
 * Start the built worker in workerd.
 * @param {object} [opts]
 * @param {Record<string,string>} [opts.bindings] plain-text vars/secrets (AUTH0_DOMAIN, AUTH0_CLIENT_ID, ...)
 * @param {string|boolean} [opts.d1Persist=false] directory to persist D1 in (false = in memory)
 * @param {string} [opts.scriptPath] defaults to <repo>/build/index.js
 * @param {string} [opts.migrationsDir] defaults to <repo>/migrations
 * @param {string} [opts.compatibilityDate="2025-06-01"]
 * @param {string[]} [opts.compatibilityFlags]
 * @param {boolean} [opts.echoLogs] also print the worker's output (default: env WORKER_LOGS=1)
 */
export async function startWorker({
  bindings = {},
  d1Persist = false,
  scriptPath = DEFAULT_SCRIPT,
  migrationsDir = MIGRATIONS_DIR,
  compatibilityDate = "2025-06-01",
  compatibilityFlags,
  echoLogs = process.env.WORKER_LOGS === "1",
} = {}) {
  scriptPath = path.resolve(REPO_ROOT, scriptPath);
  if (!fs.existsSync(scriptPath)) {
    throw new Error(`${path.relative(REPO_ROOT, scriptPath)} does not exist: build the worker first (npm run build)`);
  }
  const logs = [];
  const waiters = new Set();
  const onLine = (stream) => (line) => {
    logs.push(line);
    if (echoLogs) process[stream].write(`[worker] ${line}\n`);
    for (const w of waiters) if (w.re.test(line)) { waiters.delete(w); w.resolve(line); }
  };

  const mf = new Miniflare({
    modules: true,
    scriptPath,
    // Module names are relative to this root; the default (cwd) breaks when tests run from elsewhere.
    modulesRoot: path.dirname(scriptPath),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate,
    ...(compatibilityFlags ? { compatibilityFlags } : {}),
    d1Databases: { DB: "auth0-license-sync-test" },
    d1Persist: typeof d1Persist === "string" ? path.resolve(REPO_ROOT, d1Persist) : d1Persist,
    bindings,
    cf: false, // no download of the cf object from the internet
    handleRuntimeStdio(stdout, stderr) {
      readline.createInterface({ input: stdout }).on("line", onLine("stdout"));
      readline.createInterface({ input: stderr }).on("line", onLine("stderr"));
    },
  });
  try {
    await mf.ready;
    const db = await mf.getD1Database("DB");
    const migrations = await applyMigrations(db, migrationsDir);

    const fetch = (p, init) => mf.dispatchFetch(new URL(p, "http://localhost").href, init);
    return {
      mf,
      db,
      logs,
      migrations,
      fetch,
      /** fetch with `Authorization: Bearer <VIEWER_TOKEN>`. */
      authedFetch(p, init = {}) {
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${bindings.VIEWER_TOKEN}`);
        return fetch(p, { ...init, headers });
      },
      /** Fire the cron trigger; resolves to {outcome, noRetry}. */
      async scheduled(cron = "*/15 * * * *") {
        const worker = await mf.getWorker();
        return worker.scheduled({ cron, scheduledTime: new Date() });
      },
      /** Resolve with the first (past or future) log line matching `re`. */
      waitForLog(re, timeoutMs = 5000) {
        const hit = logs.find((l) => re.test(l));
        if (hit) return Promise.resolve(hit);
        return new Promise((resolve, reject) => {
          const w = { re, resolve };
          waiters.add(w);
          setTimeout(() => { if (waiters.delete(w)) reject(new Error(`no worker log matched ${re} in ${timeoutMs} ms`)); }, timeoutMs).unref();
        });
      },
      close: () => mf.dispose(),
    };
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
}

/** Rows of the users table ordered by user_id; `connections` parsed from its JSON text. */
export async function readD1Users(db, { includeRemoved = true } = {}) {
  const where = includeRemoved ? "" : "WHERE removed_at IS NULL";
  const { results } = await db.prepare(`SELECT * FROM users ${where} ORDER BY user_id`).all();
  return results.map((r) => ({ ...r, connections: r.connections == null ? r.connections : JSON.parse(r.connections) }));
}

/** Rows of sync_runs, newest first. */
export async function readSyncRuns(db) {
  const { results } = await db.prepare("SELECT * FROM sync_runs ORDER BY started_at DESC, id DESC").all();
  return results;
}

/** Number of rows in a table (name is trusted test input). */
export async function countRows(db, table, where = "") {
  const row = await db.prepare(`SELECT COUNT(*) AS n FROM ${table} ${where ? `WHERE ${where}` : ""}`).first();
  return row.n;
}

/**
 * Like startWorker, but workerd also listens on a real HTTP port on 127.0.0.1 (for a browser).
 * Same bindings and migrations; adds `url` ("http://127.0.0.1:PORT/").
 * @param {{bindings?: Record<string,string>, scriptPath?: string, migrationsDir?: string, echoLogs?: boolean}} [opts]
 */
export async function startWorkerHttp({
  bindings = {},
  scriptPath = DEFAULT_SCRIPT,
  migrationsDir = MIGRATIONS_DIR,
  echoLogs = process.env.WORKER_LOGS === "1",
} = {}) {
  scriptPath = path.resolve(REPO_ROOT, scriptPath);
  if (!fs.existsSync(scriptPath)) throw new Error(`${scriptPath} does not exist: build the worker first (npm run build)`);
  const logs = [];
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    scriptPath,
    modulesRoot: path.dirname(scriptPath),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-06-01",
    d1Databases: { DB: "auth0-license-sync-test" },
    d1Persist: false,
    bindings,
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) {
        readline.createInterface({ input: s }).on("line", (line) => {
          logs.push(line);
          if (echoLogs) process.stderr.write(`[worker] ${line}\n`);
        });
      }
    },
  });
  try {
    const url = (await mf.ready).href;
    const db = await mf.getD1Database("DB");
    await applyMigrations(db, migrationsDir);
    const fetch = (p, init) => mf.dispatchFetch(new URL(p, url).href, init);
    return {
      mf, db, logs, url, fetch,
      authedFetch(p, init = {}) {
        const headers = new Headers(init.headers);
        headers.set("authorization", `Bearer ${bindings.VIEWER_TOKEN}`);
        return fetch(p, { ...init, headers });
      },
      close: () => mf.dispose(),
    };
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
}

/** Parse RFC 4180 CSV text (quoted fields may hold commas, quotes and line breaks) into rows of cells. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; i++; }
    else if (c === '"' || c === "\r" || c === "\n") throw new Error(`malformed CSV at offset ${i}: stray ${JSON.stringify(c)}`);
    else cell += c;
  }
  if (quoted) throw new Error("malformed CSV: unterminated quoted field");
  if (cell !== "" || row.length) throw new Error("malformed CSV: last record lacks CRLF");
  return rows;
}

/** The bindings that point the worker at a fake tenant, plus any others (VIEWER_TOKEN, vars). */
export function tenantBindings(fake, extra = {}) {
  return {
    // Every cron run a full listing, as before incremental syncs, unless a test asks for the
    // real schedule (FULL_SYNC_INTERVAL_HOURS in `extra`).
    FULL_SYNC_INTERVAL_HOURS: "0",
    AUTH0_DOMAIN: fake.domain,
    AUTH0_BASE_URL: fake.url,
    AUTH0_CLIENT_ID: fake.clientId,
    AUTH0_CLIENT_SECRET: fake.clientSecret,
    ...extra,
  };
}
