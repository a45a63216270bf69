//! An in-memory store with SQLite's write semantics, for native tests; it can fail on demand.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::RangeBounds;

use crate::changes::{
    EventType, NewEvent, Origin, Subject, membership_detail, org_label, user_detail, who,
};
use crate::store::ChangeStore;
use crate::store::runs::{LAST_LISTINGS, LastListings, RunKind};
use crate::store::users::StatusFilter;
use crate::store::{
    ConnectionCount, CreatedRange, OrgRecord, OrgRow, RowsWritten, RunRecord, RunStatus,
    SeatCounts, StoreError, StoredMember, StoredOrg, StoredUser, SyncStore, UserRecord, UserRow,
    UsersQuery, ViewStore,
};
use crate::time::EpochMs;

mod apps;
mod trends;

/// A stored user with the columns the store sets.
#[derive(Debug, Clone, PartialEq)]
pub struct MemUser {
    /// The written row.
    pub row: UserRow,
    /// When first stored.
    pub first_seen_at: String,
    /// When marked removed.
    pub removed_at: Option<String>,
}

/// Tables in memory.
#[derive(Default)]
pub struct MemoryStore {
    /// The users table.
    pub users: RefCell<BTreeMap<String, MemUser>>,
    /// The sync history.
    pub runs: RefCell<Vec<RunRecord>>,
    /// The lock row: owner and expiry.
    pub lock: RefCell<Option<(String, EpochMs)>>,
    /// Rows written, as D1 would count them.
    pub rows_written: Cell<u64>,
    /// Fail the nth upsert from now (1 = the next).
    pub fail_upsert_in: Cell<u32>,
    /// The database's message for that failure (`injected failure` when unset).
    pub fail_upsert_detail: RefCell<Option<String>>,
    /// Organizations: row and removal time.
    pub orgs: RefCell<BTreeMap<String, (OrgRow, Option<String>)>>,
    /// Memberships (org, user) to removal time.
    pub memberships: RefCell<BTreeMap<(String, String), Option<String>>>,
    /// Users a run found gone, by run.
    pub pending: RefCell<std::collections::BTreeSet<(i64, String)>>,
    /// Members a run read of an organization whose listing spans invocations: (run, org, user).
    pub seen: RefCell<std::collections::BTreeSet<(i64, String, String)>>,
    /// The longest JSON value bound by `hold_seen_members`, as D1 would receive it.
    pub longest_held_value: Cell<usize>,
    /// The longest cursor any `save_run` stored, in bytes.
    pub longest_cursor: Cell<usize>,
    /// The session epoch (`store::sessions`).
    pub session_epoch: Cell<u64>,
    /// Application usage and the log checkpoint: SQLite running the D1 statements.
    pub usage: crate::testing::usage_sqlite::SqliteUsage,
    /// The application tables, in SQLite: see `memory/apps.rs`.
    pub apps: crate::testing::sqlite::SqliteDb,
    /// The access change history (`store::changes`), in insertion order: an event's id is its
    /// index plus one.
    pub access_events: RefCell<Vec<NewEvent>>,
    /// The trend snapshots, in SQLite (`memory/trends.rs`).
    pub trends: trends::TrendDb,
    /// Recorded deletions (`push_events` of kind `user.deleted`): user to the newest instant.
    pub tombstones: RefCell<BTreeMap<String, String>>,
    /// Event ids of recorded deletions: a second delivery changes nothing.
    pub deletion_ids: RefCell<std::collections::BTreeSet<String>>,
}

impl MemoryStore {
    fn stored_user(&self, u: &MemUser) -> StoredUser {
        StoredUser {
            user_id: u.row.user_id.clone(),
            fingerprint: u.row.fingerprint.clone(),
            removed_at: u.removed_at.clone(),
            email: u.row.email.clone(),
            blocked: u.row.blocked,
            connection: u.row.connection.clone(),
            updated_at: u.row.updated_at.clone(),
            deleted_at: self.tombstones.borrow().get(&u.row.user_id).cloned(),
        }
    }

