//! One sync run: lock, list users block by block writing only changes, then organizations, and
//! record the run. A run that reaches its invocation's budget pauses with a cursor and continues
//! on the next invocation; the sync history shows it as one run.
//!
//! Removals are held until the whole user listing is complete, so a failed or cut-short run never
//! marks anyone removed and never deletes anything.

pub mod applications;
pub mod budget;
pub mod cursor;
pub mod events;
mod export_job;
mod invocation;
pub mod lease;
pub mod listing;
pub mod logs;
pub mod mapping;
pub mod organizations;
pub mod plan;
pub mod schedule;
pub mod snapshot;
pub mod writes;

use futures_util::future::join;

use budget::{BLOCK_QUERIES, BLOCK_REQUESTS, Budget, Counted};
use cursor::{Cursor, Saved};
use invocation::Invocation;
pub use lease::LOCK_LEASE_MS;
use lease::{Lease, LeaseError};
use listing::{Covered, Lower, Next, fetch_block};

use crate::auth0::types::Auth0User;
use crate::auth0::{Auth0Client, Auth0Error, RetryPolicy};
use crate::clock::Clock;
use crate::config::{Auth0Config, ConfigError, SyncLimits};
use crate::http::HttpClient;
use crate::store::applications::SqlRunner;
use crate::store::runs::LastListings;
use crate::store::trends::TrendStore;
use crate::store::usage::UsageStore;
use crate::store::{
    ChangeStore, RunKind, RunRecord, RunStatus, StoreError, SyncStore, UserRow, daily_limit,
};
use crate::time::{EpochMs, iso_from_ms};

/// Everything a run writes to: the sync's own tables and those of each of its parts.
pub trait RunStore: SyncStore + UsageStore + SqlRunner + TrendStore {}
impl<T: SyncStore + UsageStore + SqlRunner + TrendStore> RunStore for T {}

/// Rows per bulk write: keeps each statement's JSON well under D1's limits.
const WRITE_CHUNK: usize = 500;
/// Save progress to the history every this many users (each save is one row written).
const PROGRESS_EVERY: u64 = 5000;
/// A run still paused after this many invocations is given up (something keeps it from moving).
pub const MAX_INVOCATIONS: u64 = 1000;
/// A run whose invocations died this many times in a row from the same checkpoint is given up.
pub const MAX_DEATHS: u32 = 3;
/// The message left on a run that was still `running` when the next one took the lock.
pub const ABANDONED: &str = "This run stopped before it finished (the Worker was stopped or hit a \
     limit). Nothing was marked removed; the next run starts over.";

/// Why a request failed when the Worker ran out of subrequests.
pub const SUBREQUEST_LIMIT_HIT: &str = "this invocation reached the Workers subrequest limit; \
     set SYNC_MAX_AUTH0_REQUESTS below your plan's limit (45 on the Free plan)";

/// The message for a storage failure, naming the budget setting when D1's per-invocation query
/// limit was the cause (the database's own text stays in the logs).
fn store_failure_message(e: &StoreError) -> String {
    if e.detail.contains("Too many API requests") || e.detail.contains("Too many queries") {
        "The sync stopped because this invocation reached D1's query limit; set \
         SYNC_MAX_D1_QUERIES below your plan's limit (45 on the Free plan)."
            .into()
    } else {
        format!("The sync stopped because {e}.")
    }
}

/// What a run needs to know: where Auth0 is and how hard to press it.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The tenant and credentials.
    pub auth0: Auth0Config,
    /// Retries, pacing and the request budget.
    pub policy: RetryPolicy,
    /// The per-invocation budget.
    pub budget: Budget,
    /// When a run lists every user, and when only the updated ones.
    pub schedule: schedule::Schedule,
}

impl SyncConfig {
    /// The default policy, paced and budgeted by `limits` where set.
    pub fn new(auth0: Auth0Config, limits: SyncLimits) -> Self {
        let pace = limits
            .rate_per_second
            .map(|rate| (rate, limits.burst.unwrap_or(1)));
        Self {
            auth0,
            policy: RetryPolicy {
                pace,
                max_requests: limits.max_auth0_requests,
                ..RetryPolicy::default()
            },
            budget: Budget {
                max_requests: limits.max_auth0_requests,
                max_queries: limits.max_d1_queries,
            },
            schedule: schedule::Schedule::from_limits(&limits),
        }
    }
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The main cron schedule: continue a paused run, or start one.
    Cron,
    /// The frequent cron schedule: only continue a paused run.
    Continue,
    /// `POST /api/sync`: continue a paused run, or start one.
    Manual,
}

