//! Storage: the row types, their SQL, and the narrow traits the sync and the API use.
//!
//! The traits are written once over a [`sql::SqlRunner`] ([`db::Db`]): D1 runs them on wasm
//! (`runtime::d1`), SQLite in native tests; older native tests still use an in-memory
//! store (`testing::memory`).

pub mod applications;
pub mod changes;
pub mod daily_limit;
pub mod organizations;
pub mod push;
pub mod row;
pub mod runs;
pub mod sessions;
pub mod sql;
pub mod summary;
pub mod tenants;
pub mod trends;
pub mod usage;
pub mod users;

pub mod db;
#[cfg(test)]
mod sql_tests;

use std::fmt;

use crate::time::EpochMs;
pub use changes::{ChangePosition, ChangeRecord, ChangeStore, ChangeView, ChangesQuery};
pub use organizations::{OrgRecord, OrgRow, StoredMember, StoredOrg};
pub use push::PushStore;
pub use row::FromRow;
pub use runs::{RunKind, RunRecord, RunStatus};
pub use sessions::SessionStore;
pub use summary::{ConnectionCount, SeatCounts};
pub use users::{CreatedRange, StoredUser, UserRecord, UserRow, UsersQuery};

/// A storage call failed. `Display` is safe to show; `detail` is for logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// What was being done, e.g. `write users`.
    pub op: &'static str,
    /// The database's own message: logged, never returned to viewers.
    pub detail: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database could not {} (details are in the Worker's logs)",
            self.op
        )
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// The D1 daily limit that refused this query, if that was the cause.
    pub fn daily_limit(&self) -> Option<daily_limit::DailyLimit> {
        daily_limit::DailyLimit::of(&self.detail)
    }
}

/// Rows a write changed, as D1's `meta.rows_written` reports them.
pub type RowsWritten = u64;

