//! Per-application usage from the log (`app_usage`), the log checkpoint (`log_cursor`) and the
//! spans the log's retention dropped (`usage_gaps`): row types, SQL, and the narrow store trait
//! the log follower uses.
//!
//! One page's usage and the checkpoint past it are written in one D1 batch, which D1 runs as a
//! transaction; and every statement of the batch applies only while the stored checkpoint is
//! still the one the page was read from. So a retried write, a second writer or an invocation
//! that died between reading and writing never counts an event twice. Log Stream pushes write
//! outside the checkpoint; both paths count an event only if its `log_id` is not in `log_seen`
//! and record it in the same batch, so an event pushed and polled counts once.

use super::row::FromRow;
use super::{RowsWritten, StoreError};
use crate::changes::NewEvent;
use crate::fields::{FieldError, Fields};
use crate::usage::{Deletion, UsageDelta};

/// The stored log position (migrations 0009, 0012).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogCursorRow {
    /// The `log_id` to read after; `None` before the first read.
    pub checkpoint: Option<String>,
    /// The date of the oldest event ever read.
    pub tracking_since: Option<String>,
    /// The date of the newest event read.
    pub newest_date: Option<String>,
    /// The page size Auth0 accepted; `None`: the default.
    pub take: Option<u32>,
    /// When the log was first read to its end; before that, first uses are the baseline.
    pub caught_up_at: Option<String>,
}

impl FromRow for LogCursorRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        let take = row
            .opt_u64("take")?
            .map(|n| u32::try_from(n).map_err(|_| FieldError::new("take", "a page size")))
            .transpose()?;
        Ok(Self {
            checkpoint: row.opt_string("checkpoint")?,
            tracking_since: row.opt_string("tracking_since")?,
            newest_date: row.opt_string("newest_date")?,
            take,
            caught_up_at: row.opt_string("caught_up_at")?,
        })
    }
}

/// Reads the one `log_cursor` row.
pub const READ_LOG_CURSOR: &str = "SELECT checkpoint, tracking_since, newest_date, take, caught_up_at FROM log_cursor WHERE id = 1";

/// Adds usage (`?1`, JSON `[{i, u, c, n, l, s, f}]`: per event with its `log_id` `i`, or per pair
/// without one) while the checkpoint is still `?2`, or unconditionally with `?3` true (a Log
/// Stream push): only items whose `i` is not in `log_seen` count, so an event counts once
/// whichever path brings it first. Logins add up, `last_login` and `last_seen` only move
/// forward, `first_used` only back. Runs before [`RECORD_SEEN`] in the same batch.
pub const UPSERT_USAGE: &str = "INSERT INTO app_usage (user_id, client_id, last_login, logins, \
     last_seen, first_used) \
     SELECT json_extract(value, '$.u') AS u, json_extract(value, '$.c') AS c, \
     max(json_extract(value, '$.l')), sum(json_extract(value, '$.n')), \
     max(json_extract(value, '$.s')), min(json_extract(value, '$.f')) \
     FROM json_each(?1) \
     WHERE (?3 OR (SELECT checkpoint FROM log_cursor WHERE id = 1) IS ?2) \
     AND NOT EXISTS (SELECT 1 FROM log_seen \
     WHERE at IN (coalesce(json_extract(value, '$.s'), '~'), '~') \
     AND log_id = json_extract(value, '$.i')) \
     GROUP BY u, c \
     ON CONFLICT (user_id, client_id) DO UPDATE SET \
     logins = app_usage.logins + excluded.logins, \
     last_login = max(coalesce(app_usage.last_login, excluded.last_login), \
                      coalesce(excluded.last_login, app_usage.last_login)), \
     last_seen = max(coalesce(app_usage.last_seen, excluded.last_seen), \
                     coalesce(excluded.last_seen, app_usage.last_seen)), \
     first_used = min(coalesce(app_usage.first_used, excluded.first_used), \
                      coalesce(excluded.first_used, app_usage.first_used))";

/// Records the items' `log_id`s as counted (`?1`, `?2`, `?3` as in [`UPSERT_USAGE`], `?4` now),
/// keyed by the event's date (`s`: an item's `last_seen` is its event's date), so that the
/// lookup and the pruning are key ranges (migration 0019); its changes are the events newly
/// counted. An id counted before 0019 is stored under `at = '~'` and is not recorded again.
pub const RECORD_SEEN: &str = "INSERT INTO log_seen (at, log_id, seen_at) \
     SELECT coalesce(json_extract(value, '$.s'), '~'), json_extract(value, '$.i'), ?4 \
     FROM json_each(?1) \
     WHERE json_extract(value, '$.i') IS NOT NULL \
     AND (?3 OR (SELECT checkpoint FROM log_cursor WHERE id = 1) IS ?2) \
     AND NOT EXISTS (SELECT 1 FROM log_seen WHERE at = '~' AND log_id = json_extract(value, '$.i')) \
     ON CONFLICT (at, log_id) DO NOTHING";

