// Proves the local-run command (scripts/dev.mjs, `npm run dev`) works: demo tenant, first sync, auth, clean stop.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseDevVars, decideMode, freePort, groupAlive, historyTimes, DEMO_VIEWER_TOKEN, REPO_ROOT } from "../scripts/dev.mjs";
import { requireBuiltWorker } from "./support/worker.mjs";

const DEV = path.join(REPO_ROOT, "scripts/dev.mjs");
const DEMO_USERS = 1500;

describe("parseDevVars", () => {
  test("reads KEY=value lines like wrangler's dotenv parsing", () => {
    const vars = parseDevVars([
      "# comment",
      "AUTH0_DOMAIN=tenant.eu.auth0.com",
      "  export AUTH0_CLIENT_ID = abc  # trailing comment",
      'AUTH0_CLIENT_SECRET="s3cr#t with spaces"',
      "VIEWER_TOKEN='single'",
      "EMPTY=",
      "not a pair",
      "",
    ].join("\r\n"));
    assert.deepEqual(vars, {
      AUTH0_DOMAIN: "tenant.eu.auth0.com",
      AUTH0_CLIENT_ID: "abc",
      AUTH0_CLIENT_SECRET: "s3cr#t with spaces",
      VIEWER_TOKEN: "single",
      EMPTY: "",
    });
  });
});

describe("historyTimes", () => {
  // The cron's first tick after the replay must be a full listing at any hour of the day: a
  // replayed listing under FULL_SYNC_INTERVAL_HOURS (24) old would make it incremental.
  test("every replayed time is over a day before now, at every hour of the day", () => {
    const day = Date.UTC(2026, 11, 8);
    for (let minute = 0; minute < 24 * 60; minute += 15) {
      const now = day + minute * 60_000;
      const times = historyTimes(now, 91);
      assert.ok(times.length >= 14, `${times.length} times at ${new Date(now).toISOString()}`);
      for (const t of times) assert.ok(now - t > 24 * 3600_000, `${new Date(t).toISOString()} is under a day before ${new Date(now).toISOString()}`);
      assert.deepEqual([...times].sort((a, b) => a - b), times, "oldest first");
    }
  });
});

describe("decideMode", () => {
  const creds = { AUTH0_DOMAIN: "t.us.auth0.com", AUTH0_CLIENT_ID: "id", AUTH0_CLIENT_SECRET: "secret" };

  test("no .dev.vars: demo with the demo token", () => {
    assert.deepEqual(decideMode(null), { mode: "demo", token: DEMO_VIEWER_TOKEN, warnings: [] });
  });

  test("all three credentials: real, warning when VIEWER_TOKEN is missing", () => {
    const long = "tok-0123456789abcdef";
    assert.deepEqual(decideMode({ ...creds, VIEWER_TOKEN: long }), { mode: "real", token: long, warnings: [] });
    const r = decideMode(creds);
    assert.equal(r.mode, "real");
    assert.equal(r.token, "");
    assert.match(r.warnings[0], /VIEWER_TOKEN/);
  });

  test("a VIEWER_TOKEN shorter than 16 characters is kept, with a warning that names it", () => {
    for (const devVars of [{ ...creds, VIEWER_TOKEN: "tok" }, { VIEWER_TOKEN: "fifteen-chars-x" }]) {
      const r = decideMode(devVars);
      assert.equal(r.token, devVars.VIEWER_TOKEN);
      assert.equal(r.warnings.length, 1, r.warnings.join("; "));
      assert.match(r.warnings[0], /VIEWER_TOKEN .*shorter than 16 characters/);
    }
    assert.deepEqual(decideMode({ VIEWER_TOKEN: "sixteen-chars-ok" }).warnings, []);
    assert.ok(DEMO_VIEWER_TOKEN.length >= 16);
  });

  test("partial or placeholder credentials: demo, keeping a VIEWER_TOKEN from .dev.vars", () => {
    const mine = "mine-0123456789abcdef";
    const r = decideMode({ AUTH0_DOMAIN: "t.us.auth0.com", AUTH0_CLIENT_ID: "", VIEWER_TOKEN: mine });
    assert.equal(r.mode, "demo");
    assert.equal(r.token, mine);
    assert.match(r.warnings[0], /AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET/);
    // A .dev.vars copied unchanged from .dev.vars.example.
    const example = parseDevVars(fs.readFileSync(path.join(REPO_ROOT, ".dev.vars.example"), "utf8"));
    assert.deepEqual(decideMode(example), { mode: "demo", token: DEMO_VIEWER_TOKEN, warnings: [] });
  });
});

