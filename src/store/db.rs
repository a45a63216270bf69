//! The store over any [`SqlRunner`]: every storage trait written once from the SQL constants
//! beside their row types. D1 runs it on wasm (`runtime::d1`), SQLite in native tests.
//!
//! Bulk writes bind their rows as one JSON value for `json_each`, chunked by count and bytes
//! ([`chunks`]) so no value passes D1's 2 MB limit.

use super::ChangeStore;
use super::applications::IdRow;
use super::changes::BASELINE_RECORDED;
use super::organizations::{
    ADD_MEMBERS, ADD_SEEN_MEMBERS, CLEAR_ORPHANED_SEEN, CLEAR_SEEN_MEMBERS, HOLD_SEEN_MEMBERS,
    LIST_ORGS, LIST_STORED_MEMBERS, LIST_STORED_ORGS, MARK_MEMBERS_REMOVED, MARK_ORGS_REMOVED,
    ORG_EXISTS, REMOVE_UNSEEN_MEMBERS, UPSERT_ORGS,
};
use super::row::FromRow;
use super::runs::{
    CLEAR_ORPHANED_PENDING, CLOSE_ABANDONED, INSERT_RUN, LAST_LISTINGS, LIST_RUNS, LastListings,
    PAUSED_RUN, RELEASE_LOCK, RunKind, TAKE_LOCK, UPDATE_RUN,
};
use super::sql::{Arg, Meter, SqlRunner, Stmt, Written, chunks};
use super::summary::{CONNECTION_COUNTS, SEAT_COUNTS};
use super::users::{
    ADD_PENDING_REMOVALS, APPLY_PENDING_REMOVALS, CLEAR_PENDING_REMOVALS, COUNT_CURRENT_USERS,
    GET_USER, UPSERT_USERS, USERS_BY_ID, list_users_sql, users_in_sql,
};
use super::{
    ConnectionCount, CreatedRange, OrgRecord, OrgRow, RowsWritten, RunRecord, SeatCounts,
    StoreError, StoredMember, StoredOrg, StoredUser, SyncStore, UserRecord, UserRow, UsersQuery,
    ViewStore,
};
use crate::changes::derived::{
    HELD_ADDED_EVENTS, HELD_REMOVED_EVENTS, MEMBERS_ADDED_EVENTS, MEMBERS_REMOVED_EVENTS,
    REMOVAL_EVENTS,
};
use crate::changes::{EVENTS_PER_STATEMENT, INSERT_EVENTS, NewEvent, events_json};
use crate::fields::{FieldError, Fields};
use crate::time::EpochMs;

mod push;
mod usage;

/// The store on a database.
pub struct Db<R>(pub R);

fn text(s: &str) -> Arg {
    Arg::text(s)
}

fn opt_text(s: Option<&str>) -> Arg {
    Arg::opt_text(s)
}

fn json(value: &impl serde::Serialize) -> Arg {
    Arg::json(value)
}

fn num(n: u64) -> Arg {
    Arg::int(n)
}

fn stmt(sql: &str, args: Vec<Arg>) -> Stmt {
    (sql.to_string(), args)
}

/// The rows a batch wrote.
fn sum(written: &[Written]) -> RowsWritten {
    written.iter().map(|w| w.0).sum()
}

/// The store is a runner too: features with SQL of their own (applications, trends, pushes)
/// run it through the same checks and count.
impl<R: SqlRunner> SqlRunner for Db<R> {
    fn meter(&self) -> &Meter {
        self.0.meter()
    }

    fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<serde_json::Value, StoreError>> {
        self.0.raw_rows(op, sql, args)
    }

    fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Written, StoreError>> {
        self.0.raw_write(op, sql, args)
    }

    fn raw_batch(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> impl Future<Output = Result<Vec<Written>, StoreError>> {
        self.0.raw_batch(op, stmts)
    }
}

impl<R: SqlRunner> Db<R> {
    /// The runner, for the stores of other features.
    pub fn runner(&self) -> &R {
        &self.0
    }

    fn rows<T: FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> {
        self.0.sql_rows(op, sql, args)
    }

