//! One invocation's share of a run: the users' blocks, then organizations, applications and the
//! log, each unit checked against the invocation's budgets before it starts, with progress saved
//! at every boundary so the next invocation continues where this one stopped.

use super::*;

/// One invocation's share of a run.
pub(super) struct Invocation<'r, 'c, H: HttpClient, C: Clock, S: RunStore> {
    pub(super) client: &'r mut Auth0Client<'c, H, C>,
    pub(super) clock: &'c C,
    pub(super) store: &'r Counted<'r, S>,
    pub(super) run: &'r mut RunRecord,
    pub(super) lease: &'r mut Lease,
    pub(super) budget: Budget,
    pub(super) base_requests: u64,
    pub(super) base_limited: u64,
    pub(super) saved_at_users: u64,
    /// Stored with checkpoints: what the next invocation counts if this one dies.
    pub(super) deaths: u32,
    /// A first sync: no per-change events (see `events`).
    pub(super) baseline: bool,
    /// The last unit boundary passed: where a run refused by D1's daily limit continues.
    pub(super) resume: Option<Cursor>,
}

impl<H: HttpClient, C: Clock, S: RunStore> Invocation<'_, '_, H, C, S> {
    pub(super) fn room(&self, requests: u32, queries: u32) -> bool {
        self.budget
            .room(&self.client.stats, self.store.used(), requests, queries)
    }

    pub(super) async fn run(&mut self, mut cursor: Cursor) -> Result<Step, Stop> {
        // Only the snapshot is left: no Auth0 token needed.
        if let Cursor::Snapshot { message, note } = cursor {
            return Ok(Step::Finished(message, note));
        }
        let since = self.run.updated_since.clone();
        let since = since.as_deref();
        match self.client.connect().await {
            Err(Auth0Error::BudgetSpent) => return Ok(Step::Paused(cursor)),
            Err(e) => return Err(e.into()),
            Ok(token) => {
                // The token says what it may do: a missing read:users is clearer now than as a
                // 403 later.
                if !token.scopes.is_empty() && !token.scopes.iter().any(|s| s == "read:users") {
                    return Err(Auth0Error::MissingScope {
                        scope: "read:users".into(),
                    }
                    .into());
                }
            }
        }
        loop {
            cursor = match cursor {
                Cursor::Users { lower } => {
                    if !self.room(BLOCK_REQUESTS, BLOCK_QUERIES) {
                        return Ok(Step::Paused(Cursor::Users { lower }));
                    }
                    self.lease.keep(self.store, self.clock.now_ms()).await?;
                    let mut block = match fetch_block(self.client, &lower, since, None).await {
                        Err(Auth0Error::BudgetSpent) => {
                            return Ok(Step::Paused(Cursor::Users { lower }));
                        }
                        other => other?,
                    };
                    if self.run.users_total_estimate.is_none() {
                        // Auth0's total is exact only below the cap.
                        self.run.users_total_estimate = block.total_hint.filter(|t| *t < 1000);
                    }
                    loop {
                        let following = match &block.next {
                            Next::From(next) => Some(next.clone()),
                            Next::Done | Next::Export(_) => None,
                        };
                        let prefetch =
                            following.filter(|_| self.room(BLOCK_REQUESTS, 2 * BLOCK_QUERIES));
                        let Some(next) = prefetch else {
                            apply_block(
                                self.store,
                                self.clock,
                                self.run,
                                block.users,
                                &block.covered,
                                block.unproven.as_deref(),
                                self.baseline,
                            )
                            .await?;
                            break match block.next {
                                Next::Done => {
                                    self.finish_users().await?;
                                    self.after_users()
                                }
                                Next::From(next) => Cursor::Users { lower: next },
                                Next::Export(at) => Cursor::Export { at, job: None },
                            };
                        };
                        // The page this block read ahead to prove itself is the next one's first.
                        let carry = block.carry.take();
                        // The next block is a unit of work of its own: a block that took long
                        // (proof re-reads, a slow tenant) must not eat the lease of the next.
                        self.lease.keep(self.store, self.clock.now_ms()).await?;
                        // Write this block while the next one is fetched: D1 and Auth0 wait in
                        // parallel instead of in turn.
                        let (applied, fetched) = join(
                            apply_block(
                                self.store,
                                self.clock,
                                self.run,
                                block.users,
                                &block.covered,
                                block.unproven.as_deref(),
                                self.baseline,
                            ),
                            fetch_block(self.client, &next, since, carry),
                        )
                        .await;
                        applied?;
                        self.progress(&Cursor::Users {
                            lower: next.clone(),
                        })
                        .await?;
                        block = match fetched {
                            Err(Auth0Error::BudgetSpent) => {
                                return Ok(Step::Paused(Cursor::Users { lower: next }));
                            }
                            other => other?,
                        };
                    }
                }
                Cursor::Snapshot { message, note } => return Ok(Step::Finished(message, note)),
                Cursor::Export { at, job } => match self.export_millisecond(at, job).await? {
                    export_job::Flow::Next(next) => next,
                    export_job::Flow::Paused(here) => return Ok(Step::Paused(here)),
                },
                Cursor::Organizations { next, members } => {
                    let step = organizations::sync_organizations(
                        self.client,
                        self.clock,
                        self.store,
                        self.run,
                        next,
                        members,
                        &self.budget,
                        self.lease,
                        (!self.baseline).then_some(self.run.id),
                    )
                    .await;
                    match step {
                        Ok(organizations::OrgStep::Done(partial)) => Cursor::Applications {
                            state: applications::AppState::start(partial),
                        },
                        Ok(organizations::OrgStep::Paused(next, members)) => {
                            return Ok(Step::Paused(Cursor::Organizations { next, members }));
                        }
                        Err(Stop::Auth0(e)) => Cursor::Applications {
                            state: applications::AppState::start(Some(format!(
                                "organizations not synced: {e}"
                            ))),
                        },
                        Err(e) => return Err(e),
                    }
                }
                Cursor::Applications { state } => {
                    let partial = state.partial.clone();
                    let step = applications::Part {
                        client: self.client,
                        clock: self.clock,
                        store: self.store,
                        run: self.run,
                        budget: self.budget,
                        lease: self.lease,
                    }
                    .run(state)
                    .await;
                    match step {
                        Ok(applications::AppStep::Done(state)) => Cursor::Logs {
                            partial: state.partial.clone(),
                            note: state.notes_message(),
                            progress: logs::LogProgress::default(),
                        },
                        Ok(applications::AppStep::Paused(state)) => {
                            return Ok(Step::Paused(Cursor::Applications { state }));
                        }
                        // Applications never fail the user sync: the failure is a note.
                        Err(Stop::Auth0(e)) => Cursor::Logs {
                            partial,
                            note: Some(format!("Applications not synced: {e}")),
                            progress: logs::LogProgress::default(),
                        },
                        Err(e) => return Err(e),
                    }
                }
                Cursor::Logs {
                    partial,
                    note: app_note,
                    progress,
                } => {
                    let step = match logs::follow_log(
                        self.client,
                        self.clock,
                        self.store,
                        self.run,
                        &self.budget,
                        self.lease,
                        progress,
                    )
                    .await
                    {
                        // The users are stored and their removals applied: a failed write of
                        // usage leaves it stale, it does not fail the run. D1's daily limit
                        // pauses it instead, to continue the log after the reset.
                        Err(Stop::Store(e)) if e.daily_limit().is_none() => logs::LogStep::Done {
                            note: None,
                            problem: Some(format!(
                                "application usage not updated: the database could not {}; \
                                 the next run goes on from the stored checkpoint",
                                e.op
                            )),
                        },
                        other => other?,
                    };
                    return Ok(match step {
                        logs::LogStep::Paused(progress) => Step::Paused(Cursor::Logs {
                            partial,
                            note: app_note,
                            progress,
                        }),
                        logs::LogStep::Done { note, problem } => {
                            let also = |a: Option<String>, b: Option<String>| match (a, b) {
                                (Some(a), Some(b)) => {
                                    Some(format!("{}. Also: {b}", a.trim_end_matches('.')))
                                }
                                (a, b) => a.or(b),
                            };
                            Step::Finished(also(partial, problem), also(app_note, note))
                        }
                    });
                }
            };
            self.progress(&cursor).await?;
        }
    }

