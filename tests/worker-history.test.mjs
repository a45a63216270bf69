// The demo's replayed history (issue 19 §4) in the built worker: `npm run dev`'s replay
// (simulateHistory of scripts/dev.mjs over the demo tenant of scripts/demo-auth0.mjs) syncs a short
// past at simulated times (TEST_CLOCK), then the present. On every snapshot day each figure of the
// tenant, each organization and each application must equal what the users and log events up to
// that day give; an application can never have more users active, or more logins, than the tenant;
// and the per-application weekly logins are not flat. A sync at a past time over data stored
// later counts nothing dated after it.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDemoAuth0, showPast } from "../scripts/demo-auth0.mjs";
import { simulateHistory } from "../scripts/dev.mjs";
import { requireBuiltWorker, startWorkerHttp, tenantBindings } from "./support/worker.mjs";
import { syncToEnd, usageFromLog } from "./support/tenant.mjs";

requireBuiltWorker();

const VIEWER_TOKEN = "history-viewer-token";
const DAY = 86_400_000;
const DAYS = 35;
const iso = (ms) => new Date(ms).toISOString();

/** The figures a snapshot taken at `takenAt` must hold, from what the tenant showed until then. */
function truth({ takenAt, listed, stored, log, members }) {
  const now = Date.parse(takenAt);
  const c30 = iso(now - 30 * DAY);
  const c90 = iso(now - 90 * DAY);
  const day = takenAt.slice(0, 10);
  const users = (list) => ({
    seats: list.length,
    active_30: list.filter((u) => u.last_login >= c30 && u.last_login <= takenAt).length,
    active_90: list.filter((u) => u.last_login >= c90 && u.last_login <= takenAt).length,
    never: list.filter((u) => !u.last_login).length,
  });
  // Logins: every user ever stored, removed ones with what they had when last listed.
  const logins = (ids) => ids.reduce((n, id) => n + (stored.get(id)?.logins_count ?? 0), 0);
  const tenant = { ...users(listed), logins: logins([...stored.keys()]) };
  const current = new Set(listed.map((u) => u.user_id));
  const orgs = new Map();
  for (const [org, ids] of members) {
    const known = ids.filter((id) => stored.has(id));
    if (!known.length) continue;
    orgs.set(org, { ...users(listed.filter((u) => known.includes(u.user_id))), logins: logins(known) });
  }
  assert.ok([...orgs.values()].some((o) => o.seats > 0 && current.size > 0));
  const apps = new Map();
  for (const p of usageFromLog(log.filter((e) => e.date <= takenAt))) {
    const a = apps.get(p.client_id) ?? { seats: 0, added: 0, active_30: 0, active_90: 0, logins: 0 };
    a.seats += 1;
    if (p.first_used.slice(0, 10) === day) a.added += 1;
    if (p.last_seen >= c30) a.active_30 += 1;
    if (p.last_seen >= c90) a.active_90 += 1;
    a.logins += p.logins;
    apps.set(p.client_id, a);
  }
  return { tenant, orgs, apps };
}

const pick = (row, keys) => Object.fromEntries(keys.map((k) => [k, row[k]]));

