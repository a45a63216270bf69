//! Applications, connections and reach: row types and their SQL. The rule "user U can reach
//! application X" is `crate::reach::can_reach`; [`REACH`] writes it as SQL, and tests hold the
//! two equal.
//!
//! The SQL runs through [`SqlRunner`] (`store::sql`), D1 on wasm and SQLite in native tests:
//! one engine for the query semantics, so nothing here is re-implemented for tests.

use serde::Serialize;

use super::StoreError;
use super::row::FromRow;
pub use super::sql::{Arg, SqlRunner, Stmt};
use crate::fields::{FieldError, Fields};

/// [`can_reach`](crate::reach::can_reach) as SQL over a `users` row `u` and an `applications` row `a` (both current).
pub const REACH: &str = "(u.blocked = 0 AND u.removed_at IS NULL AND a.removed_at IS NULL \
     AND COALESCE(a.app_type, '') <> 'non_interactive' AND EXISTS (\
       SELECT 1 FROM json_each(u.connections) uc \
       JOIN connections c ON c.name = uc.value AND c.removed_at IS NULL \
       JOIN connection_clients cc ON cc.connection_id = c.connection_id AND cc.client_id = a.client_id \
       WHERE COALESCE(a.organization_usage, '') <> 'require' OR EXISTS (\
         SELECT 1 FROM memberships m \
         JOIN organization_connections oc ON oc.org_id = m.org_id AND oc.connection_id = c.connection_id \
         WHERE m.user_id = u.user_id AND m.removed_at IS NULL)))";

/// Recomputes every application's reach counts in one pass over the users (their connections,
/// joined to the connections' enabled clients), writing only counts that changed.
/// `?1`: now (ISO).
pub const REFRESH_REACH: &str = "WITH reach AS (\
       SELECT DISTINCT a.client_id, u.user_id \
       FROM users u, json_each(u.connections) uc \
       JOIN connections c ON c.name = uc.value AND c.removed_at IS NULL \
       JOIN connection_clients cc ON cc.connection_id = c.connection_id \
       JOIN applications a ON a.client_id = cc.client_id \
       WHERE u.removed_at IS NULL AND u.blocked = 0 AND a.removed_at IS NULL \
         AND COALESCE(a.app_type, '') <> 'non_interactive' \
         AND (COALESCE(a.organization_usage, '') <> 'require' OR EXISTS (\
           SELECT 1 FROM memberships m \
           JOIN organization_connections oc ON oc.org_id = m.org_id AND oc.connection_id = c.connection_id \
           WHERE m.user_id = u.user_id AND m.removed_at IS NULL))) \
     INSERT INTO app_reach (client_id, users_can_reach, never_used, computed_at) \
     SELECT a.client_id, COUNT(r.user_id), \
       COUNT(r.user_id) - COUNT((SELECT 1 FROM app_usage au WHERE au.user_id = r.user_id \
         AND au.client_id = a.client_id AND au.last_login IS NOT NULL)), ?1 \
     FROM applications a LEFT JOIN reach r ON r.client_id = a.client_id \
     WHERE true GROUP BY a.client_id \
     ON CONFLICT (client_id) DO UPDATE SET users_can_reach = excluded.users_can_reach, \
       never_used = excluded.never_used, computed_at = excluded.computed_at \
     WHERE app_reach.users_can_reach <> excluded.users_can_reach \
       OR app_reach.never_used <> excluded.never_used";

// ---------------------------------------------------------------------------------------------
// Rows the sync writes and compares.

/// An application row to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppRow {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its type.
    pub app_type: Option<String>,
    /// 0/1.
    pub is_first_party: i64,
    /// `deny`, `allow`, `require`.
    pub organization_usage: Option<String>,
    /// A hash of the fields above.
    pub fingerprint: String,
}

/// A connection row to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnRow {
    /// `con_…`.
    pub connection_id: String,
    /// The name users' identities carry.
    pub name: String,
    /// Its strategy.
    pub strategy: Option<String>,
    /// A hash of the fields above.
    pub fingerprint: String,
}

