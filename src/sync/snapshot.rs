//! The day's trend snapshot, taken when a run completes: a few aggregate statements over what
//! the run stored (see `store::trends`). Each complete run of a UTC day overwrites that day's
//! rows, so the day keeps the figures of its last run. A snapshot that would not fit the
//! invocation's D1 budget leaves the run paused with [`super::cursor::Cursor::Snapshot`], and
//! the next invocation takes it before the run is closed.

use super::SyncConfig;
use super::budget::Counted;
use crate::config::ConfigError;
use crate::store::SyncStore;
use crate::store::trends::{SNAPSHOT_QUERIES, SnapshotAt, TrendStore};
use crate::time::EpochMs;

/// Queries the run still makes after the snapshot: its record and the lock.
const CLOSING_QUERIES: u32 = 2;

/// Whether the snapshot and the run's last two queries fit the invocation's D1 budget.
pub fn fits(config: Result<&SyncConfig, &ConfigError>, used: u32) -> bool {
    config.map_or(true, |c| {
        c.budget
            .max_queries
            .is_none_or(|max| used + SNAPSHOT_QUERIES + CLOSING_QUERIES <= max)
    })
}

/// Takes the snapshot for the day of `now`. A failure does not fail the run (its data is
/// stored; the next run's snapshot overwrites the day): it is returned as detail for the logs.
pub async fn take<S: SyncStore + TrendStore>(
    store: &Counted<'_, S>,
    now: EpochMs,
) -> Option<String> {
    store.tick(SNAPSHOT_QUERIES);
    match store.inner().take_snapshot(&SnapshotAt::at(now)).await {
        Ok(_) => None,
        Err(e) => Some(format!("trend snapshot: {}: {}", e.op, e.detail)),
    }
}
