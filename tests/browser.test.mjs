// Drives the dashboard in headless Chromium against the built worker: login, seat cards, filters, paging, CSV download, screenshots.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startFakeAuth0, makeUsers } from "./support/fake-auth0.mjs";
import { startWorkerHttp, requireBuiltWorker, parseCsv, REPO_ROOT, tenantBindings } from "./support/worker.mjs";
import { chromiumPath } from "./support/chromium.mjs";

// Both throw, naming the fix, when the build or Chromium is missing: these tests then fail, never skip.
requireBuiltWorker();
const CHROMIUM = chromiumPath();
const VIEWER_TOKEN = "browser-viewer-token";
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");
const DAY = 86_400_000;
const NOW_MS = Date.now();
const iso = (ms) => new Date(ms).toISOString();

const HOSTILE_NAMES = [
  "<script>alert(1)</script>",
  "\"><img src=x onerror=alert(1)>",
  "=HYPERLINK(\"http://x\")",
  "'); DROP TABLE users;--",
  "0123456789abcdef".repeat(640), // 10 KB without spaces: the worst case for wrapping
  "שלום \u202Eevil.exe\u202C مرحبا بك",
  "Emoji 👩🏽‍💻🦀🎉 Person",
];

// ~250 users: generated ones (about 15% never logged in, logins spread over 200 days) plus hostile
// names, half of which never logged in, the rest long inactive, so the inactive filter shows them.
function tenant() {
  const users = makeUsers(240, { seed: 99, now: NOW_MS });
  // Keep last logins 12 h away from the 30-day cut-off so the page and the API cannot disagree.
  for (const u of users) {
    if (u.last_login && Math.abs(Date.parse(u.last_login) - (NOW_MS - 30 * DAY)) < 12 * 3600_000) {
      u.last_login = iso(Date.parse(u.last_login) - 24 * 3600_000);
    }
  }
  HOSTILE_NAMES.forEach((name, i) => {
    const u = {
      created_at: iso(NOW_MS - (300 + i) * DAY),
      email: `hostile${i}@example.com`,
      identities: [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: `hostile${i}`, isSocial: false }],
      name,
      updated_at: iso(NOW_MS - 100 * DAY),
      user_id: `auth0|hostile${i}`,
    };
    if (i % 2) { u.last_login = iso(NOW_MS - (45 + i) * DAY); u.logins_count = 2; }
    users.push(u);
  });
  return users;
}

