// Trend snapshots in the built worker: scripted syncs over several simulated days (TEST_CLOCK with
// the cron event's scheduledTime), the fake tenant changing between them; each day's snapshot
// must equal what the tenant held at that sync, and /api/trends must serve the same figures.
// Every time is simulated, "today" included: reads carry `x-test-clock`, so nothing depends on
// the wall clock (the test once broke across UTC midnight).

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { requireBuiltWorker } from "./support/worker.mjs";
import { startTenant } from "./support/tenant.mjs";

requireBuiltWorker();

const VIEWER_TOKEN = "trends-viewer-token";
const DAY = 86_400_000;
const TODAY0 = Date.parse("2026-03-10T00:00:00.000Z");
// The simulated "now": the last sync's time and every read's.
const NOW_MS = TODAY0 + 15 * 3600_000 + 42_000;
const iso = (ms) => new Date(ms).toISOString();
const dayText = (ms) => iso(ms).slice(0, 10);
// Simulated sync times: noon of the three days before today, then NOW_MS.
const SYNC_AT = [TODAY0 - 3 * DAY + 12 * 3600_000, TODAY0 - 2 * DAY + 12 * 3600_000, TODAY0 - DAY + 12 * 3600_000];
const HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>";

function user(id, createdMs, lastLoginMs, logins, connection = "Username-Password-Authentication") {
  return {
    user_id: `auth0|${id}`,
    email: `${id}@example.com`,
    name: id,
    created_at: iso(createdMs),
    updated_at: iso(createdMs),
    ...(lastLoginMs == null ? {} : { last_login: iso(lastLoginMs) }),
    logins_count: logins,
    identities: [{ connection, provider: "auth0", user_id: id, isSocial: false }],
  };
}

/** What the snapshot of a sync at `nowMs` must hold, from the fake tenant's users then. */
function expected(users, removedThatDay, loginsOfRemoved, nowMs) {
  const day0 = Math.floor(nowMs / DAY) * DAY;
  const within = (u, days) => u.last_login && Date.parse(u.last_login) >= nowMs - days * DAY;
  return {
    seats: users.length,
    active: users.filter((u) => !u.blocked).length,
    blocked: users.filter((u) => u.blocked).length,
    removed: removedThatDay,
    added: users.filter((u) => Date.parse(u.created_at) >= day0 && Date.parse(u.created_at) < day0 + DAY).length,
    active_30: users.filter((u) => within(u, 30)).length,
    active_90: users.filter((u) => within(u, 90)).length,
    never: users.filter((u) => !u.last_login).length,
    logins: users.reduce((n, u) => n + (u.logins_count ?? 0), 0) + loginsOfRemoved,
  };
}