/// What the sync compares a listed row with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The row's id (`client_id` or `connection_id`).
    pub id: String,
    /// The stored fingerprint.
    pub fingerprint: String,
    /// Whether the row is marked removed.
    pub removed_at: Option<String>,
    /// `organization_usage` (applications only).
    pub organization_usage: Option<String>,
}

impl FromRow for StoredRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.string("id")?,
            fingerprint: row.string("fingerprint")?,
            removed_at: row.opt_string("removed_at")?,
            organization_usage: row.opt_string("organization_usage")?,
        })
    }
}

/// Stored applications.
pub const STORED_APPS: &str = "SELECT client_id AS id, fingerprint, removed_at, organization_usage \
     FROM applications";
/// Inserts or updates applications from a JSON array of [`AppRow`]; `?2` is now. Unchanged rows
/// are not written; a returning one has its removal cleared.
pub const UPSERT_APPS: &str = "INSERT INTO applications (client_id, name, app_type, is_first_party, \
       organization_usage, fingerprint, first_seen_at, removed_at) \
     SELECT value ->> '$.client_id', value ->> '$.name', value ->> '$.app_type', value ->> '$.is_first_party', \
       value ->> '$.organization_usage', value ->> '$.fingerprint', ?2, NULL FROM json_each(?1) WHERE true \
     ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, app_type = excluded.app_type, \
       is_first_party = excluded.is_first_party, organization_usage = excluded.organization_usage, \
       fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE applications.fingerprint <> excluded.fingerprint OR applications.removed_at IS NOT NULL";
/// Marks the applications in the JSON array `?1` removed at `?2`.
pub const MARK_APPS_REMOVED: &str = "UPDATE applications SET removed_at = ?2 \
     WHERE removed_at IS NULL AND client_id IN (SELECT value FROM json_each(?1))";

/// Stored connections.
pub const STORED_CONNS: &str =
    "SELECT connection_id AS id, fingerprint, removed_at FROM connections";
/// Inserts or updates connections from a JSON array of [`ConnRow`]; `?2` is now.
pub const UPSERT_CONNS: &str = "INSERT INTO connections (connection_id, name, strategy, \
       fingerprint, first_seen_at, removed_at) \
     SELECT value ->> '$.connection_id', value ->> '$.name', value ->> '$.strategy', value ->> '$.fingerprint', ?2, \
       NULL FROM json_each(?1) WHERE true \
     ON CONFLICT (connection_id) DO UPDATE SET name = excluded.name, strategy = excluded.strategy, \
       fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE connections.fingerprint <> excluded.fingerprint OR connections.removed_at IS NOT NULL";
/// Marks the connections in `?1` removed at `?2`; their enabled clients go with them (below).
pub const MARK_CONNS_REMOVED: &str = "UPDATE connections SET removed_at = ?2 \
     WHERE removed_at IS NULL AND connection_id IN (SELECT value FROM json_each(?1))";
/// The applications enabled on the connections of `?1`.
pub const CLIENTS_OF_CONNS: &str = "SELECT DISTINCT client_id AS id FROM connection_clients \
     WHERE connection_id IN (SELECT value FROM json_each(?1))";
/// The applications requiring organizations enabled on the connections of `?1`.
pub const REQUIRING_CLIENTS_OF_CONNS: &str = "SELECT DISTINCT cc.client_id AS id \
     FROM connection_clients cc JOIN applications a ON a.client_id = cc.client_id \
     WHERE a.organization_usage = 'require' AND cc.connection_id IN (SELECT value FROM json_each(?1))";
/// Forgets the enabled clients of the connections in `?1` (removed ones).
pub const DROP_CLIENTS_OF_CONNS: &str = "DELETE FROM connection_clients \
     WHERE connection_id IN (SELECT value FROM json_each(?1))";

