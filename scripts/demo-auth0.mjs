// Demo Auth0 tenant on 127.0.0.1 for running the worker locally without an Auth0 account.
//
//   node scripts/demo-auth0.mjs [--port 8788] [--users 3000] [--orgs 4] [--seed 1] [--domain demo-tenant.us.auth0.com]
//
// Point the worker at it with AUTH0_BASE_URL=http://127.0.0.1:<port>, AUTH0_DOMAIN=<domain>,
// AUTH0_CLIENT_ID=demo-client-id, AUTH0_CLIENT_SECRET=demo-client-secret.

import crypto from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations, mulberry32, CONNECTIONS } from "../tests/support/fake-auth0.mjs";

const DAY = 86_400_000;

export const DEMO_CLIENT_ID = "demo-client-id";
export const DEMO_CLIENT_SECRET = "demo-client-secret";
// Share of users in each organization: one large (past the 1000 offset-paging cap at 3000 users),
// then a mid-sized, a small and a tiny one.
const ORG_SHARES = [0.4, 0.1, 0.02, 0.003];

// Applications of every kind (the worker's own M2M app among them), and which connections each
// is enabled for, so that /applications shows who can reach what.
const DEMO_APPLICATIONS = [
  { client_id: "demo-spa-portal", name: "Customer portal", app_type: "spa" },
  { client_id: "demo-web-billing", name: "Billing", app_type: "regular_web" },
  { client_id: "demo-native-mobile", name: "Mobile app", app_type: "native" },
  { client_id: "demo-b2b-console", name: "Partner console", app_type: "regular_web", organization_usage: "require" },
  { client_id: DEMO_CLIENT_ID, name: "auth0-license-sync", app_type: "non_interactive" },
];
const [DB, GOOGLE, SAML, WAAD] = CONNECTIONS.map((c) => c.id);
const DEMO_ENABLED_CLIENTS = [
  [DB, ["demo-spa-portal", "demo-web-billing", "demo-b2b-console", DEMO_CLIENT_ID]],
  [GOOGLE, ["demo-spa-portal", "demo-native-mobile"]],
  [SAML, ["demo-b2b-console", "demo-web-billing"]],
  [WAAD, ["demo-b2b-console"]],
];
// The optional scopes the demo grants on top of the three the sync needs.
const DEMO_APP_SCOPES = ["read:clients", "read:connections", "read:organization_connections", "read:logs"];

// The applications the demo's log history uses, by client id (those of DEMO_APPLICATIONS). `users`:
// share of users who use the app; `perWeek`: its weight among a user's apps, for each login;
// `seen`: other events per login (silent auth, token refresh, code exchange), which count as use
// but not as logins.
export const DEMO_LOG_APPS = [
  { client_id: "demo-spa-portal", users: 0.6, perWeek: 0.5, seen: { ssa: 0.4, seacft: 0.2 } },
  { client_id: "demo-web-billing", users: 0.35, perWeek: 0.35, seen: { seacft: 0.2 } },
  { client_id: "demo-native-mobile", users: 0.2, perWeek: 0.5, seen: { sertft: 0.8 } },
  { client_id: "demo-b2b-console", users: 0.03, perWeek: 1, seen: { seacft: 0.2 } },
];
// Machine-to-machine tokens (no user): in the log, never counted as anyone's use.
const DEMO_M2M = { client_id: DEMO_CLIENT_ID, perDay: 12 };
// Days of log the demo tenant keeps: Auth0's longest retention (Enterprise).
export const DEMO_LOG_RETENTION_DAYS = 30;
// Days of log the demo makes up: the replay's default quarter (scripts/dev.mjs --history-days).
export const DEMO_LOG_DAYS = 91;

/**
 * Start the demo tenant in-process.
 * @param {{port?: number, users?: number, orgs?: number, seed?: number, domain?: string,
 *          rateLimit?: {burst: number, perSecond: number}, logDays?: number}} [opts]
 *   logDays: days of log history made up (the tenant keeps the last DEMO_LOG_RETENTION_DAYS)
 * @returns {Promise<object>} the fake (see tests/support/fake-auth0.mjs); call fake.close() to stop
 */
