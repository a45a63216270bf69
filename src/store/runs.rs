//! The `sync_runs` table (the sync history) and the `sync_lock` row: row types and SQL.

use serde::Serialize;

use super::StoreError;
use super::applications::{Arg, SqlRunner};
use super::row::FromRow;
use crate::fields::{FieldError, Fields};
use crate::time::{EpochMs, iso_from_ms};

/// How a run ended, or that it is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// In progress.
    Running,
    /// Everything listed and stored.
    Succeeded,
    /// Stopped by an error; nothing was marked removed.
    Failed,
    /// Users synced, but part of the data (e.g. organizations) could not be read.
    Partial,
    /// D1 refused a query for a Free-plan daily limit; the run keeps its cursor and continues
    /// after the next 00:00 UTC (its `finished_at` is when it paused).
    Paused,
}

impl RunStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Partial => "partial",
            Self::Paused => "paused",
        }
    }

    /// The status stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Partial,
            Self::Paused,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// What a row of the sync history is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// Lists every user; the only kind that may mark a user removed from their absence.
    Full,
    /// Lists only the users updated since the last proven listing (minus an overlap).
    Incremental,
    /// The Event Streams and Log Streams deliveries of one UTC hour; no Auth0 request.
    Push,
}

impl RunKind {
    /// The stored and served text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Incremental => "incremental",
            Self::Push => "push",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Full, Self::Incremental, Self::Push]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// One row of the sync history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Row id.
    pub id: i64,
    /// ISO-8601.
    pub started_at: String,
    /// ISO-8601, once ended.
    pub finished_at: Option<String>,
    /// See [`RunStatus`].
    pub status: RunStatus,
    /// `cron`, `manual` or `push`.
    pub trigger: String,
    /// See [`RunKind`].
    pub kind: RunKind,
    /// For an incremental run: the `updated_at` it lists from.
    pub updated_since: Option<String>,
    /// The user listing ended with every range proven complete (internal: decides the next
    /// incremental run's start and when a full listing is due).
    #[serde(skip_serializing)]
    pub listing_proven: bool,
    /// Distinct users listed.
    pub users_seen: u64,
    /// New users stored.
    pub users_added: u64,
    /// Users whose stored fields changed (including returns after removal).
    pub users_updated: u64,
    /// Users marked removed.
    pub users_removed: u64,
    /// HTTP requests to Auth0, the token's included.
    pub api_requests: u64,
    /// 429 answers met.
    pub rate_limited: u64,
    /// User, organization and membership rows D1 reports written (the run's own record excluded).
    pub rows_written: u64,
    /// Organizations listed.
    pub organizations_seen: u64,
    /// Memberships listed, over all organizations.
    pub memberships_seen: u64,
    /// Memberships new or back after removal.
    pub memberships_added: u64,
    /// Memberships marked removed.
    pub memberships_removed: u64,
    /// Worker invocations the run has taken so far (more than one when it paused at a budget).
    pub invocations: u64,
    /// About how many users the tenant has: the last sync's count, or Auth0's total.
    pub users_total_estimate: Option<u64>,
    /// D1 queries the run has made.
    pub d1_queries: u64,
    /// Where a paused or checkpointed run continues; internal, never served.
    #[serde(skip_serializing)]
    pub cursor: Option<String>,
    /// A message a person can act on, for failed and partial runs.
    pub error: Option<String>,
}