/// One connection's enabled clients.
pub const CONNECTION_CLIENTS: &str =
    "SELECT client_id AS id FROM connection_clients WHERE connection_id = ?1";
/// Adds enabled clients (`?2`, JSON) to connection `?1`.
pub const ADD_CONNECTION_CLIENTS: &str = "INSERT OR IGNORE INTO connection_clients \
     (connection_id, client_id) SELECT ?1, value FROM json_each(?2)";
/// Drops enabled clients (`?2`, JSON) from connection `?1`.
pub const DROP_CONNECTION_CLIENTS: &str = "DELETE FROM connection_clients \
     WHERE connection_id = ?1 AND client_id IN (SELECT value FROM json_each(?2))";

/// One organization's enabled connections.
pub const ORG_CONNECTIONS: &str =
    "SELECT connection_id AS id FROM organization_connections WHERE org_id = ?1";
/// Adds enabled connections (`?2`) to organization `?1`.
pub const ADD_ORG_CONNECTIONS: &str = "INSERT OR IGNORE INTO organization_connections \
     (org_id, connection_id) SELECT ?1, value FROM json_each(?2)";
/// Drops enabled connections (`?2`) from organization `?1`.
pub const DROP_ORG_CONNECTIONS: &str = "DELETE FROM organization_connections \
     WHERE org_id = ?1 AND connection_id IN (SELECT value FROM json_each(?2))";
/// Forgets the enabled connections of organizations marked removed.
pub const DROP_CONNECTIONS_OF_GONE_ORGS: &str = "DELETE FROM organization_connections \
     WHERE org_id IN (SELECT id FROM organizations WHERE removed_at IS NOT NULL)";

/// Current connections, by id.
pub const CURRENT_CONNECTION_IDS: &str = "SELECT connection_id AS id FROM connections \
     WHERE removed_at IS NULL ORDER BY connection_id";
/// An application that requires organizations, if any.
pub const ANY_REQUIRES_ORGS: &str = "SELECT client_id AS id FROM applications \
     WHERE removed_at IS NULL AND organization_usage = 'require' LIMIT 1";
/// Who can reach the applications of the JSON array `?1`: (client, user) pairs with what an
/// event about them says.
pub fn reach_pairs_sql() -> String {
    format!(
        "SELECT a.client_id, a.name, u.user_id, u.email FROM users u JOIN applications a \
         WHERE a.client_id IN (SELECT value FROM json_each(?1)) AND {REACH}"
    )
}

// ---------------------------------------------------------------------------------------------
// Reach events, written in the batch of the wiring write that causes them (migration 0016).
//
// `?1` of each is the JSON array of the applications the write touches (a few ids at most per
// application: never in proportion to the users). A wiring batch runs
// `[SNAPSHOT_DROP, SNAPSHOT_ADD, <wiring writes>, REACH_EVENTS, SNAPSHOT_DROP, SNAPSHOT_ADD]`:
// the first two bring the stored pairs of those applications up to the reach before the write
// (users and memberships changed since are not reach events), the events compare the reach
// after it with them, and the last two store it.

/// Drops the stored pairs of the applications of `?1` that [`REACH`] no longer gives (a user or
/// application gone counts as unreachable).
pub fn snapshot_drop_sql() -> String {
    format!(
        "DELETE FROM reach_snapshot WHERE client_id IN (SELECT value FROM json_each(?1)) \
         AND NOT EXISTS (SELECT 1 FROM users u JOIN applications a \
           WHERE u.user_id = reach_snapshot.user_id AND a.client_id = reach_snapshot.client_id \
           AND {REACH})"
    )
}

/// Stores the pairs of the applications of `?1` that [`REACH`] gives and are not stored.
pub fn snapshot_add_sql() -> String {
    format!(
        "INSERT INTO reach_snapshot (client_id, user_id) \
         SELECT a.client_id, u.user_id FROM applications a JOIN users u \
         WHERE a.client_id IN (SELECT value FROM json_each(?1)) AND {REACH} \
           AND NOT EXISTS (SELECT 1 FROM reach_snapshot s \
             WHERE s.client_id = a.client_id AND s.user_id = u.user_id) \
         ON CONFLICT DO NOTHING"
    )
}

