//! The applications part of a run, after organizations: applications, connections, which
//! applications each connection is enabled for, and (when an application requires
//! organizations) each organization's enabled connections; then the reach counts.
//!
//! Every scope here is optional. A scope the token lacks, or a 403 for one, skips what it guards
//! and leaves a note in the run's history ("not enabled: grant read:clients …"); it never fails
//! or degrades the user sync. Nothing is marked removed, and no enabled-client pair is dropped,
//! unless the listing that lacks it was proven complete.

use serde::Serialize;

use super::Stop;
use super::budget::{Budget, Counted};
use super::lease::Lease;
use crate::auth0::applications::{
    list_applications, list_connection_clients, list_connections, list_org_connections,
};
use crate::auth0::error::GRANT_PATH;
use crate::auth0::{Auth0Client, Auth0Error};
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::applications::{
    ADD_CONNECTION_CLIENTS, ADD_ORG_CONNECTIONS, ANY_ORG_CONNECTION, ANY_REQUIRES_ORGS, AppRow,
    Arg, CLIENTS_OF_CONNS, CONNECTION_CLIENTS, CURRENT_CONNECTION_IDS, CURRENT_ORG_IDS, ConnRow,
    DROP_CLIENTS_OF_CONNS, DROP_CONNECTION_CLIENTS, DROP_CONNECTIONS_OF_GONE_ORGS,
    DROP_ORG_CONNECTIONS, MARK_APPS_REMOVED, MARK_CONNS_REMOVED, ORG_CONNECTIONS, RECORD_SCOPES,
    REFRESH_REACH, REQUIRING_CLIENTS_OF_CONNS, ScopeState, SqlRunner, Stmt, UPSERT_APPS,
    UPSERT_CONNS, ids, reach_events_sql, snapshot_add_sql, snapshot_drop_sql, stored_apps,
    stored_connections,
};
use crate::store::{RunRecord, SyncStore};
use crate::time::iso_from_ms;

mod plan;
pub use plan::{app_row, conn_row, plan_pairs, plan_rows, reach_events};

/// The optional scopes the viewer reports on, in the order shown.
pub const OPTIONAL_SCOPES: [&str; 4] = [
    "read:clients",
    "read:connections",
    "read:organization_connections",
    "read:logs",
];

/// What each optional scope turns on, for the "not enabled" messages.
pub fn scope_adds(scope: &str) -> &'static str {
    match scope {
        "read:clients" => "the tenant's applications and who can reach each",
        "read:connections" => {
            "which connections each application is enabled for (who can reach each)"
        }
        "read:organization_connections" => {
            "the connections each organization enables (who can reach applications that require an organization)"
        }
        "read:logs" => "per-application usage: last login, logins and activity",
        _ => "more of the tenant",
    }
}

/// "not enabled: grant read:clients to the M2M app in …; it adds …".
pub fn not_enabled_message(scope: &str) -> String {
    format!(
        "not enabled: grant {scope} to the M2M app in {GRANT_PATH}; it adds {}.",
        scope_adds(scope)
    )
}

/// Rows per bulk write.
const CHUNK: usize = 500;
/// Auth0 requests kept free for one listing step: a page or two and a token.
const LIST_REQUESTS: u32 = 3;
/// D1 queries one listing step may take: scopes or read, upsert, mark removed, drop pairs.
const LIST_QUERIES: u32 = 4;
/// D1 queries one connection's (or organization's) pairs take: read, add, drop.
const PAIR_QUERIES: u32 = 3;

/// Where the applications part stands: saved in the cursor (written and read by `super::cursor`;
/// the derive is the tests' record of the old format).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Serialize, serde::Deserialize))]
#[cfg_attr(test, serde(rename_all = "snake_case"))]
pub enum AppProgress {
    /// Record the token's optional scopes, then list applications.
    Lists,
    /// List connections.
    Connections,
    /// Each current connection's enabled clients, by id, after this one.
    Clients {
        /// The last connection done.
        #[cfg_attr(test, serde(default))]
        after: Option<String>,
    },
    /// Each current organization's enabled connections, by id, after this one.
    Orgs {
        /// The last organization done; `None` before the step began, `""` once it began.
        #[cfg_attr(test, serde(default))]
        after: Option<String>,
    },
    /// Recompute the reach counts.
    Reach,
}

