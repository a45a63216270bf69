//! A run's last phase: follow the tenant's log from the stored checkpoint into per-application
//! usage (`read:logs`, optional).
//!
//! Each page is folded (`usage::fold`) and written with the checkpoint past it in one D1 batch
//! that applies only while the stored checkpoint is still the page's own, so a retried run, a
//! dead invocation or a second writer never counts an event twice. The phase keeps to the
//! invocation's budgets and pauses with the run; a run reads at most [`RUN_PAGE_CAP`] pages and
//! leaves the rest of a backlog to the next run, so a first read of a large tenant's retained
//! log never holds up the user sync. With nothing new it costs one read of the checkpoint and
//! one Auth0 request.
//!
//! A checkpoint Auth0 refuses (400: it left the log's retention) restarts from the oldest event
//! still kept, and the span between is recorded in `usage_gaps` and in the run's history. A
//! missing `read:logs` skips the phase with a note; the user sync is never failed for it.

use serde::{Deserialize, Serialize};

use super::Stop;
use super::budget::{Budget, Counted};
use super::lease::Lease;
use crate::auth0::Auth0Client;
use crate::auth0::error::{Auth0Error, GRANT_PATH};
use crate::auth0::logs::{FALLBACK_TAKE, LogError, LogEvent, TAKE, read_oldest, read_page};
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::usage::{Gap, LogCursorRow, PAGE_QUERIES, UsagePage, UsageStore, UsageWritten};
use crate::store::{RunRecord, StoreError, SyncStore};
use crate::time::iso_from_ms;
use crate::usage::{UsageBatch, fold, normal_date};

/// The scope this phase needs.
pub const SCOPE: &str = "read:logs";
/// Log pages one run reads at most (15,000 events at 100 a page): the rest of a backlog waits
/// for the next run, so that the users are listed again on schedule. Every `*/15` run reading
/// this many keeps up with about 1.4 million events a day.
pub const RUN_PAGE_CAP: u32 = 150;
/// Requests one page may take: the page, and a retry at the smaller page size or the oldest
/// event after a refused checkpoint.
pub const PAGE_REQUESTS: u32 = 2;

/// The history's note when `read:logs` is not granted.
pub fn scope_note() -> String {
    format!(
        "application usage not enabled: grant {SCOPE} to the M2M app in {GRANT_PATH}; it adds \
         each user's last login, login count and last use of each application."
    )
}

/// How far this run's share of the log got, kept in the run's cursor across invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogProgress {
    /// Pages written by this run.
    #[serde(default)]
    pub pages: u32,
    /// Events read by this run.
    #[serde(default)]
    pub events: u64,
    /// What the history should say (gaps, a backlog left for the next run), so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl LogProgress {
    fn add_note(&mut self, note: String) {
        self.note = Some(match self.note.take() {
            Some(n) => format!("{n}; {note}"),
            None => note,
        });
    }
}

/// Where the phase left off.
#[derive(Debug, PartialEq, Eq)]
pub enum LogStep {
    /// Caught up, capped, skipped or stopped: `note` for the history, `problem` when usage
    /// could not be updated (the run is then partial, as for organizations).
    Done {
        /// Information: gaps, the scope, a backlog left for the next run.
        note: Option<String>,
        /// A failure that left usage stale.
        problem: Option<String>,
    },
    /// The invocation's budget is spent; continue here.
    Paused(LogProgress),
}

impl<S: SyncStore + UsageStore> UsageStore for Counted<'_, S> {
    async fn log_cursor(&self) -> Result<Option<LogCursorRow>, StoreError> {
        self.tick(1);
        self.inner().log_cursor().await
    }
    async fn write_usage_page(&self, page: &UsagePage<'_>) -> Result<UsageWritten, StoreError> {
        // A batch's statements are counted one by one, to be safe with D1's per-invocation limit.
        self.tick(PAGE_QUERIES);
        self.inner().write_usage_page(page).await
    }
}

/// One page to write: the events read, where they were read from and the checkpoint after.
struct Read<'a> {
    events: &'a [LogEvent],
    expected: Option<&'a str>,
    checkpoint: &'a str,
    gap: Option<Gap<'a>>,
}