    /// Applies deletions as `REMOVE_PUSHED_USER` and `RECORD_PUSH_EVENT` do: once per event id,
    /// only a current user not updated after the deletion. Returns the users marked removed.
    pub fn apply_deletions(&self, deletions: &[crate::usage::Deletion], now_iso: &str) -> u64 {
        let mut removed = 0;
        for d in deletions {
            if !self.deletion_ids.borrow_mut().insert(d.id.clone()) {
                continue;
            }
            let mut tombs = self.tombstones.borrow_mut();
            let newest = tombs
                .entry(d.user_id.clone())
                .or_insert_with(|| d.at.clone());
            if *newest < d.at {
                newest.clone_from(&d.at);
            }
            drop(tombs);
            let mut users = self.users.borrow_mut();
            if let Some(u) = users.get_mut(&d.user_id)
                && u.removed_at.is_none()
                && u.row
                    .updated_at
                    .as_deref()
                    .is_none_or(|t| t <= d.at.as_str())
            {
                u.removed_at = Some(now_iso.to_string());
                removed += 1;
                self.rows_written.set(self.rows_written.get() + 1);
            }
        }
        removed
    }
}

impl crate::store::usage::UsageStore for MemoryStore {
    async fn log_cursor(&self) -> Result<Option<crate::store::usage::LogCursorRow>, StoreError> {
        self.usage.log_cursor().await
    }
    async fn write_usage_page(
        &self,
        page: &crate::store::usage::UsagePage<'_>,
    ) -> Result<crate::store::usage::UsageWritten, StoreError> {
        let mut written = self.usage.write_usage_page(page).await?;
        self.count(written.rows);
        // The users live here, not in the SQLite tables.
        written.removed = self.apply_deletions(page.deletions, page.now);
        if written.applied {
            // The same first uses in the memory history, for code that reads it there.
            let mut stored = self.access_events.borrow_mut();
            for e in page.events {
                if !stored.iter().any(|s| s.dedupe == e.dedupe) {
                    stored.push(e.clone());
                }
            }
        }
        Ok(written)
    }
    async fn write_pushed_usage(
        &self,
        push: &crate::store::usage::PushedUsage<'_>,
    ) -> Result<crate::store::usage::PushedWritten, StoreError> {
        let mut written = self.usage.write_pushed_usage(push).await?;
        self.count(written.rows);
        written.removed = self.apply_deletions(push.deletions, push.now);
        self.append_events(push.events);
        Ok(written)
    }
}

impl MemoryStore {
    fn count(&self, n: u64) -> RowsWritten {
        self.rows_written.set(self.rows_written.get() + n);
        n
    }

    /// Appends events as `changes::INSERT_EVENTS` does, skipping stored `dedupe` keys; for
    /// memory versions of writes that put the events in a batch with other rows.
    pub fn append_events(&self, events: &[NewEvent]) -> RowsWritten {
        let mut stored = self.access_events.borrow_mut();
        let mut n = 0;
        for e in events {
            if !stored.iter().any(|s| s.dedupe == e.dedupe) {
                stored.push(e.clone());
                n += 1;
            }
        }
        drop(stored);
        self.count(n)
    }
}

impl ChangeStore for MemoryStore {
    async fn record_events(&self, events: &[NewEvent]) -> Result<RowsWritten, StoreError> {
        Ok(self.append_events(events))
    }

    async fn baseline_recorded(&self) -> Result<bool, StoreError> {
        Ok(self
            .access_events
            .borrow()
            .iter()
            .any(|e| e.kind == EventType::Baseline))
    }
}

impl crate::store::ChangeView for MemoryStore {
    async fn list_changes(
        &self,
        q: &crate::store::ChangesQuery,
    ) -> Result<Vec<crate::store::ChangeRecord>, StoreError> {
        let mut out: Vec<crate::store::ChangeRecord> = self
            .access_events
            .borrow()
            .iter()
            .enumerate()
            .map(|(i, e)| crate::store::ChangeRecord {
                id: i as i64 + 1,
                at: e.at.clone(),
                run_id: e.run_id,
                kind: e.kind.as_str().to_string(),
                user_id: e.user_id.clone(),
                email: e.email.clone(),
                client_id: e.client_id.clone(),
                org_id: e.org_id.clone(),
                detail: e.detail.clone(),
                baseline: e.baseline,
            })
            .filter(|r| q.admits(r))
            .collect();
        out.sort_by(|a, b| (&b.at, b.id).cmp(&(&a.at, a.id)));
        out.truncate(q.limit as usize);
        Ok(out)
    }
}