export async function startDemoAuth0({ port = 8788, users = 3000, orgs = 4, seed = 1, domain = "demo-tenant.us.auth0.com", rateLimit, logDays = DEMO_LOG_DAYS } = {}) {
  // Relative to the real clock so "last login 3 days ago" looks right in the UI.
  const now = new Date().toISOString();
  // A bulk import: many users share one created_at millisecond (about 1 in 15, at most 200).
  const clusterSize = Math.min(200, Math.floor(users / 15));
  const userList = makeUsers(users, { seed, now, cluster: clusterSize ? { size: clusterSize } : undefined });
  // Before the tenant serves them: it makes the users' logins agree with their past (in place).
  const history = demoHistory(userList, Date.parse(now), seed, { logDays });
  const sizes = Array.from({ length: orgs }, (_, i) => Math.max(1, Math.round(users * (ORG_SHARES[i] ?? 0.01))));
  const { organizations, members } = makeOrganizations(orgs, { seed, users: userList, sizes });
  // The first two organizations sign in through the enterprise connections and the database.
  const orgConnections = new Map(organizations.slice(0, 2).map((o, i) => [o.id, i === 0 ? [SAML, WAAD] : [DB]]));
  const fake = await startFakeAuth0({
    port,
    domain,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    users: userList,
    organizations,
    members,
    applications: DEMO_APPLICATIONS,
    enabledClients: new Map(DEMO_ENABLED_CLIENTS),
    orgConnections,
    scopes: ["read:users", "read:organizations", "read:organization_members", ...DEMO_APP_SCOPES],
    // Auth0's self-service plan levels for the Management API: burst 40, 500/min (~8/s).
    rateLimit: rateLimit ?? { burst: 40, perSecond: 8 },
  });
  for (const e of history.log) fake.logEvent(e);
  // The same objects (with their log_ids), for the past's views of the log.
  history.log = fake.logs.slice();
  fake.history = history;
  showLog(fake, history.log, Date.parse(now));
  return fake;
}

/**
 * Shows the tenant's log as it stood at `ms`: the events of `log` dated up to then, of which the
 * tenant keeps the last DEMO_LOG_RETENTION_DAYS (older ones answer as Auth0's retention does).
 */
function showLog(fake, log, ms) {
  const visible = log.filter((e) => Date.parse(e.date) <= ms);
  const keepFrom = ms - DEMO_LOG_RETENTION_DAYS * DAY;
  fake.logs = visible;
  fake.logsKeptFrom = Math.max(0, visible.findIndex((e) => Date.parse(e.date) >= keepFrom));
  if (visible.length && Date.parse(visible.at(-1).date) < keepFrom) fake.logsKeptFrom = visible.length;
}

/**
 * Shows the demo tenant as it was at `ms` (its users and its log then), for a sync at that
 * simulated time; returns a function that shows the present again (with whatever changed in it
 * meanwhile). A sync then finds only what could have been there: no user created later, no login
 * or log event dated later.
 * @returns {() => void}
 */
export function showPast(fake, ms) {
  const present = { users: fake.users, logs: fake.logs, keptFrom: fake.logsKeptFrom };
  fake.users = fake.history.at(ms);
  showLog(fake, fake.history.log, ms);
  return () => {
    fake.users = present.users;
    fake.logs = present.logs;
    fake.logsKeptFrom = present.keptFrom;
  };
}

/**
 * The demo tenant's past, for syncs at simulated times (scripts/dev.mjs runs them at start-up so the
 * trend charts have a quarter of history). Made up, but consistent: a user exists from created_at on;
 * a few extra users leave during the quarter; blocked users were blocked at some day of it; a user's
 * logins before their last one are spread back at a cadence of their own, never before created_at,
 * and each login of the last `logDays` days is an `s` event in the log, through one of the
 * applications the user uses (DEMO_LOG_APPS), followed by the events that mean "seen". So at any
 * time the log up to then and the users then agree: every login the log holds is in the user's
 * last_login and logins_count. Nobody logs in while blocked, nor in the 8 days before leaving (so a
 * weekly sync lists every login of a leaver before the leaver is gone). To agree with it, `users`'
 * last_login and logins_count are changed in place where they say otherwise.
 * @returns {{at(ms: number): object[], log: {type: string, date: string, client_id: string, user_id?: string}[]}}
 *   `at`: the users as the tenant listed them at `ms`; `log`: the events, oldest first
 */