    /// What follows the users: a full listing goes on to organizations and applications; an
    /// incremental run only follows the log (organizations and applications wait for the next
    /// full listing, or come by push), which keeps its cost a few requests.
    pub(super) fn after_users(&self) -> Cursor {
        match self.run.kind {
            RunKind::Incremental => Cursor::Logs {
                partial: None,
                note: None,
                progress: logs::LogProgress::default(),
            },
            RunKind::Full | RunKind::Push => Cursor::Organizations {
                next: 0,
                members: None,
            },
        }
    }

    /// The listing is complete: only now may anyone be marked removed, and only if every range
    /// of it was proven complete and it listed every user (a full listing).
    pub(super) async fn finish_users(&mut self) -> Result<(), Stop> {
        let full = self.run.kind != RunKind::Incremental;
        if listing::is_unproven(self.run) {
            if full {
                self.store.clear_pending_removals(self.run.id).await?;
            }
            return Ok(());
        }
        // The next incremental run lists from this run's start.
        self.run.listing_proven = true;
        if !full {
            return Ok(());
        }
        let now = iso_from_ms(self.clock.now_ms());
        let (written, removed) = self
            .store
            .apply_pending_removals(self.run.id, &now, !self.baseline)
            .await?;
        self.run.rows_written += written;
        self.run.users_removed += removed;
        Ok(())
    }

    /// Before each unit of work: keeps the lock (renewed by elapsed time; a lost lock stops the
    /// invocation), and now and then shows progress in the history and saves where to continue
    /// should this invocation die (counts of blocks after it may then come out low).
    pub(super) async fn progress(&mut self, next: &Cursor) -> Result<(), Stop> {
        self.resume = Some(next.clone());
        self.lease.keep(self.store, self.clock.now_ms()).await?;
        if self.run.users_seen - self.saved_at_users < PROGRESS_EVERY {
            return Ok(());
        }
        self.saved_at_users = self.run.users_seen;
        self.run.cursor = Some(
            Saved {
                cursor: next.clone(),
                deaths: self.deaths,
                baseline: self.baseline,
            }
            .to_json(),
        );
        self.run.api_requests = self.base_requests + u64::from(self.client.stats.requests);
        self.run.rate_limited = self.base_limited + u64::from(self.client.stats.rate_limited);
        self.store.save_run(self.run).await?;
        Ok(())
    }
}