impl MemoryStore {
    /// What `changes::derived`'s membership statements select: one event per distinct id whose
    /// membership of `org_id` the write will change, in id order.
    fn membership_events(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
        added: bool,
        now_iso: &str,
    ) -> Vec<NewEvent> {
        let ms = self.memberships.borrow();
        let users = self.users.borrow();
        let orgs = self.orgs.borrow();
        let org = orgs.get(org_id).map_or(org_id.to_string(), |(o, _)| {
            org_label(org_id, o.display_name.as_deref(), o.name.as_deref())
        });
        let ids: std::collections::BTreeSet<&String> = ids.iter().collect();
        ids.into_iter()
            .filter(|u| {
                let active = matches!(ms.get(&(org_id.to_string(), (*u).clone())), Some(None));
                active != added
            })
            .map(|u| {
                let email = users.get(u).and_then(|m| m.row.email.clone());
                let detail = membership_detail(added, &org, &who(u, email.as_deref()));
                let kind = if added {
                    EventType::MembershipAdded
                } else {
                    EventType::MembershipRemoved
                };
                let subject = Subject {
                    user_id: Some(u.clone()),
                    email,
                    org_id: Some(org_id.to_string()),
                    ..Subject::default()
                };
                NewEvent::new(&Origin::Run(run_id), now_iso, kind, subject, detail)
            })
            .collect()
    }
}

/// D1 refuses a bound value over 2 MB ("string or blob too big"); so does this store.
pub const D1_MAX_VALUE_BYTES: usize = 2_000_000;

fn too_big_for_d1<T: serde::Serialize + ?Sized>(
    op: &'static str,
    value: &T,
) -> Result<(), StoreError> {
    let len = serde_json::to_string(value).map_or(0, |s| s.len());
    if len > D1_MAX_VALUE_BYTES {
        return Err(StoreError {
            op,
            detail: format!("string or blob too big: {len} bytes bound as one value"),
        });
    }
    Ok(())
}

impl SyncStore for MemoryStore {
    async fn try_lock(&self, owner: &str, now: EpochMs, lease_ms: u64) -> Result<bool, StoreError> {
        let mut lock = self.lock.borrow_mut();
        match lock.as_ref() {
            Some((held_by, expires)) if held_by != owner && *expires > now => Ok(false),
            _ => {
                *lock = Some((owner.to_string(), now + lease_ms));
                Ok(true)
            }
        }
    }

    async fn release_lock(&self, owner: &str) -> Result<(), StoreError> {
        let mut lock = self.lock.borrow_mut();
        if lock.as_ref().is_some_and(|(o, _)| o == owner) {
            *lock = None;
        }
        Ok(())
    }

    async fn close_abandoned_runs(&self, now_iso: &str, message: &str) -> Result<(), StoreError> {
        for r in self.runs.borrow_mut().iter_mut() {
            if r.status == RunStatus::Running && r.cursor.is_none() {
                r.status = RunStatus::Failed;
                r.finished_at = Some(now_iso.to_string());
                r.error = Some(message.to_string());
            }
        }
        let running: Vec<i64> = self
            .runs
            .borrow()
            .iter()
            .filter(|r| matches!(r.status, RunStatus::Running | RunStatus::Paused))
            .map(|r| r.id)
            .collect();
        self.pending
            .borrow_mut()
            .retain(|(run, _)| running.contains(run));
        self.seen
            .borrow_mut()
            .retain(|(run, _, _)| running.contains(run));
        Ok(())
    }

    async fn start_run(
        &self,
        started_at: &str,
        trigger: &str,
        kind: RunKind,
        updated_since: Option<&str>,
    ) -> Result<i64, StoreError> {
        let mut runs = self.runs.borrow_mut();
        let id = runs.len() as i64 + 1;
        let mut run = RunRecord::started(id, started_at.to_string(), trigger);
        run.kind = kind;
        run.updated_since = updated_since.map(str::to_string);
        runs.push(run);
        Ok(id)
    }

