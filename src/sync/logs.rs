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

use super::Stop;
use super::budget::{Budget, Counted};
use super::lease::Lease;
use crate::auth0::Auth0Client;
use crate::auth0::error::{Auth0Error, GRANT_PATH};
use crate::auth0::logs::{FALLBACK_TAKE, LogError, LogEvent, TAKE, read_oldest, read_page};
use crate::changes::{EventType, NewEvent, Origin, Subject};
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::usage::{
    Gap, ITEMS_PER_STATEMENT, LogCursorRow, PAGE_QUERIES, UsagePage, UsageStore, UsageWritten,
};
use crate::store::{RunRecord, StoreError, SyncStore};
use crate::time::iso_from_ms;
use crate::usage::{UsageBatch, UsageDelta, fold, normal_date};

/// The scope this phase needs.
pub const SCOPE: &str = "read:logs";
/// Log pages one run reads at most (15,000 events at 100 a page): the rest of a backlog waits
/// for the next run, so that the users are listed again on schedule. Every `*/10` run reading
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
/// Its stored form is written and read by `super::cursor`; the derive is the tests' record of the
/// old format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct LogProgress {
    /// Pages written by this run.
    #[cfg_attr(test, serde(default))]
    pub pages: u32,
    /// Events read by this run.
    #[cfg_attr(test, serde(default))]
    pub events: u64,
    /// What the history should say (gaps, a backlog left for the next run), so far.
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
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
        let events = page
            .events
            .len()
            .div_ceil(crate::changes::EVENTS_PER_STATEMENT) as u32;
        let deletions = if page.deletions.is_empty() { 0 } else { 2 };
        let usage = 2 * page.deltas.len().div_ceil(ITEMS_PER_STATEMENT).max(1) as u32;
        self.tick(2 + usage + u32::from(page.gap.is_some()) + events + deletions);
        self.inner().write_usage_page(page).await
    }
    async fn write_pushed_usage(
        &self,
        push: &crate::store::usage::PushedUsage<'_>,
    ) -> Result<crate::store::usage::PushedWritten, StoreError> {
        self.inner().write_pushed_usage(push).await
    }
}

/// Pages folded into one write: a pair active on several of them is written once (fewer D1
/// rows: D1 Free allows 100,000 a day), at the price of reading up to this many pages again
/// after an invocation died. 100 pages (10,000 events) bind their events in two chunks
/// (`store::usage::item_chunks`), each under D1's 2 MB a bound string.
pub const PAGES_PER_WRITE: u32 = 100;

/// The dedupe origin of first uses: one `app_first_use` per user and application, ever.
pub const FIRST_USE_ORIGIN: &str = "first_use";

/// The `app_first_use` events of a write's pairs. Their keys name only the user and the
/// application, so writing them again (a later page, a retried write) adds nothing; before the
/// log was first read to its end they are the baseline of what was in use, not changes.
pub fn first_uses(deltas: &[UsageDelta], run_id: Option<i64>, baseline: bool) -> Vec<NewEvent> {
    deltas
        .iter()
        .filter_map(|d| {
            let at = d.first_used.clone()?;
            let detail = if baseline {
                format!(
                    "used application {} (first seen at {at} while the retained log was read \
                     for the first time)",
                    d.client_id
                )
            } else {
                format!("first use of application {} at {at}", d.client_id)
            };
            let mut e = NewEvent::new(
                &Origin::Log(FIRST_USE_ORIGIN.into()),
                &at,
                EventType::AppFirstUse,
                Subject {
                    user_id: Some(d.user_id.clone()),
                    client_id: Some(d.client_id.clone()),
                    ..Subject::default()
                },
                detail,
            );
            e.run_id = run_id;
            e.baseline = baseline;
            Some(e)
        })
        .collect()
}

