// The trend charts in headless Chromium: present, their numbers equal /api/trends, hostile names in
// series labels inert, and the user table inside its card at 1400 px and 390 px. Saves screenshots
// of the dashboard in test-artifacts/ and prints their paths.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startFakeAuth0, makeUsers } from "./support/fake-auth0.mjs";
import { startWorkerHttp, requireBuiltWorker, REPO_ROOT, tenantBindings } from "./support/worker.mjs";
import { chromiumPath } from "./support/chromium.mjs";

requireBuiltWorker();
const CHROMIUM = chromiumPath();
const VIEWER_TOKEN = "browser-trends-token";
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts");
const DAY = 86_400_000;
const NOW_MS = Date.now();
const TODAY0 = Math.floor(NOW_MS / DAY) * DAY;
const iso = (ms) => new Date(ms).toISOString();
const HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";
const LONG = "0123456789abcdef".repeat(640);

describe("trend charts in Chromium", () => {
  let fake, w, context, userDataDir, page;
  const dialogs = [];
  const consoleErrors = [];
  const foreignRequests = [];

  before(async () => {
    const users = makeUsers(300, { seed: 7, now: NOW_MS });
    users.push({
      user_id: "auth0|long", email: `${LONG}@example.com`, name: LONG, created_at: iso(NOW_MS - 20 * DAY),
      updated_at: iso(NOW_MS - 20 * DAY), last_login: iso(NOW_MS - 2 * DAY), logins_count: 3,
      identities: [{ connection: LONG, provider: "auth0", user_id: "long", isSocial: false }],
    });
    const ids = users.map((u) => u.user_id);
    fake = await startFakeAuth0({
      users,
      organizations: [
        { id: "org_h", name: "hostile", display_name: HOSTILE },
        { id: "org_b", name: "beta", display_name: "Beta & Sons" },
      ],
      members: new Map([["org_h", ids.slice(0, 40)], ["org_b", ids.slice(40, 50)]]),
    });
    w = await startWorkerHttp({ bindings: tenantBindings(fake, { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time" }) });
    // Ten simulated days of syncs, the tenant growing, then one now.
    const worker = await w.mf.getWorker();
    for (let d = 10; d >= 1; d--) {
      fake.users.push({
        user_id: `auth0|new${d}`, email: `new${d}@example.com`, name: `New ${d}`,
        created_at: iso(TODAY0 - d * DAY + 3600_000), updated_at: iso(TODAY0 - d * DAY + 3600_000),
        identities: [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: `new${d}`, isSocial: false }],
      });
      await worker.scheduled({ cron: "*/15 * * * *", scheduledTime: new Date(TODAY0 - d * DAY + 12 * 3600_000) });
    }
    const run = await (await w.authedFetch("/api/sync", { method: "POST" })).json();
    assert.equal(run.run?.status, "succeeded", JSON.stringify(run));

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "als-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 900 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => { if (!r.url().startsWith(w.url)) foreignRequests.push(r.url()); });
    await page.goto(w.url);
    await page.locator('input[name="token"]').fill(VIEWER_TOKEN);
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.getByRole("button", { name: "Sign in" }).click()]);
  });

  after(async () => {
    await context?.close().catch(() => {});
    await w?.close();
    await fake?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  const apiJson = async (p) => (await w.authedFetch(p)).json();
  /** A chart's data table as rows of cell texts (header row first). */
  const table = (id) => page.locator(`#${id} table.data tr`).evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  const num = (s) => (s === "–" || s === "unknown" ? null : Number(s.replace(/,/g, "")));

  test("the charts are there, each with a title, axis labels and a data table", async () => {
    await page.goto(w.url);
    for (const id of ["chart-seats-90", "chart-seats-365", "chart-active", "chart-logins", "chart-reclaim", "chart-members"]) {
      const fig = page.locator(`#${id}`);
      assert.equal(await fig.count(), 1, id);
      assert.ok((await fig.locator("svg > title").textContent()).length > 5, `${id} title`);
      assert.ok(await fig.locator("svg text.label").count() >= 1, `${id} axis label`);
      assert.equal(await fig.locator("details table.data").count(), 1, `${id} table`);
    }
    // The stylesheet's hash still matches (else the charts would be unstyled black shapes).
    const fill = await page.locator("#chart-seats-90 path.line").first().evaluate((el) => getComputedStyle(el).fill);
    assert.equal(fill, "none");
  });

  test("their numbers equal /api/trends", async () => {
    const t = await apiJson("/api/trends?days=90");
    const rows = (await table("chart-seats-90")).slice(1);
    const observed = t.tenant.filter((p) => !p.derived);
    assert.ok(observed.length >= 10, "a snapshot per simulated day");
    for (const p of observed) {
      const row = rows.find((r) => r[0] === p.day);
      assert.ok(row, `table row for ${p.day}`);
      assert.deepEqual(row.slice(1, 4).map(num), [p.active, p.blocked, p.removed], p.day);
    }
    const active = (await table("chart-active")).slice(1);
    for (const p of observed) {
      const row = active.find((r) => r[0] === p.day);
      assert.deepEqual(row.slice(1).map(num), [p.active_30, p.active_90], p.day);
    }
    const reclaim = (await table("chart-reclaim")).slice(1);
    const year = await apiJson("/api/trends?days=365&by=organization");
    assert.deepEqual(reclaim.map((r) => num(r[1])), year.reclaim.buckets.map((b) => b.users));
    assert.deepEqual(reclaim.map((r) => r[0]), year.reclaim.buckets.map((b) => b.label));
    const weeks = (await table("chart-logins")).slice(1);
    assert.deepEqual(weeks.map((r) => num(r[1])), t.logins_per_week.map((x) => x.logins));
    // Hover numbers: today's column names today's active seats.
    const today = observed.at(-1);
    const tip = await page.locator("#chart-seats-90 rect.hit title").last().textContent();
    assert.ok(tip.startsWith(today.day) && tip.includes(`Active: ${today.active.toLocaleString("en-US")}`), tip);
    // A reclaim bar opens the user list filtered to it.
    const href = await page.locator("#chart-reclaim svg a").nth(1).getAttribute("href");
    assert.equal(href, "/?last_login_days=30-60#users");
    await page.goto(new URL(href, w.url).href);
    const listed = await page.locator("section#users tbody tr td:first-child div.muted").allTextContents();
    const api = await apiJson("/api/users?last_login_days=30-60&limit=100");
    assert.deepEqual(listed, api.users.map((u) => u.user_id));
    assert.equal(api.users.length, Math.min(100, year.reclaim.buckets[1].users));
  });

  test("hostile organization names in series labels stay inert", async () => {
    await page.goto(w.url);
    const legend = await page.locator("#chart-members .legend li").allTextContents();
    assert.ok(legend.includes(HOSTILE), `legend: ${legend}`);
    assert.ok(legend.includes("Beta & Sons"));
    assert.equal(await page.locator("img, script").count(), 0);
  });

  test("the user table fits its card at 1400 px and at 390 px; screenshots saved", async () => {
    for (const [width, name] of [[1400, "trends-dashboard.png"], [390, "trends-dashboard-phone.png"]]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(w.url);
      const fit = await page.evaluate(() => {
        const card = document.querySelector("section#users").getBoundingClientRect();
        const scroller = document.querySelector("section#users .scroll");
        const wrap = scroller.getBoundingClientRect();
        // The table itself, not only its scrolling box: no column hidden behind a scroll bar.
        const table = document.querySelector("section#users table").scrollWidth;
        const charts = [...document.querySelectorAll("figure.chart")].map((f) => f.getBoundingClientRect().right);
        return { card: card.right, wrap: wrap.right, table, room: scroller.clientWidth, charts: Math.max(...charts), page: document.documentElement.scrollWidth };
      });
      assert.ok(fit.wrap <= fit.card + 0.5, `${width}px: table ${fit.wrap} past its card ${fit.card}`);
      assert.ok(fit.table <= fit.room + 1, `${width}px: the table is ${fit.table} px wide in ${fit.room} px`);
      assert.ok(fit.charts <= fit.card + 0.5, `${width}px: a chart ${fit.charts} past the cards ${fit.card}`);
      assert.ok(fit.page <= width + 1, `${width}px: page ${fit.page} wide`);
      const file = path.join(ARTIFACTS, name);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`screenshot: ${file}`);
    }
  });

  test("no script dialog, console error or request outside the worker happened", () => {
    assert.deepEqual(dialogs, []);
    assert.deepEqual(consoleErrors, [], "console errors (CSP violations?)");
    assert.deepEqual(foreignRequests, []);
  });
});
