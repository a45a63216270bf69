//! Daily trend snapshots (migration 0014): the row type, the aggregate SQL the sync runs at its
//! end, the read the charts use, and the narrow [`TrendStore`] trait.

use serde::Serialize;

use super::row::FromRow;
use crate::fields::{FieldError, Fields};

use super::StoreError;
use crate::time::{EpochMs, iso_from_ms};

const MS_PER_DAY: u64 = 86_400_000;

/// Which series a snapshot row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole tenant (key `''`).
    Tenant,
    /// One primary connection (key: its name; `''` for users without one).
    Connection,
    /// One organization (key: its id).
    Organization,
    /// One application (key: its client id), from the log's usage.
    Application,
}

impl Scope {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::Connection => "connection",
            Self::Organization => "organization",
            Self::Application => "application",
        }
    }
}

/// The instants one snapshot is taken at, bound as `?1..?9` in every snapshot statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotAt {
    /// `?1`: the UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// `?2`: the day's start.
    pub day_start: String,
    /// `?3`: the next day's start.
    pub next_day: String,
    /// `?4`: now, the snapshot's `taken_at`.
    pub now: String,
    /// `?5..?9`: 30, 60, 90, 180 and 365 days before now.
    pub cutoffs: [String; 5],
}

impl SnapshotAt {
    /// The instants for a snapshot taken at `now`.
    pub fn at(now: EpochMs) -> Self {
        let start = now - now % MS_PER_DAY;
        let day_start = iso_from_ms(start);
        Self {
            day: day_start.get(..10).unwrap_or_default().to_string(), // ok: ISO text is ASCII
            day_start,
            next_day: iso_from_ms(start + MS_PER_DAY),
            now: iso_from_ms(now),
            cutoffs: [30u64, 60, 90, 180, 365]
                .map(|d| iso_from_ms(now.saturating_sub(d * MS_PER_DAY))),
        }
    }

    /// The nine bound values, in order.
    pub fn args(&self) -> [&str; 9] {
        let [c30, c60, c90, c180, c365] = &self.cutoffs;
        [
            &self.day,
            &self.day_start,
            &self.next_day,
            &self.now,
            c30,
            c60,
            c90,
            c180,
            c365,
        ]
    }
}

/// One stored snapshot row, as the charts read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The series' key (connection name, organization id, client id; `''` for the tenant).
    pub key: String,
    /// A readable name: the organization's or application's name, else the key.
    pub label: Option<String>,
    /// Current seats (organizations: members; applications: users who used it).
    pub seats: Option<i64>,
    /// Not removed and not blocked.
    pub active: Option<i64>,
    /// Blocked.
    pub blocked: Option<i64>,
    /// Marked removed that day.
    pub removed: Option<i64>,
    /// Created that day (applications: first used).
    pub added: Option<i64>,
    /// Logged in within 30 days.
    pub active_30: Option<i64>,
    /// Logged in within 90 days.
    pub active_90: Option<i64>,
    /// Never logged in.
    pub never: Option<i64>,
    /// Last login 31–60 days before the snapshot.
    pub login_31_60: Option<i64>,
    /// 61–90 days.
    pub login_61_90: Option<i64>,
    /// 91–180 days.
    pub login_91_180: Option<i64>,
    /// 181–365 days.
    pub login_181_365: Option<i64>,
    /// Over 365 days.
    pub login_over_365: Option<i64>,
    /// Cumulative logins.
    pub logins: Option<i64>,
    /// Backfilled from `created_at`, not observed.
    pub derived: bool,
}

impl FromRow for TrendRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            day: row.string("day")?,
            key: row.string("key")?,
            label: row.opt_string("label")?,
            seats: row.opt_i64("seats")?,
            active: row.opt_i64("active")?,
            blocked: row.opt_i64("blocked")?,
            removed: row.opt_i64("removed")?,
            added: row.opt_i64("added")?,
            active_30: row.opt_i64("active_30")?,
            active_90: row.opt_i64("active_90")?,
            never: row.opt_i64("never")?,
            login_31_60: row.opt_i64("login_31_60")?,
            login_61_90: row.opt_i64("login_61_90")?,
            login_91_180: row.opt_i64("login_91_180")?,
            login_181_365: row.opt_i64("login_181_365")?,
            login_over_365: row.opt_i64("login_over_365")?,
            logins: row.opt_i64("logins")?,
            derived: row.flag("derived")?,
        })
    }
}

