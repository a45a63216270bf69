//! Per-invocation budgets: Workers cap subrequests and D1 queries per invocation, so a run
//! checks before each unit of work that it fits, and pauses instead of being cut off mid-write.

use std::cell::Cell;

use crate::auth0::RequestStats;
use crate::changes::{EVENTS_PER_STATEMENT, NewEvent};
use crate::store::runs::LastListings;
use crate::store::sql::{Arg, Meter, SqlRunner, Stmt, Written};
use crate::store::{
    ChangeStore, CreatedRange, OrgRow, RowsWritten, RunKind, RunRecord, StoreError, StoredMember,
    StoredOrg, StoredUser, SyncStore, UserRow,
};
use crate::time::EpochMs;

/// Auth0 requests one user block takes: 10 pages, the next block's first page or a count that
/// proves it, and a token. A block that neither proves takes more (see `listing::fetch_block`); past the invocation's budget it
/// is read again in the next one.
pub const BLOCK_REQUESTS: u32 = 12;
/// D1 queries one user block may take: read the range, two write chunks, hold removals.
pub const BLOCK_QUERIES: u32 = 4;
/// Queries kept back to close the invocation: progress, removals, run record, lock.
pub const RESERVE_QUERIES: u32 = 5;

/// The limits of one invocation; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Auth0 requests (Workers subrequests).
    pub max_requests: Option<u32>,
    /// D1 queries.
    pub max_queries: Option<u32>,
}

impl Budget {
    /// Whether work needing `requests` and `queries` more still fits, keeping the reserve.
    pub fn room(
        &self,
        stats: &RequestStats,
        queries_used: u32,
        requests: u32,
        queries: u32,
    ) -> bool {
        let req_ok = self
            .max_requests
            .is_none_or(|max| stats.requests + requests <= max);
        let q_ok = self
            .max_queries
            .is_none_or(|max| queries_used + queries + RESERVE_QUERIES <= max);
        req_ok && q_ok
    }
}

/// The statements a bulk write of `items` takes.
fn chunk_count<T: serde::Serialize>(items: &[T]) -> u32 {
    u32::try_from(crate::store::sql::chunks(items, usize::MAX).len()).unwrap_or(u32::MAX)
}

/// A store that counts the queries made through it.
pub struct Counted<'s, S> {
    inner: &'s S,
    used: Cell<u32>,
}

impl<'s, S: SyncStore> Counted<'s, S> {
    /// Wraps a store; the count starts at zero.
    pub fn new(inner: &'s S) -> Self {
        Self {
            inner,
            used: Cell::new(0),
        }
    }

    /// Queries so far.
    pub fn used(&self) -> u32 {
        self.used.get()
    }

    /// Counts `n` queries made around the counter (the trend snapshot's batch).
    pub fn tick(&self, n: u32) {
        self.used.set(self.used.get() + n);
    }

    /// The store itself, for work the sync counts with [`Counted::tick`].
    pub fn inner(&self) -> &'s S {
        self.inner
    }
}