impl FromRow for RunRecord {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        let status = RunStatus::parse(row.str("status")?).ok_or_else(|| {
            FieldError::new("status", "running, succeeded, failed, partial or paused")
        })?;
        // Columns added by later migrations read as their defaults where a query leaves them out.
        let added = |key| Ok::<_, FieldError>(row.opt_u64(key)?.unwrap_or(0));
        Ok(Self {
            id: row.i64("id")?,
            started_at: row.string("started_at")?,
            finished_at: row.opt_string("finished_at")?,
            status,
            trigger: row.string("trigger")?,
            kind: match row.opt_string("kind")? {
                None => RunKind::Full,
                Some(k) => RunKind::parse(&k)
                    .ok_or_else(|| FieldError::new("kind", "full, incremental or push"))?,
            },
            updated_since: row.opt_string("updated_since")?,
            listing_proven: row.opt_flag("listing_proven")?.unwrap_or(false),
            users_seen: row.u64("users_seen")?,
            users_added: row.u64("users_added")?,
            users_updated: row.u64("users_updated")?,
            users_removed: row.u64("users_removed")?,
            api_requests: row.u64("api_requests")?,
            rate_limited: row.u64("rate_limited")?,
            rows_written: row.u64("rows_written")?,
            organizations_seen: added("organizations_seen")?,
            memberships_seen: added("memberships_seen")?,
            memberships_added: added("memberships_added")?,
            memberships_removed: added("memberships_removed")?,
            invocations: row.opt_u64("invocations")?.unwrap_or(1),
            users_total_estimate: row.opt_u64("users_total_estimate")?,
            d1_queries: added("d1_queries")?,
            cursor: row.opt_string("cursor")?,
            error: row.opt_string("error")?,
        })
    }
}

impl RunRecord {
    /// A run that has just started.
    pub fn started(id: i64, started_at: String, trigger: &str) -> Self {
        Self {
            id,
            started_at,
            finished_at: None,
            status: RunStatus::Running,
            trigger: trigger.to_string(),
            kind: RunKind::Full,
            updated_since: None,
            listing_proven: false,
            users_seen: 0,
            users_added: 0,
            users_updated: 0,
            users_removed: 0,
            api_requests: 0,
            rate_limited: 0,
            rows_written: 0,
            organizations_seen: 0,
            memberships_seen: 0,
            memberships_added: 0,
            memberships_removed: 0,
            invocations: 1,
            users_total_estimate: None,
            d1_queries: 0,
            cursor: None,
            error: None,
        }
    }
}

/// Inserts a running run (`?1` started_at, `?2` trigger, `?3` kind, `?4` updated_since) and
/// returns its id.
pub const INSERT_RUN: &str = "INSERT INTO sync_runs (started_at, status, trigger, kind, \
     updated_since) VALUES (?1, 'running', ?2, ?3, ?4) RETURNING id";

/// Saves a run's counters and outcome by id.
pub const UPDATE_RUN: &str = "UPDATE sync_runs SET finished_at = ?2, status = ?3, users_seen = ?4, \
     users_added = ?5, users_updated = ?6, users_removed = ?7, api_requests = ?8, \
     rate_limited = ?9, rows_written = ?10, error = ?11, organizations_seen = ?12, \
     memberships_seen = ?13, memberships_added = ?14, memberships_removed = ?15, \
     invocations = ?16, users_total_estimate = ?17, d1_queries = ?18, cursor = ?19, \
     listing_proven = ?20 WHERE id = ?1";

/// Fails every run left `running` without a cursor by an invocation that died (`?1` now, `?2`
/// message); paused and checkpointed runs carry a cursor and are continued instead.
pub const CLOSE_ABANDONED: &str = "UPDATE sync_runs SET status = 'failed', finished_at = ?1, \
     error = ?2 WHERE status = 'running' AND cursor IS NULL";

/// Forgets the pending removals of every run that is no longer `running` or `paused` (run after
/// [`CLOSE_ABANDONED`]): a dead run's held users must not wait in the table forever, and a run
/// paused at D1's daily limit keeps them for the next day.
pub const CLEAR_ORPHANED_PENDING: &str = "DELETE FROM sync_pending_removals WHERE run_id NOT IN \
     (SELECT id FROM sync_runs WHERE status IN ('running', 'paused'))";

/// The newest runs, `?1` = how many.
pub const LIST_RUNS: &str = "SELECT id, started_at, finished_at, status, trigger, users_seen, \
     users_added, users_updated, users_removed, api_requests, rate_limited, rows_written, error, \
     organizations_seen, memberships_seen, memberships_added, memberships_removed, invocations, \
     users_total_estimate, d1_queries, kind, updated_since, listing_proven FROM sync_runs \
     ORDER BY id DESC LIMIT ?1";

