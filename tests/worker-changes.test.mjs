// End to end in workerd: the access change history a scripted sequence of tenant changes writes
// (exactly, nothing more), a retried run that failed mid-way writing nothing twice, and
// /api/changes, /changes.csv and /changes over what D1 holds.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { makeUsers, makeOrganizations } from "./support/fake-auth0.mjs";
import { requireBuiltWorker, parseCsv } from "./support/worker.mjs";
import { startTenant } from "./support/tenant.mjs";

const NOW = "2025-06-01T12:00:00.000Z";
const VIEWER_TOKEN = "viewer-secret-token";
// Throws when build/ is missing: these tests then fail with the reason, never skip.
requireBuiltWorker();

async function sync(w) {
  const res = await w.authedFetch("/api/sync", { method: "POST" });
  assert.equal(res.status, 200);
  return (await res.json()).run;
}

const who = (u) => (u.email ? `${u.email} (${u.user_id})` : u.user_id);
const orgLabel = (o) => `${o.display_name ?? o.name} (${o.id})`;

/** The events of D1 written after id `from`, sorted, as the test states them. */
async function eventsAfter(db, from) {
  const { results } = await db
    .prepare("SELECT id, run_id, type, user_id, org_id, detail, baseline FROM access_events WHERE id > ? ORDER BY id")
    .bind(from)
    .all();
  return results;
}
const shape = (rows) => rows.map((e) => [e.run_id, e.type, e.user_id, e.org_id, e.detail]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe("the change history end to end", () => {
  let fake, w;
  // Two user blocks: a change in each, so a run can fail between them.
  const users = makeUsers(1500, { seed: 77, now: NOW });
  const { organizations, members } = makeOrganizations(2, { seed: 77, users, sizes: [6, 3] });
  before(async () => ({ fake, w } = await startTenant({ users: [...users], organizations, members }, { VIEWER_TOKEN })));
  after(async () => { await w?.close(); await fake?.close(); });

  const byCreated = [...users].sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  const find = (id) => fake.users.find((u) => u.user_id === id);
  let last = 0;
  async function expectRun(run, expected) {
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const rows = await eventsAfter(w.db, last);
    assert.deepEqual(shape(rows), shape(expected.map(([type, u, detail, org]) => ({ run_id: run.id, type, user_id: u?.user_id ?? null, org_id: org?.id ?? null, detail }))));
    if (rows.length) last = rows.at(-1).id;
  }

  test("the first sync records one baseline", async () => {
    const run = await sync(w);
    const rows = await eventsAfter(w.db, 0);
    assert.deepEqual(rows.map((e) => [e.type, e.detail, e.baseline, e.user_id]), [
      ["baseline", "first sync: 1500 users, 2 organizations recorded", 1, null],
    ]);
    await expectRun(run, [["baseline", null, "first sync: 1500 users, 2 organizations recorded"]]);
  });

  test("added, blocked, connection changed, joined and left: each once, with the run", async () => {
    const added = { ...byCreated[10], user_id: "auth0|added-later", email: "late@example.com", created_at: "2025-05-30T00:00:00.000Z" };
    fake.users.push(added);
    const blocked = find(byCreated[20].user_id);
    blocked.blocked = true;
    const moved = find(byCreated[30].user_id);
    const from = moved.identities[0].connection;
    moved.identities = [{ ...moved.identities[0], connection: "moved-conn" }];
    const org = organizations[0];
    const leaver = fake.members.get(org.id)[0];
    const joiner = byCreated.find((u) => !fake.members.get(org.id).includes(u.user_id));
    fake.members.set(org.id, [...fake.members.get(org.id).slice(1), joiner.user_id]);
    const run = await sync(w);
    await expectRun(run, [
      ["user_added", added, `added: ${who(added)}`],
      ["user_blocked", blocked, `blocked: ${who(blocked)}`],
      ["connection_changed", moved, `primary connection changed: ${who(moved)}, from ${from} to moved-conn`],
      ["membership_added", joiner, `joined organization ${orgLabel(org)}: ${who(joiner)}`, org],
      ["membership_removed", find(leaver), `left organization ${orgLabel(org)}: ${who(find(leaver))}`, org],
    ]);
    const again = await sync(w);
    assert.equal(again.rows_written, 0, "a re-sync without changes writes nothing");
    await expectRun(again, []);
  });

  test("unblocked and deleted, then re-created", async () => {
    const unblocked = find(byCreated[20].user_id);
    unblocked.blocked = false;
    const gone = find(byCreated[40].user_id);
    fake.users.splice(fake.users.indexOf(gone), 1);
    await expectRun(await sync(w), [
      ["user_unblocked", unblocked, `unblocked: ${who(unblocked)}`],
      ["user_removed", gone, `removed: ${who(gone)}: no longer listed in Auth0`],
    ]);
    fake.users.push(gone);
    await expectRun(await sync(w), [["user_returned", gone, `returned: ${who(gone)}: listed again after being removed`]]);
  });

  test("a run that fails mid-way and its retry write each change once", async () => {
    const early = find(byCreated[5].user_id);
    const late = find(byCreated[1400].user_id);
    early.blocked = true;
    late.blocked = true;
    // Token and the first block's pages pass; the second block's listing then fails.
    fake.faults.failAfter = { requests: 13, status: 500 };
    const failed = await sync(w);
    assert.equal(failed.status, "failed", JSON.stringify(failed));
    const partial = await eventsAfter(w.db, last);
    assert.deepEqual(partial.map((e) => [e.run_id, e.type, e.user_id]), [[failed.id, "user_blocked", early.user_id]],
      "the first block's change landed with its rows");
    last = partial.at(-1).id;
    fake.faults = {};
    await expectRun(await sync(w), [["user_blocked", late, `blocked: ${who(late)}`]]);
    const { results } = await w.db.prepare("SELECT user_id, COUNT(*) AS n FROM access_events WHERE type = 'user_blocked' GROUP BY user_id HAVING n > 1 AND user_id IN (?, ?)").bind(early.user_id, late.user_id).all();
    assert.deepEqual(results, [], "no change twice");
  });

  test("/api/changes pages newest first, filters, and refuses bad input", async () => {
    const { results: all } = await w.db.prepare("SELECT id FROM access_events ORDER BY at DESC, id DESC").all();
    const seen = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({ limit: "3", ...(cursor ? { cursor } : {}) });
      const page = await (await w.authedFetch(`/api/changes?${q}`)).json();
      seen.push(...page.changes.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, all.map((r) => r.id));
    const one = (await (await w.authedFetch("/api/changes?type=user_returned")).json()).changes;
    assert.equal(one.length, 1);
    for (const k of ["id", "at", "run_id", "type", "user_id", "email", "detail"]) assert.ok(k in one[0], k);
    const byUser = (await (await w.authedFetch(`/api/changes?user_id=${encodeURIComponent(one[0].user_id)}`)).json()).changes;
    assert.deepEqual(byUser.map((c) => c.type), ["user_returned", "user_removed"]);
    const future = (await (await w.authedFetch("/api/changes?since=2999-01-01")).json()).changes;
    assert.deepEqual(future, []);
    for (const q of ["since=junk", "type=nope", "cursor=zz", "until=2025-02-30T25:00:00Z", "limit=0"]) {
      const r = await w.authedFetch(`/api/changes?${q}`);
      assert.equal(r.status, 400, q);
      assert.match((await r.json()).error, /bad parameter/, q);
    }
    assert.equal((await w.fetch("/api/changes")).status, 401);
  });

  test("/changes.csv streams every change under the filters; /changes renders them", async () => {
    const res = await w.authedFetch("/changes.csv?type=user_blocked");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/csv/);
    const rows = parseCsv((await res.text()).replace(/^\uFEFF/, ""));
    assert.deepEqual(rows[0], ["id", "at", "run_id", "type", "user_id", "email", "client_id", "org_id", "detail", "baseline"]);
    const { n } = await w.db.prepare("SELECT COUNT(*) AS n FROM access_events WHERE type = 'user_blocked'").first();
    assert.equal(rows.length - 1, n);
    assert.ok(rows.slice(1).every((r) => r[3] === "user_blocked"));
    const page = await w.authedFetch("/changes?type=user_removed");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy"), /script-src 'none'/);
    const html = await page.text();
    assert.match(html, /no longer listed in Auth0/);
    assert.doesNotMatch(html, /listed again after being removed/);
  });
});
