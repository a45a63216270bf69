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

// The applications the demo's log history uses, by client id (those of DEMO_APPLICATIONS). `users`: share of users who use
// the app; `perWeek`: logins a week of an active user; `seen`: other events per login (silent
// auth, token refresh, code exchange), which count as use but not as logins.
export const DEMO_LOG_APPS = [
  { client_id: "demo-spa-portal", users: 0.6, perWeek: 0.5, seen: { ssa: 0.4, seacft: 0.2 } },
  { client_id: "demo-web-billing", users: 0.35, perWeek: 0.35, seen: { seacft: 0.2 } },
  { client_id: "demo-native-mobile", users: 0.2, perWeek: 0.5, seen: { sertft: 0.8 } },
  { client_id: "demo-b2b-console", users: 0.03, perWeek: 1, seen: { seacft: 0.2 } },
];
// Machine-to-machine tokens (no user): in the log, never counted as anyone's use.
const DEMO_M2M = { client_id: DEMO_CLIENT_ID, perDay: 12 };

/**
 * A few weeks of log history for `users`, oldest first: logins (`s`) and the events that mean
 * "seen" per DEMO_LOG_APPS, some failed logins (`f`, `fp`), and M2M tokens (`seccft`).
 * @returns {{type: string, date: string, client_id: string, user_id?: string}[]}
 */
export function makeLoginHistory(users, { seed = 1, now = new Date().toISOString(), days = 21, apps = DEMO_LOG_APPS } = {}) {
  const r = mulberry32(seed * 7919 + 17);
  const end = Date.parse(now);
  const start = end - days * 86_400_000;
  const at = () => new Date(start + Math.floor(r() * (end - start))).toISOString();
  const events = [];
  for (const u of users) {
    // Some accounts are dormant: seats to reclaim.
    if (r() < 0.2) continue;
    for (const app of apps) {
      if (r() >= app.users) continue;
      const logins = Math.max(1, Math.round(app.perWeek * (days / 7) * r() * r() * 2));
      for (let i = 0; i < logins; i++) {
        const date = at();
        events.push({ type: "s", date, client_id: app.client_id, user_id: u.user_id });
        for (const [type, rate] of Object.entries(app.seen)) {
          for (let k = 0; k < rate * 2 * r(); k++) {
            const later = new Date(Math.min(end, Date.parse(date) + Math.floor(r() * 8 * 3_600_000))).toISOString();
            events.push({ type, date: later, client_id: app.client_id, user_id: u.user_id });
          }
        }
      }
      if (r() < 0.1) events.push({ type: r() < 0.5 ? "f" : "fp", date: at(), client_id: app.client_id, user_id: u.user_id });
    }
  }
  for (let d = 0; d < days * DEMO_M2M.perDay; d++) events.push({ type: "seccft", date: at(), client_id: DEMO_M2M.client_id });
  return events.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/**
 * Start the demo tenant in-process.
 * @param {{port?: number, users?: number, orgs?: number, seed?: number, domain?: string,
 *          rateLimit?: {burst: number, perSecond: number}}} [opts]
 * @returns {Promise<object>} the fake (see tests/support/fake-auth0.mjs); call fake.close() to stop
 */
export async function startDemoAuth0({ port = 8788, users = 3000, orgs = 4, seed = 1, domain = "demo-tenant.us.auth0.com", rateLimit } = {}) {
  // Relative to the real clock so "last login 3 days ago" looks right in the UI.
  const now = new Date().toISOString();
  // A bulk import: many users share one created_at millisecond (about 1 in 15, at most 200).
  const clusterSize = Math.min(200, Math.floor(users / 15));
  const userList = makeUsers(users, { seed, now, cluster: clusterSize ? { size: clusterSize } : undefined });
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
  for (const e of makeLoginHistory(userList, { seed, now })) fake.logEvent(e);
  fake.history = demoHistory(userList, Date.parse(now), seed);
  return fake;
}

/**
 * The demo tenant's past, for syncs at simulated times (scripts/dev.mjs runs them at start-up so the
 * trend charts have a quarter of history). Made up, but consistent: a user exists from created_at on;
 * a few extra users leave during the quarter; blocked users were blocked at some day of it; a user's
 * logins before their last one are spread back at a cadence of their own.
 * @returns {{at(ms: number): object[]}} the users as the tenant listed them at `ms`
 */
export function demoHistory(users, nowMs, seed = 1) {
  const rand = mulberry32(seed * 7919 + 17);
  const leavers = makeUsers(Math.max(1, Math.floor(users.length * 0.03)), { seed: seed + 1000, now: new Date(nowMs).toISOString() })
    .map((u) => ({ ...u, user_id: `${u.user_id}-left`, leftAt: nowMs - Math.floor((5 + rand() * 80) * DAY) }));
  const plan = [...users, ...leavers].map((u) => ({
    u,
    blockedAt: u.blocked ? nowMs - Math.floor(rand() * 90 * DAY) : null,
    cadence: Math.floor((1 + rand() * 13) * DAY),
  }));
  return {
    at(ms) {
      const out = [];
      for (const { u, blockedAt, cadence } of plan) {
        if (Date.parse(u.created_at) > ms || (u.leftAt && u.leftAt <= ms)) continue;
        const v = { ...u };
        delete v.leftAt;
        if (blockedAt && blockedAt > ms) delete v.blocked;
        const last = v.last_login ? Date.parse(v.last_login) : null;
        if (last && last > ms) {
          const steps = Math.ceil((last - ms) / cadence);
          const then = last - steps * cadence;
          const logins = Math.max(0, (v.logins_count ?? 0) - steps);
          if (then < Date.parse(v.created_at) || logins === 0) {
            delete v.last_login;
            v.logins_count = 0;
          } else {
            v.last_login = new Date(then).toISOString();
            v.logins_count = logins;
          }
        }
        out.push(v);
      }
      return out;
    },
  };
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