    async fn save_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let len = run.cursor.as_ref().map_or(0, String::len);
        self.longest_cursor.set(self.longest_cursor.get().max(len));
        let mut runs = self.runs.borrow_mut();
        let slot = runs
            .iter_mut()
            .find(|r| r.id == run.id)
            .ok_or_else(|| StoreError {
                op: "save the run",
                detail: format!("no run {}", run.id),
            })?;
        *slot = run.clone();
        Ok(())
    }

    async fn users_in(&self, range: CreatedRange<'_>) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self
            .users
            .borrow()
            .values()
            .filter(|u| RangeBounds::<&str>::contains(&range, &u.row.created_at.as_str()))
            .map(|u| self.stored_user(u))
            .collect())
    }

    async fn users_by_id(&self, ids: &[String]) -> Result<Vec<StoredUser>, StoreError> {
        let users = self.users.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| users.get(id))
            .map(|u| self.stored_user(u))
            .collect())
    }

    async fn last_listings(&self) -> Result<LastListings, StoreError> {
        let runs = self.runs.borrow();
        let newest = |full: bool| {
            runs.iter()
                .filter(|r| r.listing_proven && (!full || r.kind == RunKind::Full))
                .filter(|r| r.kind != RunKind::Push)
                .map(|r| r.started_at.clone())
                .max()
        };
        let last_full_requests = runs
            .iter()
            .filter(|r| r.listing_proven && r.kind == RunKind::Full)
            .max_by(|a, b| (&a.started_at, a.id).cmp(&(&b.started_at, b.id)))
            .map(|r| r.api_requests);
        // The signal facts live in the SQLite tables (scopes with the applications, the log with
        // usage): the same query reads them there; their sync_runs are empty.
        let read = |conn: &rusqlite::Connection| {
            crate::testing::sqlite::query::<LastListings>(
                conn,
                "read the last listings",
                LAST_LISTINGS,
                &[],
            )
            .map(|rows| rows.into_iter().next().unwrap_or_default())
        };
        let apps = read(&self.apps.0.borrow())?;
        let usage = read(&self.usage.conn.borrow())?;
        Ok(LastListings {
            last_full: newest(true),
            last_listed: newest(false),
            last_full_requests,
            logs_granted: apps.logs_granted,
            log_tracking_since: usage.log_tracking_since,
            log_gap_until: usage.log_gap_until,
            last_push: apps.last_push,
        })
    }

    async fn upsert_users(
        &self,
        rows: &[UserRow],
        now_iso: &str,
        events: &[NewEvent],
    ) -> Result<RowsWritten, StoreError> {
        let left = self.fail_upsert_in.get();
        if left > 0 {
            self.fail_upsert_in.set(left - 1);
            if left == 1 {
                return Err(StoreError {
                    op: "write users",
                    detail: self
                        .fail_upsert_detail
                        .borrow()
                        .clone()
                        .unwrap_or_else(|| "injected failure".into()),
                });
            }
        }
        let mut users = self.users.borrow_mut();
        let mut n = 0;
        for row in rows {
            match users.get_mut(&row.user_id) {
                Some(u) if u.row.fingerprint == row.fingerprint && u.removed_at.is_none() => {}
                Some(u) => {
                    u.row = row.clone();
                    u.removed_at = None;
                    n += 1;
                }
                None => {
                    users.insert(
                        row.user_id.clone(),
                        MemUser {
                            row: row.clone(),
                            first_seen_at: now_iso.to_string(),
                            removed_at: None,
                        },
                    );
                    n += 1;
                }
            }
        }
        drop(users);
        Ok(self.count(n) + self.append_events(events))
    }

    async fn add_pending_removals(
        &self,
        run_id: i64,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        too_big_for_d1("hold removed users", ids)?;
        let mut pending = self.pending.borrow_mut();
        let before = pending.len();
        pending.extend(ids.iter().map(|id| (run_id, id.clone())));
        Ok(self.count((pending.len() - before) as u64))
    }

    async fn apply_pending_removals(
        &self,
        run_id: i64,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64), StoreError> {
        let ids: Vec<String> = self
            .pending
            .borrow()
            .iter()
            .filter(|(r, _)| *r == run_id)
            .map(|(_, id)| id.clone())
            .collect();
        if events {
            let removed: Vec<NewEvent> = ids
                .iter()
                .filter_map(|id| {
                    let users = self.users.borrow();
                    let u = users.get(id).filter(|u| u.removed_at.is_none())?;
                    let email = u.row.email.clone();
                    let detail = user_detail(
                        EventType::UserRemoved,
                        &who(id, email.as_deref()),
                        None,
                        None,
                    );
                    let subject = Subject {
                        user_id: Some(id.clone()),
                        email,
                        ..Subject::default()
                    };
                    Some(NewEvent::new(
                        &Origin::Run(run_id),
                        now_iso,
                        EventType::UserRemoved,
                        subject,
                        detail,
                    ))
                })
                .collect();
            self.append_events(&removed);
        }
        let mut users = self.users.borrow_mut();
        let mut n = 0;
        for id in &ids {
            if let Some(u) = users.get_mut(id)
                && u.removed_at.is_none()
            {
                u.removed_at = Some(now_iso.to_string());
                n += 1;
            }
        }
        drop(users);
        self.pending.borrow_mut().retain(|(r, _)| *r != run_id);
        Ok((self.count(n + ids.len() as u64), n))
    }

    async fn clear_pending_removals(&self, run_id: i64) -> Result<(), StoreError> {
        self.pending.borrow_mut().retain(|(r, _)| *r != run_id);
        Ok(())
    }

    async fn paused_run(&self) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .runs
            .borrow()
            .iter()
            .rev()
            .find(|r| {
                (r.status == RunStatus::Running && r.cursor.is_some())
                    || r.status == RunStatus::Paused
            })
            .cloned())
    }

    async fn count_current_users(&self) -> Result<u64, StoreError> {
        Ok(self
            .users
            .borrow()
            .values()
            .filter(|u| u.removed_at.is_none())
            .count() as u64)
    }

    async fn organizations(&self) -> Result<Vec<StoredOrg>, StoreError> {
        Ok(self
            .orgs
            .borrow()
            .values()
            .map(|(r, removed)| StoredOrg {
                id: r.id.clone(),
                fingerprint: r.fingerprint.clone(),
                removed_at: removed.clone(),
            })
            .collect())
    }

    async fn upsert_organizations(
        &self,
        rows: &[OrgRow],
        _now: &str,
    ) -> Result<RowsWritten, StoreError> {
        let mut orgs = self.orgs.borrow_mut();
        let mut n = 0;
        for r in rows {
            let unchanged = orgs.get(&r.id).is_some_and(|(old, removed)| {
                old.fingerprint == r.fingerprint && removed.is_none()
            });
            if !unchanged {
                orgs.insert(r.id.clone(), (r.clone(), None));
                n += 1;
            }
        }
        Ok(self.count(n))
    }

    async fn mark_organizations_removed(
        &self,
        ids: &[String],
        now_iso: &str,
    ) -> Result<RowsWritten, StoreError> {
        let mut n = 0;
        for id in ids {
            if let Some((_, removed @ None)) = self.orgs.borrow_mut().get_mut(id) {
                *removed = Some(now_iso.to_string());
                n += 1;
            }
        }
        Ok(self.count(n))
    }

    async fn members(&self, org_id: &str) -> Result<Vec<StoredMember>, StoreError> {
        Ok(self
            .memberships
            .borrow()
            .iter()
            .filter(|((o, _), _)| o == org_id)
            .map(|((_, u), removed)| StoredMember {
                user_id: u.clone(),
                removed_at: removed.clone(),
            })
            .collect())
    }

    async fn add_members(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError> {
        if let Some(run) = events_of_run {
            let events = self.membership_events(run, org_id, user_ids, true, now_iso);
            self.append_events(&events);
        }
        let mut ms = self.memberships.borrow_mut();
        let mut n = 0;
        for u in user_ids {
            let slot = ms
                .entry((org_id.to_string(), u.clone()))
                .or_insert(Some(String::new()));
            if slot.is_some() {
                *slot = None;
                n += 1;
            }
        }
        Ok(self.count(n))
    }

    async fn hold_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        ids: &[String],
    ) -> Result<RowsWritten, StoreError> {
        too_big_for_d1("hold read members", ids)?;
        let len = serde_json::to_string(ids).map_or(0, |s| s.len());
        self.longest_held_value
            .set(self.longest_held_value.get().max(len));
        let mut seen = self.seen.borrow_mut();
        let before = seen.len();
        seen.extend(ids.iter().map(|u| (run_id, org_id.to_string(), u.clone())));
        Ok(self.count((seen.len() - before) as u64))
    }

    async fn apply_seen_members(
        &self,
        run_id: i64,
        org_id: &str,
        now_iso: &str,
        events: bool,
    ) -> Result<(RowsWritten, u64, u64), StoreError> {
        let events = events.then_some(run_id);
        let held: Vec<String> = self
            .seen
            .borrow()
            .iter()
            .filter(|(r, o, _)| *r == run_id && o == org_id)
            .map(|(_, _, u)| u.clone())
            .collect();
        let held_set: std::collections::HashSet<&str> = held.iter().map(String::as_str).collect();
        let added = self.add_members(org_id, &held, now_iso, events).await?;
        let gone: Vec<String> = self
            .memberships
            .borrow()
            .iter()
            .filter(|((o, u), removed)| {
                o == org_id && removed.is_none() && !held_set.contains(u.as_str())
            })
            .map(|((_, u), _)| u.clone())
            .collect();
        let removed = self
            .mark_members_removed(org_id, &gone, now_iso, events)
            .await?;
        self.seen
            .borrow_mut()
            .retain(|(r, o, _)| !(*r == run_id && o == org_id));
        let cleared = self.count(held.len() as u64);
        Ok((added + removed + cleared, added, removed))
    }

    async fn clear_seen_members(&self, run_id: i64, org_id: &str) -> Result<(), StoreError> {
        self.seen
            .borrow_mut()
            .retain(|(r, o, _)| !(*r == run_id && o == org_id));
        Ok(())
    }

    async fn mark_members_removed(
        &self,
        org_id: &str,
        user_ids: &[String],
        now_iso: &str,
        events_of_run: Option<i64>,
    ) -> Result<RowsWritten, StoreError> {
        if let Some(run) = events_of_run {
            let events = self.membership_events(run, org_id, user_ids, false, now_iso);
            self.append_events(&events);
        }
        let mut ms = self.memberships.borrow_mut();
        let mut n = 0;
        for u in user_ids {
            if let Some(slot @ None) = ms.get_mut(&(org_id.to_string(), u.clone())) {
                *slot = Some(now_iso.to_string());
                n += 1;
            }
        }
        Ok(self.count(n))
    }
}