/// The newest run to continue, if any: one paused at an invocation's budget (still `running`,
/// with a cursor) or at D1's daily limit (`paused`; continued only after the reset).
pub const PAUSED_RUN: &str = "SELECT id, started_at, finished_at, status, trigger, users_seen, \
     users_added, users_updated, users_removed, api_requests, rate_limited, rows_written, error, \
     organizations_seen, memberships_seen, memberships_added, memberships_removed, invocations, \
     users_total_estimate, d1_queries, cursor, kind, updated_since, listing_proven \
     FROM sync_runs \
     WHERE (status = 'running' AND cursor IS NOT NULL) OR status = 'paused' \
     ORDER BY id DESC LIMIT 1";

/// The starts of the newest proven listings (`last_full` of a full one, `last_listed` of any),
/// what the newest proven full listing cost, and what the schedule needs to know of the
/// tenant's deletion signals (`sync::schedule`): whether `read:logs` was granted, since when the
/// log has been followed (only once it has a checkpoint), the end of the newest span of the log
/// lost to retention, and when the newest Event Streams delivery arrived (the log's deletions,
/// polled or pushed by a Log Stream, are recorded in `push_events` too, as `log:<log_id>`: they
/// are no Event Streams delivery). One query.
pub const LAST_LISTINGS: &str = "SELECT \
     (SELECT MAX(started_at) FROM sync_runs WHERE listing_proven = 1 AND kind = 'full') \
     AS last_full, \
     (SELECT MAX(started_at) FROM sync_runs WHERE listing_proven = 1 \
     AND kind IN ('full', 'incremental')) AS last_listed, \
     (SELECT api_requests FROM sync_runs WHERE listing_proven = 1 AND kind = 'full' \
     ORDER BY started_at DESC, id DESC LIMIT 1) AS last_full_requests, \
     (SELECT granted FROM optional_scopes WHERE scope = 'read:logs') AS logs_granted, \
     (SELECT tracking_since FROM log_cursor WHERE id = 1 AND checkpoint IS NOT NULL) \
     AS log_tracking_since, \
     (SELECT MAX(gap_until) FROM usage_gaps) AS log_gap_until, \
     (SELECT MAX(received_at) FROM push_events WHERE id NOT LIKE 'log:%') AS last_push";

/// When the last proven listings started, and the facts behind the tenant's deletion signals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastListings {
    /// The newest proven full listing's start.
    pub last_full: Option<String>,
    /// The newest proven listing's start, full or incremental.
    pub last_listed: Option<String>,
    /// The Auth0 requests the newest proven full listing took, every invocation's summed.
    pub last_full_requests: Option<u64>,
    /// Whether the newest full listing's token had `read:logs`; `None` before any recorded it.
    pub logs_granted: Option<bool>,
    /// The date of the oldest log event ever read, once the log has a checkpoint.
    pub log_tracking_since: Option<String>,
    /// The newest end of a span of the log lost to retention (`usage_gaps.gap_until`).
    pub log_gap_until: Option<String>,
    /// When the newest Event Streams delivery still kept arrived (`push_events.received_at`).
    pub last_push: Option<String>,
}

impl FromRow for LastListings {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            last_full: row.opt_string("last_full")?,
            last_listed: row.opt_string("last_listed")?,
            last_full_requests: row.opt_u64("last_full_requests")?,
            logs_granted: row.opt_flag("logs_granted")?,
            log_tracking_since: row.opt_string("log_tracking_since")?,
            log_gap_until: row.opt_string("log_gap_until")?,
            last_push: row.opt_string("last_push")?,
        })
    }
}

/// Opens the push row of the hour starting `?1` (now `?2`) unless it exists.
pub const OPEN_PUSH_ROW: &str = "INSERT INTO sync_runs (started_at, finished_at, status, \
     trigger, kind, invocations) SELECT ?2, ?2, 'succeeded', 'push', 'push', 0 \
     WHERE NOT EXISTS (SELECT 1 FROM sync_runs WHERE kind = 'push' AND started_at >= ?1)";