describe("the demo's replayed history is possible", () => {
  let fake, w;
  const days = []; // { day, takenAt, want }

  before(async () => {
    fake = await startDemoAuth0({ port: 0, users: 200, logDays: DAYS, rateLimit: { burst: 1e9, perSecond: 1e9 } });
    fake.exportPolls = 0;
    w = await startWorkerHttp({ bindings: tenantBindings(fake, { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time" }) });
  });
  after(async () => { await w?.close(); await fake?.close(); });

  async function rows(scope, day) {
    const { results } = await w.db.prepare("SELECT * FROM trend_days WHERE scope = ? AND day = ? AND derived = 0").bind(scope, day).all();
    return new Map(results.map((r) => [r.key, r]));
  }

  test("every snapshot day equals what the users and the log up to that day give", async () => {
    const times = await simulateHistory(w.url.replace(/\/$/, ""), VIEWER_TOKEN, fake, DAYS);
    assert.ok(times.length >= 10, `the replay synced ${times.length} times`);
    const { run } = await syncToEnd(w);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const stored = new Map();
    const syncs = [...times.map((t) => ({ t, listed: fake.history.at(t) })), { t: Date.now(), listed: fake.users }];
    for (const { t, listed } of syncs) {
      for (const u of listed) stored.set(u.user_id, u);
      const day = iso(t).slice(0, 10);
      const tenant = (await rows("tenant", day)).get("");
      assert.ok(tenant, `a tenant snapshot on ${day}`);
      const want = truth({ takenAt: tenant.taken_at, listed, stored, log: fake.history.log, members: fake.members });
      assert.deepEqual(pick(tenant, Object.keys(want.tenant)), want.tenant, `tenant on ${day}`);
      const orgs = await rows("organization", day);
      assert.deepEqual([...orgs.keys()].sort(), [...want.orgs.keys()].sort(), `organizations on ${day}`);
      for (const [org, o] of want.orgs) assert.deepEqual(pick(orgs.get(org), Object.keys(o)), o, `${org} on ${day}`);
      const apps = await rows("application", day);
      assert.deepEqual([...apps.keys()].sort(), [...want.apps.keys()].sort(), `applications on ${day}`);
      for (const [app, a] of want.apps) {
        const got = apps.get(app);
        assert.deepEqual(pick(got, Object.keys(a)), a, `${app} on ${day}`);
        // What the issue found impossible: more active users, or logins, in one application than in the tenant.
        assert.ok(got.active_30 <= tenant.active_30 && got.active_90 <= tenant.active_90, `${app} on ${day}: ${got.active_30}/${got.active_90} active, the tenant ${tenant.active_30}/${tenant.active_90}`);
      }
      days.push({ day, tenant, apps });
    }
    // Between two snapshots, the applications' logins together are at most the tenant's.
    for (let i = 1; i < days.length; i++) {
      const [a, b] = [days[i - 1], days[i]];
      const appLogins = (d) => [...d.apps.values()].reduce((n, r) => n + r.logins, 0);
      const apps = appLogins(b) - appLogins(a);
      const tenant = b.tenant.logins - a.tenant.logins;
      assert.ok(apps >= 0 && apps <= tenant, `${a.day} to ${b.day}: ${apps} application logins, ${tenant} for the tenant`);
    }
  });

  test("the charts' weekly logins per application are not flat, and never above the tenant's", async () => {
    const res = await w.authedFetch(`/api/trends?days=${DAYS}&by=application`);
    assert.equal(res.status, 200);
    const t = await res.json();
    assert.ok(t.series.length >= 3, `${t.series.length} applications`);
    for (const s of t.series) {
      const known = s.logins_per_week.filter((x) => x.logins !== null);
      assert.ok(known.length >= 3, `${s.label}: ${JSON.stringify(s.logins_per_week)}`);
      for (const x of known) {
        const tenant = t.logins_per_week.find((y) => y.week === x.week);
        assert.ok(tenant.logins !== null && x.logins <= tenant.logins, `${s.label}, week of ${x.week}: ${x.logins} > ${tenant.logins}`);
      }
    }
    const portal = t.series.find((s) => s.key === "demo-spa-portal");
    assert.ok(portal.logins_per_week.filter((x) => x.logins > 0).length >= 3, JSON.stringify(portal.logins_per_week));
  });

  test("a second replay over a D1 that already holds syncs (a persisted state) replays nothing", async () => {
    const before = (await w.db.prepare("SELECT COUNT(*) AS n FROM sync_runs").first()).n;
    assert.deepEqual(await simulateHistory(w.url.replace(/\/$/, ""), VIEWER_TOKEN, fake, DAYS), []);
    assert.equal((await w.db.prepare("SELECT COUNT(*) AS n FROM sync_runs").first()).n, before);
  });

  test("a sync at a past time, over what later syncs stored, counts nothing dated after it", async () => {
    // The present's log is read and stored; the tenant then shows its past again and a sync runs then.
    const t = Date.now() - 10 * DAY;
    const present = showPast(fake, t);
    try {
      const res = await w.authedFetch(`/api/sync?at=${t}`, { method: "POST" });
      assert.equal(res.status, 200);
      const { run } = await res.json();
      assert.ok(["succeeded", "partial"].includes(run.status), JSON.stringify(run));
    } finally {
      present();
    }
    const day = iso(t).slice(0, 10);
    const tenant = (await rows("tenant", day)).get("");
    const listed = fake.history.at(t);
    const want = truth({ takenAt: tenant.taken_at, listed, stored: new Map(listed.map((u) => [u.user_id, u])), log: fake.history.log, members: fake.members });
    const apps = await rows("application", day);
    let later = 0;
    for (const [app, a] of want.apps) {
      const got = apps.get(app);
      // The stored usage holds later events of some users: they are not counted (their use up to
      // then is unknown), never counted more.
      for (const k of ["seats", "active_30", "active_90", "logins"]) assert.ok(got[k] <= a[k], `${app} ${k}: ${got[k]} > ${a[k]}`);
      assert.equal(got.seats, a.seats, `${app}: every user who had used it by then`);
      later += a.active_30 - got.active_30;
      assert.ok(got.active_30 <= tenant.active_30, app);
    }
    assert.ok(later > 0, "some users' stored use is later than the snapshot");
  });
});
