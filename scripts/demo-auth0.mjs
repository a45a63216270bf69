// Demo Auth0 tenant on 127.0.0.1 for running the worker locally without an Auth0 account.
//
//   node scripts/demo-auth0.mjs [--port 8788] [--users 3000] [--orgs 4] [--seed 1] [--domain demo-tenant.us.auth0.com]
//
// Point the worker at it with AUTH0_BASE_URL=http://127.0.0.1:<port>, AUTH0_DOMAIN=<domain>,
// AUTH0_CLIENT_ID=demo-client-id, AUTH0_CLIENT_SECRET=demo-client-secret.

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startFakeAuth0, makeUsers, makeOrganizations, CONNECTIONS } from "../tests/support/fake-auth0.mjs";

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
const DEMO_APP_SCOPES = ["read:clients", "read:connections", "read:organization_connections"];

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
  return startFakeAuth0({
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