/// Follows the log from the stored checkpoint while the budget and the run's page cap allow.
///
/// # Errors
/// Store failures and a lost lease (also when the stored checkpoint moved under this run).
/// Auth0 failures end the phase with a `problem`, never the run.
#[allow(clippy::too_many_arguments)] // the invocation's parts, passed apart to keep borrows simple
pub(super) async fn follow_log<H: HttpClient, C: Clock, S: SyncStore + UsageStore>(
    client: &mut Auth0Client<'_, H, C>,
    clock: &C,
    store: &Counted<'_, S>,
    run: &mut RunRecord,
    budget: &Budget,
    lease: &mut Lease,
    mut progress: LogProgress,
) -> Result<LogStep, Stop> {
    let granted = client.granted_scopes().unwrap_or_default();
    if !granted.is_empty() && !granted.iter().any(|s| s == SCOPE) {
        return Ok(done(progress, Some(scope_note()), None));
    }
    if !budget.room(&client.stats, store.used(), PAGE_REQUESTS, 1 + PAGE_QUERIES) {
        return Ok(LogStep::Paused(progress));
    }
    let stored = store.log_cursor().await?.unwrap_or_default();
    let mut take = match stored.take {
        Some(t) if t == FALLBACK_TAKE => FALLBACK_TAKE,
        _ => TAKE,
    };
    let mut from = stored.checkpoint;
    let mut newest = stored.newest_date;
    loop {
        if progress.pages >= RUN_PAGE_CAP {
            let note = format!(
                "application usage: {} log events read this run; the rest of the log's backlog \
                 is read by the next runs (read up to {})",
                progress.events,
                newest.as_deref().unwrap_or("its start")
            );
            return Ok(done(progress, Some(note), None));
        }
        if !budget.room(&client.stats, store.used(), PAGE_REQUESTS, PAGE_QUERIES) {
            return Ok(LogStep::Paused(progress));
        }
        lease.keep(store, clock.now_ms()).await?;
        let Some(checkpoint) = from.clone() else {
            // Never read: start from the oldest event the log still keeps.
            let oldest = match read_oldest(client).await {
                Ok(Some(e)) => e,
                Ok(None) => return Ok(done(progress, None, None)),
                Err(e) => return stopped(progress, e),
            };
            let Some(id) = oldest.log_id.clone() else {
                return stopped(
                    progress,
                    LogError::BadLink {
                        detail: "no log_id",
                    },
                );
            };
            let events = [oldest];
            let read = Read {
                events: &events,
                expected: None,
                checkpoint: &id,
                gap: None,
            };
            write(clock, store, run, &mut progress, &mut newest, take, read).await?;
            from = Some(id);
            continue;
        };
        let page = match read_page(client, &checkpoint, take).await {
            Ok(page) => page,
            Err(LogError::PageSize { .. }) if take > FALLBACK_TAKE => {
                take = FALLBACK_TAKE;
                continue;
            }
            Err(LogError::CheckpointRefused { message }) => {
                match restart(client, &checkpoint, newest.as_deref(), &message).await {
                    Ok(Restart::Empty) => {
                        let problem = format!(
                            "application usage not updated: Auth0 refused the log checkpoint \
                             ({message}) and its log holds no events now; usage from \
                             {} on is unknown",
                            newest.as_deref().unwrap_or("the last event read")
                        );
                        return Ok(done(progress, None, Some(problem)));
                    }
                    Ok(Restart::From(oldest)) => {
                        let (Some(id), Some(until)) = (
                            oldest.log_id.clone(),
                            oldest.date.as_deref().and_then(normal_date),
                        ) else {
                            return stopped(progress, LogError::BadLink { detail: "no date" });
                        };
                        progress.add_note(format!(
                            "usage unknown from {} to {until}: the log's retention dropped \
                             those events before they were read (run more often, or on a plan \
                             that keeps the log longer)",
                            newest.as_deref().unwrap_or("an unknown date")
                        ));
                        let events = [oldest];
                        let gap_from = newest.clone();
                        let read = Read {
                            events: &events,
                            expected: Some(&checkpoint),
                            checkpoint: &id,
                            gap: Some(Gap {
                                run_id: run.id,
                                from: gap_from.as_deref(),
                                until: &until,
                            }),
                        };
                        write(clock, store, run, &mut progress, &mut newest, take, read).await?;
                        from = Some(id);
                        continue;
                    }
                    Err(e) => return stopped(progress, e),
                }
            }
            Err(e) => return stopped(progress, e),
        };
        if page.events.is_empty() && page.next_from == checkpoint {
            if stored.take.unwrap_or(TAKE) != take {
                // Remember the smaller page size, so that later runs do not pay the refusal.
                let read = Read {
                    events: &[],
                    expected: Some(&checkpoint),
                    checkpoint: &checkpoint,
                    gap: None,
                };
                write(clock, store, run, &mut progress, &mut newest, take, read).await?;
            }
            return Ok(done(progress, None, None));
        }
        let read = Read {
            events: &page.events,
            expected: Some(&checkpoint),
            checkpoint: &page.next_from,
            gap: None,
        };
        write(clock, store, run, &mut progress, &mut newest, take, read).await?;
        from = Some(page.next_from);
    }
}

