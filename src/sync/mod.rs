//! One sync run: lock, list every user block by block, write only changes, and record the run.
//!
//! Removals are decided per block but applied only once the whole listing is complete, so a
//! failed or cut-short run never marks anyone removed and never deletes anything.

pub mod mapping;
pub mod organizations;
pub mod plan;

use crate::auth0::users::{Covered, Lower, Next, fetch_block};
use crate::auth0::{Auth0Client, Auth0Error, RetryPolicy, export};
use crate::clock::Clock;
use crate::config::{Auth0Config, ConfigError, SyncLimits};
use crate::http::HttpClient;
use crate::store::{RunRecord, RunStatus, StoreError, SyncStore, UserRow};
use crate::time::iso_from_ms;

/// How long a run's lock lasts without renewal: past a Worker's longest run, so a crashed run
/// blocks the next for this long at most.
pub const LOCK_LEASE_MS: u64 = 15 * 60 * 1000;
/// Rows per bulk write: keeps each statement's JSON well under D1's limits.
const WRITE_CHUNK: usize = 500;
/// Ids per removal statement.
const REMOVE_CHUNK: usize = 2000;
/// Save progress to the history every this many users (each save is one row written).
const PROGRESS_EVERY: u64 = 5000;
/// The message left on a run that was still `running` when the next one took the lock.
pub const ABANDONED: &str = "This run stopped before it finished (the Worker was stopped or hit a \
     limit). Nothing was marked removed; the next run starts over.";

/// What a run needs to know: where Auth0 is and how hard to press it.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The tenant and credentials.
    pub auth0: Auth0Config,
    /// Retries, pacing and budgets.
    pub policy: RetryPolicy,
}

impl SyncConfig {
    /// The default policy, paced by `limits` where set.
    pub fn new(auth0: Auth0Config, limits: SyncLimits) -> Self {
        let pace = limits
            .rate_per_second
            .map(|rate| (rate, limits.burst.unwrap_or(1)));
        Self {
            auth0,
            policy: RetryPolicy {
                pace,
                ..RetryPolicy::default()
            },
        }
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The cron trigger.
    Cron,
    /// `POST /api/sync`.
    Manual,
}

impl Trigger {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cron => "cron",
            Self::Manual => "manual",
        }
    }
}

/// What a call to [`run_sync`] did.
#[derive(Debug)]
pub enum SyncResult {
    /// A run happened; its record is saved. `internal` holds detail for the logs only.
    Ran {
        /// The saved run.
        run: Box<RunRecord>,
        /// Internal detail (database messages) to log, never to show.
        internal: Option<String>,
    },
    /// Another run holds the lock; this one stood down without writing.
    AlreadyRunning,
}

/// Why the listing stopped early.
enum Stop {
    Auth0(Auth0Error),
    Config(ConfigError),
    Store(StoreError),
}

