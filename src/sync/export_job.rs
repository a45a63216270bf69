//! A run's export of one crowded millisecond, in steps that each fit the invocation: start the
//! job, poll it, download and filter the file, write the users in chunks.
//!
//! The job id rides in the cursor, so a run paused at its budget (or by a slow job) polls the
//! same job next time instead of starting another. Writes that do not fit are left to the next
//! invocation, which downloads the file again: rows already written compare equal and are not
//! written twice, so the counts stay exact.

use std::collections::HashSet;

use super::cursor::{Cursor, Saved};
use super::{Covered, Invocation, Lower, Stop, WRITE_CHUNK, mapping, plan, writes};
use crate::auth0::Auth0Error;
use crate::auth0::export::{self, JobState};
use crate::auth0::types::Auth0User;
use crate::clock::Clock;
use crate::http::HttpClient;
use crate::store::{RunKind, SyncStore};
use crate::time::iso_from_ms;

/// Auth0 requests one poll may lead to: the poll and the download.
const POLL_REQUESTS: u32 = 2;
/// D1 queries the write step needs at least: the stored users and one chunk.
const WRITE_QUERIES: u32 = 2;
/// Time one invocation spends waiting on a job before it pauses the run (the next continues).
const WAIT_PER_INVOCATION_MS: u64 = 2 * 60 * 1000;
/// Fresh download links to ask for when one has expired (they live about 60 s).
const LINK_RETRIES: u32 = 2;

/// Where the export step left the run.
pub(super) enum Flow {
    /// The millisecond is stored: continue here.
    Next(Cursor),
    /// The budget or the job's pace stopped this invocation: continue here next time.
    Paused(Cursor),
}

impl<H: HttpClient, C: Clock, S: super::RunStore> Invocation<'_, '_, H, C, S> {
    /// Reads the users created at `at` from an export (the saved `job`, or a new one) and writes
    /// them, as far as this invocation's budget goes.
    pub(super) async fn export_millisecond(
        &mut self,
        at: String,
        mut job: Option<String>,
    ) -> Result<Flow, Stop> {
        let (mut polls, mut waited, mut expired_links) = (0usize, 0u64, 0u32);
        let paused = |job: Option<String>| {
            Flow::Paused(Cursor::Export {
                at: at.clone(),
                job,
            })
        };
        loop {
            self.lease.keep(self.store, self.clock.now_ms()).await?;
            let Some(id) = job.clone() else {
                if !self.room(1 + POLL_REQUESTS, 1 + WRITE_QUERIES) {
                    return Ok(paused(None));
                }
                job = match export::start_job(self.client).await {
                    Err(Auth0Error::BudgetSpent) => return Ok(paused(None)),
                    other => Some(other?),
                };
                // Saved at once: should this invocation die, the next one polls this job too.
                let here = Cursor::Export {
                    at: at.clone(),
                    job: job.clone(),
                };
                self.run.cursor = Some(
                    Saved {
                        cursor: here,
                        deaths: self.deaths,
                        baseline: self.baseline,
                    }
                    .to_json(),
                );
                self.store.save_run(self.run).await?;
                continue;
            };
            if !self.room(POLL_REQUESTS, WRITE_QUERIES) {
                return Ok(paused(job));
            }
            let state = match export::poll_job(self.client, &id).await {
                Err(Auth0Error::BudgetSpent) => return Ok(paused(job)),
                other => other?,
            };
            match state {
                JobState::Gone => job = None,
                JobState::Running => {
                    if waited >= WAIT_PER_INVOCATION_MS {
                        return Ok(paused(job));
                    }
                    let wait = export::poll_wait(polls);
                    polls += 1;
                    waited += wait;
                    self.client.wait(wait).await;
                }
                JobState::Ready(location) => {
                    match export::download_millisecond(self.client, &location, &at).await {
                        Err(Auth0Error::BudgetSpent) => return Ok(paused(job)),
                        Ok(None) if expired_links < LINK_RETRIES => expired_links += 1,
                        Ok(None) => {
                            return Err(Auth0Error::Export {
                                detail: "the download link kept expiring before it could be read"
                                    .into(),
                            }
                            .into());
                        }
                        Ok(Some(users)) => return self.write_millisecond(at, job, users).await,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// Writes the millisecond's users in chunks while the budget lasts, then holds who it found
    /// gone. Counts users as seen only once all is written.
    async fn write_millisecond(
        &mut self,
        at: String,
        job: Option<String>,
        users: Vec<Auth0User>,
    ) -> Result<Flow, Stop> {
        let paused = |job| {
            Ok(Flow::Paused(Cursor::Export {
                at: at.clone(),
                job,
            }))
        };
        self.lease.keep(self.store, self.clock.now_ms()).await?;
        if !self.room(0, WRITE_QUERIES) {
            return paused(job);
        }
        let rows: Vec<_> = users.iter().map(mapping::user_row).collect();
        let listed = rows.len() as u64;
        let stored = self
            .store
            .users_in(Covered::Exactly(at.clone()).bounds())
            .await?;
        let known: HashSet<&str> = stored.iter().map(|s| s.user_id.as_str()).collect();
        let plan = plan::plan_block(rows, &stored);
        let now = iso_from_ms(self.clock.now_ms());
        for chunk in plan.write.chunks(WRITE_CHUNK) {
            if !self.room(0, 1) {
                return paused(job);
            }
            let events = if self.baseline {
                Vec::new()
            } else {
                super::events::chunk_events(&plan.changes, chunk, self.run.id, &now)
            };
            self.run.rows_written += self.store.upsert_users(chunk, &now, &events).await?;
            let (added, updated) = writes::added_and_updated(chunk, &known);
            self.run.users_added += added;
            self.run.users_updated += updated;
        }
        // Only a full listing removes users from their absence.
        let gone = if self.run.kind == RunKind::Incremental {
            &[][..]
        } else {
            &plan.gone[..]
        };
        for chunk in writes::id_chunks(gone) {
            if !self.room(0, 1) {
                return paused(job);
            }
            self.run.rows_written += self.store.add_pending_removals(self.run.id, chunk).await?;
        }
        self.run.users_seen += listed;
        Ok(Flow::Next(Cursor::Users {
            lower: Lower::Exclusive(at),
        }))
    }
}