    fn written(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<RowsWritten, StoreError>> {
        self.0.sql_run(op, sql, args)
    }

    fn write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Written, StoreError>> {
        self.0.sql_write(op, sql, args)
    }

    /// Runs statements as one batch (one transaction, one request) and returns what each did.
    fn batch(
        &self,
        op: &'static str,
        statements: &[Stmt],
    ) -> impl Future<Output = Result<Vec<Written>, StoreError>> {
        self.0.sql_batch_each(op, statements)
    }

    /// Runs `sql` once per chunk of `items` (by count and bytes: [`chunks`]), `args` making each
    /// run's arguments from the chunk's JSON; returns the rows written.
    async fn each_chunk<T: serde::Serialize>(
        &self,
        op: &'static str,
        sql: &str,
        items: &[T],
        args: impl Fn(Arg) -> Vec<Arg>,
    ) -> Result<RowsWritten, StoreError> {
        let mut written = 0;
        for chunk in chunks(items, usize::MAX) {
            written += self.written(op, sql, &args(json(&chunk))).await?;
        }
        Ok(written)
    }

    /// A membership write (`sql` with `[org, ids, now]`) per chunk of `ids`, each preceded in
    /// one batch by the events of `events_sql` (`[run, org, now, ids]`) when `events_of_run` is
    /// set: a chunk's rows and events land together.
    async fn with_member_events(
        &self,
        op: &'static str,
        sql: &str,
        [org, now]: [&str; 2],
        ids: &[String],
        events_of_run: Option<i64>,
        events_sql: &str,
    ) -> Result<RowsWritten, StoreError> {
        let mut written = 0;
        for chunk in chunks(ids, usize::MAX) {
            let args = vec![text(org), json(&chunk), text(now)];
            written += match events_of_run {
                None => self.written(op, sql, &args).await?,
                Some(run) => {
                    let event_args = vec![Arg::Int(run), text(org), text(now), json(&chunk)];
                    let statements = vec![stmt(events_sql, event_args), stmt(sql, args)];
                    sum(&self.batch(op, &statements).await?)
                }
            };
        }
        Ok(written)
    }

    /// The statement appending `events` (at most `changes::EVENTS_PER_STATEMENT`), for a
    /// writer that puts it in one `batch` with its own rows so both land or neither does.
    pub fn events_statement(events: &[NewEvent]) -> Stmt {
        stmt(INSERT_EVENTS, vec![text(&events_json(events))])
    }
}

impl<R: SqlRunner> ChangeStore for Db<R> {
    async fn record_events(&self, events: &[NewEvent]) -> Result<RowsWritten, StoreError> {
        let mut written = 0;
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            written += self
                .written(
                    "record access changes",
                    INSERT_EVENTS,
                    &[text(&events_json(chunk))],
                )
                .await?;
        }
        Ok(written)
    }

    async fn baseline_recorded(&self) -> Result<bool, StoreError> {
        struct Found(bool);
        impl FromRow for Found {
            fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
                row.flag("found").map(Self)
            }
        }
        let rows: Vec<Found> = self
            .rows("read the change history", BASELINE_RECORDED, &[])
            .await?;
        Ok(rows.first().is_some_and(|f| f.0))
    }
}

impl<R: SqlRunner> SyncStore for Db<R> {
    async fn try_lock(&self, owner: &str, now: EpochMs, lease_ms: u64) -> Result<bool, StoreError> {
        let (_, changes) = self
            .write(
                "take the sync lock",
                TAKE_LOCK,
                &[text(owner), num(now), num(now + lease_ms)],
            )
            .await?;
        Ok(changes == 1)
    }

    async fn release_lock(&self, owner: &str) -> Result<(), StoreError> {
        self.write("release the sync lock", RELEASE_LOCK, &[text(owner)])
            .await?;
        Ok(())
    }

    async fn close_abandoned_runs(&self, now_iso: &str, message: &str) -> Result<(), StoreError> {
        self.write(
            "close abandoned runs",
            CLOSE_ABANDONED,
            &[text(now_iso), text(message)],
        )
        .await?;
        self.write("clear removed users", CLEAR_ORPHANED_PENDING, &[])
            .await?;
        self.write("clear held members", CLEAR_ORPHANED_SEEN, &[])
            .await?;
        Ok(())
    }