/// Adds one delivery to the push row of the hour starting `?1` (now `?2`): `?3` events received,
/// `?4` users added, `?5` updated, `?6` removed, `?7` rows written.
pub const ADD_TO_PUSH_ROW: &str = "UPDATE sync_runs SET finished_at = ?2, \
     invocations = invocations + 1, users_seen = users_seen + ?3, users_added = users_added + ?4, \
     users_updated = users_updated + ?5, users_removed = users_removed + ?6, \
     rows_written = rows_written + ?7 \
     WHERE id = (SELECT MAX(id) FROM sync_runs WHERE kind = 'push' AND started_at >= ?1)";

/// One delivery's share of its hour's push row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushTally {
    /// Events received.
    pub received: u64,
    /// Users created by an event.
    pub added: u64,
    /// Users updated by an event.
    pub updated: u64,
    /// Users marked removed by a deletion event.
    pub removed: u64,
    /// Rows the delivery wrote.
    pub rows: u64,
}

/// Adds a delivery to the push row of `now`'s UTC hour (opened by its first delivery), as one
/// batch: the sync history's `push` rows.
///
/// # Errors
/// Any database failure (the delivery itself is stored already: the caller only logs it).
pub async fn record_push<S: SqlRunner>(
    store: &S,
    tally: &PushTally,
    now: EpochMs,
) -> Result<(), StoreError> {
    let hour = Arg::Text(iso_from_ms(now - now % 3_600_000));
    let now = Arg::Text(iso_from_ms(now));
    let n = |v: u64| Arg::Int(i64::try_from(v).unwrap_or(i64::MAX));
    let stmts = [
        (OPEN_PUSH_ROW.to_string(), vec![hour.clone(), now.clone()]),
        (
            ADD_TO_PUSH_ROW.to_string(),
            vec![
                hour,
                now,
                n(tally.received),
                n(tally.added),
                n(tally.updated),
                n(tally.removed),
                n(tally.rows),
            ],
        ),
    ];
    store.sql_batch("record the push", &stmts).await?;
    Ok(())
}

/// Takes or extends the lock (`?1` owner, `?2` now ms, `?3` expiry ms) unless another owner
/// holds an unexpired lease. D1 reports one change exactly when the lock was taken.
pub const TAKE_LOCK: &str = "INSERT INTO sync_lock (id, owner, expires_at) VALUES (1, ?1, ?3) \
     ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
     WHERE sync_lock.owner = excluded.owner OR sync_lock.expires_at <= ?2";

/// Releases the lock if `?1` holds it.
pub const RELEASE_LOCK: &str = "DELETE FROM sync_lock WHERE id = 1 AND owner = ?1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_stored_and_served_lowercase() {
        for s in [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Partial,
            RunStatus::Paused,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(RunStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RunStatus::parse("Running"), None);
    }

    #[test]
    fn a_paused_run_is_stored_found_and_keeps_its_held_removals() {
        let conn = crate::testing::sqlite::migrated();
        conn.execute_batch(
            "INSERT INTO sync_runs (id, started_at, finished_at, status, trigger, cursor) \
             VALUES (1, 't', 't1', 'paused', 'cron', '{}');
             INSERT INTO sync_runs (id, started_at, status, trigger) VALUES (2, 't', 'failed', 'cron');",
        )
        .unwrap();
        assert!(
            conn.execute(
                "INSERT INTO sync_runs (started_at, status, trigger) VALUES ('t', 'waiting', 'cron')",
                [],
            )
            .is_err(),
            "the CHECK constraint still holds"
        );
        let found: (i64, String) = conn
            .query_row(PAUSED_RUN, [], |r| Ok((r.get("id")?, r.get("status")?)))
            .unwrap();
        assert_eq!(found, (1, "paused".to_string()));
        for run in [1, 2] {
            conn.execute(
                super::super::users::ADD_PENDING_REMOVALS,
                rusqlite::params![run, "[\"a\"]"],
            )
            .unwrap();
        }
        conn.execute(CLOSE_ABANDONED, ["t2", "dead"]).unwrap();
        assert_eq!(conn.execute(CLEAR_ORPHANED_PENDING, []).unwrap(), 1);
        let status: String = conn
            .query_row("SELECT status FROM sync_runs WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(status, "paused", "not closed as abandoned");
    }
}