/// What was read and not yet written, and where the store and the reading stand.
struct Follower {
    /// The checkpoint stored in D1.
    written: Option<String>,
    /// Where reading got: the checkpoint the pending events end at.
    read: Option<String>,
    /// Events read since `written`.
    events: Vec<LogEvent>,
    /// Pages read since `written`.
    pages: u32,
    /// A span lost to retention before the pending events.
    gap: Option<(Option<String>, String)>,
    /// The newest date read (written or pending).
    newest: Option<String>,
    /// The log was read to its end once.
    caught_up: bool,
    /// The page size stored, and the one in use.
    stored_take: u32,
    take: u32,
}

impl Follower {
    /// D1 queries the write takes if one more page is read: [`PAGE_QUERIES`], and two for each
    /// further chunk of items the pending events and a full page need.
    fn queries_for_next(&self) -> u32 {
        let chunks = (self.events.len() + TAKE as usize).div_ceil(ITEMS_PER_STATEMENT);
        PAGE_QUERIES + 2 * (chunks.max(1) as u32 - 1)
    }

    /// Writes what is pending (and, with `end`, that the log was read to its end) in one batch.
    async fn flush<C: Clock, S: SyncStore + UsageStore>(
        &mut self,
        clock: &C,
        store: &Counted<'_, S>,
        run: &mut RunRecord,
        progress: &mut LogProgress,
        end: bool,
    ) -> Result<(), Stop> {
        let first_end = end && !self.caught_up;
        let nothing = self.pages == 0 && self.gap.is_none();
        if nothing && !first_end && self.take == self.stored_take {
            return Ok(());
        }
        let Some(checkpoint) = self.read.clone() else {
            return Ok(());
        };
        let UsageBatch {
            deltas,
            items,
            events,
            oldest,
            newest,
            deletions,
            ..
        } = fold(&self.events);
        let firsts = first_uses(&deltas, Some(run.id), !self.caught_up);
        let now = iso_from_ms(clock.now_ms());
        let gap = self.gap.take();
        let written = store
            .write_usage_page(&UsagePage {
                expected: self.written.as_deref(),
                checkpoint: &checkpoint,
                deltas: &items,
                oldest: oldest.as_deref(),
                newest: newest.as_deref(),
                take: self.take,
                gap: gap.as_ref().map(|(from, until)| Gap {
                    run_id: run.id,
                    from: from.as_deref(),
                    until,
                }),
                events: &firsts,
                deletions: &deletions,
                caught_up: end,
                now: &now,
            })
            .await?;
        if !written.applied {
            // Another invocation moved the checkpoint: it holds the log now.
            return Err(Stop::LostLease);
        }
        run.rows_written += written.rows;
        // Deleted users the log reported: removed by an explicit event, not by absence.
        run.users_removed += written.removed;
        progress.events += events;
        if newest.as_deref() > self.newest.as_deref() {
            self.newest = newest;
        }
        self.written = Some(checkpoint);
        self.events.clear();
        self.pages = 0;
        self.stored_take = self.take;
        self.caught_up |= end;
        Ok(())
    }
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
        // An invocation that has only fetched its token can do no more than this one: pausing
        // would leave the run paused here forever.
        if client.stats.requests <= 1 {
            let note = "application usage not read: one invocation's budget leaves no room for                         a page of the log; raise SYNC_MAX_D1_QUERIES (and                         SYNC_MAX_AUTH0_REQUESTS) to at least 20"
                .to_string();
            return Ok(done(progress, Some(note), None));
        }
        return Ok(LogStep::Paused(progress));
    }
    let stored = store.log_cursor().await?.unwrap_or_default();
    let stored_take = match stored.take {
        Some(t) if t == FALLBACK_TAKE => FALLBACK_TAKE,
        _ => TAKE,
    };
    let mut f = Follower {
        written: stored.checkpoint.clone(),
        read: stored.checkpoint,
        events: Vec::new(),
        pages: 0,
        gap: None,
        newest: stored.newest_date,
        caught_up: stored.caught_up_at.is_some(),
        stored_take,
        take: stored_take,
    };
    loop {
        if progress.pages >= RUN_PAGE_CAP {
            f.flush(clock, store, run, &mut progress, false).await?;
            let note = format!(
                "application usage: {} log events read this run; the rest of the log's backlog \
                 is read by the next runs (read up to {})",
                progress.events,
                f.newest.as_deref().unwrap_or("its start")
            );
            return Ok(done(progress, Some(note), None));
        }
        if !budget.room(
            &client.stats,
            store.used(),
            PAGE_REQUESTS,
            f.queries_for_next(),
        ) {
            // No room for a write that binds one more chunk: write what is pending, and go on
            // if a one-chunk write still fits.
            let pending = !f.events.is_empty();
            f.flush(clock, store, run, &mut progress, false).await?;
            if !(pending && budget.room(&client.stats, store.used(), PAGE_REQUESTS, PAGE_QUERIES)) {
                return Ok(LogStep::Paused(progress));
            }
        }
        lease.keep(store, clock.now_ms()).await?;
        let Some(checkpoint) = f.read.clone() else {
            // Never read: start from the oldest event the log still keeps.
            match read_oldest(client).await {
                Ok(Some(e)) => match e.log_id.clone() {
                    Some(id) => {
                        f.events.push(e);
                        f.read = Some(id);
                        f.pages += 1;
                        progress.pages += 1;
                        continue;
                    }
                    None => {
                        return stopped(
                            progress,
                            LogError::BadLink {
                                detail: "no log_id",
                            },
                        );
                    }
                },
                Ok(None) => return Ok(done(progress, None, None)),
                Err(e) => return stopped(progress, e),
            }
        };
        let page = match read_page(client, &checkpoint, f.take).await {
            Ok(page) => page,
            Err(LogError::PageSize { .. }) if f.take > FALLBACK_TAKE => {
                f.take = FALLBACK_TAKE;
                continue;
            }
            Err(LogError::CheckpointRefused { message }) => {
                f.flush(clock, store, run, &mut progress, false).await?;
                match restart(client, &checkpoint, f.newest.as_deref(), &message).await {
                    Ok(Restart::Empty) => {
                        let problem = format!(
                            "application usage not updated: Auth0 refused the log checkpoint \
                             ({message}) and its log holds no events now; usage from \
                             {} on is unknown",
                            f.newest.as_deref().unwrap_or("the last event read")
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
                            f.newest.as_deref().unwrap_or("an unknown date")
                        ));
                        f.gap = Some((f.newest.clone(), until));
                        f.events.push(oldest);
                        f.read = Some(id);
                        f.pages += 1;
                        progress.pages += 1;
                        continue;
                    }
                    Err(e) => return stopped(progress, e),
                }
            }
            Err(e) => {
                f.flush(clock, store, run, &mut progress, false).await?;
                return stopped(progress, e);
            }
        };
        if page.events.is_empty() && page.next_from == checkpoint {
            // Nothing new. Written only the first time (and after a page size change).
            f.flush(clock, store, run, &mut progress, true).await?;
            return Ok(done(progress, None, None));
        }
        f.events.extend(page.events);
        f.read = Some(page.next_from);
        f.pages += 1;
        progress.pages += 1;
        if f.pages >= PAGES_PER_WRITE {
            f.flush(clock, store, run, &mut progress, false).await?;
        }
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
    // Auth0's log ids are digit strings of one length, which order as the log does: compare them
    // when they are; else the dates.
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let by_id = oldest.log_id.as_deref().and_then(|id| {
        (id.len() == checkpoint.len() && digits(id) && digits(checkpoint)).then(|| id > checkpoint)
    });
    let newer = by_id.unwrap_or(match (date.as_deref(), newest) {
        (Some(d), Some(n)) => d > n,
        (Some(_), None) => true,
        (None, _) => false,
    });
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

#[cfg(test)]
mod tests;
