// In-process fake Auth0 tenant (token endpoint + Management API subset) for tests and the local demo.
//
// Behaviour follows what Auth0 promises, as the README's design notes list it ("What Auth0
// promises"): Boom-style error bodies, the 1000-record paging cap, created_at Lucene ranges,
// bulk export jobs with short-lived signed gzip NDJSON downloads, checkpoint paging of
// organizations/members, a token-bucket rate limiter and injectable faults.
// Like Auth0's search engine, it can order users of equal created_at differently on every request
// (`reorderTies`), and its totals can be made wrong (`totalError`).
// Only node built-ins; listens on 127.0.0.1 only.

import http from "node:http";
import zlib from "node:zlib";
import crypto from "node:crypto";

// ---------------------------------------------------------------------------------------------
// Deterministic data generation
// ---------------------------------------------------------------------------------------------

/** mulberry32: tiny seeded PRNG returning floats in [0, 1). Good enough for fixtures. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// FNV-1a: a stable pseudo-random tie-breaker, so equal created_at values are NOT ordered by user_id
// (real Auth0 tie order is arbitrary; a client must not rely on it).
function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "John",
  "Radia", "Tim", "Hedy", "Edsger", "Katherine", "Donald", "Sophie", "Yukihiro", "Anita", "Guido",
  "Mary", "Niklaus", "Shafi", "Leslie", "Joan", "Bjarne", "Carol", "Whitfield", "Lynn", "Vint",
  "Adele", "James", "Evelyn", "Robin", "Jean", "Fernando", "Ivan", "Elena", "Priya", "Chen",
  "Amara", "Mateo", "Noor", "Kofi", "Ingrid", "Ravi", "Zoe", "Omar", "Hana", "Luca"];
const LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
  "Allen", "McCarthy", "Perlman", "Berners-Lee", "Lamarr", "Dijkstra", "Johnson", "Knuth", "Wilson",
  "Matsumoto", "Borg", "van Rossum", "Kenneth", "Wirth", "Goldwasser", "Lamport", "Clarke", "Stroustrup",
  "Shaw", "Diffie", "Conway", "Cerf", "Goldberg", "Gosling", "Berezin", "Milner", "Sammet", "Corbato",
  "Sutherland", "Petrova", "Natarajan", "Wei", "Okafor", "Garcia", "Haddad", "Mensah", "Larsen",
  "Iyer", "Martin", "Farouk", "Sato", "Rossi"];
const MAIL_DOMAINS = ["gmail.com", "example.com", "fastmail.com", "outlook.com", "proton.me", "yahoo.com"];
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const DAY = 86_400_000;
const DEFAULT_NOW = "2025-06-01T12:00:00.000Z";

/** Connections of the fake tenant; `id` is what a users-exports job's connection_id refers to. */
export const CONNECTIONS = [
  { id: "con_UPAuth0Database01", name: "Username-Password-Authentication", strategy: "auth0" },
  { id: "con_GoogleOauth2Soc01", name: "google-oauth2", strategy: "google-oauth2" },
  { id: "con_AcmeSamlEnterpr01", name: "acme-saml", strategy: "samlp" },
  { id: "con_WaadContosoEntr01", name: "waad-contoso", strategy: "waad" },
];

function makeRand(seed) {
  const r = mulberry32(seed);
  const api = {
    float: r,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)), // inclusive
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    chance: (p) => r() < p,
    chars: (n, alphabet) => {
      let s = "";
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      return s;
    },
  };
  api.hex = (n) => api.chars(n, "0123456789abcdef");
  api.digits = (n) => api.chars(1, "123456789") + api.chars(n - 1, "0123456789");
  api.alnum = (n) => api.chars(n, ALNUM);
  return api;
}

const iso = (ms) => new Date(ms).toISOString();
// An instant (ms or ISO text) as canonical ISO text, never before `floor` (an ISO text).
const stampAtOrAfter = (at, floor) => {
  const t = iso(typeof at === "number" ? at : Date.parse(at));
  return floor && t < floor ? floor : t;
};
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, "");

/**
 * Deterministic Auth0 user objects shaped like GET /api/v2/users answers.
 * @param {number} n
 * @param {{seed?: number, now?: string|number|Date, cluster?: {size: number, at?: string}, runs?: {max: number}}} [opts]
 *   cluster: `size` users share exactly the created_at millisecond `at` (a bulk import); no other user
 *   has that value. Other created_at values spread over ~3 years before `now`, with a few natural
 *   same-millisecond duplicates.
 *   runs: ties everywhere: the other users come in runs of 1..`max` sharing one millisecond (bulk
 *   imports, SCIM provisioning, migrations all over the tenant's history).
 */