/// The applications part's state across invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Serialize, serde::Deserialize))]
pub struct AppState {
    /// The next step.
    pub progress: AppProgress,
    /// What made the run partial before this part (organizations), kept for its end.
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    pub partial: Option<String>,
    /// Notes for the history: scopes not enabled, listings not proven complete.
    #[cfg_attr(test, serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub notes: Vec<String>,
    /// Whether this part wrote anything (the reach counts are then recomputed).
    #[cfg_attr(test, serde(default))]
    pub changed: bool,
    /// The first sync of applications or connections: a baseline, so no reach events.
    #[cfg_attr(test, serde(default))]
    pub baseline: bool,
}

impl AppState {
    /// The start, after organizations ended with `partial`.
    pub fn start(partial: Option<String>) -> Self {
        Self {
            progress: AppProgress::Lists,
            partial,
            notes: Vec::new(),
            changed: false,
            baseline: false,
        }
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// The notes as one message, if any.
    pub fn notes_message(&self) -> Option<String> {
        (!self.notes.is_empty()).then(|| format!("Applications: {}", self.notes.join(" ")))
    }
}

/// Where the applications part stopped.
pub(super) enum AppStep {
    /// Done.
    Done(AppState),
    /// The budget is spent; continue from here.
    Paused(AppState),
}

/// The invocation's parts the applications part uses.
pub(super) struct Part<'r, 'c, H: HttpClient, C: Clock, S: SyncStore + SqlRunner> {
    pub client: &'r mut Auth0Client<'c, H, C>,
    pub clock: &'c C,
    pub store: &'r Counted<'r, S>,
    pub run: &'r mut RunRecord,
    pub budget: Budget,
    pub lease: &'r mut Lease,
}

/// What a listing call came to.
enum Got<T> {
    Listed(T),
    /// A scope is missing: noted, the step is skipped.
    Skipped,
    /// The budget is spent: pause here.
    Pause,
}

impl<H: HttpClient, C: Clock, S: SyncStore + SqlRunner> Part<'_, '_, H, C, S> {
    fn room(&self, requests: u32, queries: u32) -> bool {
        self.budget
            .room(&self.client.stats, self.store.used(), requests, queries)
    }

    fn now(&self) -> String {
        iso_from_ms(self.clock.now_ms())
    }

    /// Whether the token has `scope` (a token that names no scopes is tried).
    fn has(&self, scope: &str) -> bool {
        let granted = self.client.granted_scopes().unwrap_or_default();
        granted.is_empty() || granted.iter().any(|s| s == scope)
    }

    async fn record_scopes(&mut self, states: &[ScopeState]) -> Result<(), Stop> {
        if states.is_empty() {
            return Ok(());
        }
        let now = self.now();
        self.run.rows_written += self
            .store
            .sql_run(
                "record optional scopes",
                RECORD_SCOPES,
                &[Arg::json(&states), Arg::Text(now)],
            )
            .await?;
        Ok(())
    }

    /// Turns a call's outcome into a listing, a noted skip or a pause. Other Auth0 failures
    /// stop the part (the caller notes them; the user sync stands).
    async fn got<T>(
        &mut self,
        state: &mut AppState,
        outcome: Result<T, Auth0Error>,
    ) -> Result<Got<T>, Stop> {
        match outcome {
            Ok(t) => Ok(Got::Listed(t)),
            Err(Auth0Error::BudgetSpent) => Ok(Got::Pause),
            Err(Auth0Error::MissingScope { scope }) => {
                let known = OPTIONAL_SCOPES.iter().find(|s| scope.contains(**s));
                if let Some(s) = known {
                    self.record_scopes(&[ScopeState {
                        scope: (*s).to_string(),
                        granted: 0,
                    }])
                    .await?;
                }
                state.note(not_enabled_message(known.copied().unwrap_or(&scope)));
                Ok(Got::Skipped)
            }
            Err(e) => Err(Stop::Auth0(e)),
        }
    }

    /// Adds one statement per chunk of `rows` (`?1`) with now (`?2`).
    fn write_chunks<T: Serialize>(&self, stmts: &mut Vec<Stmt>, sql: &str, rows: &[T]) {
        let now = self.now();
        for chunk in rows.chunks(CHUNK) {
            stmts.push((sql.to_string(), vec![Arg::json(&chunk), Arg::text(&now)]));
        }
    }