enum Restart {
    /// The log holds no event now.
    Empty,
    /// Continue from this event, the oldest retained.
    From(LogEvent),
}

/// After Auth0 refused `checkpoint`: the oldest event still kept, but only if it is newer than
/// everything read before (else the refusal was not about retention, and restarting would read
/// events twice).
async fn restart<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    checkpoint: &str,
    newest: Option<&str>,
    message: &str,
) -> Result<Restart, LogError> {
    let Some(oldest) = read_oldest(client).await? else {
        return Ok(Restart::Empty);
    };
    let date = oldest.date.as_deref().and_then(normal_date);
    let newer = match (date.as_deref(), newest) {
        (Some(d), Some(n)) => d > n,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !newer || oldest.log_id.as_deref() == Some(checkpoint) {
        return Err(LogError::Auth0(Auth0Error::Rejected {
            status: 400,
            code: None,
            message: format!(
                "{message} (refused the log checkpoint, yet the log still holds events read \
                 before; not restarted, so that no event is counted twice)"
            ),
        }));
    }
    Ok(Restart::From(oldest))
}

fn done(progress: LogProgress, note: Option<String>, problem: Option<String>) -> LogStep {
    let note = match (progress.note, note) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    LogStep::Done { note, problem }
}

/// Ends the phase after an Auth0 failure: a missing scope is a note, the budget a pause, the
/// rest a problem (usage is stale, the users are synced).
fn stopped(progress: LogProgress, e: LogError) -> Result<LogStep, Stop> {
    Ok(match e {
        LogError::Auth0(Auth0Error::BudgetSpent) => LogStep::Paused(progress),
        LogError::Auth0(ref a) if a.missing_scope().is_some() => {
            done(progress, Some(scope_note()), None)
        }
        e => done(
            progress,
            None,
            Some(format!("application usage not updated: {e}")),
        ),
    })
}

/// Folds and writes one page with the checkpoint past it.
async fn write<C: Clock, S: SyncStore + UsageStore>(
    clock: &C,
    store: &Counted<'_, S>,
    run: &mut RunRecord,
    progress: &mut LogProgress,
    newest: &mut Option<String>,
    take: u32,
    read: Read<'_>,
) -> Result<(), Stop> {
    let UsageBatch {
        deltas,
        events,
        oldest,
        newest: page_newest,
        ..
    } = fold(read.events);
    let now = iso_from_ms(clock.now_ms());
    let written = store
        .write_usage_page(&UsagePage {
            expected: read.expected,
            checkpoint: read.checkpoint,
            deltas: &deltas,
            oldest: oldest.as_deref(),
            newest: page_newest.as_deref(),
            take,
            gap: read.gap,
            now: &now,
        })
        .await?;
    if !written.applied {
        // Another invocation moved the checkpoint: it holds the log now.
        return Err(Stop::LostLease);
    }
    run.rows_written += written.rows;
    progress.pages += 1;
    progress.events += events;
    if page_newest.as_deref() > newest.as_deref() {
        *newest = page_newest;
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/logs.rs"]
mod tests;