export function makeUsers(n, opts = {}) {
  const rnd = makeRand(opts.seed ?? 1);
  const nowMs = new Date(opts.now ?? DEFAULT_NOW).getTime();
  const start = nowMs - 3 * 365 * DAY;
  const clusterSize = Math.min(opts.cluster?.size ?? 0, n);
  const clusterAt = clusterSize
    ? (opts.cluster.at ?? iso(start + Math.floor((nowMs - start) * 0.55) + 123))
    : null;
  if (clusterAt && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(clusterAt)) {
    throw new Error(`cluster.at must be a full ISO timestamp with ms, got ${clusterAt}`);
  }
  const clusterMs = clusterAt ? Date.parse(clusterAt) : null;

  // Choose which indices belong to the cluster deterministically (spread through the array so the
  // array order is not the created_at order, like a real tenant).
  const clusterIdx = new Set();
  while (clusterIdx.size < clusterSize) clusterIdx.add(rnd.int(0, n - 1));

  const users = [];
  const seenIds = new Set();
  const createdPool = []; // earlier non-cluster created_at values, for natural duplicates
  for (let i = 0; i < n; i++) {
    const first = rnd.pick(FIRST);
    const last = rnd.pick(LAST);
    const kindRoll = rnd.float();
    const kind = kindRoll < 0.55 ? "auth0" : kindRoll < 0.8 ? "google" : kindRoll < 0.92 ? "samlp" : "waad";

    let createdMs;
    if (clusterIdx.has(i)) createdMs = clusterMs;
    else if (createdPool.length && rnd.chance(0.01)) createdMs = rnd.pick(createdPool);
    else {
      do createdMs = start + Math.floor(rnd.float() * (nowMs - 60 * DAY - start));
      while (createdMs === clusterMs);
      createdPool.push(createdMs);
    }

    const local = `${slug(first)}.${slug(last)}${rnd.chance(0.6) ? rnd.int(1, 9999) : ""}`;
    let email, userId, identity, emailVerified, picture;
    let given = first, family = last, name = `${first} ${last}`, nickname = local;
    switch (kind) {
      case "auth0": {
        email = `${local}@${rnd.pick(MAIL_DOMAINS)}`;
        const id = rnd.hex(24);
        userId = `auth0|${id}`;
        identity = { connection: "Username-Password-Authentication", provider: "auth0", user_id: id, isSocial: false };
        emailVerified = rnd.chance(0.85);
        // Database users have no given/family name; Auth0 sets name to the email.
        given = undefined; family = undefined; name = email;
        picture = `https://s.gravatar.com/avatar/${rnd.hex(32)}?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2F${slug(first).slice(0, 1)}${slug(last).slice(0, 1)}.png`;
        break;
      }
      case "google": {
        const id = rnd.digits(21);
        userId = `google-oauth2|${id}`;
        email = rnd.chance(0.02) ? undefined : `${local}@gmail.com`;
        identity = { connection: "google-oauth2", provider: "google-oauth2", user_id: id, isSocial: true };
        emailVerified = email ? true : undefined;
        picture = `https://lh3.googleusercontent.com/a/${rnd.alnum(28)}=s96-c`;
        break;
      }
      case "samlp": {
        email = `${local}@acme.com`;
        userId = `samlp|acme|${email}`;
        identity = { connection: "acme-saml", provider: "samlp", user_id: `acme|${email}`, isSocial: false };
        emailVerified = rnd.chance(0.5) ? false : undefined;
        picture = `https://cdn.auth0.com/avatars/${slug(first).slice(0, 2)}.png`;
        break;
      }
      default: {
        email = `${local}@contoso.onmicrosoft.com`;
        const id = `${rnd.hex(8)}-${rnd.hex(4)}-${rnd.hex(4)}-${rnd.hex(4)}-${rnd.hex(12)}`;
        userId = `waad|${id}`;
        identity = { connection: "waad-contoso", provider: "waad", user_id: id, isSocial: false };
        emailVerified = true;
        picture = `https://cdn.auth0.com/avatars/${slug(first).slice(0, 2)}.png`;
      }
    }
    if (seenIds.has(userId)) { i--; continue; } // retry: user_id must be unique (samlp ids embed the email)
    seenIds.add(userId);

    const identities = [identity];
    if (rnd.chance(0.02)) {
      // A linked secondary account (e.g. a Google login linked into the primary user).
      const id = rnd.digits(21);
      identities.push({ connection: "google-oauth2", provider: "google-oauth2", user_id: id, isSocial: true });
    }

    const user = { created_at: iso(createdMs) };
    if (email !== undefined) user.email = email;
    if (emailVerified !== undefined) user.email_verified = emailVerified;
    if (family !== undefined) user.family_name = family;
    if (given !== undefined) user.given_name = given;
    user.identities = identities;
    user.name = name;
    user.nickname = nickname;
    user.picture = picture;

    let updatedMs = createdMs + rnd.int(0, 5000);
    if (!rnd.chance(0.15)) {
      // Logged in at least once: last_login within the last 200 days, never before creation.
      const lo = Math.max(createdMs + 1000, nowMs - 200 * DAY);
      const lastLogin = lo >= nowMs ? nowMs - rnd.int(0, 60_000) : lo + Math.floor(rnd.float() * (nowMs - lo));
      user.last_ip = rnd.chance(0.3)
        ? `2001:db8:${rnd.hex(4)}::${rnd.hex(4)}`
        : `${rnd.int(11, 223)}.${rnd.int(0, 255)}.${rnd.int(0, 255)}.${rnd.int(1, 254)}`;
      user.last_login = iso(Math.max(lastLogin, createdMs));
      user.logins_count = 1 + Math.floor(rnd.float() ** 3 * 500);
      updatedMs = Math.max(updatedMs, Date.parse(user.last_login));
    }
    user.updated_at = iso(Math.min(updatedMs, nowMs));
    user.user_id = userId;

    const blockedRoll = rnd.float();
    if (blockedRoll < 0.03) user.blocked = true;
    else if (blockedRoll < 0.1) user.blocked = false; // sometimes present and false (after an unblock)

    user.app_metadata = rnd.chance(0.6) ? { plan: rnd.pick(["free", "team", "business"]), seat: rnd.chance(0.7) } : {};
    user.user_metadata = rnd.chance(0.4) ? { locale: rnd.pick(["en", "de", "fr", "ja", "pt-BR"]) } : {};
    users.push(user);
  }
  if (opts.runs) groupIntoRuns(users, clusterAt, opts.runs.max, rnd);
  return users;
}

// Gives consecutive users (in created_at order) one created_at per run of 1..max; each run takes
// its earliest member's instant, so updated_at and last_login stay at or after created_at.
function groupIntoRuns(users, clusterAt, max, rnd) {
  const sorted = users.filter((u) => u.created_at !== clusterAt)
    .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  for (let i = 0; i < sorted.length;) {
    const run = rnd.int(1, Math.max(1, max));
    const at = sorted[i].created_at;
    for (const u of sorted.slice(i, i + run)) u.created_at = at;
    i += run;
  }
}

// Parts of a B2B tenant's customer organizations (makeOrganizations' `style: "customers"`).
const CUSTOMER_WORDS = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Adventure", "Litware", "Proseware",
  "Wingtip", "Woodgrove", "Coho", "Alpine", "Blue Yonder", "Lucerne", "Margie's", "Trey", "Humongous",
  "Fourth Coffee", "Graphic Design", "Wide World", "Southridge"];
const CUSTOMER_TRADES = ["Logistics", "Insurance", "Healthcare", "Retail", "Manufacturing", "Energy",
  "Publishing", "Airlines", "Banking", "Pharma", "Telecom", "Consulting"];
const CUSTOMER_SITES = [["EMEA", "Frankfurt"], ["EMEA", "Dublin"], ["EMEA", "Paris"], ["AMER", "Chicago"],
  ["AMER", "São Paulo"], ["AMER", "Toronto"], ["APAC", "Singapore"], ["APAC", "Sydney"], ["APAC", "Tokyo"]];

/**
 * Deterministic organizations and memberships.
 * @param {number} n number of organizations
 * @param {{seed?: number, users?: object[], sizes?: number[], minMembers?: number, maxMembers?: number,
 *   style?: "brands"|"customers"}} [opts] sizes[i] = member count of org i (capped at users.length);
 *   the others draw minMembers..maxMembers (default 0..min(50, users)). Members are distinct users of
 *   `users`. style "customers" names them like a B2B tenant's customers:
 *   `customer-00042-northwind-logistics-emea` / `Customer 00042: Northwind Logistics EMEA (Frankfurt)`.
 * @returns {{organizations: {id,name,display_name}[], members: Map<string, string[]>}}
 */