    /// Runs the part from `state` until done or the budget is spent.
    pub async fn run(mut self, mut state: AppState) -> Result<AppStep, Stop> {
        loop {
            self.lease.keep(self.store, self.clock.now_ms()).await?;
            state.progress = match state.progress.clone() {
                AppProgress::Lists => {
                    if !self.room(LIST_REQUESTS, LIST_QUERIES) {
                        return Ok(AppStep::Paused(state));
                    }
                    match self.lists(&mut state).await? {
                        true => AppProgress::Connections,
                        false => return Ok(AppStep::Paused(state)),
                    }
                }
                AppProgress::Connections => {
                    if !self.room(LIST_REQUESTS, LIST_QUERIES) {
                        return Ok(AppStep::Paused(state));
                    }
                    match self.connections(&mut state).await? {
                        true => AppProgress::Clients { after: None },
                        false => return Ok(AppStep::Paused(state)),
                    }
                }
                AppProgress::Clients { after } => match self.clients(&mut state, after).await? {
                    None => AppProgress::Orgs { after: None },
                    Some(at) => {
                        state.progress = AppProgress::Clients { after: at };
                        return Ok(AppStep::Paused(state));
                    }
                },
                AppProgress::Orgs { after } => match self.orgs(&mut state, after).await? {
                    None => AppProgress::Reach,
                    Some(at) => {
                        state.progress = AppProgress::Orgs { after: at };
                        return Ok(AppStep::Paused(state));
                    }
                },
                AppProgress::Reach => {
                    if !self.room(0, 1) {
                        return Ok(AppStep::Paused(state));
                    }
                    // Users, memberships or the wiring changed: the counts may have.
                    if state.changed || self.run.rows_written > 0 {
                        let now = self.now();
                        self.run.rows_written += self
                            .store
                            .sql_run("count reach", REFRESH_REACH, &[Arg::Text(now)])
                            .await?;
                    }
                    return Ok(AppStep::Done(state));
                }
            };
        }
    }

    /// Records the token's scopes, then lists applications. `false`: paused.
    async fn lists(&mut self, state: &mut AppState) -> Result<bool, Stop> {
        let granted = self.client.granted_scopes().unwrap_or_default().to_vec();
        if !granted.is_empty() {
            let states: Vec<ScopeState> = OPTIONAL_SCOPES
                .iter()
                .map(|s| ScopeState {
                    scope: (*s).to_string(),
                    granted: i64::from(granted.iter().any(|g| g == s)),
                })
                .collect();
            self.record_scopes(&states).await?;
        }
        for scope in ["read:clients", "read:connections"] {
            if !self.has(scope) {
                state.note(not_enabled_message(scope));
            }
        }
        if self.has("read:clients") {
            let outcome = list_applications(self.client).await;
            match self.got(state, outcome).await? {
                Got::Pause => return Ok(false),
                Got::Skipped => {}
                Got::Listed(listing) => {
                    let rows: Vec<AppRow> = listing.items.iter().map(app_row).collect();
                    let stored = stored_apps(self.store).await?;
                    state.baseline |= stored.is_empty();
                    let (write, gone) = plan_rows(
                        &rows,
                        |r| (&r.client_id, &r.fingerprint),
                        &stored,
                        listing.unproven.is_none(),
                    );
                    if let Some(why) = listing.unproven {
                        state.note(format!(
                            "listing not proven complete, nothing removed ({why})."
                        ));
                    }
                    let scope: Vec<String> = write
                        .iter()
                        .map(|r| r.client_id.clone())
                        .chain(gone.iter().cloned())
                        .collect();
                    self.apply(
                        state,
                        "write applications",
                        UPSERT_APPS,
                        &write,
                        MARK_APPS_REMOVED,
                        &gone,
                        None,
                        &scope,
                    )
                    .await?;
                }
            }
        }
        Ok(true)
    }

    /// Lists connections. `false`: paused.
    async fn connections(&mut self, state: &mut AppState) -> Result<bool, Stop> {
        if self.has("read:connections") {
            let outcome = list_connections(self.client).await;
            match self.got(state, outcome).await? {
                Got::Pause => return Ok(false),
                Got::Skipped => {}
                Got::Listed(listing) => {
                    let rows: Vec<ConnRow> = listing.items.iter().map(conn_row).collect();
                    let stored = stored_connections(self.store).await?;
                    state.baseline |= stored.is_empty();
                    let (write, gone) = plan_rows(
                        &rows,
                        |r| (&r.connection_id, &r.fingerprint),
                        &stored,
                        listing.unproven.is_none(),
                    );
                    if let Some(why) = listing.unproven {
                        state.note(format!(
                            "listing not proven complete, nothing removed ({why})."
                        ));
                    }
                    // A renamed or removed connection changes who reaches its applications.
                    let touched: Vec<String> = write
                        .iter()
                        .map(|r| r.connection_id.clone())
                        .chain(gone.iter().cloned())
                        .collect();
                    let scope = if touched.is_empty() || state.baseline {
                        Vec::new()
                    } else {
                        ids(
                            self.store,
                            "read enabled clients",
                            CLIENTS_OF_CONNS,
                            &[Arg::json(&touched)],
                        )
                        .await?
                    };
                    self.apply(
                        state,
                        "write connections",
                        UPSERT_CONNS,
                        &write,
                        MARK_CONNS_REMOVED,
                        &gone,
                        Some(DROP_CLIENTS_OF_CONNS),
                        &scope,
                    )
                    .await?;
                }
            }
        }
        Ok(true)
    }