/// The filters of [`UsersQuery`], as `list_users_sql` states them in SQL.
fn admits(q: &UsersQuery, r: &UserRecord) -> bool {
    let status = match q.status {
        StatusFilter::Current => r.removed_at.is_none(),
        StatusFilter::Active => r.removed_at.is_none() && !r.blocked,
        StatusFilter::Blocked => r.removed_at.is_none() && r.blocked,
        StatusFilter::Removed => r.removed_at.is_some(),
        StatusFilter::All => true,
    };
    let inactive = q
        .inactive_before
        .as_ref()
        .is_none_or(|cut| r.last_login.as_ref().is_none_or(|l| l < cut));
    let between = q.last_login_between.as_ref().is_none_or(|(from, before)| {
        r.last_login
            .as_ref()
            .is_some_and(|l| l >= from && before.as_ref().is_none_or(|b| l < b))
    });
    let search = q.search.as_ref().is_none_or(|s| {
        [&r.email, &r.name].iter().any(|f| {
            f.as_deref()
                .unwrap_or("")
                .to_ascii_lowercase()
                .contains(s.as_str())
        })
    });
    status
        && inactive
        && between
        && search
        && (!q.never_logged_in || r.last_login.is_none())
        && q.connection
            .as_ref()
            .is_none_or(|c| r.connection.as_ref() == Some(c))
        && q.organization
            .as_ref()
            .is_none_or(|o| r.organizations.contains(o))
}