/// What a sync needs from storage. Writes that change access take the run's events with them
/// and store both in one batch (see `crate::changes`).
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait SyncStore: ChangeStore {
    /// Takes the run lock for `owner` unless another owner holds an unexpired lease.
    /// The same owner calling again extends its lease.
    ///
    /// # Errors
    /// Any database failure.
    async fn try_lock(&self, owner: &str, now: EpochMs, lease_ms: u64) -> Result<bool, StoreError>;
    /// Releases the lock if `owner` still holds it.
    ///
    /// # Errors
    /// Any database failure.
    async fn release_lock(&self, owner: &str) -> Result<(), StoreError>;
    /// Marks runs still `running` without a cursor as failed (only called with the lock held, so
    /// they are dead), and forgets the pending removals and held members of every run no longer
    /// running.
    ///
    /// # Errors
    /// Any database failure.
    async fn close_abandoned_runs(&self, now_iso: &str, message: &str) -> Result<(), StoreError>;
    /// Inserts a `running` run and returns its id.
    ///
    /// # Errors
    /// Any database failure.
    async fn start_run(
        &self,
        started_at: &str,
        trigger: &str,
        kind: RunKind,
        updated_since: Option<&str>,
    ) -> Result<i64, StoreError>;
    /// Saves a run's progress or outcome.
    ///
    /// # Errors
    /// Any database failure.
    async fn save_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// Stored users (removed or not) created inside `range`.
    ///
    /// # Errors
    /// Any database failure.
    async fn users_in(&self, range: CreatedRange<'_>) -> Result<Vec<StoredUser>, StoreError>;
    /// Stored users (removed or not) with these ids: an incremental block's.
    ///
    /// # Errors
    /// Any database failure.
    async fn users_by_id(&self, ids: &[String]) -> Result<Vec<StoredUser>, StoreError>;
    /// When the newest proven listings started (see [`runs::LastListings`]).
    ///
    /// # Errors
    /// Any database failure.
    async fn last_listings(&self) -> Result<runs::LastListings, StoreError>;
    /// Inserts or updates these rows in bulk; `removed_at` is cleared on each. `events` (the
    /// changes these rows make) are appended in the same batch: both land or neither does.
    ///
    /// # Errors
    /// Any database failure.
    async fn upsert_users(
        &self,
        rows: &[UserRow],
        now_iso: &str,
        events: &[crate::changes::NewEvent],
    ) -> Result<RowsWritten, StoreError>;
    /// Holds users found gone until the run's listing is complete.
    ///
    /// # Errors
    /// Any database failure.
    async fn add_pending_removals(
        &self,
        run_id: i64,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError>;
    /// Marks the run's pending users removed and forgets them; returns rows written and users
    /// marked. With `events`, a `user_removed` event per user marked, in the same batch.
    ///
    /// # Errors
    /// Any database failure.
    async fn apply_pending_removals(
        &self,
        run_id: i64,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64), StoreError>;
    /// Forgets a failed run's pending removals.
    ///
    /// # Errors
    /// Any database failure.
    async fn clear_pending_removals(&self, run_id: i64) -> Result<(), StoreError>;
    /// The newest run with a cursor (paused at a budget, or checkpointed by an invocation that
    /// may have died), to continue.
    ///
    /// # Errors
    /// Any database failure.
    async fn paused_run(&self) -> Result<Option<RunRecord>, StoreError>;
    /// Users not marked removed.
    ///
    /// # Errors
    /// Any database failure.
    async fn count_current_users(&self) -> Result<u64, StoreError>;
    /// Every stored organization.
    ///
    /// # Errors
    /// Any database failure.
    async fn organizations(&self) -> Result<Vec<StoredOrg>, StoreError>;
    /// Inserts or updates organizations in bulk; `removed_at` is cleared on each.
    ///
    /// # Errors
    /// Any database failure.
    async fn upsert_organizations(
        &self,
        rows: &[OrgRow],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError>;
    /// Sets `removed_at` on these organizations where it is not set.
    ///
    /// # Errors
    /// Any database failure.
    async fn mark_organizations_removed(
        &self,
        ids: &[String],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError>;
    /// One organization's stored memberships, removed ones included.
    ///
    /// # Errors
    /// Any database failure.
    async fn members(&self, org_id: &str) -> Result<Vec<StoredMember>, StoreError>;
    /// Adds these members, or clears their removal. With `events_of_run`, that run's
    /// `membership_added` event per member added, in the same batch.
    ///
    /// # Errors
    /// Any database failure.
    async fn add_members(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError>;
    /// Holds members run `run_id` read of an organization whose listing spans invocations
    /// (`ids` bounded by the caller: see `sync::writes`); idempotent.
    ///
    /// # Errors
    /// Any database failure.
    async fn hold_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError>;
    /// The organization's listing is complete: adds the held members, marks removed the stored
    /// ones not held, and forgets the held ones. Returns rows written, members added and
    /// removed. One batch, no bound value growing with the organization; with `events`, the
    /// membership events of what it changes come first in it.
    ///
    /// # Errors
    /// Any database failure.
    async fn apply_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64, u64), StoreError>;
    /// Forgets the members held for an organization whose listing starts over.
    ///
    /// # Errors
    /// Any database failure.
    async fn clear_seen_members(&self, run_id: i64, org_id: &str) -> Result<(), StoreError>;
    /// Marks these memberships removed. With `events_of_run`, that run's `membership_removed`
    /// event per membership marked, in the same batch.
    ///
    /// # Errors
    /// Any database failure.
    async fn mark_members_removed(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError>;
}

/// What the viewer API needs from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait ViewStore {
    /// One page of users.
    ///
    /// # Errors
    /// Any database failure.
    async fn list_users(&self, query: &UsersQuery) -> Result<Vec<UserRecord>, StoreError>;
    /// The newest runs first.
    ///
    /// # Errors
    /// Any database failure.
    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError>;
    /// Every organization with its member count.
    ///
    /// # Errors
    /// Any database failure.
    async fn list_organizations(&self) -> Result<Vec<OrgRecord>, StoreError>;
    /// Whether this organization is stored.
    ///
    /// # Errors
    /// Any database failure.
    async fn organization_exists(&self, id: &str) -> Result<bool, StoreError>;
    /// One user by id, removed or not.
    ///
    /// # Errors
    /// Any database failure.
    async fn get_user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Seat counts, with the 30/60/90-day cut-offs as ISO-8601 instants.
    ///
    /// # Errors
    /// Any database failure.
    async fn seat_counts(&self, cutoffs: &[String; 3]) -> Result<SeatCounts, StoreError>;
    /// Users per primary connection.
    ///
    /// # Errors
    /// Any database failure.
    async fn connection_counts(&self) -> Result<Vec<ConnectionCount>, StoreError>;
    /// The last proven listings and the deletion signals' facts, as the sync reads them (how
    /// soon a deletion shows, on the dashboard).
    ///
    /// # Errors
    /// Any database failure.
    async fn listing_facts(&self) -> Result<runs::LastListings, StoreError>;
}

#[cfg(test)]
mod tests;