/// Forgets ids of events dated, and recorded, more than 31 days before `?1` (now), and ids
/// recorded before migration 0019 (`at = '~'`) more than 31 days ago: the log keeps events 30
/// days at most, so neither polling nor a retried push can bring them again. Both parts are key
/// ranges; requiring the record's age too keeps an event whose date lies far behind the clock
/// (a test's, or a clock's skew) from being forgotten the moment it is counted.
pub const PRUNE_SEEN: &str = "DELETE FROM log_seen \
     WHERE at < strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-31 days') \
     AND seen_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-31 days') \
     OR at = '~' AND seen_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-31 days')";

/// Records a span whose usage is unknown (`?1` run, `?2` from, `?3` until, `?4` now) while the
/// checkpoint is still `?5`.
pub const INSERT_GAP: &str = "INSERT INTO usage_gaps (run_id, gap_from, gap_until, noted_at) \
     SELECT ?1, ?2, ?3, ?4 WHERE (SELECT checkpoint FROM log_cursor WHERE id = 1) IS ?5";

/// Moves the checkpoint to `?1` if it is still `?6` (last in the batch: the statements before
/// it compare with the old one). `?2` the page's oldest date, `?3` its newest, `?4` the page
/// size, `?5` now, `?7` now if the log was read to its end (else NULL). `tracking_since` only
/// moves back, `newest_date` only forward, `caught_up_at` is set once.
pub const SAVE_LOG_CURSOR: &str = "INSERT INTO log_cursor (id, checkpoint, tracking_since, \
     newest_date, take, updated_at, caught_up_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?7) \
     ON CONFLICT (id) DO UPDATE SET checkpoint = excluded.checkpoint, \
     tracking_since = min(coalesce(log_cursor.tracking_since, excluded.tracking_since), \
                          coalesce(excluded.tracking_since, log_cursor.tracking_since)), \
     newest_date = max(coalesce(log_cursor.newest_date, excluded.newest_date), \
                       coalesce(excluded.newest_date, log_cursor.newest_date)), \
     take = excluded.take, updated_at = excluded.updated_at, \
     caught_up_at = coalesce(log_cursor.caught_up_at, excluded.caught_up_at) \
     WHERE log_cursor.checkpoint IS ?6";

/// Marks removed, at `?2` (now), the users of the deletions in `?1` (JSON `[{i, u, a}]`: event
/// id, user, deleted at) whose id is not recorded yet, unless the user was updated after the
/// deletion (a newer incarnation of the same id), as `push::REMOVE_PUSHED_USER` does for one.
/// Runs before [`RECORD_DELETIONS`] in the same batch; its changes are the users removed.
pub const REMOVE_DELETED_USERS: &str = "UPDATE users SET removed_at = ?2 \
     WHERE removed_at IS NULL \
     AND user_id IN (SELECT json_extract(value, '$.u') FROM json_each(?1)) \
     AND EXISTS (SELECT 1 FROM json_each(?1) AS j \
     WHERE json_extract(j.value, '$.u') = users.user_id \
     AND NOT EXISTS (SELECT 1 FROM push_events e WHERE e.id = json_extract(j.value, '$.i')) \
     AND (users.updated_at IS NULL OR julianday(users.updated_at) IS NULL \
     OR julianday(users.updated_at) <= julianday(json_extract(j.value, '$.a'))))";

/// Records the deletions of `?1` (as in [`REMOVE_DELETED_USERS`], `?2` now) in `push_events`:
/// once per id, and the tombstone that keeps an older listing from bringing the user back.
pub const RECORD_DELETIONS: &str = "INSERT INTO push_events (id, received_at, kind, at, user_id, \
     org_id) SELECT json_extract(value, '$.i'), ?2, 'user.deleted', json_extract(value, '$.a'), \
     json_extract(value, '$.u'), NULL FROM json_each(?1) WHERE true ON CONFLICT (id) DO NOTHING";

