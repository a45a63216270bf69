// The application pages in headless Chromium against the built worker: hostile application names
// stay inert text, the links lead to each application's users, and nothing overflows a phone.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startFakeAuth0, makeUsers, CONNECTIONS } from "./support/fake-auth0.mjs";
import { startWorkerHttp, requireBuiltWorker, REPO_ROOT, tenantBindings } from "./support/worker.mjs";
import { chromiumPath } from "./support/chromium.mjs";

requireBuiltWorker();
const CHROMIUM = chromiumPath();
const VIEWER_TOKEN = "browser-apps-token";
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");

const HOSTILE = [
  "<script>alert(1)</script>",
  "\"><img src=x onerror=alert(1)>",
  "=HYPERLINK(\"http://x\")",
  "0123456789abcdef".repeat(640),
  "שלום \u202Eevil.exe\u202C",
];

const HOSTILE_EMAIL = "\"><img src=x onerror=alert(9)>@example.com";
const HOSTILE_ID = "google-oauth2|<script>alert(8)</script>";

describe("application pages in Chromium", () => {
  let fake, w, context, userDataDir, page;
  const dialogs = [];
  const consoleErrors = [];
  const foreignRequests = [];

  before(async () => {
    const applications = HOSTILE.map((name, i) => ({ client_id: `app${i}|x`, name, app_type: i % 2 ? "spa" : "regular_web" }));
    applications.push({ client_id: "m2m", name: "Machine", app_type: "non_interactive" });
    const users = makeUsers(120, { seed: 7 });
    // A user whose every field is hostile, on the connection every application is enabled on.
    users.push({
      created_at: "2025-01-02T00:00:00.000Z", updated_at: "2025-01-03T00:00:00.000Z",
      email: HOSTILE_EMAIL, name: HOSTILE[0], user_id: HOSTILE_ID,
      identities: [{ connection: CONNECTIONS[0].name, provider: "auth0", user_id: "h", isSocial: false }],
    });
    fake = await startFakeAuth0({
      users,
      scopes: ["read:users", "read:organizations", "read:organization_members", "read:clients", "read:connections"],
      applications,
      enabledClients: new Map([[CONNECTIONS[0].id, applications.map((a) => a.client_id)], [CONNECTIONS[1].id, ["app1|x"]]]),
    });
    w = await startWorkerHttp({ bindings: tenantBindings(fake, { VIEWER_TOKEN }) });
    const run = await (await w.authedFetch("/api/sync", { method: "POST" })).json();
    assert.equal(run.run?.status, "succeeded", JSON.stringify(run));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "als-chromium-apps-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => { if (!r.url().startsWith(w.url)) foreignRequests.push(r.url()); });
    await page.goto(new URL("/login", w.url).href);
    await page.locator('input[name="token"]').fill(VIEWER_TOKEN);
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.getByRole("button", { name: "Sign in" }).click()]);
  });

  after(async () => {
    await context?.close().catch(() => {});
    await w?.close();
    await fake?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  test("the dashboard links to /applications, where hostile names are inert text", async () => {
    await Promise.all([page.waitForURL((u) => u.pathname === "/applications"), page.getByRole("link", { name: "Applications" }).first().click()]);
    const api = await (await w.authedFetch("/api/applications")).json();
    assert.equal(api.applications.length, HOSTILE.length, "M2M left out");
    const names = await page.locator("tbody tr td:first-child a").allTextContents();
    for (const n of HOSTILE) assert.ok(names.includes(n), `${n.slice(0, 30)} not shown as text`);
    assert.equal(await page.locator("main img, main script").count(), 0);
    assert.equal(await page.locator("section").first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius), "8px");
    await page.screenshot({ path: path.join(ARTIFACTS, "applications.png"), fullPage: true });
  });

  test("an application's link opens its users, matching the API", async () => {
    await page.goto(new URL("/applications", w.url).href);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith("/applications/app1")),
      page.locator("tbody tr td:first-child a", { hasText: HOSTILE[1] }).click(),
    ]);
    const api = await (await w.authedFetch(`/api/applications/${encodeURIComponent("app1|x")}/users?limit=100`)).json();
    const rows = await page.locator("section:nth-of-type(2) tbody tr").count();
    assert.equal(rows, api.users.length);
    const reach = await page.locator("a.card", { hasText: "can reach" }).locator("b").textContent();
    const one = await (await w.authedFetch(`/api/applications/${encodeURIComponent("app1|x")}`)).json();
    assert.equal(Number(reach), one.application.users_can_reach);
    assert.ok(one.application.users_can_reach > 0);
  });

  test("the dashboard links a user to their page, which lists the applications the API lists", async () => {
    await page.goto(new URL("/?q=onerror", w.url).href);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith("/users/")),
      page.locator("section#users tbody tr td:first-child a", { hasText: HOSTILE_EMAIL }).click(),
    ]);
    assert.equal(decodeURIComponent(new URL(page.url()).pathname.slice("/users/".length)), HOSTILE_ID);
    const api = await (await w.authedFetch(`/api/users/${encodeURIComponent(HOSTILE_ID)}`)).json();
    assert.ok(api.applications.length >= 2, JSON.stringify(api.applications));
    const shown = await page.locator("section:nth-of-type(2) tbody tr td:first-child a").allTextContents();
    assert.deepEqual(shown, api.applications.map((a) => a.name));
    assert.ok((await page.locator("main").textContent()).includes(HOSTILE_EMAIL));
    assert.equal(await page.locator("main img, main script").count(), 0);
    // Its application link and its change-history link lead on.
    const history = page.getByRole("link", { name: "Change history" });
    assert.equal(new URL(await history.getAttribute("href"), w.url).searchParams.get("user_id"), HOSTILE_ID);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith("/applications/")),
      page.locator("section:nth-of-type(2) tbody tr td:first-child a").first().click(),
    ]);
    // Fetched, not browsed: Chromium logs every 404 as a console error.
    const missing = await w.authedFetch("/users/nobody");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /<div class="error">No user with this id/);
  });

  test("no horizontal overflow at phone width (390 px)", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = [];
    for (const p of ["/applications", `/applications/${encodeURIComponent("app3|x")}`, `/applications/${encodeURIComponent("app0|x")}?activity=never`, `/users/${encodeURIComponent(HOSTILE_ID)}`]) {
      await page.goto(new URL(p, w.url).href);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390 + 1) wide.push(`${p}: ${width}px`);
    }
    await page.goto(new URL("/applications", w.url).href);
    await page.screenshot({ path: path.join(ARTIFACTS, "applications-phone.png"), fullPage: true });
    assert.deepEqual(wide, [], "pages wider than the screen");
  });

  test("no script dialog, console error or request outside the worker happened", () => {
    assert.deepEqual(dialogs, []);
    assert.deepEqual(consoleErrors, []);
    assert.deepEqual(foreignRequests, []);
  });
});