describe("trend snapshots over simulated days", () => {
  let fake, w;
  const truth = new Map(); // day -> expected figures
  const t0 = SYNC_AT[0];

  before(async () => {
    const users = [
      user("a", t0 - 400 * DAY, t0 - 2 * DAY, 10),
      user("b", t0 - 400 * DAY, t0 - 45 * DAY, 3),
      user("c", t0 - 100 * DAY, null, 0, "google-oauth2"),
      user("d", t0 - 700 * DAY, t0 - 500 * DAY, 1),
    ];
    ({ fake, w } = await startTenant({
      users,
      organizations: [{ id: "org_hostile", name: "hostile", display_name: HOSTILE }],
      members: new Map([["org_hostile", ["auth0|a", "auth0|b"]]]),
    }, { VIEWER_TOKEN, TEST_CLOCK: "scheduled-time" }));
  });
  after(async () => { await w?.close(); await fake?.close(); });

  /** A viewer's request at the simulated NOW_MS. */
  const read = (p) => w.authedFetch(p, { headers: { "x-test-clock": String(NOW_MS) } });

  async function syncAt(ms) {
    const worker = await w.mf.getWorker();
    await worker.scheduled({ cron: "*/15 * * * *", scheduledTime: new Date(ms) });
    const { runs } = await (await read("/api/sync-runs?limit=1")).json();
    assert.equal(runs[0].status, "succeeded", JSON.stringify(runs[0]));
    return runs[0];
  }

  async function snapshot(day) {
    return w.db.prepare("SELECT * FROM trend_days WHERE scope = 'tenant' AND key = '' AND day = ?").bind(day).first();
  }

  test("day by day, each snapshot equals the tenant at its sync", async () => {
    // Day 1: the first sync ever.
    let run = await syncAt(SYNC_AT[0]);
    assert.ok(run.started_at.startsWith(dayText(SYNC_AT[0])), `the run ran at the simulated time: ${run.started_at}`);
    truth.set(dayText(SYNC_AT[0]), expected(fake.users, 0, 0, SYNC_AT[0]));

    // Day 2: e is created and logs in, b is blocked, a logs in twice more; a morning sync, then
    // the day's last one overwrites it.
    await syncAt(SYNC_AT[1] - 6 * 3600_000);
    fake.users.push(user("e", SYNC_AT[1] - 3600_000, SYNC_AT[1] - 1800_000, 1, "google-oauth2"));
    fake.users[1].blocked = true;
    fake.users[0].logins_count = 12;
    fake.users[0].last_login = iso(SYNC_AT[1] - 600_000);
    run = await syncAt(SYNC_AT[1]);
    truth.set(dayText(SYNC_AT[1]), expected(fake.users, 0, 0, SYNC_AT[1]));

    // Day 3: d leaves the tenant.
    const d = fake.users.findIndex((u) => u.user_id === "auth0|d");
    const [gone] = fake.users.splice(d, 1);
    run = await syncAt(SYNC_AT[2]);
    assert.equal(run.users_removed, 1);
    truth.set(dayText(SYNC_AT[2]), expected(fake.users, 1, gone.logins_count, SYNC_AT[2]));

    // Today, at the simulated now.
    run = await syncAt(NOW_MS);
    assert.equal(run.started_at.slice(0, 16), iso(NOW_MS).slice(0, 16), "the run ran at the simulated now");
    truth.set(dayText(NOW_MS), expected(fake.users, 0, gone.logins_count, NOW_MS));

    for (const [day, want] of truth) {
      const row = await snapshot(day);
      assert.ok(row, `a snapshot for ${day}`);
      assert.equal(row.derived, 0);
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, row[k]]));
      assert.deepEqual(got, want, `snapshot of ${day}`);
    }
    const observed = await w.db.prepare("SELECT COUNT(*) AS n FROM trend_days WHERE scope = 'tenant' AND derived = 0").first();
    assert.equal(observed.n, 4, "one row per day, the day's later sync overwrote its first");
    // Before tracking: seats created per day, derived from created_at.
    const derived = (await w.db.prepare("SELECT day, added, seats FROM trend_days WHERE scope = 'tenant' AND derived = 1 ORDER BY day").all()).results;
    assert.deepEqual(derived.map((r) => r.day), [dayText(t0 - 700 * DAY), dayText(t0 - 400 * DAY), dayText(t0 - 100 * DAY)]);
    assert.deepEqual(derived.map((r) => [r.added, r.seats]), [[1, 1], [2, 3], [1, 4]]);
  });

  test("/api/trends serves the same figures, per organization too", async () => {
    const res = await read("/api/trends?days=90&by=organization");
    assert.equal(res.status, 200);
    const t = await res.json();
    assert.equal(t.days, 90);
    assert.equal(t.to, dayText(NOW_MS));
    assert.equal(t.tracking_since, dayText(SYNC_AT[0]));
    for (const [day, want] of truth) {
      const p = t.tenant.find((x) => x.day === day);
      assert.ok(p && !p.derived, `point ${day}`);
      assert.deepEqual(
        [p.seats, p.active, p.blocked, p.removed, p.added, p.active_30, p.active_90, p.never_logged_in, p.logins_total],
        [want.seats, want.active, want.blocked, want.removed, want.added, want.active_30, want.active_90, want.never, want.logins],
      );
    }
    // Logins per week: unknown before tracking, never negative.
    assert.ok(t.logins_per_week.length >= 13);
    assert.ok(t.logins_per_week.every((x) => x.logins === null || x.logins >= 0));
    assert.equal(t.logins_per_week[0].logins, null);
    // The reclaim curve of today's snapshot adds up to today's seats.
    const today = truth.get(dayText(NOW_MS));
    assert.equal(t.reclaim.buckets.reduce((n, b) => n + b.users, 0), today.seats);
    assert.equal(t.reclaim.buckets.at(-1).users, today.never);
    const org = t.series.find((s) => s.key === "org_hostile");
    assert.equal(org.label, HOSTILE, "the name is served as it is, JSON-escaped");
    assert.ok(org.points.every((p) => p.seats === 2));

    // The dashboard draws it, the name inert.
    const html = await (await read("/")).text();
    assert.ok(html.includes("Members over time, per organization"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(!html.includes("<script>") && !html.includes("<img"));
  });

  test("bad parameters get a 400 naming them", async () => {
    for (const [q, name] of [["days=0", "days"], ["days=abc", "days"], ["days=5000", "days"], ["by=users", "by"], ["by=%FF", "query"]]) {
      const res = await read(`/api/trends?${q}`);
      assert.equal(res.status, 400, q);
      const { error } = await res.json();
      assert.ok(error.includes(`\`${name}\``), `${q}: ${error}`);
    }
    const open = await w.fetch("/api/trends");
    assert.ok([401, 403].includes(open.status));
    await open.arrayBuffer();
  });

  test("the reclaim bars' filter lists exactly those users", async () => {
    const res = await read("/api/users?last_login_days=30-60&limit=100");
    assert.equal(res.status, 200);
    const { users } = await res.json();
    // b logged in 45 days before day 1: between 30 and 60 days ago now.
    assert.deepEqual(users.map((u) => u.user_id), ["auth0|b"]);
    const age = (NOW_MS - Date.parse(users[0].last_login)) / DAY;
    assert.ok(age > 30 && age <= 60, `${age} days`);
    const old = await (await read("/api/users?last_login_days=365-")).json();
    assert.deepEqual(old.users.map((u) => u.user_id), [], "d, the only one, was removed");
    const bad = await read("/api/users?last_login_days=60-30");
    assert.equal(bad.status, 400);
    await bad.arrayBuffer();
  });
});