export function makeOrganizations(n, opts = {}) {
  const rnd = makeRand(opts.seed ?? 7);
  const users = opts.users ?? [];
  const words = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Soylent", "Aperture", "Vandelay", "Pied Piper", "Massive Dynamic", "Oscorp"];
  const suffix = ["Corp", "Labs", "Industries", "Group", "Systems", "GmbH", "Ltd", "Inc"];
  const organizations = [];
  const members = new Map();
  const names = new Set();
  const minMembers = Math.min(opts.minMembers ?? 0, users.length);
  const maxMembers = Math.min(opts.maxMembers ?? 50, users.length);
  // One index array, shuffled partially per organization and then restored by undoing the swaps:
  // the same draws as a fresh array each time, without 15,000 copies of it.
  const idx = users.map((_, k) => k);
  for (let i = 0; i < n; i++) {
    let display, name;
    if (opts.style === "customers") {
      const num = String(i + 1).padStart(5, "0");
      const [region, city] = rnd.pick(CUSTOMER_SITES);
      display = `Customer ${num}: ${rnd.pick(CUSTOMER_WORDS)} ${rnd.pick(CUSTOMER_TRADES)} ${region} (${city})`;
      name = `customer-${num}-${display.slice(display.indexOf(": ") + 2, display.indexOf(" ("))}`
        .toLowerCase().replace(/[^a-z0-9]+/g, "-");
    } else {
      do display = `${rnd.pick(words)} ${rnd.pick(suffix)}${names.size >= words.length * suffix.length / 2 ? ` ${i}` : ""}`;
      while (names.has(display));
      names.add(display);
      name = display.toLowerCase().replace(/[^a-z0-9]+/g, "-");
    }
    const org = { id: `org_${rnd.alnum(16)}`, name, display_name: display };
    organizations.push(org);
    const size = Math.min(opts.sizes?.[i] ?? rnd.int(minMembers, maxMembers), users.length);
    // Partial Fisher-Yates over indices gives `size` distinct members.
    const swaps = [];
    for (let k = 0; k < size; k++) {
      const j = k + Math.floor(rnd.float() * (idx.length - k));
      [idx[k], idx[j]] = [idx[j], idx[k]];
      swaps.push(j);
    }
    members.set(org.id, idx.slice(0, size).map((k) => users[k].user_id));
    for (let k = size - 1; k >= 0; k--) [idx[k], idx[swaps[k]]] = [idx[swaps[k]], idx[k]];
  }
  return { organizations, members };
}

// ---------------------------------------------------------------------------------------------
// Query helpers
// ---------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(typeof body === "string" ? body : body?.message ?? String(status));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

const boom = (statusCode, error, message, errorCode, extra = {}) =>
  new HttpError(statusCode, { statusCode, error, message, ...(errorCode ? { errorCode } : {}), ...extra });
const badQuery = (message) => boom(400, "Bad Request", message, "invalid_query_string");
const PAGING_CAP_MESSAGE =
  "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation";

// Integer query parameter in [min, max] (Auth0 phrases range failures as "Too big"/"Too small").
function intParam(query, name, def, min, max, description) {
  const raw = query[name];
  if (raw === undefined || raw === "") return def;
  if (!/^-?\d+$/.test(raw)) {
    throw badQuery(`Query validation error: 'Expected type integer but found type string' on property ${name} (${description}).`);
  }
  const v = Number(raw);
  if (v > max) throw badQuery(`Query validation error: 'Too big: ${v} is greater than ${max}' on property ${name} (${description}).`);
  if (v < min) throw badQuery(`Query validation error: 'Too small: ${v} is less than ${min}' on property ${name} (${description}).`);
  return v;
}

const PER_PAGE_DESC = "Number of results per page. Paging is disabled if parameter not sent. Default: <code>50</code>. Max value: <code>100</code>";
const TAKE_DESC = "Number of results per page. Defaults to 50.";

function offsetPaging(query) {
  const page = intParam(query, "page", 0, 0, Number.MAX_SAFE_INTEGER, "Page index of the results to return. First page is 0.");
  const perPage = intParam(query, "per_page", 50, 0, 100, PER_PAGE_DESC);
  if ((page + 1) * perPage > 1000) throw boom(400, "Bad Request", PAGING_CAP_MESSAGE, "invalid_paging");
  return { page, perPage };
}

const TS_RE = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?)?)?Z?$/;

// Expand a possibly partial timestamp to the earliest/latest full ms it covers. Elasticsearch (behind
// Auth0 search v3) fills missing date parts this way: gte/lt use the earliest, gt/lte the latest, so
// `created_at:[* TO 2020-06-30]` covers the whole of June 30th.
function expandBound(value, which) {
  const m = TS_RE.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  const lo = which === "min";
  const pad = (v, dflt) => (v !== undefined ? v : dflt);
  const msPart = ms !== undefined ? ms.padEnd(3, "0") : lo ? "000" : "999";
  return `${y}-${mo}-${d}T${pad(h, lo ? "00" : "23")}:${pad(mi, lo ? "00" : "59")}:${pad(s, lo ? "00" : "59")}.${msPart}Z`;
}

// One `field:[A TO B]` range term (brackets inclusive, braces exclusive, `*` open).
const RANGE_RE = /^\s*(created_at|updated_at)\s*:\s*([[{])\s*("?)([^\s"]+)\3\s+TO\s+("?)([^\s"]+)\5\s*([\]}])\s*$/;

function rangeCheck(field, open, a, b, close) {
  const checks = [];
  if (a !== "*") {
    const bound = expandBound(a, open === "[" ? "min" : "max");
    if (!bound) throw badQuery(`Query validation error: invalid date "${a}" in q.`);
    checks.push(open === "[" ? (c) => c >= bound : (c) => c > bound);
  }
  if (b !== "*") {
    const bound = expandBound(b, close === "]" ? "max" : "min");
    if (!bound) throw badQuery(`Query validation error: invalid date "${b}" in q.`);
    checks.push(close === "]" ? (c) => c <= bound : (c) => c < bound);
  }
  // Timestamps are all canonical "YYYY-MM-DDTHH:MM:SS.mmmZ", so string order is time order.
  return (user) => typeof user[field] === "string" && checks.every((f) => f(user[field]));
}

/**
 * Parse q into a predicate over users. Supported: a `created_at:[A TO B]` range, an
 * `updated_at:[A TO B]` range, or one of each joined by AND (either order); anything else is a 400.
 */
export function parseUsersQuery(q) {
  if (q === undefined || q.trim() === "") return () => true;
  const unsupported = () => badQuery(
    `Query validation error: unsupported q "${q}" (this fake supports created_at:[A TO B] and updated_at:[A TO B] ranges, alone or joined by AND).`);
  const terms = q.split(/\s+AND\s+/);
  if (terms.length > 2) throw unsupported();
  const preds = [];
  const fields = new Set();
  for (const term of terms) {
    const m = RANGE_RE.exec(term);
    if (!m || fields.has(m[1])) throw unsupported();
    fields.add(m[1]);
    // Clients may backslash-escape the colons of a timestamp (Lucene syntax); both forms mean the same.
    preds.push(rangeCheck(m[1], m[2], m[4].replace(/\\:/g, ":"), m[6].replace(/\\:/g, ":"), m[7]));
  }
  return (user) => preds.every((p) => p(user));
}

/** The older name (created_at ranges were the only shape once). */
export const parseCreatedAtQuery = parseUsersQuery;

function pickFields(obj, query) {
  if (!query.fields) return obj;
  const fields = new Set(query.fields.split(",").map((f) => f.trim()).filter(Boolean));
  const include = query.include_fields !== "false";
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (fields.has(k) === include) out[k] = v;
  return out;
}

// Value of an export field name such as "email" or "identities[0].connection".
function getPath(obj, path) {
  let cur = obj;
  for (const part of path.replace(/\[(\d+)\]/g, ".$1").split(".")) {
    if (cur === undefined || cur === null) return undefined;
    cur = cur[part];
  }
  return cur;
}