export function demoHistory(users, nowMs, seed = 1, { logDays = DEMO_LOG_DAYS, apps = DEMO_LOG_APPS } = {}) {
  const rand = mulberry32(seed * 7919 + 17);
  const leavers = makeUsers(Math.max(1, Math.floor(users.length * 0.03)), { seed: seed + 1000, now: new Date(nowMs).toISOString() })
    .map((u) => ({ ...u, user_id: `${u.user_id}-left`, leftAt: nowMs - Math.floor((5 + rand() * 80) * DAY) }));
  const plan = [...users, ...leavers].map((u) => ({
    u,
    blockedAt: u.blocked ? nowMs - Math.floor(rand() * 90 * DAY) : null,
    cadence: Math.floor((1 + rand() * 13) * DAY),
  }));
  for (const { u, blockedAt, cadence } of plan) {
    // At most the logins the cadence fits since created_at (no account created with 300 logins).
    if (u.last_login) {
      const fits = Math.floor((Date.parse(u.last_login) - Date.parse(u.created_at)) / cadence) + 1;
      u.logins_count = Math.min(u.logins_count ?? 0, Math.max(0, fits));
    }
    const until = Math.min(blockedAt ?? Infinity, u.leftAt ? u.leftAt - 8 * DAY : Infinity);
    if (until < Infinity) Object.assign(u, loginsUntil(u, cadence, until));
    if (!u.last_login) delete u.last_login;
  }
  return {
    at(ms) {
      const out = [];
      for (const { u, blockedAt, cadence } of plan) {
        if (Date.parse(u.created_at) > ms || (u.leftAt && u.leftAt <= ms)) continue;
        const v = { ...u, ...loginsUntil(u, cadence, ms) };
        delete v.leftAt;
        if (!v.last_login) delete v.last_login;
        if (blockedAt && blockedAt > ms) delete v.blocked;
        out.push(v);
      }
      return out;
    },
    log: loginLog(plan, nowMs, seed, logDays, apps),
  };
}

/**
 * A user's last_login and logins_count at `ms`: the logins after it (one a cadence back from the
 * last) taken away; none left, or one before created_at, means never logged in.
 * @returns {{last_login?: string, logins_count?: number}}
 */
function loginsUntil(u, cadence, ms) {
  const last = u.last_login ? Date.parse(u.last_login) : null;
  if (!last || last <= ms) return {};
  const steps = Math.ceil((last - ms) / cadence);
  const then = last - steps * cadence;
  const logins = Math.max(0, (u.logins_count ?? 0) - steps);
  if (then < Date.parse(u.created_at) || logins === 0) return { last_login: undefined, logins_count: 0 };
  return { last_login: new Date(then).toISOString(), logins_count: logins };
}

/**
 * The log of the last `days` days of `plan`'s logins (the instants `at` gives: the last login, then
 * back one cadence per earlier login, never before created_at), oldest first: an `s` event per
 * login through one of the user's applications, the "seen" events after it (never after now or
 * the user's leaving), a few failed logins, and M2M tokens (`seccft`, no user).
 */