impl MemoryStore {
    fn record(&self, u: &MemUser) -> UserRecord {
        let organizations = self
            .memberships
            .borrow()
            .iter()
            .filter(|((_, user), removed)| *user == u.row.user_id && removed.is_none())
            .map(|((org, _), _)| org.clone())
            .collect();
        UserRecord {
            user_id: u.row.user_id.clone(),
            email: u.row.email.clone(),
            name: u.row.name.clone(),
            connection: u.row.connection.clone(),
            connections: serde_json::from_str(&u.row.connections).unwrap_or_default(),
            last_login: u.row.last_login.clone(),
            logins_count: u.row.logins_count,
            created_at: u.row.created_at.clone(),
            updated_at: u.row.updated_at.clone(),
            blocked: u.row.blocked,
            email_verified: u.row.email_verified,
            first_seen_at: u.first_seen_at.clone(),
            removed_at: u.removed_at.clone(),
            organizations,
        }
    }
}

impl ViewStore for MemoryStore {
    async fn listing_facts(&self) -> Result<LastListings, StoreError> {
        SyncStore::last_listings(self).await
    }

    async fn list_users(&self, q: &UsersQuery) -> Result<Vec<UserRecord>, StoreError> {
        let mut out: Vec<UserRecord> = self
            .users
            .borrow()
            .values()
            .map(|u| self.record(u))
            .filter(|r| admits(q, r))
            .collect();
        let key = |r: &UserRecord| (q.sort.key.value(r), r.user_id.clone());
        out.sort_by_key(key);
        if q.sort.desc {
            out.reverse();
        }
        if let Some(pos) = &q.after {
            let at = (pos.key.clone(), pos.user_id.clone());
            out.retain(|r| {
                if q.sort.desc {
                    key(r) < at
                } else {
                    key(r) > at
                }
            });
        }
        out.truncate(q.limit as usize);
        Ok(out)
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self
            .runs
            .borrow()
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn list_organizations(&self) -> Result<Vec<OrgRecord>, StoreError> {
        let ms = self.memberships.borrow();
        Ok(self
            .orgs
            .borrow()
            .values()
            .map(|(r, removed)| OrgRecord {
                id: r.id.clone(),
                name: r.name.clone(),
                display_name: r.display_name.clone(),
                member_count: ms
                    .iter()
                    .filter(|((o, _), rm)| *o == r.id && rm.is_none())
                    .count() as i64,
                removed_at: removed.clone(),
            })
            .collect())
    }

    async fn organization_exists(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.orgs.borrow().contains_key(id))
    }