impl Trigger {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cron | Self::Continue => "cron",
            Self::Manual => "manual",
        }
    }
}

/// What a call to [`run_sync_as`] did.
#[derive(Debug)]
pub enum SyncResult {
    /// A run happened (finished, or paused with `status` still `running`); its record is saved.
    Ran {
        /// The saved run.
        run: Box<RunRecord>,
        /// Internal detail (database messages) to log, never to show.
        internal: Option<String>,
    },
    /// Another invocation holds the lock; this one stood down without writing.
    AlreadyRunning,
    /// A continuation tick found no paused run.
    Idle,
}

/// Why a run stopped early.
enum Stop {
    Auth0(Auth0Error),
    Config(ConfigError),
    Store(StoreError),
    /// Another invocation took the lock: write nothing more.
    LostLease,
}

impl From<LeaseError> for Stop {
    fn from(e: LeaseError) -> Self {
        match e {
            LeaseError::Lost => Self::LostLease,
            LeaseError::Store(e) => Self::Store(e),
        }
    }
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

/// Where an invocation left its run.
enum Step {
    /// Complete; `Some(message)` when organizations (or the log) could not be synced (partial),
    /// and notes for the history that leave the status alone (optional scopes not granted, a
    /// usage gap).
    Finished(Option<String>, Option<String>),
    /// The budget is spent; continue here next time.
    Paused(Cursor),
}

/// [`run_sync_as`] with a nonce that differs per call, as separate invocations' would.
#[cfg(test)]
pub async fn run_sync<H: HttpClient, C: Clock, S: RunStore>(
    http: &H,
    clock: &C,
    store: &S,
    config: Result<&SyncConfig, &ConfigError>,
    trigger: Trigger,
) -> Result<SyncResult, StoreError> {
    thread_local!(static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(1) });
    let nonce = NEXT.with(|n| n.replace(n.get() + 1));
    run_sync_as(http, clock, store, config, trigger, nonce).await
}