function loginLog(plan, nowMs, seed, days, apps) {
  const r = mulberry32(seed * 7919 + 29);
  const start = nowMs - days * DAY;
  const iso = (ms) => new Date(ms).toISOString();
  const events = [];
  for (const { u, cadence, blockedAt } of plan) {
    if (!u.last_login) continue;
    const created = Date.parse(u.created_at);
    // "Seen" events (a few hours after a login) end when the user leaves or is blocked.
    const end = Math.min(nowMs, u.leftAt ? u.leftAt - 1 : Infinity, blockedAt ?? Infinity);
    const used = apps.filter((a) => r() < a.users);
    if (!used.length) used.push(apps[0]);
    const weight = used.reduce((n, a) => n + a.perWeek, 0);
    const last = Date.parse(u.last_login);
    for (let k = 0; k < (u.logins_count ?? 0); k++) {
      const t = last - k * cadence;
      if (t < created || t < start) break;
      if (t > end) continue;
      let x = r() * weight;
      const app = used.find((a) => (x -= a.perWeek) < 0) ?? used[0];
      if (r() < 0.05) events.push({ type: r() < 0.5 ? "f" : "fp", date: iso(Math.max(start, t - 1 - Math.floor(r() * 60_000))), client_id: app.client_id, user_id: u.user_id });
      events.push({ type: "s", date: iso(t), client_id: app.client_id, user_id: u.user_id });
      for (const [type, rate] of Object.entries(app.seen)) {
        for (let n = 0; n < rate * 2 * r(); n++) {
          events.push({ type, date: iso(Math.min(end, t + Math.floor(r() * 8 * 3_600_000))), client_id: app.client_id, user_id: u.user_id });
        }
      }
    }
  }
  for (let d = 0; d < days * DEMO_M2M.perDay; d++) events.push({ type: "seccft", date: iso(start + Math.floor(r() * (nowMs - start))), client_id: DEMO_M2M.client_id });
  return events.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

// Names a demo user may take when they change theirs.
const NEW_GIVEN = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Quinn", "Avery"];
const NEW_FAMILY = ["Okonkwo", "Lindqvist", "Moreau", "Tanaka", "Novak", "Abebe", "Kowalski", "Silva", "Brennan", "Yilmaz"];

/**
 * Live activity on the demo tenant, for `npm run dev`'s pushes. Each `round(nowMs)` changes the
 * tenant the way Auth0 would and returns what its Log Stream and Event Stream would post about it:
 * - `logins` successful logins (`s`) appended to the tenant's log, the same objects (same log_id)
 *   that polling reads, each with the user's profile updated as a login updates it (last_login,
 *   logins_count, updated_at) and a `user.updated` event carrying that profile;
 * - one user who changed their name, or now and then was blocked or unblocked (`user.updated`);
 * - every `createEvery`-th round, a new user (`user.created`).
 * What is pushed is exactly what the tenant then holds, so the next sync finds nothing to change.
 * Log ids and event ids come from the clock and chance, not a counter: a later run on the same
 * local D1 (which remembers the ids it counted) still counts them.
 * @returns {{round(nowMs?: number): {logs: object[], events: object[], renamed: {user_id: string, name: string}|null}}}
 */
export function demoActivity(fake, { seed = 1, logins = 3, createEvery = 4 } = {}) {
  const r = mulberry32(seed * 104_729 + 3);
  const pick = (a) => a[Math.floor(r() * a.length)];
  let lastMs = 0;
  let rounds = 0;
  // Strictly increasing instants: every change gets an updated_at newer than the one before.
  const tick = (nowMs) => (lastMs = Math.max(nowMs, lastMs + 1));
  const iso = (ms) => new Date(ms).toISOString();
  const cloudEvent = (type, user, ms) => ({
    specversion: "1.0",
    id: `evt_${crypto.randomBytes(11).toString("hex")}`,
    type,
    source: `urn:auth0:${fake.domain}`,
    time: iso(ms),
    a0tenant: fake.domain.split(".")[0],
    a0stream: "est_demo",
    data: { object: structuredClone(user) },
  });
  return {
    round(nowMs = Date.now()) {
      rounds += 1;
      const logs = [];
      const events = [];
      let renamed = null;
      const users = fake.users;
      if (!users.length) return { logs, events, renamed };
      for (let i = 0; i < logins; i++) {
        const u = pick(users);
        const app = pick(DEMO_LOG_APPS);
        const ms = tick(nowMs);
        const date = iso(ms);
        const e = fake.logEvent({ type: "s", date, client_id: app.client_id, user_id: u.user_id });
        // Same width as the log's other ids (27 digits), above them and in time order: `tick`
        // never gives the same instant twice.
        e.log_id = `900${String(ms).padStart(24, "0")}`;
        logs.push(e);
        Object.assign(u, { last_login: date, logins_count: (u.logins_count ?? 0) + 1, updated_at: date });
        events.push(cloudEvent("user.updated", u, ms));
      }
      const u = pick(users);
      const ms = tick(nowMs);
      if (r() < 0.25) {
        u.blocked = !u.blocked;
      } else {
        const given = pick(NEW_GIVEN);
        const family = pick(NEW_FAMILY);
        // Database users carry no given/family name (Auth0 shows the email as the name).
        if (u.given_name !== undefined) u.given_name = given;
        if (u.family_name !== undefined) u.family_name = family;
        u.name = `${given} ${family}`;
        renamed = { user_id: u.user_id, name: u.name };
      }
      u.updated_at = iso(ms);
      events.push(cloudEvent("user.updated", u, ms));
      if (createEvery > 0 && rounds % createEvery === 0) {
        const created = tick(nowMs);
        const [fresh] = makeUsers(1, { seed: Math.floor(r() * 1e9) + 1, now: iso(created) });
        const id = crypto.randomBytes(12).toString("hex");
        fresh.user_id = `auth0|${id}`;
        // A sign-up on the database connection, which names the user by their email.
        fresh.identities = [{ connection: "Username-Password-Authentication", provider: "auth0", user_id: id, isSocial: false }];
        fresh.email = `${(fresh.email ?? "new.user@example.com").split("@")[0]}.${id.slice(0, 4)}@example.com`;
        Object.assign(fresh, { email_verified: false, name: fresh.email, created_at: iso(created), updated_at: iso(created) });
        for (const k of ["given_name", "family_name", "last_login", "last_ip", "logins_count", "blocked"]) delete fresh[k];
        users.push(fresh);
        events.push(cloudEvent("user.created", fresh, created));
      }
      return { logs, events, renamed };
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8788" },
      users: { type: "string", default: "3000" },
      orgs: { type: "string", default: "4" },
      seed: { type: "string", default: "1" },
      domain: { type: "string", default: "demo-tenant.us.auth0.com" },
    },
  });
  const num = (name) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer, got ${values[name]}`);
    return v;
  };
  const fake = await startDemoAuth0({ port: num("port"), users: num("users"), orgs: num("orgs"), seed: num("seed"), domain: values.domain });
  console.log(`demo Auth0 tenant listening on ${fake.url} (domain ${fake.domain})`);
  const stop = async () => {
    await fake.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`demo-auth0: ${e.message}`);
    process.exit(1);
  });
}