    /// Runs a wiring write as one batch with the reach events it causes for the applications of
    /// `scope`: the stored reach of those applications is first brought up to the reach before
    /// the write (users and memberships that changed since are user and membership events, not
    /// reach events), then each pair the write moved gets an `app_reachable` or
    /// `app_unreachable`, then the new reach is stored (see [`reach_events_sql`]). All of it is
    /// computed in SQL from tables, so what is bound stays small whatever the number of users;
    /// both land or neither, so an invocation that dies mid-step loses no event, and a batch
    /// sent twice finds nothing moved (and the events' keys would skip it). A baseline writes
    /// no events and leaves the stored reach to the next change. Nothing to write: no query.
    async fn commit(
        &mut self,
        state: &AppState,
        op: &'static str,
        writes: Vec<Stmt>,
        scope: &[String],
    ) -> Result<(), Stop> {
        if writes.is_empty() {
            return Ok(());
        }
        let stmts = if scope.is_empty() || state.baseline {
            writes
        } else {
            let scope = Arg::json(&scope);
            let refresh = [
                (snapshot_drop_sql(), vec![scope.clone()]),
                (snapshot_add_sql(), vec![scope.clone()]),
            ];
            let events = (
                reach_events_sql(),
                vec![scope, Arg::Int(self.run.id), Arg::text(&self.now())],
            );
            refresh
                .iter()
                .cloned()
                .chain(writes)
                .chain([events])
                .chain(refresh.iter().cloned())
                .collect()
        };
        self.run.rows_written += self.store.sql_batch(op, &stmts).await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one write plan: rows, removals, what goes with them, reach
    async fn apply<T: Serialize>(
        &mut self,
        state: &mut AppState,
        op: &'static str,
        upsert: &str,
        write: &[&T],
        mark_removed: &str,
        gone: &[String],
        drop_with: Option<&str>,
        scope: &[String],
    ) -> Result<(), Stop> {
        let mut stmts = Vec::new();
        if !write.is_empty() {
            self.write_chunks(&mut stmts, upsert, write);
            state.changed = true;
        }
        if !gone.is_empty() {
            self.write_chunks(&mut stmts, mark_removed, gone);
            if let Some(sql) = drop_with {
                stmts.push((sql.to_string(), vec![Arg::json(&gone)]));
            }
            state.changed = true;
        }
        self.commit(state, op, stmts, scope).await
    }

    /// Each current connection's enabled clients, after `after`. `Some(at)`: paused after `at`.
    async fn clients(
        &mut self,
        state: &mut AppState,
        mut after: Option<String>,
    ) -> Result<Option<Option<String>>, Stop> {
        if !self.has("read:connections") {
            return Ok(None);
        }
        if !self.room(LIST_REQUESTS, 1 + PAIR_QUERIES) {
            return Ok(Some(after));
        }
        let mut conns = ids(self.store, "read connections", CURRENT_CONNECTION_IDS, &[]).await?;
        conns.retain(|id| after.as_ref().is_none_or(|a| id > a));
        for id in &conns {
            self.lease.keep(self.store, self.clock.now_ms()).await?;
            if !self.room(LIST_REQUESTS, PAIR_QUERIES) {
                return Ok(Some(after));
            }
            let outcome = list_connection_clients(self.client, id).await;
            let listing = match outcome {
                // Deleted since the connection listing: the next run's listing removes it.
                Err(Auth0Error::Rejected { status: 404, .. }) => {
                    after = Some(id.clone());
                    continue;
                }
                other => match self.got(state, other).await? {
                    Got::Listed(l) => l,
                    Got::Skipped => return Ok(None),
                    Got::Pause => return Ok(Some(after)),
                },
            };
            if let Some(why) = &listing.unproven {
                state.note(format!(
                    "listing not proven complete, nothing removed ({why})."
                ));
            }
            let stored = ids(
                self.store,
                "read enabled clients",
                CONNECTION_CLIENTS,
                &[Arg::text(id)],
            )
            .await?;
            let (add, drop) = plan_pairs(&listing, &stored);
            let scope: Vec<String> = add.iter().chain(&drop).cloned().collect();
            self.pairs(
                state,
                id,
                (&add, &drop),
                (ADD_CONNECTION_CLIENTS, DROP_CONNECTION_CLIENTS),
                &scope,
            )
            .await?;
            after = Some(id.clone());
        }
        Ok(None)
    }

    /// Adds and drops one owner's enabled pairs (`(add, drop)`, by `(add_sql, drop_sql)`) in
    /// one batch with the reach events of the applications of `scope`.
    async fn pairs(
        &mut self,
        state: &mut AppState,
        owner: &str,
        (add, drop): (&[String], &[String]),
        (add_sql, drop_sql): (&str, &str),
        scope: &[String],
    ) -> Result<(), Stop> {
        let mut stmts = Vec::new();
        for (ids, sql) in [(add, add_sql), (drop, drop_sql)] {
            for chunk in ids.chunks(CHUNK) {
                stmts.push((sql.to_string(), vec![Arg::text(owner), Arg::json(&chunk)]));
                state.changed = true;
            }
        }
        self.commit(state, "write enabled pairs", stmts, scope)
            .await
    }

    /// Each current organization's enabled connections. `Some(at)`: paused after `at`.
    async fn orgs(
        &mut self,
        state: &mut AppState,
        mut after: Option<String>,
    ) -> Result<Option<Option<String>>, Stop> {
        if after.is_none() {
            // The step's start, saved as `Some("")` once done so that a pause does not repeat it.
            if !self.room(0, 3) {
                return Ok(Some(after));
            }
            // Read whenever granted, not only while an application requires organizations: an
            // application that starts requiring them then finds them already stored.
            if !self.has("read:organization_connections") {
                let requires = ids(self.store, "read applications", ANY_REQUIRES_ORGS, &[]).await?;
                if !requires.is_empty() {
                    state.note(not_enabled_message("read:organization_connections"));
                }
                return Ok(None);
            }
            // None stored yet: this first read is a baseline, not a change.
            state.baseline |= ids(
                self.store,
                "read organization connections",
                ANY_ORG_CONNECTION,
                &[],
            )
            .await?
            .is_empty();
            self.run.rows_written += self
                .store
                .sql_run(
                    "forget removed organizations' connections",
                    DROP_CONNECTIONS_OF_GONE_ORGS,
                    &[],
                )
                .await?;
            after = Some(String::new());
        }
        if !self.room(LIST_REQUESTS, 1 + PAIR_QUERIES) {
            return Ok(Some(after));
        }
        let mut orgs = ids(self.store, "read organizations", CURRENT_ORG_IDS, &[]).await?;
        orgs.retain(|id| after.as_ref().is_none_or(|a| id > a));
        for id in &orgs {
            self.lease.keep(self.store, self.clock.now_ms()).await?;
            if !self.room(LIST_REQUESTS, PAIR_QUERIES) {
                return Ok(Some(after));
            }
            let outcome = list_org_connections(self.client, id).await;
            let listing = match outcome {
                Err(Auth0Error::Rejected { status: 404, .. }) => {
                    after = Some(id.clone());
                    continue;
                }
                other => match self.got(state, other).await? {
                    Got::Listed(l) => l,
                    Got::Skipped => return Ok(None),
                    Got::Pause => return Ok(Some(after)),
                },
            };
            if let Some(why) = &listing.unproven {
                state.note(format!(
                    "listing not proven complete, nothing removed ({why})."
                ));
            }
            let stored = ids(
                self.store,
                "read organization connections",
                ORG_CONNECTIONS,
                &[Arg::text(id)],
            )
            .await?;
            let (add, drop) = plan_pairs(&listing, &stored);
            let touched: Vec<String> = add.iter().chain(&drop).cloned().collect();
            let scope = if touched.is_empty() || state.baseline {
                Vec::new()
            } else {
                ids(
                    self.store,
                    "read enabled clients",
                    REQUIRING_CLIENTS_OF_CONNS,
                    &[Arg::json(&touched)],
                )
                .await?
            };
            self.pairs(
                state,
                id,
                (&add, &drop),
                (ADD_ORG_CONNECTIONS, DROP_ORG_CONNECTIONS),
                &scope,
            )
            .await?;
            after = Some(id.clone());
        }
        Ok(None)
    }
}
