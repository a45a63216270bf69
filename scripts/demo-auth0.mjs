// Demo Auth0 tenant on 127.0.0.1 for running the worker locally without an Auth0 account.
//
//   node scripts/demo-auth0.mjs [--port 8788] [--users 3000] [--orgs 4] [--seed 1] [--domain demo-tenant.us.auth0.com]
//
// Point the worker at it with AUTH0_BASE_URL=http://127.0.0.1:<port>, AUTH0_DOMAIN=<domain>,
// AUTH0_CLIENT_ID=demo-client-id, AUTH0_CLIENT_SECRET=demo-client-secret.

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations } from "../tests/support/fake-auth0.mjs";

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
  return startFakeAuth0({
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