    async fn start_run(
        &self,
        started_at: &str,
        trigger: &str,
        kind: RunKind,
        updated_since: Option<&str>,
    ) -> Result<i64, StoreError> {
        struct Id(i64);
        impl FromRow for Id {
            fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
                row.i64("id").map(Self)
            }
        }
        let op = "record the run";
        let rows: Vec<Id> = self
            .rows(
                op,
                INSERT_RUN,
                &[
                    text(started_at),
                    text(trigger),
                    text(kind.as_str()),
                    opt_text(updated_since),
                ],
            )
            .await?;
        rows.first().map(|r| r.0).ok_or(StoreError {
            op,
            detail: "INSERT … RETURNING gave no row".into(),
        })
    }

    async fn save_run(&self, r: &RunRecord) -> Result<(), StoreError> {
        let args = [
            Arg::Int(r.id),
            opt_text(r.finished_at.as_deref()),
            text(r.status.as_str()),
            num(r.users_seen),
            num(r.users_added),
            num(r.users_updated),
            num(r.users_removed),
            num(r.api_requests),
            num(r.rate_limited),
            num(r.rows_written),
            opt_text(r.error.as_deref()),
            num(r.organizations_seen),
            num(r.memberships_seen),
            num(r.memberships_added),
            num(r.memberships_removed),
            num(r.invocations),
            r.users_total_estimate.map_or(Arg::Null, num),
            num(r.d1_queries),
            opt_text(r.cursor.as_deref()),
            Arg::Int(i64::from(r.listing_proven)),
        ];
        self.write("save the run", UPDATE_RUN, &args).await?;
        Ok(())
    }

    async fn users_in(&self, range: CreatedRange<'_>) -> Result<Vec<StoredUser>, StoreError> {
        let (sql, [from, to]) = users_in_sql(range);
        self.rows("read stored users", sql, &[text(&from), text(&to)])
            .await
    }

    async fn users_by_id(&self, ids: &[String]) -> Result<Vec<StoredUser>, StoreError> {
        let mut users = Vec::with_capacity(ids.len());
        for chunk in chunks(ids, usize::MAX) {
            let rows: Vec<StoredUser> = self
                .rows("read stored users", USERS_BY_ID, &[json(&chunk)])
                .await?;
            users.extend(rows);
        }
        Ok(users)
    }

    async fn last_listings(&self) -> Result<LastListings, StoreError> {
        let rows: Vec<LastListings> = self
            .rows("read the last listings", LAST_LISTINGS, &[])
            .await?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    async fn upsert_users(
        &self,
        rows: &[UserRow],
        now_iso: &str,
        events: &[NewEvent],
    ) -> Result<RowsWritten, StoreError> {
        let op = "write users";
        let mut statements: Vec<Stmt> = chunks(rows, usize::MAX)
            .into_iter()
            .map(|chunk| stmt(UPSERT_USERS, vec![json(&chunk), text(now_iso)]))
            .collect();
        statements.extend(
            events
                .chunks(EVENTS_PER_STATEMENT)
                .map(Self::events_statement),
        );
        if let [(sql, args)] = statements.as_slice() {
            return self.written(op, sql, args).await;
        }
        // One batch: the rows and the changes they make land together.
        Ok(sum(&self.batch(op, &statements).await?))
    }

    async fn add_pending_removals(
        &self,
        run_id: i64,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        self.each_chunk("hold removed users", ADD_PENDING_REMOVALS, ids, |ids| {
            vec![Arg::Int(run_id), ids]
        })
        .await
    }

    async fn apply_pending_removals(
        &self,
        run_id: i64,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64), StoreError> {
        let op = "mark users removed";
        let run = Arg::Int(run_id);
        let args = [run.clone(), text(now_iso)];
        let mut statements = Vec::new();
        if events {
            statements.push(stmt(REMOVAL_EVENTS, args.to_vec()));
        }
        statements.push(stmt(APPLY_PENDING_REMOVALS, args.to_vec()));
        statements.push(stmt(CLEAR_PENDING_REMOVALS, [run].to_vec()));
        let results = self.batch(op, &statements).await?;
        let marked = results
            .get(usize::from(events))
            .map_or(0, |(_, changes)| *changes);
        Ok((results.iter().map(|r| r.0).sum(), marked))
    }

    async fn clear_pending_removals(&self, run_id: i64) -> Result<(), StoreError> {
        let run = Arg::Int(run_id);
        self.write("clear removed users", CLEAR_PENDING_REMOVALS, &[run])
            .await?;
        Ok(())
    }

    async fn paused_run(&self) -> Result<Option<RunRecord>, StoreError> {
        let rows: Vec<RunRecord> = self.rows("find a paused run", PAUSED_RUN, &[]).await?;
        Ok(rows.into_iter().next())
    }

    async fn count_current_users(&self) -> Result<u64, StoreError> {
        struct Count(u64);
        impl FromRow for Count {
            fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
                row.u64("n").map(Self)
            }
        }
        let rows: Vec<Count> = self.rows("count users", COUNT_CURRENT_USERS, &[]).await?;
        Ok(rows.first().map_or(0, |c| c.0))
    }

    fn organizations(&self) -> impl Future<Output = Result<Vec<StoredOrg>, StoreError>> {
        self.rows("read stored organizations", LIST_STORED_ORGS, &[])
    }

    async fn upsert_organizations(
        &self,
        rows: &[OrgRow],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError> {
        // A B2B tenant's 15,000 organizations are 2.45 MB of JSON: one value per chunk.
        self.each_chunk("write organizations", UPSERT_ORGS, rows, |rows| {
            vec![rows, text(now_iso)]
        })
        .await
    }

    async fn mark_organizations_removed(
        &self,
        ids: &[String],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError> {
        self.each_chunk(
            "mark organizations removed",
            MARK_ORGS_REMOVED,
            ids,
            |ids| vec![ids, text(now_iso)],
        )
        .await
    }

    async fn members(&self, org_id: &str) -> Result<Vec<StoredMember>, StoreError> {
        self.rows(
            "read stored memberships",
            LIST_STORED_MEMBERS,
            &[text(org_id)],
        )
        .await
    }

    async fn add_members(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError> {
        let op = "write memberships";
        self.with_member_events(
            op,
            ADD_MEMBERS,
            [org_id, now_iso],
            user_ids,
            events_of_run,
            MEMBERS_ADDED_EVENTS,
        )
        .await
    }

    async fn hold_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        self.each_chunk("hold read members", HOLD_SEEN_MEMBERS, ids, |ids| {
            vec![Arg::Int(run_id), text(org_id), ids]
        })
        .await
    }

    async fn apply_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64, u64), StoreError> {
        let op = "write memberships";
        let args = [Arg::Int(run_id), text(org_id), text(now_iso)];
        let mut statements = Vec::new();
        if events {
            statements.push(stmt(HELD_ADDED_EVENTS, args.to_vec()));
            statements.push(stmt(HELD_REMOVED_EVENTS, args.to_vec()));
        }
        statements.push(stmt(ADD_SEEN_MEMBERS, args.to_vec()));
        statements.push(stmt(REMOVE_UNSEEN_MEMBERS, args.to_vec()));
        statements.push(stmt(CLEAR_SEEN_MEMBERS, args[..2].to_vec())); // ok: args has 3
        let results = self.batch(op, &statements).await?;
        let first = if events { 2 } else { 0 };
        let changes = |i: usize| results.get(first + i).map_or(0, |r| r.1);
        Ok((results.iter().map(|r| r.0).sum(), changes(0), changes(1)))
    }

    async fn clear_seen_members(&self, run_id: i64, org_id: &str) -> Result<(), StoreError> {
        let args = [Arg::Int(run_id), text(org_id)];
        self.write("clear held members", CLEAR_SEEN_MEMBERS, &args)
            .await?;
        Ok(())
    }

    async fn mark_members_removed(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError> {
        let op = "mark memberships removed";
        self.with_member_events(
            op,
            MARK_MEMBERS_REMOVED,
            [org_id, now_iso],
            user_ids,
            events_of_run,
            MEMBERS_REMOVED_EVENTS,
        )
        .await
    }
}

impl<R: SqlRunner> ViewStore for Db<R> {
    async fn listing_facts(&self) -> Result<LastListings, StoreError> {
        SyncStore::last_listings(self).await
    }

    async fn list_users(&self, q: &UsersQuery) -> Result<Vec<UserRecord>, StoreError> {
        let (sql, args) = list_users_sql(q);
        self.rows("list users", &sql, &args).await
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        self.rows("list runs", LIST_RUNS, &[num(u64::from(limit))])
            .await
    }

    fn list_organizations(&self) -> impl Future<Output = Result<Vec<OrgRecord>, StoreError>> {
        self.rows("list organizations", LIST_ORGS, &[])
    }

    async fn organization_exists(&self, id: &str) -> Result<bool, StoreError> {
        // Only a row's presence matters.
        let found: Vec<IdRow> = self
            .rows("find the organization", ORG_EXISTS, &[text(id)])
            .await?;
        Ok(!found.is_empty())
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        let rows: Vec<UserRecord> = self.rows("read a user", GET_USER, &[text(user_id)]).await?;
        Ok(rows.into_iter().next())
    }

    async fn seat_counts(&self, cutoffs: &[String; 3]) -> Result<SeatCounts, StoreError> {
        let args: Vec<Arg> = cutoffs.iter().map(|c| text(c)).collect();
        let rows: Vec<SeatCounts> = self.rows("count seats", SEAT_COUNTS, &args).await?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    fn connection_counts(&self) -> impl Future<Output = Result<Vec<ConnectionCount>, StoreError>> {
        self.rows("count users per connection", CONNECTION_COUNTS, &[])
    }
}

impl<R: SqlRunner> super::ChangeView for Db<R> {
    async fn list_changes(
        &self,
        q: &super::ChangesQuery,
    ) -> Result<Vec<super::ChangeRecord>, StoreError> {
        let (sql, args) = super::changes::list_changes_sql(q);
        self.rows("list changes", &sql, &args).await
    }
}

impl<R: SqlRunner> super::SessionStore for Db<R> {
    async fn session_epoch(&self) -> Result<u64, StoreError> {
        let rows: Vec<super::sessions::EpochRow> = self
            .rows("read the session epoch", super::sessions::READ_EPOCH, &[])
            .await?;
        Ok(rows.first().map_or(0, |r| r.epoch))
    }

    async fn bump_session_epoch(&self) -> Result<u64, StoreError> {
        let rows: Vec<super::sessions::EpochRow> = self
            .rows("end every session", super::sessions::BUMP_EPOCH, &[])
            .await?;
        rows.first().map(|r| r.epoch).ok_or_else(|| StoreError {
            op: "end every session",
            detail: "the epoch update returned no row".into(),
        })
    }
}

impl<R: SqlRunner> super::trends::TrendStore for Db<R> {
    async fn take_snapshot(&self, at: &super::trends::SnapshotAt) -> Result<u64, StoreError> {
        let op = "take the trend snapshot";
        let args: Vec<Arg> = at.args().into_iter().map(text).collect();
        let stmts: Vec<Stmt> = super::trends::SNAPSHOT
            .iter()
            .map(|sql| stmt(sql, args.clone()))
            .collect();
        // One batch: a transaction, so a day is never half overwritten.
        let results = self.batch(op, &stmts).await?;
        Ok(results.iter().map(|r| r.0).sum())
    }

    async fn trend_rows(
        &self,
        scope: super::trends::Scope,
        from_day: &str,
    ) -> Result<Vec<super::trends::TrendRow>, StoreError> {
        self.rows(
            "read the trend snapshots",
            super::trends::TREND_ROWS,
            &[text(scope.as_str()), text(from_day)],
        )
        .await
    }
}

#[cfg(test)]
mod tests;