    async fn get_user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users.borrow().get(user_id).map(|u| self.record(u)))
    }

    async fn seat_counts(&self, cutoffs: &[String; 3]) -> Result<SeatCounts, StoreError> {
        let mut c = SeatCounts::default();
        for u in self.users.borrow().values() {
            if u.removed_at.is_some() {
                c.removed += 1;
                continue;
            }
            c.current += 1;
            if u.row.blocked {
                c.blocked += 1;
            } else {
                c.active += 1;
            }
            let login = u.row.last_login.as_deref();
            c.never_logged_in += i64::from(login.is_none());
            let inactive = |cut: &String| i64::from(login.is_none_or(|l| l < cut.as_str()));
            c.inactive_30 += inactive(&cutoffs[0]);
            c.inactive_60 += inactive(&cutoffs[1]);
            c.inactive_90 += inactive(&cutoffs[2]);
        }
        Ok(c)
    }

    async fn connection_counts(&self) -> Result<Vec<ConnectionCount>, StoreError> {
        let mut by: BTreeMap<Option<String>, i64> = BTreeMap::new();
        for u in self
            .users
            .borrow()
            .values()
            .filter(|u| u.removed_at.is_none())
        {
            *by.entry(u.row.connection.clone()).or_default() += 1;
        }
        let mut out: Vec<ConnectionCount> = by
            .into_iter()
            .map(|(connection, users)| ConnectionCount { connection, users })
            .collect();
        out.sort_by(|a, b| b.users.cmp(&a.users).then(a.connection.cmp(&b.connection)));
        Ok(out)
    }
}

impl crate::store::SessionStore for MemoryStore {
    async fn session_epoch(&self) -> Result<u64, StoreError> {
        Ok(self.session_epoch.get())
    }

    async fn bump_session_epoch(&self) -> Result<u64, StoreError> {
        self.session_epoch.set(self.session_epoch.get() + 1);
        Ok(self.session_epoch.get())
    }
}