// The methods count at the call and hand back the store's own future rather than being `async`:
// a wrapping future per method was a state machine each in the wasm. Every call is awaited at
// once, so counting at the call or at the first poll is the same.
impl<S: SyncStore> SyncStore for Counted<'_, S> {
    fn try_lock(
        &self,
        owner: &str,
        now: EpochMs,
        lease_ms: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> {
        self.tick(1);
        self.inner.try_lock(owner, now, lease_ms)
    }
    fn release_lock(&self, owner: &str) -> impl Future<Output = Result<(), StoreError>> {
        self.tick(1);
        self.inner.release_lock(owner)
    }
    fn close_abandoned_runs(
        &self,
        now_iso: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), StoreError>> {
        // One statement closes, one forgets their held removals, one their held members.
        self.tick(3);
        self.inner.close_abandoned_runs(now_iso, message)
    }
    fn start_run(
        &self,
        started_at: &str,
        trigger: &str,
        kind: RunKind,
        updated_since: Option<&str>,
    ) -> impl Future<Output = Result<i64, StoreError>> {
        self.tick(1);
        self.inner
            .start_run(started_at, trigger, kind, updated_since)
    }
    fn save_run(&self, run: &RunRecord) -> impl Future<Output = Result<(), StoreError>> {
        self.tick(1);
        self.inner.save_run(run)
    }
    fn users_in(
        &self,
        range: CreatedRange<'_>,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> {
        self.tick(1);
        self.inner.users_in(range)
    }
    fn users_by_id(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> {
        self.tick(1);
        self.inner.users_by_id(ids)
    }
    fn last_listings(&self) -> impl Future<Output = Result<LastListings, StoreError>> {
        self.tick(1);
        self.inner.last_listings()
    }
    fn upsert_users(
        &self,
        rows: &[UserRow],
        now_iso: &str,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        // With events, one batch: one request to D1.
        self.tick(1);
        self.inner.upsert_users(rows, now_iso, events)
    }
    fn add_pending_removals(
        &self,
        run_id: i64,
        ids: &[String],
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(1);
        self.inner.add_pending_removals(run_id, ids)
    }
    fn apply_pending_removals(
        &self,
        run_id: i64,
        now_iso: &str,
        events: bool,
    ) -> impl Future<Output = Result<(RowsWritten, u64), StoreError>> {
        // One statement marks, one forgets (and one records): counted as before they were one
        // batch, which keeps the reserve.
        self.tick(2);
        self.inner.apply_pending_removals(run_id, now_iso, events)
    }
    fn clear_pending_removals(&self, run_id: i64) -> impl Future<Output = Result<(), StoreError>> {
        self.tick(1);
        self.inner.clear_pending_removals(run_id)
    }
    fn paused_run(&self) -> impl Future<Output = Result<Option<RunRecord>, StoreError>> {
        self.tick(1);
        self.inner.paused_run()
    }
    fn count_current_users(&self) -> impl Future<Output = Result<u64, StoreError>> {
        self.tick(1);
        self.inner.count_current_users()
    }
    fn organizations(&self) -> impl Future<Output = Result<Vec<StoredOrg>, StoreError>> {
        self.tick(1);
        self.inner.organizations()
    }
    fn upsert_organizations(
        &self,
        rows: &[OrgRow],
        now_iso: &str,
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        // One statement per chunk (`store::sql::chunks`): 15,000 organizations take three.
        self.tick(chunk_count(rows));
        self.inner.upsert_organizations(rows, now_iso)
    }
    fn mark_organizations_removed(
        &self,
        ids: &[String],
        now_iso: &str,
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(chunk_count(ids));
        self.inner.mark_organizations_removed(ids, now_iso)
    }
    fn members(&self, org_id: &str) -> impl Future<Output = Result<Vec<StoredMember>, StoreError>> {
        self.tick(1);
        self.inner.members(org_id)
    }
    fn add_members(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(1);
        self.inner
            .add_members(org_id, user_ids, now_iso, events_of_run)
    }
    fn hold_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(1);
        self.inner.hold_seen_members(run_id, org_id, ids)
    }
    fn apply_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        now_iso: &str,
        events: bool,
    ) -> impl Future<Output = Result<(RowsWritten, u64, u64), StoreError>> {
        // Add, mark removed, forget (one batch now, counted as the three it was).
        self.tick(3);
        self.inner
            .apply_seen_members(run_id, org_id, now_iso, events)
    }
    fn clear_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> {
        self.tick(1);
        self.inner.clear_seen_members(run_id, org_id)
    }
    fn mark_members_removed(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(1);
        self.inner
            .mark_members_removed(org_id, user_ids, now_iso, events_of_run)
    }
}

impl<S: SyncStore> ChangeStore for Counted<'_, S> {
    fn record_events(
        &self,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.tick(events.len().div_ceil(EVENTS_PER_STATEMENT).max(1) as u32);
        self.inner.record_events(events)
    }
    fn baseline_recorded(&self) -> impl Future<Output = Result<bool, StoreError>> {
        self.tick(1);
        self.inner.baseline_recorded()
    }
}

// Not `async`, as the `SyncStore` methods of `Counted` (see there). The checked calls of
// `SqlRunner` hold each statement to D1's limits here, then reach the store's raw calls.
impl<S: SyncStore + SqlRunner> SqlRunner for Counted<'_, S> {
    fn meter(&self) -> &Meter {
        self.inner().meter()
    }

    fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<serde_json::Value, StoreError>> {
        self.tick(1);
        self.inner().raw_rows(op, sql, args)
    }

    fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Written, StoreError>> {
        self.tick(1);
        self.inner().raw_write(op, sql, args)
    }

    fn raw_batch(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> impl Future<Output = Result<Vec<Written>, StoreError>> {
        // One per statement: how D1 counts a batch is not documented (`store::sql::Meter`).
        self.tick(u32::try_from(stmts.len()).unwrap_or(u32::MAX));
        self.inner().raw_batch(op, stmts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_counts_both_limits_and_keeps_the_reserve() {
        let b = Budget {
            max_requests: Some(50),
            max_queries: Some(50),
        };
        let stats = RequestStats {
            requests: 38,
            ..RequestStats::default()
        };
        assert!(b.room(&stats, 41, BLOCK_REQUESTS, BLOCK_QUERIES));
        assert!(
            !b.room(&stats, 42, BLOCK_REQUESTS, BLOCK_QUERIES),
            "queries"
        );
        let stats = RequestStats {
            requests: 39,
            ..RequestStats::default()
        };
        assert!(
            !b.room(&stats, 0, BLOCK_REQUESTS, BLOCK_QUERIES),
            "requests"
        );
        assert!(Budget::default().room(&stats, 10_000, 1_000, 1_000));
    }
}