/// The columns every observed snapshot writes, in this order.
macro_rules! columns {
    () => {
        "INSERT OR REPLACE INTO trend_days (day, scope, key, seats, active, blocked, removed, \
         added, active_30, active_90, never, login_31_60, login_61_90, login_91_180, \
         login_181_365, login_over_365, logins, derived, taken_at) "
    };
}

/// Figures over users `u` (`?2..?3` the day, `?4` the snapshot's instant, `?5..?9` the
/// cut-offs), from `seats` to `login_over_365`. `COUNT(CASE …)` rather than `SUM(…)`: zero, not
/// NULL, over no rows. A snapshot never counts what is dated after its instant (a sync at a
/// simulated time, over data stored by a later one): a last login after `?4` is no login
/// within 30 or 90 days, nor in any bar of the reclaim curve (what came before it is unknown),
/// and a user removed after `?4` is counted as they stood then (still a seat).
macro_rules! user_figures {
    () => {
        "COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.blocked = 0 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.blocked = 1 THEN 1 END), \
         COUNT(CASE WHEN u.removed_at >= ?2 AND u.removed_at < ?3 AND u.removed_at <= ?4 THEN 1 END), \
         COUNT(CASE WHEN u.created_at >= ?2 AND u.created_at < ?3 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login >= ?5 AND u.last_login <= ?4 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login >= ?7 AND u.last_login <= ?4 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login IS NULL THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login < ?5 AND u.last_login >= ?6 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login < ?6 AND u.last_login >= ?7 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login < ?7 AND u.last_login >= ?8 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login < ?8 AND u.last_login >= ?9 THEN 1 END), \
         COUNT(CASE WHEN (u.removed_at IS NULL OR u.removed_at > ?4) AND u.last_login < ?9 THEN 1 END), \
         COALESCE(SUM(CASE WHEN u.last_login IS NULL OR u.last_login <= ?4 \
           THEN u.logins_count END), 0)"
    };
}

/// The users a snapshot at `?4` may count: those created by then. (`logins_count` cannot be
/// split by date: a user whose last login is after `?4` adds none of their logins, so a
/// cumulative count only ever holds logins dated before the snapshot.)
macro_rules! known_users {
    () => {
        "(u.created_at IS NULL OR u.created_at <= ?4)"
    };
}

/// Forgets today's observed rows first, so a series gone since the day's first sync (a deleted
/// connection) does not keep its morning figure.
pub const SNAPSHOT_CLEAR_DAY: &str =
    "DELETE FROM trend_days WHERE day = ?1 AND derived = 0 AND ?9 IS NOT NULL";

/// The tenant's row. Logins: the sum of `logins_count` over every stored user, removed ones
/// included, so a removal does not look like negative logins.
pub const SNAPSHOT_TENANT: &str = concat!(
    columns!(),
    "SELECT ?1, 'tenant', '', ",
    user_figures!(),
    ", 0, ?4 FROM users u WHERE ",
    known_users!()
);

/// One row per primary connection.
pub const SNAPSHOT_CONNECTIONS: &str = concat!(
    columns!(),
    "SELECT ?1, 'connection', COALESCE(u.connection, ''), ",
    user_figures!(),
    ", 0, ?4 FROM users u WHERE ",
    known_users!(),
    " GROUP BY COALESCE(u.connection, '')"
);

/// One row per organization still listed: its current members who are current users.
pub const SNAPSHOT_ORGANIZATIONS: &str = concat!(
    columns!(),
    "SELECT ?1, 'organization', m.org_id, ",
    user_figures!(),
    ", 0, ?4 FROM memberships m \
     JOIN organizations o ON o.id = m.org_id AND (o.removed_at IS NULL OR o.removed_at > ?4) \
     JOIN users u ON u.user_id = m.user_id \
     WHERE (m.removed_at IS NULL OR m.removed_at > ?4) AND ",
    known_users!(),
    " GROUP BY m.org_id"
);