/// Appends, for run `?2` at `?3`, an `app_reachable` for each pair of the applications of `?1`
/// that [`REACH`] gives and the snapshot lacks, and an `app_unreachable` for each stored pair it
/// no longer gives; in (application, user, type) order. The sentence and dedupe key are those of
/// `sync::applications::reach_events` (a test holds them equal); a key already stored is
/// skipped, so a batch sent twice writes nothing twice.
pub fn reach_events_sql() -> String {
    format!(
        "WITH moved AS (\
           SELECT 'app_reachable' AS kind, 'can now reach' AS verb, a.client_id, u.user_id \
           FROM applications a JOIN users u \
           WHERE a.client_id IN (SELECT value FROM json_each(?1)) AND {REACH} \
             AND NOT EXISTS (SELECT 1 FROM reach_snapshot s \
               WHERE s.client_id = a.client_id AND s.user_id = u.user_id) \
           UNION ALL \
           SELECT 'app_unreachable', 'can no longer reach', s.client_id, s.user_id \
           FROM reach_snapshot s WHERE s.client_id IN (SELECT value FROM json_each(?1)) \
             AND NOT EXISTS (SELECT 1 FROM users u JOIN applications a \
               WHERE u.user_id = s.user_id AND a.client_id = s.client_id AND {REACH})), \
         keyed AS (SELECT m.kind, m.verb, m.client_id, m.user_id, u.email, a.name, \
             json_array(json_array('run', CAST(?2 AS INTEGER)), m.kind, m.user_id, m.client_id, NULL) \
               AS dedupe \
           FROM moved m LEFT JOIN users u ON u.user_id = m.user_id \
           LEFT JOIN applications a ON a.client_id = m.client_id) \
         INSERT INTO access_events \
           (at, run_id, type, user_id, email, client_id, org_id, detail, baseline, dedupe) \
         SELECT ?3, CAST(?2 AS INTEGER), k.kind, k.user_id, k.email, k.client_id, NULL, \
           COALESCE(k.email, k.user_id) || ' ' || k.verb || ' ' || COALESCE(k.name, k.client_id) \
             || ' (' || k.client_id || '): its connections, enabled clients or organization \
requirement changed', 0, k.dedupe \
         FROM keyed k WHERE NOT EXISTS (SELECT 1 FROM access_events e WHERE e.dedupe = k.dedupe) \
         ORDER BY k.client_id, k.user_id, k.kind \
         ON CONFLICT (dedupe) DO NOTHING"
    )
}

/// One user able to reach one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachPair {
    /// The application.
    pub client_id: String,
    /// Its name.
    pub name: Option<String>,
    /// The user.
    pub user_id: String,
    /// Their email.
    pub email: Option<String>,
}

impl FromRow for ReachPair {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            client_id: row.string("client_id")?,
            name: row.opt_string("name")?,
            user_id: row.string("user_id")?,
            email: row.opt_string("email")?,
        })
    }
}

/// Any stored organization connection.
pub const ANY_ORG_CONNECTION: &str = "SELECT org_id AS id FROM organization_connections LIMIT 1";
/// Current organizations, by id.
pub const CURRENT_ORG_IDS: &str =
    "SELECT id FROM organizations WHERE removed_at IS NULL ORDER BY id";

/// Records granted optional scopes from a JSON array of `{scope, granted}`; `?2` is now. Only a
/// change is written.
pub const RECORD_SCOPES: &str = "INSERT INTO optional_scopes (scope, granted, checked_at) \
     SELECT value ->> '$.scope', value ->> '$.granted', ?2 FROM json_each(?1) WHERE true \
     ON CONFLICT (scope) DO UPDATE SET granted = excluded.granted, checked_at = excluded.checked_at \
     WHERE optional_scopes.granted <> excluded.granted";