const encodeCheckpoint = (key) => Buffer.from(`v1:${key}`).toString("base64url");
function decodeCheckpoint(token) {
  const s = Buffer.from(token, "base64url").toString("utf8");
  if (!s.startsWith("v1:")) throw badQuery("Query validation error: 'Invalid checkpoint' on property from.");
  return s.slice(3);
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

const API_SCOPES = {
  users: "read:users",
  export: "read:users",
  jobs: "read:users",
  organizations: "read:organizations",
  members: "read:organization_members",
  logs: "read:logs",
  applications: "read:clients",
  connections: "read:connections",
  connection_clients: "read:connections",
  org_connections: "read:organization_connections",
  stats: "read:stats",
};

/**
 * Start a fake Auth0 tenant on 127.0.0.1.
 * @param {object} [opts]
 * @param {number} [opts.port=0]
 * @param {string} [opts.domain="demo-tenant.us.auth0.com"]
 * @param {string} [opts.clientId="test-client-id"]
 * @param {string} [opts.clientSecret="test-client-secret"]
 * @param {string[]} [opts.scopes] granted scopes (default read:users, read:organizations, read:organization_members)
 * @param {object[]} [opts.applications=[]] what GET /api/v2/clients lists (Auth0 client objects)
 * @param {Map<string,string[]>} [opts.enabledClients] connection id -> client ids it is enabled for
 * @param {Map<string,string[]>} [opts.orgConnections] organization id -> enabled connection ids
 * @param {object[]} [opts.users=[]] initial fake.users
 * @param {{id,name,display_name}[]} [opts.organizations=[]]
 * @param {Map<string,string[]>} [opts.members]
 * @param {number} [opts.tokenTtl=86400] seconds
 * @param {boolean} [opts.capTotals=true] cap `total` at 1000
 * @param {boolean} [opts.reorderTies=false] order users of equal created_at differently on every request
 * @param {number} [opts.totalError=0] added to every users `total` (a tenant whose counts are wrong)
 * @param {number} [opts.exportPolls=2] polls answered "pending" before one "processing" then "completed"
 * @param {number} [opts.exportUrlTtlMs=60000] validity of a signed download URL
 * @param {boolean} [opts.emptyFinalPage=true] members checkpoint quirk (see notes)
 * @param {object[]} [opts.logs=[]] the tenant's log, oldest first (see `logEvent`)
 * @param {number} [opts.logsTakeMax=100] the largest `take` the log accepts (50: refuse 100 with a 400)
 * @param {number} [opts.activeUsers=0] `GET /api/v2/stats/active-users`'s bare number (`read:stats`)
 * @param {object[]} [opts.dailyStats=[]] `GET /api/v2/stats/daily`'s days: `{date (ISO), logins, signups, leaked_passwords}`
 * @param {{burst:number, perSecond:number}} [opts.rateLimit] default unlimited
 * @param {boolean|number} [opts.retryAfter] add Retry-After to 429s: a fixed number of seconds, or true = computed
 * @param {object} [opts.faults] initial fake.faults: `stormUntil` (ms on the clock) or
 *   `stormRequests` (a count, decremented) for a 429 storm, `failAfter`, `error5xxRate`,
 *   `truncateRate`, `delayMs`
 * @param {number} [opts.faultSeed=42]
 * @param {() => number} [opts.clock=Date.now] ms clock used for tokens, buckets, URLs, storms
 */
export async function startFakeAuth0(opts = {}) {
  const clock = opts.clock ?? Date.now;
  const faultRand = mulberry32(opts.faultSeed ?? 42);
  const tokens = new Map(); // access_token -> {expiresAt, scopes}
  let apiRequestCount = 0;
  let usersRequests = 0;
  const jobs = new Map(); // job id -> {job, snapshot, polls}
  const signed = new Map(); // sig -> {jobId, expiresAt}
  let bucket = null; // {tokens, at}
  let failAfterState = { ref: null, seen: 0 };
  let kindCounts = {};
  let count429 = 0;
  let count5xx = 0;
  let createdCount = 0;

  const fake = {
    url: "",
    domain: opts.domain ?? "demo-tenant.us.auth0.com",
    users: opts.users ?? [],
    organizations: opts.organizations ?? [],
    members: opts.members ?? new Map(),
    connections: CONNECTIONS.map((c) => ({ ...c })),
    applications: opts.applications ?? [],
    enabledClients: opts.enabledClients ?? new Map(),
    orgConnections: opts.orgConnections ?? new Map(),
    // Items per page the fake gives on the application endpoints, at most what was asked.
    appPageSize: opts.appPageSize ?? 100,
    clients: [{ client_id: opts.clientId ?? "test-client-id", client_secret: opts.clientSecret ?? "test-client-secret" }],
    scopes: opts.scopes ?? ["read:users", "read:organizations", "read:organization_members"],
    appDisabled: false,
    tokenTtl: opts.tokenTtl ?? 86400,
    capTotals: opts.capTotals ?? true,
    reorderTies: opts.reorderTies ?? false,
    totalError: opts.totalError ?? 0,
    exportPolls: opts.exportPolls ?? 2,
    exportUrlTtlMs: opts.exportUrlTtlMs ?? 60_000,
    emptyFinalPage: opts.emptyFinalPage ?? true,
    logs: opts.logs ?? [],
    // Retention: events before this index are gone; a checkpoint before the first kept is refused.
    logsKeptFrom: 0,
    logsTakeMax: opts.logsTakeMax ?? 100,
    activeUsers: opts.activeUsers ?? 0,
    dailyStats: opts.dailyStats ?? [],
    rateLimit: opts.rateLimit ?? { burst: 1e9, perSecond: 1e9 },
    retryAfter: opts.retryAfter ?? false,
    faults: opts.faults ?? {},
    requests: [],
    leakedAuthOnDownload: false,
    get clientId() { return this.clients[0].client_id; },
    get clientSecret() { return this.clients[0].client_secret; },

    /** Counts per endpoint kind since the last resetStats(), plus rateLimited (429s) and errors5xx. */
    stats() {
      const out = { token: 0, users: 0, export: 0, jobs: 0, download: 0, organizations: 0, members: 0, other: 0,
        applications: 0, connections: 0, connection_clients: 0, org_connections: 0 };
      Object.assign(out, kindCounts);
      out.logs = out.logs ?? 0;
      out.api = out.users + out.export + out.jobs + out.organizations + out.members + out.logs
        + out.applications + out.connections + out.connection_clients + out.org_connections + (out.stats ?? 0);
      out.rateLimited = count429;
      out.errors5xx = count5xx;
      return out;
    },
    resetStats() {
      kindCounts = {};
      count429 = 0;
      count5xx = 0;
      fake.requests = [];
      fake.leakedAuthOnDownload = false;
    },
    /** Make every token issued so far expired. */
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = Math.min(t.expiresAt, clock() - 1);
    },
    /** Rotate the secret of every client and expire tokens; returns the new secret of clients[0]. */
    revokeCredentials() {
      for (const c of fake.clients) c.client_secret = `revoked-${crypto.randomBytes(8).toString("hex")}`;
      fake.expireTokens();
      return fake.clients[0].client_secret;
    },
    /** Change the rate limit and refill the bucket. */
    setRateLimit(rateLimit) {
      fake.rateLimit = rateLimit;
      bucket = null;
    },
    /**
     * Appends an event to the log with the next log_id (ids sort as text, as Auth0's do):
     * `{type, date, client_id, user_id?}` plus the fields a real event carries and usage ignores.
     */
    logEvent({ type, date, client_id, user_id }) {
      const n = fake.logs.length + 1;
      const e = { log_id: `900${String(n).padStart(24, "0")}`, date, type, client_id, client_name: `App ${client_id}`,
        ip: "203.0.113.7", user_agent: "Mozilla/5.0", hostname: fake.domain, description: "", details: { prompts: [] } };
      if (user_id !== undefined) e.user_id = user_id;
      fake.logs.push(e);
      return e;
    },
    /** The user with this id, or a thrown Error naming it. */
    user(userId) {
      const u = fake.users.find((x) => x.user_id === userId);
      if (!u) throw new Error(`fake-auth0: no user ${userId}`);
      return u;
    },
    /**
     * Changes a user as a profile edit does: `patch` is merged in (a field set to undefined is
     * removed) and updated_at becomes `at` (default: the clock), never before created_at.
     * @returns the user object (the one the listing serves)
     */
    updateUser(userId, patch = {}, { at = clock() } = {}) {
      const u = fake.user(userId);
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) delete u[k];
        else u[k] = v;
      }
      u.updated_at = stampAtOrAfter(at, u.created_at);
      return u;
    },
    /**
     * A successful login at `at` (default: the clock) through `client_id`: last_login and
     * updated_at move to it, logins_count goes up by one, and an `s` event joins the log.
     * @returns {{user: object, event: object}}
     */
    login(userId, { at = clock(), client_id = fake.applications[0]?.client_id ?? "demo_spa", ip = "203.0.113.7" } = {}) {
      const u = fake.user(userId);
      const when = stampAtOrAfter(at, u.created_at);
      u.last_login = when;
      u.last_ip = ip;
      u.logins_count = (u.logins_count ?? 0) + 1;
      u.updated_at = when;
      const event = fake.logEvent({ type: "s", date: when, client_id, user_id: userId });
      return { user: u, event };
    },
    /**
     * Deletes a user at `at` (default: the clock): gone from the listing and from every
     * organization, and an `sdu` (Successful User Deletion) event naming it joins the log.
     * @returns {{user: object, event: object}} the removed user and the event
     */
    deleteUser(userId, { at = clock(), client_id = fake.clientId } = {}) {
      const i = fake.users.findIndex((x) => x.user_id === userId);
      if (i < 0) throw new Error(`fake-auth0: no user ${userId}`);
      const [u] = fake.users.splice(i, 1);
      for (const [org, ids] of fake.members) {
        if (ids.includes(userId)) fake.members.set(org, ids.filter((id) => id !== userId));
      }
      const event = fake.logEvent({ type: "sdu", date: iso(typeof at === "number" ? at : Date.parse(at)), client_id, user_id: userId });
      return { user: u, event };
    },
    /**
     * Creates a user at `at` (default: the clock): a generated user (like makeUsers') with
     * created_at = updated_at = `at`, no login yet, then `fields` merged over it.
     * @returns the new user
     */
    createUser(fields = {}, { at = clock() } = {}) {
      const when = iso(typeof at === "number" ? at : Date.parse(at));
      let u;
      do {
        createdCount += 1;
        [u] = makeUsers(1, { seed: 0x5eed0000 + createdCount, now: when });
      } while (fake.users.some((x) => x.user_id === u.user_id));
      for (const k of ["last_login", "last_ip", "logins_count"]) delete u[k];
      Object.assign(u, { created_at: when, updated_at: when }, fields);
      if (typeof u.updated_at !== "string" || u.updated_at < u.created_at) u.updated_at = u.created_at;
      fake.users.push(u);
      return u;
    },
    /** Retention drops every event older than the newest `keep`. */
    expireLogs(keep) {
      fake.logsKeptFrom = Math.max(fake.logsKeptFrom, fake.logs.length - keep);
    },
    /** Mint a token without HTTP (for tests that exercise the API only). */
    /** Every access token issued so far (for leak scans). */
    issuedTokens() {
      return [...tokens.keys()];
    },
    issueToken({ scopes = fake.scopes, ttl = fake.tokenTtl } = {}) {
      const token = crypto.randomBytes(24).toString("base64url");
      tokens.set(token, { expiresAt: clock() + ttl * 1000, scopes: [...scopes] });
      return token;
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };

  // -- rate limiting: a global token bucket refilled continuously -----------------------------
  function refill() {
    const { burst, perSecond } = fake.rateLimit;
    const now = clock();
    if (!bucket) bucket = { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    return { burst, perSecond, now };
  }
  // x-ratelimit-reset: epoch seconds (rounded up) when the next whole token is available.
  function rateHeaders() {
    const { burst, perSecond, now } = refill();
    const whole = Math.floor(bucket.tokens);
    const waitMs = bucket.tokens >= burst ? 0 : ((whole + 1 - bucket.tokens) / perSecond) * 1000;
    return {
      headers: {
        "x-ratelimit-limit": String(burst),
        "x-ratelimit-remaining": String(Math.max(0, whole)),
        "x-ratelimit-reset": String(Math.ceil((now + waitMs) / 1000)),
      },
      waitMs,
    };
  }
  function retryAfterHeader(waitMs) {
    if (fake.retryAfter === false || fake.retryAfter == null) return {};
    const secs = typeof fake.retryAfter === "number" ? fake.retryAfter : Math.max(1, Math.ceil(waitMs / 1000));
    return { "retry-after": String(secs) };
  }
  const tooMany = (headers) =>
    new HttpError(429, { statusCode: 429, error: "Too Many Requests", message: "Global limit has been reached", errorCode: "too_many_requests" }, headers);

  // -- token endpoint ---------------------------------------------------------------------------
  function handleToken(req, body) {
    const ct = (req.headers["content-type"] ?? "").toLowerCase();
    let p;
    try {
      if (ct.includes("application/json")) p = JSON.parse(body.toString("utf8") || "{}");
      else if (ct.includes("application/x-www-form-urlencoded")) p = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
      else throw new Error("unsupported content-type");
    } catch {
      throw new HttpError(400, { error: "invalid_request", error_description: "Invalid request body. All and only of client_id, client_secret, audience, grant_type must be sent as JSON or form data." });
    }
    if (!p.grant_type) throw new HttpError(400, { error: "invalid_request", error_description: "Missing required parameter: grant_type" });
    if (p.grant_type !== "client_credentials") {
      throw new HttpError(403, { error: "unsupported_grant_type", error_description: `Unsupported grant type: ${p.grant_type}` });
    }
    const client = fake.clients.find((c) => c.client_id === p.client_id);
    if (!client || client.client_secret !== p.client_secret || fake.appDisabled) {
      throw new HttpError(401, { error: "access_denied", error_description: "Unauthorized" });
    }
    const audience = `https://${fake.domain}/api/v2/`;
    if (p.audience !== audience) {
      throw new HttpError(403, { error: "access_denied", error_description: `Service not enabled within domain: ${p.audience}` });
    }
    if (!fake.scopes.length) {
      throw new HttpError(403, {
        error: "access_denied",
        error_description: `Client is not authorized to access "${audience}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
      });
    }
    const access_token = fake.issueToken();
    return { status: 200, body: { access_token, token_type: "Bearer", expires_in: fake.tokenTtl, scope: fake.scopes.join(" ") } };
  }

  function authenticate(req, kind) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!m) throw boom(400, "Bad Request", "Bad HTTP authentication header format", "Bearer");
    const t = tokens.get(m[1]);
    if (!t) {
      throw new HttpError(401, { statusCode: 401, error: "Unauthorized", message: "Invalid token", attributes: { error: "Invalid token" } },
        { "www-authenticate": 'Token error="Invalid token"' });
    }
    if (t.expiresAt <= clock()) {
      const message = "Expired token received for JSON Web Token validation";
      throw new HttpError(401, { statusCode: 401, error: "Unauthorized", message, attributes: { error: message } },
        { "www-authenticate": `Token error="${message}"` });
    }
    const need = API_SCOPES[kind];
    if (need && !t.scopes.includes(need)) {
      throw boom(403, "Forbidden", `Insufficient scope, expected any of: ${need}`, "insufficient_scope");
    }
  }

  // -- /api/v2/users ----------------------------------------------------------------------------
  function sortedUsers(query) {
    const sort = query.sort;
    let dir = 0;
    if (sort !== undefined && sort !== "") {
      const m = /^created_at:(1|-1)$/.exec(sort);
      if (!m) throw badQuery(`Query validation error: unsupported sort "${sort}" (this fake supports created_at:1 and created_at:-1).`);
      dir = Number(m[1]);
    }
    const filter = parseUsersQuery(query.q);
    // Elasticsearch's shards and replicas may break ties differently on every request.
    usersRequests += 1;
    const salt = fake.reorderTies ? `:${usersRequests}` : "";
    const rows = fake.users.filter(filter).map((u) => ({ u, h: fnv1a(u.user_id + salt) }));
    rows.sort((x, y) => {
      if (dir !== 0 && x.u.created_at !== y.u.created_at) return x.u.created_at < y.u.created_at ? -dir : dir;
      return x.h - y.h || (x.u.user_id < y.u.user_id ? -1 : 1);
    });
    return rows.map((r) => r.u);
  }

  function handleUsers(query) {
    if (query.search_engine !== "v3") {
      throw badQuery(`Query validation error: 'Invalid value "${query.search_engine ?? ""}"' on property search_engine (this fake requires search_engine=v3).`);
    }
    const { page, perPage } = offsetPaging(query);
    const all = sortedUsers(query);
    const users = all.slice(page * perPage, page * perPage + perPage).map((u) => pickFields(u, query));
    if (query.include_totals !== "true") return { status: 200, body: users };
    const total = Math.max(0, (fake.capTotals ? Math.min(all.length, 1000) : all.length) + fake.totalError);
    return { status: 200, body: { start: page * perPage, limit: perPage, length: users.length, users, total } };
  }

  // -- bulk export -------------------------------------------------------------------------------
  function handleCreateExport(body) {
    let p;
    try { p = JSON.parse(body.toString("utf8") || "{}"); } catch {
      throw boom(400, "Bad Request", "Invalid request payload JSON format", "invalid_body");
    }
    const format = p.format ?? "csv"; // Auth0's default is csv; our worker must ask for json.
    if (format !== "json") throw boom(400, "Bad Request", `Payload validation error: this fake only exports format "json", got "${format}".`, "invalid_body");
    if (p.fields !== undefined && (!Array.isArray(p.fields) || p.fields.some((f) => typeof f?.name !== "string"))) {
      throw boom(400, "Bad Request", "Payload validation error: 'Expected type array of {name}' on property fields.", "invalid_body");
    }
    let connection;
    if (p.connection_id !== undefined) {
      connection = fake.connections.find((c) => c.id === p.connection_id);
      if (!connection) throw boom(404, "Not Found", "The connection does not exist.", "inexistent_connection");
    }
    const snapshot = JSON.parse(JSON.stringify(
      connection ? fake.users.filter((u) => u.identities?.[0]?.connection === connection.name) : fake.users));
    const id = `job_${crypto.randomBytes(12).toString("base64url").replace(/[-_]/g, "x").slice(0, 16)}`;
    const job = { type: "users_export", status: "pending" };
    if (connection) { job.connection_id = connection.id; job.connection = connection.name; }
    job.format = "json";
    if (p.limit !== undefined) job.limit = p.limit;
    if (p.fields) job.fields = p.fields;
    job.created_at = iso(clock());
    job.id = id;
    jobs.set(id, { job, snapshot, fields: p.fields, polls: 0 });
    return { status: 201, body: job };
  }

  function handleGetJob(id) {
    const entry = jobs.get(id);
    if (!entry) throw boom(404, "Not Found", "The job does not exist.", "inexistent_job");
    entry.polls += 1;
    const base = { ...entry.job };
    if (entry.polls <= fake.exportPolls) return { status: 200, body: base };
    if (entry.polls === fake.exportPolls + 1) {
      return { status: 200, body: { ...base, status: "processing", percentage_done: 50, time_left_seconds: 5 } };
    }
    // Each completed poll mints a fresh signed URL, valid exportUrlTtlMs from now.
    const sig = crypto.randomBytes(16).toString("hex");
    signed.set(sig, { jobId: id, expiresAt: clock() + fake.exportUrlTtlMs });
    return {
      status: 200,
      body: { ...base, status: "completed", location: `${fake.url}/exports/${id}.json.gz?sig=${sig}`, percentage_done: 100, time_left_seconds: 0 },
    };
  }

  function s3Error(code, message) {
    return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${crypto.randomBytes(8).toString("hex").toUpperCase()}</RequestId></Error>`;
  }

  function handleDownload(req, path, query, send) {
    if (req.headers.authorization !== undefined) fake.leakedAuthOnDownload = true;
    const jobId = /^\/exports\/([^/]+)\.json\.gz$/.exec(path)?.[1];
    const s = query.sig && signed.get(query.sig);
    const xml = { "content-type": "application/xml" };
    if (!s || s.jobId !== jobId) return send(403, s3Error("AccessDenied", "Access Denied"), xml);
    if (clock() > s.expiresAt) return send(403, s3Error("AccessDenied", "Request has expired"), xml);
    const { snapshot, fields } = jobs.get(jobId);
    const lines = snapshot.map((u) => {
      if (!fields) return JSON.stringify(u);
      const row = { user_id: u.user_id };
      for (const f of fields) {
        const v = getPath(u, f.name);
        if (v !== undefined) row[f.export_as ?? f.name] = v;
      }
      return JSON.stringify(row);
    });
    const gz = zlib.gzipSync(Buffer.from(lines.length ? lines.join("\n") + "\n" : ""));
    return send(200, gz, { "content-type": "application/gzip" });
  }

  // -- organizations / members -------------------------------------------------------------------
  function checkpointPage(items, key, query, quirk) {
    const take = intParam(query, "take", 50, 1, 100, TAKE_DESC);
    let rest = items;
    if (query.from) {
      const after = decodeCheckpoint(query.from);
      rest = items.filter((it) => key(it) > after);
    }
    const page = rest.slice(0, take);
    const more = rest.length > take || (quirk && page.length === take);
    return { page, next: more && page.length ? encodeCheckpoint(key(page[page.length - 1])) : undefined };
  }

  function handleOrganizations(query) {
    const orgs = [...fake.organizations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (query.from !== undefined || query.take !== undefined) {
      const { page, next } = checkpointPage(orgs, (o) => o.id, query, false);
      return { status: 200, body: next ? { organizations: page, next } : { organizations: page } };
    }
    const { page, perPage } = offsetPaging(query);
    const organizations = orgs.slice(page * perPage, page * perPage + perPage);
    if (query.include_totals !== "true") return { status: 200, body: organizations };
    const total = fake.capTotals ? Math.min(orgs.length, 1000) : orgs.length;
    return { status: 200, body: { organizations, start: page * perPage, limit: perPage, total } };
  }

  // Lookups by id (and organization name) through indexes rebuilt whenever they miss or are stale:
  // tests replace and mutate fake.organizations and fake.users freely, and a linear find per members
  // request is quadratic for a tenant of 15,000 organizations. A hit is checked against the array.
  const indexes = new Map(); // key -> {arr, map: Map<key, position>}
  function lookUp(key, arr, keysOf, want, matches) {
    const hit = (ix) => {
      const at = ix?.arr === arr ? ix.map.get(want) : undefined;
      return at !== undefined && arr[at] && matches(arr[at]) ? arr[at] : undefined;
    };
    const found = hit(indexes.get(key));
    if (found) return found;
    // Keys map to their first position, so a hit is what arr.find(matches) would give.
    const map = new Map();
    arr.forEach((it, at) => { for (const k of keysOf(it)) if (k !== undefined && !map.has(k)) map.set(k, at); });
    indexes.set(key, { arr, map });
    return hit(indexes.get(key));
  }
  const findOrganization = (orgId, byName) => lookUp(byName ? "orgs by id or name" : "orgs by id", fake.organizations,
    (o) => (byName ? [o.id, o.name] : [o.id]), orgId, (o) => o.id === orgId || (byName && o.name === orgId));
  const findUser = (id) => lookUp("users by id", fake.users, (u) => [u.user_id], id, (u) => u.user_id === id);

  function handleMembers(orgId, query) {
    const org = findOrganization(orgId, true);
    if (!org) throw boom(404, "Not Found", "No organization found by that id or name", "inexistent_organization");
    const ids = [...new Set(fake.members.get(org.id) ?? [])].sort();
    const toMember = (id) => {
      const u = findUser(id) ?? {};
      const m = { user_id: id };
      for (const k of ["email", "picture", "name"]) if (u[k] !== undefined) m[k] = u[k];
      return m;
    };
    if (query.from !== undefined || query.take !== undefined) {
      const { page, next } = checkpointPage(ids, (id) => id, query, fake.emptyFinalPage);
      const members = page.map(toMember);
      return { status: 200, body: next ? { members, next } : { members } };
    }
    const { page, perPage } = offsetPaging(query);
    const members = ids.slice(page * perPage, page * perPage + perPage).map(toMember);
    if (query.include_totals !== "true") return { status: 200, body: members };
    return { status: 200, body: { members, start: page * perPage, limit: perPage, total: ids.length } };
  }

  // -- /api/v2/logs: checkpoint paging by log_id with a Link header, retention, the search mode's
  // oldest event (sort=date:1) -----------------------------------------------------------------
  function handleLogs(query) {
    const kept = fake.logs.slice(fake.logsKeptFrom);
    if (query.from === undefined) {
      if (query.sort !== "date:1") throw badQuery(`Query validation error: this fake supports only sort=date:1 without from.`);
      const perPage = intParam(query, "per_page", 50, 1, 100, "Number of results per page.");
      const byDate = [...kept].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
      return { status: 200, body: byDate.slice(0, perPage) };
    }
    const take = Number(query.take ?? 50);
    if (!Number.isInteger(take) || take < 1 || take > fake.logsTakeMax) {
      throw badQuery(`Query validation error: 'take' must be at most ${fake.logsTakeMax}.`);
    }
    if (fake.logsKeptFrom > 0 && (!kept.length || query.from < kept[0].log_id)) {
      throw badQuery("The log_id is invalid or older than the retention period.");
    }
    const page = kept.filter((e) => e.log_id > query.from).slice(0, take);
    const from = page.length ? page[page.length - 1].log_id : query.from;
    const next = `https://${fake.domain}/api/v2/logs?from=${encodeURIComponent(from)}&take=${take}`;
    return { status: 200, body: page, headers: { link: `<${next}>; rel="next"` } };
  }

  // -- /api/v2/stats (read:stats): active users in the last 30 days as a bare number; daily
  // counts for the days from `from` to `to` (YYYYMMDD, inclusive) --------------------------------
  function handleStats(path, query) {
    if (path === "/api/v2/stats/active-users") return { status: 200, body: fake.activeUsers };
    for (const k of ["from", "to"]) {
      if (query[k] !== undefined && !/^\d{8}$/.test(query[k])) {
        throw badQuery(`Query validation error: '${k}' must be a date as YYYYMMDD.`);
      }
    }
    const day = (d) => String(d.date ?? "").slice(0, 10).replaceAll("-", "");
    const days = fake.dailyStats.filter((d) => (query.from === undefined || day(d) >= query.from)
      && (query.to === undefined || day(d) <= query.to));
    return { status: 200, body: days };
  }

  // -- applications, connections and their wiring ------------------------------------------------
  // Offset paging with totals (clients, organization connections), checkpoint paging for
  // connections and their enabled clients; secrets are only returned when `fields` allows.
  function handleApplications(query) {
    const { page, perPage } = offsetPaging(query);
    const size = Math.min(perPage, fake.appPageSize);
    const fields = query.fields ? query.fields.split(",") : null;
    const apps = fake.applications.slice(page * size, page * size + size).map((a) => {
      const full = { client_secret: `secret-of-${a.client_id}`, ...a };
      if (!fields) return full;
      return Object.fromEntries(Object.entries(full).filter(([k]) => (query.include_fields === "false") !== fields.includes(k)));
    });
    if (query.include_totals !== "true") return { status: 200, body: apps };
    return { status: 200, body: { clients: apps, start: page * size, limit: size, total: fake.applications.length } };
  }

  function handleConnections(query) {
    const conns = [...fake.connections].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const q = { ...query, take: String(Math.min(Number(query.take ?? 50) || 50, fake.appPageSize)) };
    const { page, next } = checkpointPage(conns, (c) => c.id, q, true);
    const connections = page.map((c) => ({ id: c.id, name: c.name, strategy: c.strategy }));
    return { status: 200, body: next ? { connections, next } : { connections } };
  }

  function handleConnectionClients(id, query) {
    if (!fake.connections.some((c) => c.id === id)) throw boom(404, "Not Found", "The connection does not exist", "inexistent_connection");
    const ids = [...new Set(fake.enabledClients.get(id) ?? [])].sort();
    const q = { ...query, take: String(Math.min(Number(query.take ?? 50) || 50, fake.appPageSize)) };
    const { page, next } = checkpointPage(ids, (c) => c, q, false);
    const clients = page.map((client_id) => ({ client_id }));
    return { status: 200, body: next ? { clients, next } : { clients } };
  }

  function handleOrgConnections(orgId, query) {
    const org = findOrganization(orgId, false);
    if (!org) throw boom(404, "Not Found", "No organization found by that id", "inexistent_organization");
    const ids = [...new Set(fake.orgConnections.get(org.id) ?? [])].sort();
    const { page, perPage } = offsetPaging(query);
    const size = Math.min(perPage, fake.appPageSize);
    const items = ids.slice(page * size, page * size + size).map((connection_id) => {
      const c = fake.connections.find((x) => x.id === connection_id) ?? {};
      return { connection_id, assign_membership_on_login: false, connection: { name: c.name, strategy: c.strategy } };
    });
    if (query.include_totals !== "true") return { status: 200, body: items };
    return { status: 200, body: { enabled_connections: items, start: page * size, limit: size, total: ids.length } };
  }

  // -- request dispatch --------------------------------------------------------------------------
  function classify(method, path) {
    if (path === "/api/v2/clients") return "applications";
    if (path === "/api/v2/connections") return "connections";
    if (/^\/api\/v2\/connections\/[^/]+\/clients$/.test(path)) return "connection_clients";
    if (/^\/api\/v2\/organizations\/[^/]+\/enabled_connections$/.test(path)) return "org_connections";
    if (path === "/oauth/token") return "token";
    if (path.startsWith("/exports/")) return "download";
    if (path === "/api/v2/users") return "users";
    if (path === "/api/v2/jobs/users-exports") return "export";
    if (/^\/api\/v2\/jobs\/[^/]+$/.test(path)) return "jobs";
    if (path === "/api/v2/organizations") return "organizations";
    if (/^\/api\/v2\/organizations\/[^/]+\/members$/.test(path)) return "members";
    if (path === "/api/v2/logs") return "logs";
    if (path === "/api/v2/stats/active-users" || path === "/api/v2/stats/daily") return "stats";
    return "other";
  }

  function routeApi(kind, method, path, query, body) {
    if (kind === "users" && method === "GET") return handleUsers(query);
    if (kind === "export" && method === "POST") return handleCreateExport(body);
    if (kind === "jobs" && method === "GET") return handleGetJob(decodeURIComponent(path.split("/").pop()));
    if (kind === "organizations" && method === "GET") return handleOrganizations(query);
    if (kind === "members" && method === "GET") return handleMembers(decodeURIComponent(path.split("/")[4]), query);
    if (kind === "logs" && method === "GET") return handleLogs(query);
    if (kind === "stats" && method === "GET") return handleStats(path, query);
    if (kind === "applications" && method === "GET") return handleApplications(query);
    if (kind === "connections" && method === "GET") return handleConnections(query);
    if (kind === "connection_clients" && method === "GET") return handleConnectionClients(decodeURIComponent(path.split("/")[4]), query);
    if (kind === "org_connections" && method === "GET") return handleOrgConnections(decodeURIComponent(path.split("/")[4]), query);
    throw boom(404, "Not Found", "Not Found");
  }

  // Faults that fire before authentication, in the order: storm, failAfter, random 5xx.
  function injectedFault() {
    const f = fake.faults ?? {};
    if (f.stormUntil && clock() < f.stormUntil) {
      const waitMs = f.stormUntil - clock();
      const { headers } = rateHeaders();
      return tooMany({ ...headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil(f.stormUntil / 1000)), ...retryAfterHeader(waitMs) });
    }
    // A storm by count, not by the clock: the next `stormRequests` requests get a 429 saying
    // "try again in a second", however long the worker takes to send them.
    if (f.stormRequests > 0) {
      f.stormRequests -= 1;
      const { headers } = rateHeaders();
      return tooMany({ ...headers, "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil((clock() + 1000) / 1000)), ...retryAfterHeader(1000) });
    }
    if (f.failAfter) {
      if (failAfterState.ref !== f.failAfter) failAfterState = { ref: f.failAfter, seen: 0 };
      failAfterState.seen += 1;
      if (failAfterState.seen > f.failAfter.requests) {
        return new HttpError(f.failAfter.status ?? 500, f.failAfter.body ?? { statusCode: 500, error: "Internal Server Error", message: "Injected failure" }, rateHeaders().headers);
      }
    }
    if (f.error5xxRate > 0 && faultRand() < f.error5xxRate) {
      return boom(503, "Service Unavailable", "The service is temporarily unavailable, please retry", undefined);
    }
    return null;
  }

  async function handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c); // always drain the body so keep-alive stays healthy
    const body = Buffer.concat(chunks);
    const u = new URL(req.url, "http://127.0.0.1");
    const path = u.pathname;
    const query = Object.fromEntries(u.searchParams);
    const method = req.method;
    const kind = classify(method, path);
    kindCounts[kind] = (kindCounts[kind] ?? 0) + 1;

    const send = (status, payload, headers = {}) => {
      const buf = Buffer.isBuffer(payload) ? payload
        : typeof payload === "string" ? Buffer.from(payload)
          : Buffer.from(JSON.stringify(payload));
      if (status === 429) count429 += 1;
      if (status >= 500) count5xx += 1;
      fake.requests.push({ method, path, query, status, at: clock(), kind, auth: req.headers.authorization !== undefined });
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": buf.length, ...headers });
      res.end(buf);
    };
    const sendError = (e, extraHeaders = {}) => {
      if (!(e instanceof HttpError)) {
        e = boom(500, "Internal Server Error", `fake-auth0 bug: ${e?.stack ?? e}`);
      }
      send(e.status, e.body, { ...extraHeaders, ...e.headers });
    };

    if (kind === "token") {
      if (method !== "POST") return sendError(boom(404, "Not Found", "Not Found"));
      try {
        const r = handleToken(req, body);
        return send(r.status, r.body, { "cache-control": "no-store" });
      } catch (e) { return sendError(e); }
    }
    if (kind === "download") {
      if (method !== "GET") return sendError(boom(405, "Method Not Allowed", "Method Not Allowed"));
      return handleDownload(req, path, query, send);
    }
    if (!path.startsWith("/api/v2/")) return sendError(boom(404, "Not Found", "Not Found"));

    // A test's hook into the run: e.g. revoke credentials or expire tokens after request n.
    apiRequestCount += 1;
    if (fake.onApiRequest) await fake.onApiRequest(apiRequestCount, { kind, method, path, query });

    const delayMs = fake.faults?.delayMs;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));

    const fault = injectedFault();
    if (fault) return sendError(fault, fault.status === 503 ? rateHeaders().headers : {});

    // Every request costs one token from the global bucket, even ones that then fail auth.
    refill();
    if (bucket.tokens < 1) {
      const { headers, waitMs } = rateHeaders();
      return sendError(tooMany({ ...headers, ...retryAfterHeader(waitMs) }));
    }
    bucket.tokens -= 1;
    const { headers } = rateHeaders();

    let result;
    try {
      authenticate(req, kind);
      result = routeApi(kind, method, path, query, body);
    } catch (e) { return sendError(e, headers); }

    const json = Buffer.from(JSON.stringify(result.body));
    const truncateRate = fake.faults?.truncateRate;
    if (truncateRate > 0 && faultRand() < truncateRate) {
      // Consistent headers (content-length matches) but a JSON body cut in half.
      return send(result.status, json.subarray(0, Math.floor(json.length / 2)), headers);
    }
    return send(result.status, json, { ...headers, ...(result.headers ?? {}) });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`fake-auth0 internal error: ${e?.stack ?? e}`);
      }
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", resolve);
  });
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.server = server;
  return fake;
}