/// Deletions as the JSON bound for [`REMOVE_DELETED_USERS`] and [`RECORD_DELETIONS`].
pub fn deletions_json(deletions: &[Deletion]) -> String {
    let items: Vec<serde_json::Value> = deletions
        .iter()
        .map(|d| serde_json::json!({"i": d.id, "u": d.user_id, "a": d.at}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// A span of the log never read: usage in it is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap<'a> {
    /// The run that found it.
    pub run_id: i64,
    /// The date of the newest event read before it, if known.
    pub from: Option<&'a str>,
    /// The date of the oldest event read after it.
    pub until: &'a str,
}

/// One page's write: its usage, the checkpoint past it, and a gap found before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePage<'a> {
    /// The checkpoint the page was read from (`None`: the very first read).
    pub expected: Option<&'a str>,
    /// The checkpoint past the page.
    pub checkpoint: &'a str,
    /// Per event, each with its `log_id` (`UsageBatch::items`): counted once ever per id.
    pub deltas: &'a [UsageDelta],
    /// The page's oldest event date (for `tracking_since`).
    pub oldest: Option<&'a str>,
    /// The page's newest event date.
    pub newest: Option<&'a str>,
    /// The page size in use.
    pub take: u32,
    /// A span the log's retention dropped before this page.
    pub gap: Option<Gap<'a>>,
    /// First uses of applications (`changes::INSERT_EVENTS`, keyed per user and application).
    pub events: &'a [NewEvent],
    /// User deletions the page reports (`sdu`).
    pub deletions: &'a [Deletion],
    /// The log has been read to its end.
    pub caught_up: bool,
    /// ISO-8601 now.
    pub now: &'a str,
}

impl UsagePage<'_> {
    /// The deltas as the JSON bounds for `json_each`, one per statement pair (see
    /// [`item_chunks`]).
    pub fn deltas_chunks(&self) -> Vec<String> {
        item_chunks(self.deltas)
    }
}

/// Items one [`UPSERT_USAGE`] / [`RECORD_SEEN`] pair binds at most: at about 220 bytes of JSON
/// an item, about 1.1 MB (D1 allows 2 MB a bound string). A write of
/// `sync::logs::PAGES_PER_WRITE` pages takes two pairs.
pub const ITEMS_PER_STATEMENT: usize = 5_000;

/// `items` as JSON arrays of at most [`ITEMS_PER_STATEMENT`], in their order: ordered by user
/// and application (as `usage::fold` gives them), each `app_usage` row is updated by one
/// statement of a write (D1 counts a row written per statement that updates it), but for at
/// most one pair at each boundary between arrays. Always at least one array.
pub fn item_chunks(items: &[UsageDelta]) -> Vec<String> {
    if items.is_empty() {
        return vec!["[]".into()];
    }
    items
        .chunks(ITEMS_PER_STATEMENT)
        .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()))
        .collect()
}

/// What one page's write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageWritten {
    /// Rows D1 reports written.
    pub rows: RowsWritten,
    /// False when the stored checkpoint was no longer the expected one: nothing was written.
    pub applied: bool,
    /// Users the page's deletions marked removed.
    pub removed: u64,
}

/// Statements one write of up to [`ITEMS_PER_STATEMENT`] items takes at most (gap, first uses in
/// up to two statements, usage, the ids counted, their pruning, deletions and their record,
/// checkpoint), for the query budget; each further chunk of items adds two.
pub const PAGE_QUERIES: u32 = 9;

/// A Log Stream delivery's write: its usage and first uses, not tied to the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedUsage<'a> {
    /// Per event, each with its `log_id`.
    pub items: &'a [UsageDelta],
    /// First uses of applications.
    pub events: &'a [NewEvent],
    /// User deletions among the delivery's events (`sdu`).
    pub deletions: &'a [Deletion],
    /// ISO-8601 now.
    pub now: &'a str,
}

impl PushedUsage<'_> {
    /// The items as the JSON bounds for `json_each` (see [`item_chunks`]).
    pub fn items_chunks(&self) -> Vec<String> {
        item_chunks(self.items)
    }
}

/// What a pushed write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushedWritten {
    /// Rows D1 reports written.
    pub rows: RowsWritten,
    /// Events counted now (not counted before, by a push or a poll).
    pub counted: u64,
    /// Users the delivery's deletions marked removed.
    pub removed: u64,
}

/// What the log follower needs from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait UsageStore {
    /// The stored log position, if any.
    ///
    /// # Errors
    /// Any database failure.
    async fn log_cursor(&self) -> Result<Option<LogCursorRow>, StoreError>;
    /// Writes one page in one batch (a transaction): gap, usage, then the checkpoint, each only
    /// while the stored checkpoint is `page.expected`; and the page's first uses, which their
    /// keys make a no-op when written again.
    ///
    /// # Errors
    /// Any database failure; then nothing was written.
    async fn write_usage_page(&self, page: &UsagePage<'_>) -> Result<UsageWritten, StoreError>;
    /// Writes a Log Stream delivery in one batch: first uses, the usage of events not yet
    /// counted, and their ids.
    ///
    /// # Errors
    /// Any database failure; then nothing was written.
    async fn write_pushed_usage(&self, push: &PushedUsage<'_>)
    -> Result<PushedWritten, StoreError>;
}

#[cfg(test)]
mod tests;
