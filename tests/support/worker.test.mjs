// Self-test of the Miniflare harness (SQL splitting, migrations, bindings, cron, logs) using a stub JS worker.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { splitSql, startWorker, applyMigrations, readD1Users, countRows } from "./worker.mjs";
import { startFakeAuth0 } from "./fake-auth0.mjs";

describe("splitSql", () => {
  test("splits on semicolons, drops comments, keeps quoted semicolons", () => {
    const sql = `-- header; comment
CREATE TABLE a (x TEXT DEFAULT 'a;b', "we;ird" INTEGER); /* block; comment */
INSERT INTO a VALUES ('it''s; fine', 1);
CREATE INDEX [idx;1] ON a(x)  -- trailing; comment
;;
`;
    assert.deepEqual(splitSql(sql), [
      `CREATE TABLE a (x TEXT DEFAULT 'a;b', "we;ird" INTEGER)`,
      `INSERT INTO a VALUES ('it''s; fine', 1)`,
      "CREATE INDEX [idx;1] ON a(x)",
    ]);
  });

  test("keeps trigger bodies (with CASE ... END) in one statement", () => {
    const sql = `CREATE TRIGGER t AFTER UPDATE ON a BEGIN
  UPDATE a SET x = CASE WHEN new.x IS NULL THEN 'n' ELSE new.x END WHERE rowid = new.rowid;
  DELETE FROM b;
END;
CREATE TABLE b (y INT);`;
    const parts = splitSql(sql);
    assert.equal(parts.length, 2);
    assert.match(parts[0], /^CREATE TRIGGER t[\s\S]*DELETE FROM b;\nEND$/);
    assert.equal(parts[1], "CREATE TABLE b (y INT)");
  });

  test("a comment-only script yields nothing", () => {
    assert.deepEqual(splitSql("-- nothing\n/* here */\n"), []);
  });
});

describe("startWorker with a stub worker", () => {
  let dir, fake, w;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "worker-harness-"));
    fs.mkdirSync(path.join(dir, "migrations"));
    fs.writeFileSync(path.join(dir, "migrations/0001_init.sql"),
      "-- users; table\nCREATE TABLE users (user_id TEXT PRIMARY KEY, connections TEXT, removed_at TEXT);\n");
    fs.writeFileSync(path.join(dir, "migrations/0002_runs.sql"),
      "CREATE TABLE sync_runs (id INTEGER PRIMARY KEY, started_at TEXT);\nINSERT INTO users VALUES ('auth0|1', '[\"a;b\"]', NULL);\n");
    fs.writeFileSync(path.join(dir, "migrations/README.md"), "ignored");
    fs.writeFileSync(path.join(dir, "index.js"), `
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/token") {
      // Outbound fetch to the fake on 127.0.0.1 must be allowed.
      const r = await fetch(env.AUTH0_BASE_URL + "/oauth/token", { method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ grant_type: "client_credentials", client_id: env.AUTH0_CLIENT_ID,
          client_secret: env.AUTH0_CLIENT_SECRET, audience: "https://" + env.AUTH0_DOMAIN + "/api/v2/" }) });
      return new Response(await r.text(), { status: r.status });
    }
    console.log("auth header:", req.headers.get("authorization"));
    return Response.json({ domain: env.AUTH0_DOMAIN });
  },
  async scheduled(ev, env) {
    await env.DB.prepare("INSERT INTO sync_runs (started_at) VALUES (?)").bind(ev.cron).run();
    console.log("cron ran", ev.cron);
  },
};`);
    fake = await startFakeAuth0();
    w = await startWorker({
      scriptPath: path.join(dir, "index.js"),
      migrationsDir: path.join(dir, "migrations"),
      d1Persist: path.join(dir, "d1"),
      bindings: { AUTH0_DOMAIN: fake.domain, AUTH0_BASE_URL: fake.url, AUTH0_CLIENT_ID: fake.clientId, AUTH0_CLIENT_SECRET: fake.clientSecret, VIEWER_TOKEN: "viewer-token-0123456789" },
    });
  });
  after(async () => {
    await w?.close();
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("applies migrations in order and records them", async () => {
    assert.deepEqual(w.migrations, ["0001_init.sql", "0002_runs.sql"]);
    assert.deepEqual(await applyMigrations(w.db, path.join(dir, "migrations")), []);
    const users = await readD1Users(w.db);
    assert.deepEqual(users, [{ user_id: "auth0|1", connections: ["a;b"], removed_at: null }]);
  });

  test("fetch, authedFetch, outbound fetch to the fake, logs", async () => {
    assert.deepEqual(await (await w.fetch("/healthz")).json(), { domain: "demo-tenant.us.auth0.com" });
    await (await w.authedFetch("/x")).arrayBuffer();
    assert.equal(await w.waitForLog(/auth header: Bearer viewer-token-0123456789/), "auth header: Bearer viewer-token-0123456789");
    const tok = await w.fetch("/token");
    assert.equal(tok.status, 200);
    assert.ok((await tok.json()).access_token);
    assert.equal(fake.stats().token, 1);
  });

  test("scheduled runs the cron handler", async () => {
    const r = await w.scheduled();
    assert.equal(r.outcome, "ok");
    assert.equal(await countRows(w.db, "sync_runs", "started_at = '*/15 * * * *'"), 1);
    await w.waitForLog(/cron ran \*\/15/);
  });

  test("a persisted database is not migrated twice", async () => {
    const again = await startWorker({ scriptPath: path.join(dir, "index.js"), migrationsDir: path.join(dir, "migrations"), d1Persist: path.join(dir, "d1-second") });
    try {
      assert.equal(again.migrations.length, 2);
    } finally { await again.close(); }
    const third = await startWorker({ scriptPath: path.join(dir, "index.js"), migrationsDir: path.join(dir, "migrations"), d1Persist: path.join(dir, "d1-second") });
    try {
      assert.deepEqual(third.migrations, []);
      assert.equal(await countRows(third.db, "users"), 1);
    } finally { await third.close(); }
  });
});
