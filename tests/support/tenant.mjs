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