/// A row with just an id.
#[derive(Debug, Clone)]
pub struct IdRow {
    /// The id.
    pub id: String,
}

impl FromRow for IdRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.string("id")?,
        })
    }
}

/// A scope and whether the token has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeState {
    /// e.g. `read:clients`.
    pub scope: String,
    /// 0/1.
    pub granted: i64,
}

impl FromRow for ScopeState {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            scope: row.string("scope")?,
            granted: row.i64("granted")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// What the viewer reads.

/// One application with its reach and usage, as `/api/applications` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppSummary {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its type.
    pub app_type: Option<String>,
    /// Users who can reach it (as of the last sync that wrote anything).
    pub users_can_reach: i64,
    /// Users seen using it within 30 days.
    pub active_30d: i64,
    /// Users seen using it within 90 days.
    pub active_90d: i64,
    /// Users who can reach it but have no login since tracking began.
    pub never_used: i64,
    /// The newest login to it.
    pub last_login: Option<String>,
    /// Since when its usage is tracked.
    pub usage_since: Option<String>,
}

impl FromRow for AppSummary {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            client_id: row.string("client_id")?,
            name: row.opt_string("name")?,
            app_type: row.opt_string("app_type")?,
            users_can_reach: row.i64("users_can_reach")?,
            active_30d: row.i64("active_30d")?,
            active_90d: row.i64("active_90d")?,
            never_used: row.i64("never_used")?,
            last_login: row.opt_string("last_login")?,
            usage_since: row.opt_string("usage_since")?,
        })
    }
}

/// The applications the viewer lists: current, not M2M. `?1`/`?2`: the 30/90-day cut-offs;
/// `?3`: one client id, or NULL for all. Activity is read per application from its key range
/// of `app_usage` (keyed by client, then user: migration 0019).
pub const LIST_APPS: &str = "SELECT a.client_id, a.name, a.app_type, \
       COALESCE(r.users_can_reach, 0) AS users_can_reach, \
       (SELECT COUNT(*) FROM app_usage au WHERE au.client_id = a.client_id AND au.last_seen >= ?1) AS active_30d, \
       (SELECT COUNT(*) FROM app_usage au WHERE au.client_id = a.client_id AND au.last_seen >= ?2) AS active_90d, \
       COALESCE(r.never_used, 0) AS never_used, \
       (SELECT MAX(au.last_login) FROM app_usage au WHERE au.client_id = a.client_id) AS last_login, \
       (SELECT tracking_since FROM log_cursor WHERE id = 1) AS usage_since \
     FROM applications a LEFT JOIN app_reach r ON r.client_id = a.client_id \
     WHERE a.removed_at IS NULL AND COALESCE(a.app_type, '') <> 'non_interactive' \
       AND (?3 IS NULL OR a.client_id = ?3) \
     ORDER BY lower(COALESCE(a.name, '')), a.client_id";

/// A user of an application: who can reach it, or used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppUser {
    /// The user.
    pub user_id: String,
    /// Their email.
    pub email: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// Their primary connection.
    pub connection: Option<String>,
    /// Whether they can reach the application now.
    pub can_reach: bool,
    /// Their newest login to it.
    pub last_login: Option<String>,
    /// Their logins to it since tracking began.
    pub logins: i64,
    /// When they were last seen using it.
    pub last_seen: Option<String>,
}

/// An application of a user, as `/api/users/{id}` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserApp {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Whether the user can reach it now.
    pub can_reach: bool,
    /// Their newest login to it.
    pub last_login: Option<String>,
    /// Their logins to it since tracking began.
    pub logins: i64,
    /// When they were last seen using it.
    pub last_seen: Option<String>,
}

