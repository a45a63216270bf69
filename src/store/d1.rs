//! The store on D1: bound statements from the SQL constants, bulk writes through `json_each`.
//!
//! Statements run through the JS objects themselves (`all`, `run`, `batch`): the rows come back
//! as JSON text, parsed once and read by [`FromRow`], and `meta`'s counts are read as numbers;
//! worker's typed results would instantiate a JS-value deserializer per row type.

use futures_util::FutureExt;
use worker::js_sys::{self, Array, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::D1Database as D1DatabaseSys;
use worker::{D1Database, D1PreparedStatement, Env};

use super::ChangeStore;
use super::applications::IdRow;
use super::changes::BASELINE_RECORDED;
use super::organizations::{
    ADD_MEMBERS, ADD_SEEN_MEMBERS, CLEAR_ORPHANED_SEEN, CLEAR_SEEN_MEMBERS, HOLD_SEEN_MEMBERS,
    LIST_ORGS, LIST_STORED_MEMBERS, LIST_STORED_ORGS, MARK_MEMBERS_REMOVED, MARK_ORGS_REMOVED,
    ORG_EXISTS, REMOVE_UNSEEN_MEMBERS, UPSERT_ORGS,
};
use super::row::{FromRow, read_rows};
use super::runs::{
    CLEAR_ORPHANED_PENDING, CLOSE_ABANDONED, INSERT_RUN, LAST_LISTINGS, LIST_RUNS, LastListings,
    PAUSED_RUN, RELEASE_LOCK, RunKind, TAKE_LOCK, UPDATE_RUN,
};
use super::summary::{CONNECTION_COUNTS, SEAT_COUNTS};
use super::users::{
    ADD_PENDING_REMOVALS, APPLY_PENDING_REMOVALS, CLEAR_PENDING_REMOVALS, COUNT_CURRENT_USERS,
    GET_USER, SqlArg, UPSERT_USERS, USERS_BY_ID, list_users_sql, users_in_sql,
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

mod apps;

/// The `DB` binding.
pub struct D1Store {
    db: D1Database,
}

fn fail(op: &'static str) -> impl Fn(worker::Error) -> StoreError {
    move |e| StoreError {
        op,
        detail: e.to_string(),
    }
}

/// A JS failure as text: the error's name and message, and its cause's message where that adds
/// to it (D1 puts SQLite's own message in the cause).
fn js_detail(e: &JsValue) -> String {
    let Some(err) = e.dyn_ref::<js_sys::Error>() else {
        return e.as_string().unwrap_or_else(|| format!("{e:?}"));
    };
    let mut detail = format!(
        "{}: {}",
        String::from(err.name()),
        String::from(err.message())
    );
    if let Some(cause) = err.cause().dyn_ref::<js_sys::Error>() {
        let cause = String::from(cause.message());
        if !detail.contains(&cause) {
            detail.push_str(&format!(" (cause: {cause})"));
        }
    }
    detail
}

fn js_fail(op: &'static str) -> impl Fn(JsValue) -> StoreError {
    move |e| StoreError {
        op,
        detail: js_detail(&e),
    }
}

/// Awaits one of D1's promises.
async fn settle(
    op: &'static str,
    promise: Result<Promise, JsValue>,
) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(js_fail(op))?)
        .await
        .map_err(js_fail(op))
}

/// `meta.rows_written` and `meta.changes` of one D1 result; 0 where D1 leaves them out.
fn counts(result: &JsValue) -> (RowsWritten, u64) {
    let meta = Reflect::get(result, &text("meta")).unwrap_or(JsValue::UNDEFINED);
    let count = |key: &str| {
        Reflect::get(&meta, &text(key))
            .ok()
            .and_then(|v| v.as_f64())
            // Counts are whole and far below 2^53; anything else reads as 0.
            .map_or(0, |n| n as u64)
    };
    (count("rows_written"), count("changes"))
}