describe("dashboard in Chromium", () => {
  let fake, w, context, userDataDir;
  const dialogs = [];
  const consoleErrors = [];
  const foreignRequests = [];

  before(async () => {
    fake = await startFakeAuth0({ users: tenant() });
    w = await startWorkerHttp({
      bindings: tenantBindings(fake, { VIEWER_TOKEN }),
    });
    const run = await (await w.authedFetch("/api/sync", { method: "POST" })).json();
    assert.equal(run.run?.status, "succeeded", JSON.stringify(run));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "als-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    context.on("page", watch);
    for (const p of context.pages()) watch(p);
  });

  after(async () => {
    await context?.close().catch(() => {});
    await w?.close();
    await fake?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  // Every page is watched for script dialogs (an XSS would alert), console errors (CSP reports
  // land there) and requests leaving the worker's origin (an injected <img> would fetch).
  function watch(page) {
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => { if (!r.url().startsWith(w.url)) foreignRequests.push(r.url()); });
  }

  const apiJson = async (p) => (await w.authedFetch(p)).json();
  // user ids of the table rows, as shown under each email.
  const rowIds = (page) => page.locator("section#users tbody tr td:first-child div.muted").allTextContents();

  let page;
  const cutoffOk = (l) => l === "never logged in" || Date.parse(l) < Date.now() - 30 * DAY;
  const lastLogins = () => page.locator("section#users tbody tr td:nth-child(5)").evaluateAll((tds) =>
    tds.map((td) => td.querySelector("time")?.getAttribute("datetime") ?? td.textContent));

  test("the dashboard sends the browser to the login form; the token signs in; cards match /api/summary", async () => {
    page = context.pages()[0] ?? await context.newPage();
    await page.goto(w.url);
    assert.equal(new URL(page.url()).pathname, "/login");
    await page.locator('input[name="token"]').fill(VIEWER_TOKEN);
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.getByRole("button", { name: "Sign in" }).click()]);
    const cookie = (await context.cookies()).find((c) => c.name === "__Host-als_session");
    assert.ok(cookie, "the session cookie was stored (Secure on http://127.0.0.1)");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, "Strict");

    const summary = await apiJson("/api/summary");
    const card = async (label) => Number(await page.locator("a.card", { hasText: label }).locator("b").textContent());
    assert.equal(await card("Active seats"), summary.counts.active);
    assert.equal(await card("Never logged in"), summary.counts.never_logged_in);
    assert.equal(await card("No login in 30 days"), summary.counts.inactive_30);
    assert.ok(summary.counts.active > 200);
    // The hashed stylesheet applied (a CSP hash mismatch would leave the page unstyled).
    assert.equal(await page.locator("section").first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius), "8px");
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  });

  test("the filter form narrows the table to users with no login in 30 days", async () => {
    await page.goto(w.url);
    await page.locator('select[name="inactive_days"]').selectOption("30");
    await Promise.all([page.waitForURL((u) => u.searchParams.get("inactive_days") === "30"), page.getByRole("button", { name: "Filter" }).click()]);
    const alert = page.locator("section#users [role=alert]");
    assert.equal(await alert.count(), 0, `submitting the form with its defaults (${new URL(page.url()).search}) shows: ${await alert.allTextContents()}`);
    assert.equal(await page.locator('select[name="inactive_days"]').inputValue(), "30", "the form keeps the filter");
    const inactive = await apiJson("/api/users?inactive_days=30&limit=100");
    assert.deepEqual(await rowIds(page), inactive.users.map((u) => u.user_id));
    for (const l of await lastLogins()) assert.ok(cutoffOk(l), `row with last login ${l}`);
  });

  test("Next page continues the filtered listing; the CSV link downloads all of it", async () => {
    // Loaded by URL, so this does not depend on the form test above.
    await page.goto(`${w.url}?inactive_days=30`);
    const inactive = await apiJson("/api/users?inactive_days=30&limit=1000");
    assert.ok(inactive.users.length > 100, "more than one page of inactive users");
    const page1 = await rowIds(page);
    assert.deepEqual(page1, inactive.users.slice(0, 100).map((u) => u.user_id));
    const logins = await lastLogins();
    assert.equal(logins.length, 100);
    for (const l of logins) assert.ok(cutoffOk(l), `row with last login ${l}`);

    await Promise.all([page.waitForURL((u) => u.searchParams.has("cursor")), page.locator('a[rel="next"]', { hasText: "Next page" }).click()]);
    const page2 = await rowIds(page);
    assert.ok(page2.length > 0);
    assert.ok(page2.every((id) => !page1.includes(id)), "page 2 repeats rows of page 1");
    assert.deepEqual(page2, inactive.users.slice(100, 200).map((u) => u.user_id));
    assert.equal(await page.getByRole("link", { name: "First page" }).count(), 1);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download CSV (these filters, all pages)" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "auth0-users.csv");
    const csv = fs.readFileSync(await download.path(), "utf8");
    assert.equal(csv.charCodeAt(0), 0xfeff, "BOM");
    const lines = csv.slice(1).split("\r\n");
    assert.equal(lines.pop(), "", "ends with CRLF");
    assert.equal(lines.length, 1 + inactive.users.length, "header + one line per inactive user (all pages)");
    assert.deepEqual(parseCsv(csv.slice(1)).slice(1).map((r) => r[0]), inactive.users.map((u) => u.user_id));
  });

  test("hostile names render as inert text", async () => {
    await page.goto(`${w.url}?q=hostile`);
    const names = await page.locator("section#users tbody tr td:nth-child(3)").allTextContents();
    for (const n of HOSTILE_NAMES) assert.ok(names.includes(n), `${n.slice(0, 40)} not shown as text`);
    assert.equal(await page.locator("img, script").count(), 0);
  });

  test("/changes: reached from the dashboard, filtered by the query string, hostile text inert", async () => {
    const hostileEmail = "\"><img src=x onerror=alert(1)>@example.com";
    fake.users.push({
      created_at: iso(NOW_MS - 2 * DAY),
      email: hostileEmail,
      identities: [{ connection: "<script>alert(2)</script>", provider: "auth0", user_id: "h", isSocial: false }],
      name: HOSTILE_NAMES[0],
      updated_at: iso(NOW_MS - DAY),
      user_id: "auth0|<script>alert(3)</script>",
    });
    fake.users.find((u) => u.user_id === "auth0|hostile1").blocked = true;
    const run = await (await w.authedFetch("/api/sync", { method: "POST" })).json();
    assert.equal(run.run?.status, "succeeded", JSON.stringify(run));
    await page.goto(w.url);
    await Promise.all([page.waitForURL((u) => u.pathname === "/changes"), page.getByRole("link", { name: "Access changes" }).click()]);
    const kinds = () => page.locator("section#changes tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual((await kinds()).sort(), ["Baseline (first sync)", "Blocked", "User added"]);
    await page.goto(new URL("/changes?type=user_added", w.url).href);
    assert.deepEqual(await kinds(), ["User added"]);
    assert.equal(await page.locator('select[name="type"]').inputValue(), "user_added");
    const detail = await page.locator("section#changes tbody tr td:nth-child(3)").textContent();
    assert.equal(detail, `added: ${hostileEmail} (auth0|<script>alert(3)</script>)`);
    assert.equal(await page.locator("img, script").count(), 0);
    // The user link filters by that user, ids with | and < intact.
    await Promise.all([page.waitForURL((u) => u.searchParams.has("user_id")), page.locator("section#changes tbody a").first().click()]);
    assert.equal(new URL(page.url()).searchParams.get("user_id"), "auth0|<script>alert(3)</script>");
    assert.deepEqual(await kinds(), ["User added"]);
    await page.goto(new URL(`/changes?type=user_blocked&since=${iso(NOW_MS - DAY).slice(0, 10)}`, w.url).href);
    assert.deepEqual(await kinds(), ["Blocked"]);
    await page.goto(new URL("/changes?since=junk", w.url).href);
    assert.match(await page.locator("div.error").textContent(), /bad parameter `since`/);
    await page.screenshot({ path: path.join(ARTIFACTS, "changes.png"), fullPage: true });
  });

  test("no horizontal overflow at phone width (390 px)", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const wide = [];
    for (const p of ["/", "/?q=hostile", "/?inactive_days=30", "/runs", "/login", "/changes"]) {
      await page.goto(new URL(p, w.url).href);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 390 + 1) wide.push(`${p}: ${width}px`);
    }
    await page.goto(w.url);
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    assert.deepEqual(wide, [], "pages wider than the screen");
  });

  test("no script dialog, console error or request outside the worker happened", () => {
    assert.ok(page, "the browser ran");
    assert.deepEqual(dialogs, [], "a script dialog opened");
    assert.deepEqual(consoleErrors, [], "console errors (CSP violations?)");
    assert.deepEqual(foreignRequests, [], "requests left the worker's origin");
  });
});