// D1 and SQLite give booleans as 0/1.
impl FromRow for AppUser {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            user_id: row.string("user_id")?,
            email: row.opt_string("email")?,
            name: row.opt_string("name")?,
            connection: row.opt_string("connection")?,
            can_reach: row.flag("can_reach")?,
            last_login: row.opt_string("last_login")?,
            logins: row.i64("logins")?,
            last_seen: row.opt_string("last_seen")?,
        })
    }
}

impl FromRow for UserApp {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            client_id: row.string("client_id")?,
            name: row.opt_string("name")?,
            can_reach: row.flag("can_reach")?,
            last_login: row.opt_string("last_login")?,
            logins: row.i64("logins")?,
            last_seen: row.opt_string("last_seen")?,
        })
    }
}

/// Which users of an application to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activity {
    /// Everyone who can reach it or used it.
    #[default]
    Any,
    /// Seen within 30 days.
    Active30,
    /// Seen within 90 days.
    Active90,
    /// Not seen within 90 days (never included).
    Inactive90,
    /// Never seen since tracking began.
    Never,
}

/// One page of an application's users.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppUsersQuery {
    /// The application.
    pub client_id: String,
    /// Page size.
    pub limit: u32,
    /// Users after this `user_id` (the cursor).
    pub after: Option<String>,
    /// The activity filter.
    pub activity: Activity,
    /// A lower-case substring of email or name.
    pub search: Option<String>,
    /// The 30- and 90-day cut-offs (ISO).
    pub cutoffs: [String; 2],
}

/// The statement for one page of an application's users, in `user_id` order (the primary key:
/// no sort), with every filter bound.
pub fn app_users_sql(q: &AppUsersQuery) -> (String, Vec<Arg>) {
    let mut args = vec![
        Arg::text(&q.client_id),
        Arg::text(q.after.as_deref().unwrap_or("")),
        Arg::Int(i64::from(q.limit)),
    ];
    let mut conds = vec!["(can_reach OR used)".to_string()];
    let mut bind = |v: Arg| {
        args.push(v);
        format!("?{}", args.len())
    };
    match q.activity {
        Activity::Any => {}
        Activity::Active30 => {
            conds.push(format!("last_seen >= {}", bind(Arg::text(&q.cutoffs[0]))))
        }
        Activity::Active90 => {
            conds.push(format!("last_seen >= {}", bind(Arg::text(&q.cutoffs[1]))))
        }
        Activity::Inactive90 => conds.push(format!(
            "(last_seen IS NULL OR last_seen < {})",
            bind(Arg::text(&q.cutoffs[1]))
        )),
        Activity::Never => conds.push("last_seen IS NULL".into()),
    }
    let search = q.search.as_ref().map(|s| {
        format!(
            " AND instr(u.search_text, {}) > 0",
            bind(Arg::Text(s.clone()))
        )
    });
    let sql = format!(
        "SELECT user_id, email, name, connection, can_reach, last_login, logins, last_seen FROM (\
           SELECT u.user_id, u.email, u.name, u.connection, \
             (SELECT {REACH} FROM applications a WHERE a.client_id = ?1) AS can_reach, \
             au.user_id IS NOT NULL AS used, au.last_login, COALESCE(au.logins, 0) AS logins, \
             au.last_seen \
           FROM users u LEFT JOIN app_usage au ON au.user_id = u.user_id AND au.client_id = ?1 \
           WHERE u.removed_at IS NULL AND u.user_id > ?2{}) \
         WHERE {} ORDER BY user_id LIMIT ?3",
        search.unwrap_or_default(),
        conds.join(" AND ")
    );
    (sql, args)
}

/// One user's applications: those they can reach or used. `?1`: the user.
pub fn user_apps_sql() -> String {
    format!(
        "SELECT client_id, name, can_reach, last_login, logins, last_seen FROM (\
           SELECT a.client_id, a.name, {REACH} AS can_reach, au.user_id IS NOT NULL AS used, \
             au.last_login, COALESCE(au.logins, 0) AS logins, au.last_seen \
           FROM users u JOIN applications a \
           LEFT JOIN app_usage au ON au.user_id = u.user_id AND au.client_id = a.client_id \
           WHERE u.user_id = ?1 AND a.removed_at IS NULL \
             AND COALESCE(a.app_type, '') <> 'non_interactive') \
         WHERE can_reach OR used ORDER BY lower(COALESCE(name, '')), client_id"
    )
}