// Throws when build/ is missing: the end-to-end run then fails with the reason, never skips.
requireBuiltWorker();

/** GET without keep-alive, so no pooled connection outlives the test. */
function get(url, token) {
  return new Promise((resolve, reject) => {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    http.get(url, { headers, agent: false, timeout: 30_000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    }).on("error", reject).on("timeout", function () { this.destroy(new Error(`timeout: ${url}`)); });
  });
}

/** Resolves "refused" once nothing accepts connections on the port. */
function probe(port) {
  return new Promise((resolve) => {
    const s = net.createConnection({ port, host: "127.0.0.1" });
    s.once("connect", () => { s.destroy(); resolve("open"); });
    s.once("error", (e) => resolve(e.code === "ECONNREFUSED" ? "refused" : e.code));
  });
}

describe("npm run dev (scripts/dev.mjs) with the demo tenant", { timeout: 300_000 }, () => {
  let child;
  let exited; // promise of {code, signal}
  let output = "";
  let wranglerPgid = null;
  let ready; // {url, token, mode}
  let readyAt; // ISO time the READY line came: only the demo's pushes change D1 after it
  let port;
  let demoPort;
  let stateDir;

  before(async () => {
    port = await freePort();
    demoPort = await freePort();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-test-"));
    // Its own process group, so `after` can kill everything it started even if the script hangs.
    // --demo: only ever the demo tenant on 127.0.0.1, even if .dev.vars names a real one.
    child = spawn(process.execPath, [DEV, "--demo", "--port", String(port), "--demo-port", String(demoPort),
      "--demo-users", String(DEMO_USERS), "--persist-to", stateDir], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SKIP_WORKER_BUILD: "1" },
    });
    exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no READY line within 120 s; output:\n${output}`)), 120_000);
      const onData = (chunk) => {
        output += chunk;
        wranglerPgid ??= Number(output.match(/process group (\d+)/)?.[1]) || null;
        const m = output.match(/^READY url=(\S+) token=(\S*) mode=(demo|real)$/m);
        if (m && !readyAt) {
          clearTimeout(timer);
          readyAt = new Date().toISOString();
          resolve({ url: m[1], token: m[2], mode: m[3] });
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`dev.mjs exited (${code ?? signal}) before READY; output:\n${output}`));
      });
    });
  });

  after(() => {
    // Whatever happened above: leave no dev.mjs, wrangler or workerd behind.
    for (const pgid of [child?.pid, wranglerPgid]) {
      if (pgid && groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    }
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("prints the READY line for the demo tenant", () => {
    assert.deepEqual(ready, { url: `http://127.0.0.1:${port}`, token: ready.token, mode: "demo" });
    assert.ok(ready.token, "a viewer token is printed");
    assert.ok(wranglerPgid, "the wrangler process group is printed");
    assert.match(output, new RegExp(`curl -H "Authorization: Bearer ${ready.token}" "${ready.url}/api/users\\?limit=5"`));
  });

  test("/healthz answers 200", async () => {
    assert.equal((await get(`${ready.url}/healthz`)).status, 200);
  });

  test("/api/users refuses a request without the token", async () => {
    assert.equal((await get(`${ready.url}/api/users`)).status, 401);
  });

  test("the initial sync has run: newest run succeeded with every demo user", async () => {
    const runs = await get(`${ready.url}/api/sync-runs?limit=1`, ready.token);
    assert.equal(runs.status, 200, runs.text);
    const [run] = runs.json.runs;
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.equal(run.users_seen, DEMO_USERS);
    assert.match(output, /First sync succeeded: 1500 users seen/);
  });

  test("/api/users with the printed token returns the synced users (and those the demo created since)", async () => {
    const page = await get(`${ready.url}/api/users?limit=5`, ready.token);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.json.users.length, 5);
    assert.ok(page.json.next_cursor, "more pages follow");
    let total = 0;
    let cursor = null;
    do {
      const r = await get(`${ready.url}/api/users?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, ready.token);
      assert.equal(r.status, 200, r.text);
      // The demo's pushes add a user now and then, created after start-up.
      total += r.json.users.filter((u) => u.created_at < readyAt).length;
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.equal(total, DEMO_USERS);
  });

  test("the demo pushes logins and user changes: the API shows them without a sync, every push answered 200", async () => {
    const runsBefore = await get(`${ready.url}/api/sync-runs?limit=20`, ready.token);
    assert.equal(runsBefore.status, 200, runsBefore.text);
    // The newest sync (the pusher's hourly push row may already be on top).
    const lastSync = runsBefore.json.runs.find((r) => r.kind !== "push");
    const deadline = Date.now() + 90_000;
    let renamed = null;
    let login = null;
    while ((!renamed || !login) && Date.now() < deadline) {
      // The newest name the pusher printed for each user it renamed.
      const names = new Map([...output.matchAll(/^Demo push: .*; renamed (\S+) to (.+)$/gm)].map((m) => [m[1], m[2]]));
      for (const [id, name] of renamed ? [] : names) {
        const r = await get(`${ready.url}/api/users/${encodeURIComponent(id)}`, ready.token);
        assert.equal(r.status, 200, r.text);
        if (r.json.user.name === name && r.json.user.updated_at > readyAt) renamed = r.json.user;
        break;
      }
      if (!login) {
        const top = await get(`${ready.url}/api/users?sort=last_login:desc&limit=1`, ready.token);
        assert.equal(top.status, 200, top.text);
        const [u] = top.json.users;
        if (u.last_login > readyAt) {
          const r = await get(`${ready.url}/api/users/${encodeURIComponent(u.user_id)}`, ready.token);
          const app = r.json.applications.find((a) => a.last_login === u.last_login);
          if (app) login = { user: u, app };
        }
      }
      if (!renamed || !login) await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(renamed, `no renamed user showed within 90 s; output:\n${output}`);
    assert.ok(login, `no pushed login showed in a user's application usage within 90 s; output:\n${output}`);
    assert.ok(login.user.logins_count >= 1 && login.app.logins >= 1 && login.app.last_seen >= login.user.last_login, JSON.stringify(login));
    // Every round answered 200 and none was refused.
    const rounds = output.match(/^Demo push: .*$/gm);
    assert.ok(rounds.length >= 1);
    for (const line of rounds) assert.match(line, /^Demo push: 3 logins -> HTTP 200 \(\d+ counted\); \d+ user events -> HTTP 200 x\d+ \(\d+ applied\)/);
    assert.doesNotMatch(output, /refused \d+ demo push|demo push round failed/);
    // No sync ran meanwhile: the pushes alone brought these. They show as the hour's push row.
    const runsAfter = await get(`${ready.url}/api/sync-runs?limit=20`, ready.token);
    const syncs = runsAfter.json.runs.filter((r) => r.kind !== "push");
    assert.equal(syncs[0].id, lastSync.id);
    assert.ok(syncs[0].finished_at < readyAt, JSON.stringify(syncs[0]));
    const pushRow = runsAfter.json.runs.find((r) => r.kind === "push");
    assert.ok(pushRow && pushRow.trigger === "push" && pushRow.invocations >= 1, JSON.stringify(runsAfter.json.runs));
  });

  test("SIGTERM stops the script, wrangler, workerd and the demo tenant", async () => {
    process.kill(child.pid, "SIGTERM");
    let timer;
    const result = await Promise.race([
      exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve("timeout"), 20_000); }),
    ]);
    clearTimeout(timer);
    assert.notEqual(result, "timeout", "dev.mjs exits within 20 s of SIGTERM");
    assert.deepEqual(result, { code: 0, signal: null });
    assert.equal(groupAlive(wranglerPgid), false, "no process of wrangler's group is left");
    assert.equal(await probe(port), "refused", "nothing listens on the worker port");
    assert.equal(await probe(demoPort), "refused", "nothing listens on the demo port");
  });
});