/// One row per application with tracked usage (migration 0009's `app_usage`, filled from the
/// log): users who used it, first uses that day, users seen in 30/90 days, cumulative logins;
/// each only from events dated at or before the snapshot's instant `?4`. A pair first used
/// after it is left out; one seen last after it is not active (its earlier use is unknown); one
/// whose last login is after it adds none of its logins (they cannot be split by date). Read in
/// time order, as the log follower reads Auth0's log, a pair never holds such dates, and every
/// figure is exact.
pub const SNAPSHOT_APPLICATIONS: &str = concat!(
    columns!(),
    "SELECT ?1, 'application', a.client_id, COUNT(*), NULL, NULL, NULL, \
     COUNT(CASE WHEN a.first_used >= ?2 AND a.first_used < ?3 THEN 1 END), \
     COUNT(CASE WHEN a.last_seen >= ?5 AND a.last_seen <= ?4 THEN 1 END), \
     COUNT(CASE WHEN a.last_seen >= ?7 AND a.last_seen <= ?4 THEN 1 END), \
     NULL, NULL, NULL, NULL, NULL, NULL, \
     COALESCE(SUM(CASE WHEN a.last_login <= ?4 THEN a.logins END), 0), 0, ?4 FROM app_usage a \
     WHERE (a.first_used IS NULL OR a.first_used <= ?4) \
     AND ?6 IS NOT NULL AND ?8 IS NOT NULL AND ?9 IS NOT NULL GROUP BY a.client_id"
);

/// The honest backfill, for the tenant only: for each day before the first observed one on
/// which users were created, how many (`added`) and how many stored users had been created by
/// then (`seats`). Users deleted before tracking began are unknown, so these are marked
/// `derived`; rows already there are rewritten only when a figure changed.
pub const SNAPSHOT_BACKFILL: &str = "INSERT INTO trend_days (day, scope, key, seats, added, \
     derived, taken_at) \
     SELECT day, 'tenant', '', cum, n, 1, ?4 FROM ( \
       SELECT day, n, SUM(n) OVER (ORDER BY day) AS cum FROM ( \
         SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS n FROM users GROUP BY 1)) \
     WHERE day < (SELECT COALESCE(MIN(day), ?1) FROM trend_days \
       WHERE scope = 'tenant' AND key = '' AND derived = 0) AND ?9 IS NOT NULL \
     ON CONFLICT (scope, key, day) DO UPDATE SET seats = excluded.seats, \
       added = excluded.added, taken_at = excluded.taken_at \
     WHERE trend_days.derived = 1 \
       AND (trend_days.seats IS NOT excluded.seats OR trend_days.added IS NOT excluded.added)";

/// The snapshot, in order: each statement binds the same nine values ([`SnapshotAt::args`]);
/// those that need fewer still name `?9` (as an always-true test), since SQLite and D1 refuse
/// more bound values than a statement has.
pub const SNAPSHOT: [&str; 6] = [
    SNAPSHOT_CLEAR_DAY,
    SNAPSHOT_TENANT,
    SNAPSHOT_CONNECTIONS,
    SNAPSHOT_ORGANIZATIONS,
    SNAPSHOT_APPLICATIONS,
    SNAPSHOT_BACKFILL,
];

/// D1 queries one snapshot costs: one per statement.
pub const SNAPSHOT_QUERIES: u32 = SNAPSHOT.len() as u32;

/// One scope's rows from `?2` (a day) on, oldest first per key, with a readable label.
pub const TREND_ROWS: &str = "SELECT t.day, t.key, \
     COALESCE(o.display_name, o.name, ap.name) AS label, t.seats, t.active, t.blocked, \
     t.removed, t.added, t.active_30, t.active_90, t.never, t.login_31_60, t.login_61_90, \
     t.login_91_180, t.login_181_365, t.login_over_365, t.logins, t.derived \
     FROM trend_days t \
     LEFT JOIN organizations o ON ?1 = 'organization' AND o.id = t.key \
     LEFT JOIN applications ap ON ?1 = 'application' AND ap.client_id = t.key \
     WHERE t.scope = ?1 AND t.day >= ?2 ORDER BY t.key, t.day";

/// What the snapshot and the charts need from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait TrendStore {
    /// Writes (or overwrites) the day's snapshot with the [`SNAPSHOT`] statements, in one batch;
    /// returns rows written.
    ///
    /// # Errors
    /// Any database failure (then nothing of it is written).
    async fn take_snapshot(&self, at: &SnapshotAt) -> Result<u64, StoreError>;
    /// One scope's rows from `from_day` (`YYYY-MM-DD`) on.
    ///
    /// # Errors
    /// Any database failure.
    async fn trend_rows(&self, scope: Scope, from_day: &str) -> Result<Vec<TrendRow>, StoreError>;
}