/// Every optional scope's state, as of the newest run.
pub const LIST_SCOPES: &str = "SELECT scope, granted FROM optional_scopes ORDER BY scope";

/// A span of the log whose usage is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageGap {
    /// The newest event read before the gap, if known.
    pub gap_from: Option<String>,
    /// The oldest event read after it.
    pub gap_until: String,
}

impl FromRow for UsageGap {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            gap_from: row.opt_string("gap_from")?,
            gap_until: row.string("gap_until")?,
        })
    }
}

/// The newest gaps in usage coverage.
pub const LIST_GAPS: &str = "SELECT gap_from, gap_until FROM usage_gaps ORDER BY id DESC LIMIT 50";

// ---------------------------------------------------------------------------------------------
// The calls, over any runner. Those that only forward return the runner's future rather than
// wrapping it in one of their own (one state machine less in the wasm each).

/// Stored applications.
///
/// # Errors
/// Any database failure.
pub fn stored_apps<R: SqlRunner>(
    db: &R,
) -> impl Future<Output = Result<Vec<StoredRow>, StoreError>> {
    db.sql_rows("read applications", STORED_APPS, &[])
}

/// Stored connections.
///
/// # Errors
/// Any database failure.
pub fn stored_connections<R: SqlRunner>(
    db: &R,
) -> impl Future<Output = Result<Vec<StoredRow>, StoreError>> {
    db.sql_rows("read connections", STORED_CONNS, &[])
}

/// Ids from a query of ids.
///
/// # Errors
/// Any database failure.
pub async fn ids<R: SqlRunner>(
    db: &R,
    op: &'static str,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<IdRow> = db.sql_rows(op, sql, args).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The applications the viewer lists (`client_id` set: that one only).
///
/// # Errors
/// Any database failure.
pub async fn list_apps<R: SqlRunner>(
    db: &R,
    cutoffs: &[String; 2],
    client_id: Option<&str>,
) -> Result<Vec<AppSummary>, StoreError> {
    let one = client_id.map_or(Arg::Null, Arg::text);
    db.sql_rows(
        "list applications",
        LIST_APPS,
        &[Arg::text(&cutoffs[0]), Arg::text(&cutoffs[1]), one],
    )
    .await
}

/// One page of an application's users.
///
/// # Errors
/// Any database failure.
pub async fn app_users<R: SqlRunner>(
    db: &R,
    q: &AppUsersQuery,
) -> Result<Vec<AppUser>, StoreError> {
    let (sql, args) = app_users_sql(q);
    db.sql_rows("list application users", &sql, &args).await
}

/// One user's applications.
///
/// # Errors
/// Any database failure.
pub async fn user_apps<R: SqlRunner>(db: &R, user_id: &str) -> Result<Vec<UserApp>, StoreError> {
    db.sql_rows(
        "list user applications",
        &user_apps_sql(),
        &[Arg::text(user_id)],
    )
    .await
}

/// The optional scopes' states.
///
/// # Errors
/// Any database failure.
pub fn scopes<R: SqlRunner>(db: &R) -> impl Future<Output = Result<Vec<ScopeState>, StoreError>> {
    db.sql_rows("read optional scopes", LIST_SCOPES, &[])
}

/// The newest gaps in usage coverage.
///
/// # Errors
/// Any database failure.
pub fn gaps<R: SqlRunner>(db: &R) -> impl Future<Output = Result<Vec<UsageGap>, StoreError>> {
    db.sql_rows("read usage gaps", LIST_GAPS, &[])
}

#[cfg(test)]
mod tests;