impl From<Auth0Error> for Stop {
    fn from(e: Auth0Error) -> Self {
        Self::Auth0(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Runs one sync, unless another run holds the lock.
///
/// # Errors
/// Only when the lock or the run record cannot be written at all; every other failure is
/// recorded in the run.
///
/// # Concurrency
/// Two overlapping calls (cron and manual) race for one lock row; the loser returns
/// [`SyncResult::AlreadyRunning`] before writing anything.
pub async fn run_sync<H: HttpClient, C: Clock, S: SyncStore>(
    http: &H,
    clock: &C,
    store: &S,
    config: Result<&SyncConfig, &ConfigError>,
    trigger: Trigger,
) -> Result<SyncResult, StoreError> {
    let now = clock.now_ms();
    let owner = format!("{}-{now}", trigger.as_str());
    if !store.try_lock(&owner, now, LOCK_LEASE_MS).await? {
        return Ok(SyncResult::AlreadyRunning);
    }
    let result = locked_run(http, clock, store, config, trigger, &owner).await;
    // A failed release only delays the next run until the lease expires.
    let released = store.release_lock(&owner).await;
    match (result, released) {
        (Ok(SyncResult::Ran { run, internal }), Err(e)) => Ok(SyncResult::Ran {
            run,
            internal: Some(format!(
                "{}; release lock: {}",
                internal.unwrap_or_default(),
                e.detail
            )),
        }),
        (result, _) => result,
    }
}

async fn locked_run<H: HttpClient, C: Clock, S: SyncStore>(
    http: &H,
    clock: &C,
    store: &S,
    config: Result<&SyncConfig, &ConfigError>,
    trigger: Trigger,
    owner: &str,
) -> Result<SyncResult, StoreError> {
    let started = iso_from_ms(clock.now_ms());
    store.close_abandoned_runs(&started, ABANDONED).await?;
    let id = store.start_run(&started, trigger.as_str()).await?;
    let mut run = RunRecord::started(id, started, trigger.as_str());
    // Ok(None): complete; Ok(Some(message)): users complete, organizations not (partial).
    let outcome: Result<Option<String>, Stop> = match config {
        Err(e) => Err(Stop::Config(e.clone())),
        Ok(config) => {
            let mut client = Auth0Client::new(http, clock, &config.auth0, config.policy.clone());
            let users = UserSync {
                client: &mut client,
                clock,
                store,
                run: &mut run,
                owner,
                saved_at_users: 0,
            }
            .all_users()
            .await;
            let outcome = match users {
                Err(stop) => Err(stop),
                Ok(()) => {
                    match organizations::sync_organizations(&mut client, clock, store, &mut run)
                        .await
                    {
                        Err(Stop::Auth0(e)) => Ok(Some(format!("organizations not synced: {e}"))),
                        other => other,
                    }
                }
            };
            run.api_requests = u64::from(client.stats.requests);
            run.rate_limited = u64::from(client.stats.rate_limited);
            outcome
        }
    };
    let mut internal = None;
    run.finished_at = Some(iso_from_ms(clock.now_ms()));
    match outcome {
        Ok(None) => run.status = RunStatus::Succeeded,
        Ok(Some(message)) => {
            run.status = RunStatus::Partial;
            run.error = Some(message);
        }
        Err(stop) => {
            run.status = RunStatus::Failed;
            run.error = Some(match stop {
                Stop::Auth0(e) => e.to_string(),
                Stop::Config(e) => format!("Configuration: {e}"),
                Stop::Store(e) => {
                    internal = Some(format!("{}: {}", e.op, e.detail));
                    format!("The sync stopped because {e}.")
                }
            });
        }
    }
    store.save_run(&run).await?;
    Ok(SyncResult::Ran {
        run: Box::new(run),
        internal,
    })
}

/// The user listing of one run.
struct UserSync<'r, 'c, H: HttpClient, C: Clock, S: SyncStore> {
    client: &'r mut Auth0Client<'c, H, C>,
    clock: &'c C,
    store: &'r S,
    run: &'r mut RunRecord,
    owner: &'r str,
    saved_at_users: u64,
}

impl<H: HttpClient, C: Clock, S: SyncStore> UserSync<'_, '_, H, C, S> {
    async fn all_users(&mut self) -> Result<(), Stop> {
        let token = self.client.connect().await?;
        // The token says what it may do: a missing read:users is clearer now than as a 403 later.
        if !token.scopes.is_empty() && !token.scopes.iter().any(|s| s == "read:users") {
            return Err(Auth0Error::MissingScope {
                scope: "read:users".into(),
            }
            .into());
        }
        let mut gone = Vec::new();
        let mut lower = Lower::Unbounded;
        loop {
            let block = fetch_block(self.client, &lower).await?;
            self.apply(block.users, &block.covered, &mut gone).await?;
            lower = match block.next {
                Next::Done => break,
                Next::From(next) => next,
                Next::Export(at) => {
                    let users = export::users_created_at(self.client, &at).await?;
                    self.apply(users, &Covered::Exactly(at.clone()), &mut gone)
                        .await?;
                    Lower::Exclusive(at)
                }
            };
            self.checkpoint().await?;
        }
        // The listing is complete: only now may anyone be marked removed.
        let now = iso_from_ms(self.clock.now_ms());
        for ids in gone.chunks(REMOVE_CHUNK) {
            self.run.rows_written += self.store.mark_users_removed(ids, &now).await?;
        }
        self.run.users_removed = gone.len() as u64;
        Ok(())
    }

    /// Writes one block's changes and remembers who it found gone.
    async fn apply(
        &mut self,
        users: Vec<crate::auth0::types::Auth0User>,
        covered: &Covered,
        gone: &mut Vec<String>,
    ) -> Result<(), Stop> {
        let rows: Vec<UserRow> = users.iter().map(mapping::user_row).collect();
        self.run.users_seen += rows.len() as u64;
        let stored = self.store.users_in(covered).await?;
        let plan = plan::plan_block(rows, &stored);
        let now = iso_from_ms(self.clock.now_ms());
        for chunk in plan.write.chunks(WRITE_CHUNK) {
            self.run.rows_written += self.store.upsert_users(chunk, &now).await?;
        }
        self.run.users_added += plan.added;
        self.run.users_updated += plan.updated;
        gone.extend(plan.gone);
        Ok(())
    }

    /// Shows progress in the history now and then, and keeps the lock's lease alive.
    async fn checkpoint(&mut self) -> Result<(), Stop> {
        if self.run.users_seen - self.saved_at_users < PROGRESS_EVERY {
            return Ok(());
        }
        self.saved_at_users = self.run.users_seen;
        self.run.api_requests = u64::from(self.client.stats.requests);
        self.run.rate_limited = u64::from(self.client.stats.rate_limited);
        self.store.save_run(self.run).await?;
        let now = self.clock.now_ms();
        if !self.store.try_lock(self.owner, now, LOCK_LEASE_MS).await? {
            // Our lease lapsed and another run took over: stop before writing more.
            return Err(Stop::Store(StoreError {
                op: "keep the sync lock",
                detail: "lease expired and another run took the lock".into(),
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