/// The `results` of one D1 result as one parsed JSON array (empty where D1 gives none).
fn results_json(op: &'static str, result: &JsValue) -> Result<serde_json::Value, StoreError> {
    let rows = Reflect::get(result, &text("results")).map_err(js_fail(op))?;
    if rows.is_null_or_undefined() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    let json = String::from(js_sys::JSON::stringify(&rows).map_err(js_fail(op))?);
    crate::fields::parse(&json).map_err(|e| StoreError {
        op,
        detail: format!("D1's rows are not JSON: {e}"),
    })
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// A value as JSON text, bound for `json_each`. Rows, ids and strings always serialise.
fn json(value: &impl serde::Serialize) -> JsValue {
    JsValue::from_str(&serde_json::to_string(value).unwrap_or_else(|_| "[]".into()))
}

fn num(n: u64) -> JsValue {
    // Counters stay far below 2^53, where JS numbers stop being exact.
    JsValue::from_f64(n as f64)
}

impl D1Store {
    /// Binds to `DB`.
    ///
    /// # Errors
    /// The binding is missing from wrangler.toml.
    pub fn from_env(env: &Env) -> Result<Self, StoreError> {
        env.d1("DB")
            .map(|db| Self { db })
            .map_err(fail("find the D1 binding DB (see wrangler.toml)"))
    }

    /// The database, for the stores of other features (`store::push`).
    pub(super) fn database(&self) -> &D1Database {
        &self.db
    }

    fn stmt(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(sql).bind(args).map_err(fail(op))
    }

    /// Runs a query and reads its rows (a plain `map` of the query's future: no state machine of
    /// its own per row type).
    pub(super) fn rows<T: FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> {
        self.results(op, sql, args)
            .map(move |rows| read_rows(op, &rows?))
    }

    /// Runs a query and parses its rows; apart from [`D1Store::rows`] so that awaiting D1 is
    /// compiled once, not once per row type.
    async fn results(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> Result<serde_json::Value, StoreError> {
        let stmt = self.stmt(op, sql, args)?;
        let result = settle(op, stmt.inner().all()).await?;
        results_json(op, &result)
    }

    /// Runs a write and returns D1's `rows_written`.
    async fn written(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> Result<RowsWritten, StoreError> {
        Ok(self.write(op, sql, args).await?.0)
    }

    /// Runs a write and returns D1's `rows_written` (and `changes`).
    async fn write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue],
    ) -> Result<(RowsWritten, u64), StoreError> {
        let stmt = self.stmt(op, sql, args)?;
        Ok(counts(&settle(op, stmt.inner().run()).await?))
    }

    /// Runs statements as one batch (one transaction, one request) and returns each one's
    /// `rows_written` and `changes`.
    pub(super) async fn batch(
        &self,
        op: &'static str,
        statements: Vec<D1PreparedStatement>,
    ) -> Result<Vec<(RowsWritten, u64)>, StoreError> {
        let statements: Array = statements.iter().map(D1PreparedStatement::inner).collect();
        let db: &D1DatabaseSys = self.db.as_ref().unchecked_ref();
        let results = settle(op, db.batch(statements)).await?;
        let results = results.dyn_into::<Array>().map_err(|_| StoreError {
            op,
            detail: "the batch answered no array".into(),
        })?;
        Ok(results.iter().map(|r| counts(&r)).collect())
    }

    /// A membership write (`sql` with `[org, ids, now]`), preceded in one batch by the events of
    /// `events_sql` (`[run, org, now, ids]`) when `events_of_run` is set.
    async fn with_member_events(
        &self,
        op: &'static str,
        sql: &str,
        args: &[JsValue; 3],
        events_of_run: Option<i64>,
        events_sql: &str,
    ) -> Result<RowsWritten, StoreError> {
        let Some(run) = events_of_run else {
            return self.written(op, sql, args).await;
        };
        let [org, ids, now] = args;
        let event_args = [
            JsValue::from_f64(run as f64),
            org.clone(),
            now.clone(),
            ids.clone(),
        ];
        let statements = vec![
            self.stmt(op, events_sql, &event_args)?,
            self.stmt(op, sql, args)?,
        ];
        Ok(self.batch(op, statements).await?.iter().map(|r| r.0).sum())
    }

    /// The statement appending `events` (at most `changes::EVENTS_PER_STATEMENT`), for a
    /// writer that puts it in one `batch` with its own rows so both land or neither does.
    ///
    /// # Errors
    /// The statement cannot be bound.
    pub fn events_statement(&self, events: &[NewEvent]) -> Result<D1PreparedStatement, StoreError> {
        self.stmt(
            "record access changes",
            INSERT_EVENTS,
            &[text(&events_json(events))],
        )
    }
}

impl ChangeStore for D1Store {
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

impl SyncStore for D1Store {
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
            JsValue::from_f64(r.id as f64),
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
            r.users_total_estimate.map_or(JsValue::NULL, num),
            num(r.d1_queries),
            opt_text(r.cursor.as_deref()),
            JsValue::from_f64(if r.listing_proven { 1.0 } else { 0.0 }),
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
        self.rows("read stored users", USERS_BY_ID, &[json(&ids)])
            .await
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
        let upsert = [json(&rows), text(now_iso)];
        if events.is_empty() {
            return self.written(op, UPSERT_USERS, &upsert).await;
        }
        let statements = vec![
            self.stmt(op, UPSERT_USERS, &upsert)?,
            self.events_statement(events)?,
        ];
        Ok(self.batch(op, statements).await?.iter().map(|r| r.0).sum())
    }

    async fn add_pending_removals(
        &self,
        run_id: i64,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        let args = [JsValue::from_f64(run_id as f64), json(&ids)];
        self.written("hold removed users", ADD_PENDING_REMOVALS, &args)
            .await
    }

    async fn apply_pending_removals(
        &self,
        run_id: i64,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64), StoreError> {
        let op = "mark users removed";
        let run = JsValue::from_f64(run_id as f64);
        let args = [run.clone(), text(now_iso)];
        let mut statements = Vec::new();
        if events {
            statements.push(self.stmt(op, REMOVAL_EVENTS, &args)?);
        }
        statements.push(self.stmt(op, APPLY_PENDING_REMOVALS, &args)?);
        statements.push(self.stmt(op, CLEAR_PENDING_REMOVALS, &[run])?);
        let results = self.batch(op, statements).await?;
        let marked = results
            .get(usize::from(events))
            .map_or(0, |(_, changes)| *changes);
        Ok((results.iter().map(|r| r.0).sum(), marked))
    }

    async fn clear_pending_removals(&self, run_id: i64) -> Result<(), StoreError> {
        let run = JsValue::from_f64(run_id as f64);
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
        self.written(
            "write organizations",
            UPSERT_ORGS,
            &[json(&rows), text(now_iso)],
        )
        .await
    }

    async fn mark_organizations_removed(
        &self,
        ids: &[String],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError> {
        self.written(
            "mark organizations removed",
            MARK_ORGS_REMOVED,
            &[json(&ids), text(now_iso)],
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
        let args = [text(org_id), json(&user_ids), text(now_iso)];
        self.with_member_events(op, ADD_MEMBERS, &args, events_of_run, MEMBERS_ADDED_EVENTS)
            .await
    }

    async fn hold_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        let args = [JsValue::from_f64(run_id as f64), text(org_id), json(&ids)];
        self.written("hold read members", HOLD_SEEN_MEMBERS, &args)
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
        let args = [
            JsValue::from_f64(run_id as f64),
            text(org_id),
            text(now_iso),
        ];
        let mut statements = Vec::new();
        if events {
            statements.push(self.stmt(op, HELD_ADDED_EVENTS, &args)?);
            statements.push(self.stmt(op, HELD_REMOVED_EVENTS, &args)?);
        }
        statements.push(self.stmt(op, ADD_SEEN_MEMBERS, &args)?);
        statements.push(self.stmt(op, REMOVE_UNSEEN_MEMBERS, &args)?);
        statements.push(self.stmt(op, CLEAR_SEEN_MEMBERS, &args[..2])?); // ok: 3 args
        let results = self.batch(op, statements).await?;
        let first = if events { 2 } else { 0 };
        let changes = |i: usize| results.get(first + i).map_or(0, |r| r.1);
        Ok((results.iter().map(|r| r.0).sum(), changes(0), changes(1)))
    }

    async fn clear_seen_members(&self, run_id: i64, org_id: &str) -> Result<(), StoreError> {
        let args = [JsValue::from_f64(run_id as f64), text(org_id)];
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
        let args = [text(org_id), json(&user_ids), text(now_iso)];
        self.with_member_events(
            op,
            MARK_MEMBERS_REMOVED,
            &args,
            events_of_run,
            MEMBERS_REMOVED_EVENTS,
        )
        .await
    }
}

impl ViewStore for D1Store {
    async fn listing_facts(&self) -> Result<LastListings, StoreError> {
        SyncStore::last_listings(self).await
    }

    async fn list_users(&self, q: &UsersQuery) -> Result<Vec<UserRecord>, StoreError> {
        let (sql, args) = list_users_sql(q);
        let args: Vec<JsValue> = args
            .into_iter()
            .map(|a| match a {
                SqlArg::Text(s) => JsValue::from_str(&s),
                SqlArg::Int(n) => JsValue::from_f64(n as f64),
            })
            .collect();
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
        let args: Vec<JsValue> = cutoffs.iter().map(|c| text(c)).collect();
        let rows: Vec<SeatCounts> = self.rows("count seats", SEAT_COUNTS, &args).await?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    fn connection_counts(&self) -> impl Future<Output = Result<Vec<ConnectionCount>, StoreError>> {
        self.rows("count users per connection", CONNECTION_COUNTS, &[])
    }
}

impl super::ChangeView for D1Store {
    async fn list_changes(
        &self,
        q: &super::ChangesQuery,
    ) -> Result<Vec<super::ChangeRecord>, StoreError> {
        let (sql, args) = super::changes::list_changes_sql(q);
        self.rows("list changes", &sql, &sql_args(args)).await
    }
}

fn sql_args(args: Vec<SqlArg>) -> Vec<JsValue> {
    args.into_iter()
        .map(|a| match a {
            SqlArg::Text(s) => JsValue::from_str(&s),
            SqlArg::Int(n) => JsValue::from_f64(n as f64),
        })
        .collect()
}

impl super::SessionStore for D1Store {
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

#[path = "d1_usage.rs"]
mod usage;

impl super::trends::TrendStore for D1Store {
    async fn take_snapshot(&self, at: &super::trends::SnapshotAt) -> Result<u64, StoreError> {
        let op = "take the trend snapshot";
        let args: Vec<JsValue> = at.args().into_iter().map(text).collect();
        let stmts = super::trends::SNAPSHOT
            .iter()
            .map(|sql| self.stmt(op, sql, &args))
            .collect::<Result<Vec<_>, _>>()?;
        // One batch: a transaction, so a day is never half overwritten.
        let results = self.batch(op, stmts).await?;
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
