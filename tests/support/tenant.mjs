// Shared helpers of the workerd tests: a fake tenant with the worker pointed at it, and what D1 must hold.

import { startFakeAuth0 } from "./fake-auth0.mjs";
import { startWorker, tenantBindings } from "./worker.mjs";

/** A fake Auth0 tenant and the built worker syncing it; `bindings` adds VIEWER_TOKEN, vars… */
export async function startTenant(fakeOpts = {}, bindings = {}) {
  const fake = await startFakeAuth0(fakeOpts);
  const w = await startWorker({ bindings: tenantBindings(fake, bindings) });
  return { fake, w };
}

/** The `users` row D1 must hold for one Auth0 user (columns the sync derives from Auth0). */
export function expectedUserRow(u) {
  return {
    user_id: u.user_id,
    email: u.email ?? null,
    name: u.name ?? null,
    connection: u.identities[0].connection,
    connections: u.identities.map((i) => i.connection),
    last_login: u.last_login ?? null,
    logins_count: u.logins_count ?? 0,
    created_at: u.created_at,
    updated_at: u.updated_at,
    blocked: u.blocked ? 1 : 0,
    email_verified: u.email_verified === undefined ? null : u.email_verified ? 1 : 0,
  };
}

/** D1's current memberships: org id -> sorted member ids. */
export async function storedMemberships(db) {
  const { results } = await db
    .prepare("SELECT org_id, user_id FROM memberships WHERE removed_at IS NULL ORDER BY org_id, user_id")
    .all();
  const out = new Map();
  for (const r of results) out.set(r.org_id, [...(out.get(r.org_id) ?? []), r.user_id]);
  return out;
}

/** The fake's memberships in the same shape, organizations without members left out. */
export function truthMemberships(fake) {
  const out = new Map();
  for (const o of [...fake.organizations].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const ids = [...new Set(fake.members.get(o.id) ?? [])].sort();
    if (ids.length) out.set(o.id, ids);
  }
  return out;
}

/** Log event types that count as using an application (src/usage/mod.rs SEEN_TYPES). */
export const SEEN_TYPES = ["s", "ssa", "sertft", "seacft", "sepft", "seotpft", "seoobft", "sercft", "sens"];

/** The app_usage rows a list of log events means, computed the plain way. */
export function usageFromLog(events) {
  const rows = new Map();
  for (const e of events) {
    if (!e.user_id || !e.client_id || !SEEN_TYPES.includes(e.type)) continue;
    const key = `${e.user_id}\u0000${e.client_id}`;
    const row = rows.get(key) ?? { user_id: e.user_id, client_id: e.client_id, last_login: null, logins: 0, last_seen: null, first_used: null };
    if (e.type === "s") {
      row.logins += 1;
      if (!row.last_login || e.date > row.last_login) row.last_login = e.date;
    }
    if (!row.last_seen || e.date > row.last_seen) row.last_seen = e.date;
    if (!row.first_used || e.date < row.first_used) row.first_used = e.date;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : a.client_id < b.client_id ? -1 : 1));
}

/** D1's app_usage rows, in the order usageFromLog gives. */
export async function storedUsage(db) {
  const { results } = await db.prepare(
    "SELECT user_id, client_id, last_login, logins, last_seen, first_used FROM app_usage ORDER BY user_id, client_id",
  ).all();
  return results;
}

/** Runs (or continues) manual syncs until the run ends; returns it and the invocations it took. */
export async function syncToEnd(w) {
  for (let calls = 1; calls < 200; calls++) {
    const res = await w.authedFetch("/api/sync", { method: "POST" });
    if (res.status !== 200) throw new Error(`POST /api/sync answered ${res.status}: ${await res.text()}`);
    const { run } = await res.json();
    if (run.status !== "running") return { run, calls };
  }
  throw new Error("the run never finished");
}

/**
 * Fires the sync cron once at simulated time `ms` (TEST_CLOCK) and returns the newest run, which
 * must have ended in that one invocation.
 */
export async function tickOnce(w, ms, cron = "*/10 * * * *") {
  const { outcome } = await w.scheduled(cron, new Date(ms));
  if (outcome !== "ok") throw new Error(`the scheduled event ended ${outcome}`);
  const { runs } = await (await w.authedFetch("/api/sync-runs?limit=1")).json();
  if (runs[0].status === "running") throw new Error("one invocation is enough here, but the run is still running");
  return runs[0];
}
