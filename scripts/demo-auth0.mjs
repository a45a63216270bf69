// Demo Auth0 tenant on 127.0.0.1 for running the worker locally without an Auth0 account.
//
//   node scripts/demo-auth0.mjs [--port 8788] [--users 3000] [--orgs 4] [--seed 1] [--domain demo-tenant.us.auth0.com]
//
// Point the worker at it with AUTH0_BASE_URL=http://127.0.0.1:<port>, AUTH0_DOMAIN=<domain>,
// AUTH0_CLIENT_ID=demo-client-id, AUTH0_CLIENT_SECRET=demo-client-secret.

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations, mulberry32 } from "../tests/support/fake-auth0.mjs";

const DAY = 86_400_000;

export const DEMO_CLIENT_ID = "demo-client-id";
export const DEMO_CLIENT_SECRET = "demo-client-secret";
// Share of users in each organization: one large (past the 1000 offset-paging cap at 3000 users),
// then a mid-sized, a small and a tiny one.
const ORG_SHARES = [0.4, 0.1, 0.02, 0.003];

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
  const fake = await startFakeAuth0({
    port,
    domain,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    users: userList,
    organizations,
    members,
    // Auth0's self-service plan levels for the Management API: burst 40, 500/min (~8/s).
    rateLimit: rateLimit ?? { burst: 40, perSecond: 8 },
  });
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