/// Runs (or continues) one sync, unless another invocation holds the lock. `nonce` comes from
/// the runtime's random source and makes this invocation's lock name its own.
///
/// # Errors
/// Only when the lock or the run record cannot be written at all; every other failure is
/// recorded in the run.
///
/// # Concurrency
/// Overlapping invocations (cron and manual) race for one lock row; the loser returns
/// [`SyncResult::AlreadyRunning`] before writing anything. The holder renews its lease by
/// elapsed time before each unit of work; one that finds the lock taken (its lease ran out)
/// stops at once, writes nothing more, and also returns [`SyncResult::AlreadyRunning`].
pub async fn run_sync_as<H: HttpClient, C: Clock, S: RunStore>(
    http: &H,
    clock: &C,
    store: &S,
    config: Result<&SyncConfig, &ConfigError>,
    trigger: Trigger,
    nonce: u64,
) -> Result<SyncResult, StoreError> {
    let store = Counted::new(store);
    let now = clock.now_ms();
    // A continuation tick with nothing to continue, or whose run waits for D1's daily reset,
    // costs one read and writes nothing.
    if trigger == Trigger::Continue
        && store
            .paused_run()
            .await?
            .is_none_or(|run| waits_for_reset(&run, now))
    {
        return Ok(SyncResult::Idle);
    }
    let owner = lease::owner_name(trigger.as_str(), now, nonce);
    let Some(mut lease) = Lease::take(&store, owner, now).await? else {
        return Ok(SyncResult::AlreadyRunning);
    };
    let result = locked_run(http, clock, &store, config, trigger, &mut lease).await;
    if matches!(result, Ok(SyncResult::AlreadyRunning)) {
        // The lease was lost: the lock is another invocation's now.
        return result;
    }
    // A failed release only delays the next run until the lease expires.
    let released = store.release_lock(lease.owner()).await;
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

/// Whether `run` was paused by D1's daily limit and the limit has not reset yet at `now`: it
/// paused at its `finished_at`, and D1 counts again from the next 00:00 UTC. Retrying before
/// then would only be refused again.
fn waits_for_reset(run: &RunRecord, now: EpochMs) -> bool {
    run.status == RunStatus::Paused
        && run
            .finished_at
            .as_deref()
            .and_then(crate::time::ms_from_iso)
            .is_some_and(|at| now < daily_limit::resets_at(at))
}

/// What [`open_run`] found to do.
enum Opening {
    /// Continue or start this run.
    Run(Opened),
    /// A continuation tick with nothing to continue.
    Idle,
    /// The run paused at D1's daily limit, not yet reset: shown as it is, nothing written.
    Waiting(RunRecord),
}

/// A run picked up or started: where to continue, the death count this invocation stores with
/// its checkpoints, and whether it is a first sync (`events`).
struct Opened {
    run: RunRecord,
    cursor: Cursor,
    deaths: u32,
    baseline: bool,
}

/// Picks up the paused (or checkpointed) run, or starts a new one of the kind `schedule` says.
async fn open_run<S: SyncStore + SqlRunner>(
    store: &Counted<'_, S>,
    trigger: Trigger,
    now: EpochMs,
    schedule: schedule::Schedule,
) -> Result<Opening, StoreError> {
    let now_iso = iso_from_ms(now);
    if let Some(mut run) = store.paused_run().await? {
        // Until the reset no trigger starts or continues anything: the refusal would repeat.
        if waits_for_reset(&run, now) {
            return Ok(Opening::Waiting(run));
        }
        let saved = run.cursor.take().as_deref().and_then(Saved::from_json);
        let give_up = match saved {
            Some(saved) if saved.deaths < MAX_DEATHS && run.invocations < MAX_INVOCATIONS => {
                run.invocations += 1;
                // A run paused at the daily limit is running again.
                if run.status == RunStatus::Paused {
                    run.status = RunStatus::Running;
                    run.finished_at = None;
                    run.error = None;
                }
                // Should this invocation die too, the next one sees one death more.
                let deaths = saved.deaths + 1;
                run.cursor = Some(
                    Saved {
                        cursor: saved.cursor.clone(),
                        deaths,
                        baseline: saved.baseline,
                    }
                    .to_json(),
                );
                store.save_run(&run).await?;
                return Ok(Opening::Run(Opened {
                    run,
                    cursor: saved.cursor,
                    deaths,
                    baseline: saved.baseline,
                }));
            }
            Some(saved) if saved.deaths >= MAX_DEATHS => format!(
                "The Worker stopped this run {} times in a row at the same point ({} users \
                 listed), so it was given up; nothing was marked removed. This is usually the \
                 invocation's CPU or memory limit: lower SYNC_MAX_AUTH0_REQUESTS.",
                saved.deaths, run.users_seen
            ),
            _ => format!(
                "This run was given up after {} invocations without finishing. Nothing was \
                 marked removed; the next run starts over.",
                run.invocations
            ),
        };
        run.status = RunStatus::Failed;
        run.finished_at = Some(now_iso.clone());
        run.error = Some(give_up);
        store.save_run(&run).await?;
        store.clear_pending_removals(run.id).await?;
    }
    if trigger == Trigger::Continue {
        return Ok(Opening::Idle);
    }
    store.close_abandoned_runs(&now_iso, ABANDONED).await?;
    let baseline = !store.baseline_recorded().await?;
    // A manual sync and a first sync list everything; so does every run with no interval set.
    let full_wanted = trigger == Trigger::Manual || baseline || schedule.full_interval_hours == 0;
    let last = if full_wanted {
        LastListings::default()
    } else {
        store.last_listings().await?
    };
    let plan = schedule::plan(schedule, &last, now, full_wanted);
    let id = store
        .start_run(&now_iso, trigger.as_str(), plan.kind, plan.since.as_deref())
        .await?;
    let mut run = RunRecord::started(id, now_iso, trigger.as_str());
    run.kind = plan.kind;
    run.updated_since = plan.since;
    let stored = store.count_current_users().await?;
    run.users_total_estimate = (stored > 0).then_some(stored);
    Ok(Opening::Run(Opened {
        run,
        cursor: Cursor::start(),
        deaths: 1,
        baseline,
    }))
}

async fn locked_run<H: HttpClient, C: Clock, S: RunStore>(
    http: &H,
    clock: &C,
    store: &Counted<'_, S>,
    config: Result<&SyncConfig, &ConfigError>,
    trigger: Trigger,
    lease: &mut Lease,
) -> Result<SyncResult, StoreError> {
    let Opened {
        mut run,
        cursor,
        deaths,
        baseline,
    } = match open_run(
        store,
        trigger,
        clock.now_ms(),
        config.map(|c| c.schedule).unwrap_or_default(),
    )
    .await?
    {
        Opening::Run(opened) => opened,
        Opening::Idle => return Ok(SyncResult::Idle),
        Opening::Waiting(run) => {
            return Ok(SyncResult::Ran {
                run: Box::new(run),
                internal: None,
            });
        }
    };
    let (base_requests, base_limited) = (run.api_requests, run.rate_limited);
    // Where a run refused by D1's daily limit continues: the last unit boundary passed.
    let mut resume = cursor.clone();
    let step: Result<Step, Stop> = match config {
        Err(e) => Err(Stop::Config(e.clone())),
        Ok(config) => {
            let mut client = Auth0Client::new(http, clock, &config.auth0, config.policy.clone());
            let mut invocation = Invocation {
                client: &mut client,
                clock,
                store,
                run: &mut run,
                lease,
                budget: config.budget,
                base_requests,
                base_limited,
                saved_at_users: 0,
                deaths,
                baseline,
                resume: None,
            };
            let step = invocation.run(cursor).await;
            if let Some(at) = invocation.resume.take() {
                resume = at;
            }
            run.api_requests = base_requests + u64::from(client.stats.requests);
            run.rate_limited = base_limited + u64::from(client.stats.rate_limited);
            step
        }
    };
    // Whatever the outcome, what follows writes: only while the lock is still ours.
    let step = match (step, lease.keep(store, clock.now_ms()).await) {
        (Err(Stop::LostLease), _) | (_, Err(LeaseError::Lost)) => {
            return Ok(SyncResult::AlreadyRunning);
        }
        (step, Err(LeaseError::Store(e))) => step.and(Err(Stop::Store(e))),
        (step, Ok(())) => step,
    };
    // A first sync that finished records its baseline; should that fail, so does the run, and
    // the next one is a first sync again.
    let step = match step {
        Ok(Step::Finished(message, note)) if baseline => {
            let event = events::baseline_event(&run, &iso_from_ms(clock.now_ms()));
            match store.record_events(&[event]).await {
                Ok(written) => {
                    run.rows_written += written;
                    Ok(Step::Finished(message, note))
                }
                Err(e) => Err(Stop::Store(e)),
            }
        }
        step => step,
    };
    let mut internal = None;
    // D1 refused a query for its daily limit: the run waits for the reset (see `daily_limit`),
    // paused at the last unit it finished, keeping its held removals. Should D1 refuse the save
    // below too, the run stays `running` with its last checkpoint, continued after the reset.
    let daily = match &step {
        Err(Stop::Store(e)) => e
            .daily_limit()
            .map(|limit| (limit, format!("{}: {}", e.op, e.detail))),
        _ => None,
    };
    let step = if daily.is_some() {
        Ok(Step::Paused(resume))
    } else {
        step
    };
    let finished = |run: &mut RunRecord, status: RunStatus, error: Option<String>| {
        run.cursor = None;
        run.status = status;
        run.error = error;
        run.finished_at = Some(iso_from_ms(clock.now_ms()));
    };
    match step {
        Ok(Step::Paused(cursor)) => {
            run.cursor = Some(
                Saved {
                    cursor,
                    deaths: 0,
                    baseline,
                }
                .to_json(),
            );
        }
        // The day's trend snapshot first; one that does not fit waits for the next invocation.
        Ok(Step::Finished(message, note)) if !snapshot::fits(config, store.used()) => {
            run.cursor = Some(
                Saved {
                    cursor: Cursor::Snapshot { message, note },
                    deaths: 0,
                    baseline,
                }
                .to_json(),
            );
        }
        // A listing not proven complete also makes the run partial.
        Ok(Step::Finished(message, note)) => {
            internal = snapshot::take(store, clock.now_ms()).await;
            match listing::closing_message(&mut run, message) {
                None => finished(&mut run, RunStatus::Succeeded, None),
                Some(message) => finished(&mut run, RunStatus::Partial, Some(message)),
            }
            // Application usage's notes (a scope not granted, a gap) leave the status as it is.
            if let Some(note) = note {
                run.error = Some(match run.error.take() {
                    Some(e) => format!("{}. Also: {note}", e.trim_end_matches('.')),
                    None => note,
                });
            }
        }
        Err(stop) => {
            let message = match stop {
                Stop::Auth0(e) => e.to_string(),
                Stop::Config(e) => format!("Configuration: {e}"),
                Stop::Store(e) => {
                    internal = Some(format!("{}: {}", e.op, e.detail));
                    store_failure_message(&e)
                }
                Stop::LostLease => return Ok(SyncResult::AlreadyRunning),
            };
            finished(&mut run, RunStatus::Failed, Some(message));
            // Held removals die with the run; a failure to forget them is harmless.
            let _ = store.clear_pending_removals(run.id).await;
        }
    }
    if let Some((limit, detail)) = daily {
        let now = clock.now_ms();
        run.status = RunStatus::Paused;
        run.finished_at = Some(iso_from_ms(now));
        run.error = Some(daily_limit::paused_message(limit, now));
        internal = Some(detail);
    }
    // This save and the lock release are the invocation's last two queries.
    run.d1_queries += u64::from(store.used()) + 2;
    store.save_run(&run).await?;
    Ok(SyncResult::Ran {
        run: Box::new(run),
        internal,
    })
}

/// Writes one block's changes, each chunk with its events unless the run is a `baseline`, and
/// holds who it found gone, unless the block's range is `unproven` (then an absence proves
/// nothing, and the run is noted) or the run is `incremental` (it compares only the users it
/// listed, and never removes anyone from absence).
#[allow(clippy::too_many_arguments)] // one block's inputs
async fn apply_block<S: SyncStore, C: Clock>(
    store: &Counted<'_, S>,
    clock: &C,
    run: &mut RunRecord,
    users: Vec<Auth0User>,
    covered: &Covered,
    unproven: Option<&str>,
    baseline: bool,
) -> Result<(), Stop> {
    let rows: Vec<UserRow> = users.iter().map(mapping::user_row).collect();
    // Counted once the block is written: a block refused by D1's daily limit is read again.
    let seen = rows.len() as u64;
    let incremental = run.kind == RunKind::Incremental;
    let stored = if incremental {
        let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        store.users_by_id(&ids).await?
    } else {
        store.users_in(covered.bounds()).await?
    };
    let plan = plan::plan_block(rows, &stored);
    let now = iso_from_ms(clock.now_ms());
    // Added and updated are counted per chunk written: when D1's daily limit refuses a later
    // chunk, the block is done again and finds this chunk's rows stored and unchanged.
    let known: std::collections::HashSet<&str> = if plan.write.len() > WRITE_CHUNK {
        stored.iter().map(|s| s.user_id.as_str()).collect()
    } else {
        std::collections::HashSet::new()
    };
    for chunk in plan.write.chunks(WRITE_CHUNK) {
        let events = if baseline {
            Vec::new()
        } else {
            events::chunk_events(&plan.changes, chunk, run.id, &now)
        };
        run.rows_written += store.upsert_users(chunk, &now, &events).await?;
        let (added, updated) = if chunk.len() == plan.write.len() {
            (plan.added, plan.updated)
        } else {
            writes::added_and_updated(chunk, &known)
        };
        run.users_added += added;
        run.users_updated += updated;
    }
    if let Some(why) = unproven {
        listing::note_unproven(run, why);
    } else if !incremental {
        // Bounded chunks: a range whose users all left could hold more ids than D1 binds at once.
        for chunk in writes::id_chunks(&plan.gone) {
            run.rows_written += store.add_pending_removals(run.id, chunk).await?;
        }
    }
    run.users_seen += seen;
    Ok(())
}

#[cfg(test)]
mod tests;
