//! The push store on SQLite (the engine under D1), running the very statements D1 runs, with
//! the real migrations; and the order-safety of those statements, event by event.

use std::cell::Cell;

use rusqlite::{Connection, params_from_iter};

use crate::changes::{EVENTS_PER_STATEMENT, INSERT_EVENTS, NewEvent, events_json};
use crate::store::changes::ChangeStore;
use crate::store::push::{
    Applied, Change, EventWrite, PUSH_PRIOR, Prior, PushStore, prior_args, push_statements,
};
use crate::store::users::UPSERT_USERS;
use crate::store::{RowsWritten, StoreError};
use crate::sync::mapping::user_row;
use crate::time::EpochMs;

/// An in-memory SQLite database with every migration applied.
pub struct SqliteStore {
    /// The connection, for assertions.
    pub conn: Connection,
    /// Fail the next batch, as a D1 outage would.
    pub fail_next: Cell<bool>,
    /// Fail the next append to the change history.
    pub fail_history: Cell<bool>,
}

impl Default for SqliteStore {
    fn default() -> Self {
        let conn = crate::testing::sqlite::migrated();
        Self {
            conn,
            fail_next: Cell::new(false),
            fail_history: Cell::new(false),
        }
    }
}

impl PushStore for SqliteStore {
    async fn apply_push(&self, write: &EventWrite, now: EpochMs) -> Result<Applied, StoreError> {
        let fail = |e: rusqlite::Error| StoreError {
            op: "apply a pushed event",
            detail: e.to_string(),
        };
        if self.fail_next.replace(false) {
            return Err(StoreError {
                op: "apply a pushed event",
                detail: "D1_ERROR: injected".into(),
            });
        }
        self.conn.execute_batch("BEGIN").map_err(fail)?;
        let mut results = [(0, 0); 3];
        for (slot, st) in results.iter_mut().zip(push_statements(write, now)) {
            match self.conn.execute(
                st.sql,
                params_from_iter(crate::testing::sqlite::bind(&st.args)),
            ) {
                Ok(n) => *slot = (n as RowsWritten, n as u64),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(fail(e));
                }
            }
        }
        self.conn.execute_batch("COMMIT").map_err(fail)?;
        Ok(crate::store::push::applied(&results))
    }

    async fn prior(&self, write: &EventWrite) -> Result<Prior, StoreError> {
        // Read as D1's rows are, through `FromRow`.
        let args = prior_args(write);
        let rows: Vec<Prior> = crate::testing::sqlite::query(
            &self.conn,
            "read what a pushed event changes",
            PUSH_PRIOR,
            &args,
        )?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }
}

/// The change history through the changes module's own statement.
impl ChangeStore for SqliteStore {
    async fn record_events(&self, events: &[NewEvent]) -> Result<RowsWritten, StoreError> {
        if self.fail_history.replace(false) {
            return Err(StoreError {
                op: "record changes",
                detail: "injected".into(),
            });
        }
        let mut n = 0;
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            n += self
                .conn
                .execute(INSERT_EVENTS, [events_json(chunk)])
                .map_err(|e| StoreError {
                    op: "record changes",
                    detail: e.to_string(),
                })? as RowsWritten;
        }
        Ok(n)
    }

    async fn baseline_recorded(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(crate::store::changes::BASELINE_RECORDED, [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|found| found != 0)
            .map_err(|e| StoreError {
                op: "read the change history",
                detail: e.to_string(),
            })
    }
}

impl SqliteStore {
    /// One user's `(name, updated_at, removed_at)`.
    pub fn user(&self, id: &str) -> Option<(Option<String>, Option<String>, Option<String>)> {
        self.conn
            .query_row(
                "SELECT name, updated_at, removed_at FROM users WHERE user_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok()
    }

    /// Whether user is a current member of org; `None` when no row.
    pub fn member(&self, org: &str, user: &str) -> Option<bool> {
        self.conn
            .query_row(
                "SELECT removed_at IS NULL FROM memberships WHERE org_id = ?1 AND user_id = ?2",
                [org, user],
                |r| r.get(0),
            )
            .ok()
    }

    /// The change history: `(type, user_id, org_id, detail)` in order.
    pub fn history(&self) -> Vec<(String, Option<String>, Option<String>, String)> {
        self.conn
            .prepare("SELECT type, user_id, org_id, detail FROM access_events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Stores an organization, as the sync would.
    pub fn add_org(&self, id: &str) {
        self.conn
            .execute(
                "INSERT INTO organizations (id, fingerprint, first_seen_at) VALUES (?1, 'f', 't')",
                [id],
            )
            .unwrap();
    }

    /// A full listing's write of these users (the sync's own upsert).
    pub fn sync_write(&self, users: &[serde_json::Value]) -> usize {
        let rows: Vec<_> = users
            .iter()
            .map(|u| user_row(&serde_json::from_value(u.clone()).unwrap()))
            .collect();
        self.conn
            .execute(
                UPSERT_USERS,
                [serde_json::to_string(&rows).unwrap(), "sync".into()],
            )
            .unwrap()
    }
}

const NOW: EpochMs = 1_750_000_000_000;

fn user(id: &str, name: &str, updated_at: &str) -> serde_json::Value {
    serde_json::json!({"user_id": id, "name": name, "created_at": "2025-01-01T00:00:00.000Z",
        "updated_at": updated_at, "identities": [{"connection": "db"}]})
}

fn upsert(id: &str, user_id: &str, name: &str, updated_at: &str) -> EventWrite {
    EventWrite {
        id: id.into(),
        kind: "user.updated",
        at: updated_at.into(),
        change: Change::UpsertUser(Box::new(user_row(
            &serde_json::from_value(user(user_id, name, updated_at)).unwrap(),
        ))),
    }
}

fn delete(id: &str, user_id: &str, at: &str) -> EventWrite {
    EventWrite {
        id: id.into(),
        kind: "user.deleted",
        at: at.into(),
        change: Change::RemoveUser {
            user_id: user_id.into(),
        },
    }
}

fn member(id: &str, added: bool, at: &str) -> EventWrite {
    let (org_id, user_id) = ("org_1".to_string(), "u1".to_string());
    EventWrite {
        id: id.into(),
        kind: if added {
            "organization.member.added"
        } else {
            "organization.member.deleted"
        },
        at: at.into(),
        change: if added {
            Change::AddMember { org_id, user_id }
        } else {
            Change::RemoveMember { org_id, user_id }
        },
    }
}

fn apply(s: &SqliteStore, w: &EventWrite) -> Applied {
    crate::testing::block_on(s.apply_push(w, NOW)).unwrap()
}

const T1: &str = "2025-06-01T10:00:00.000Z";
const T2: &str = "2025-06-01T11:00:00.000Z";
const T3: &str = "2025-06-01T12:00:00.000Z";

#[test]
fn a_duplicate_delivery_writes_nothing() {
    let s = SqliteStore::default();
    let first = apply(&s, &upsert("evt_1", "u1", "A", T1));
    assert!(!first.duplicate && first.changed, "{first:?}");
    // Even a changed body under the same id is the same event.
    let again = apply(&s, &upsert("evt_1", "u1", "B", T2));
    assert!(again.duplicate && !again.changed, "{again:?}");
    assert_eq!(s.user("u1").unwrap().0.as_deref(), Some("A"));
}

#[test]
fn an_older_update_never_overwrites_a_newer_one() {
    let s = SqliteStore::default();
    assert!(apply(&s, &upsert("evt_2", "u1", "new", T2)).changed);
    let late = apply(&s, &upsert("evt_1", "u1", "old", T1));
    assert!(!late.duplicate && !late.changed, "{late:?}");
    // Same instant: the same version, not newer.
    assert!(!apply(&s, &upsert("evt_3", "u1", "same", T2)).changed);
    assert_eq!(s.user("u1").unwrap().0.as_deref(), Some("new"));
    assert!(apply(&s, &upsert("evt_4", "u1", "newer", T3)).changed);
    assert_eq!(s.user("u1").unwrap().0.as_deref(), Some("newer"));
}

#[test]
fn instants_compare_as_time_whatever_their_shape() {
    let s = SqliteStore::default();
    // Stored by a full listing without milliseconds.
    s.sync_write(&[user("u1", "listed", "2025-06-01T10:00:56Z")]);
    // String order would call "…56.100Z" older than "…56Z"; it is 100 ms newer.
    assert!(
        apply(
            &s,
            &upsert("evt_1", "u1", "pushed", "2025-06-01T10:00:56.100Z")
        )
        .changed
    );
    assert!(
        !apply(
            &s,
            &upsert("evt_2", "u1", "stale", "2025-06-01T10:00:56.000Z")
        )
        .changed
    );
    assert_eq!(s.user("u1").unwrap().0.as_deref(), Some("pushed"));
}

#[test]
fn a_deletion_removes_at_once_and_a_stale_update_does_not_resurrect() {
    let s = SqliteStore::default();
    apply(&s, &upsert("evt_1", "u1", "A", T1));
    assert!(apply(&s, &delete("evt_2", "u1", T2)).changed);
    assert!(s.user("u1").unwrap().2.is_some(), "removed at once");
    // A created or updated event from before the deletion, delivered after it.
    let mut created = upsert("evt_0", "u1", "A0", "2025-06-01T10:30:00.000Z");
    created.kind = "user.created";
    assert!(!apply(&s, &created).changed);
    assert!(!apply(&s, &upsert("evt_3", "u1", "A1", T2)).changed);
    let (name, _, removed) = s.user("u1").unwrap();
    assert_eq!(name.as_deref(), Some("A"));
    assert!(removed.is_some(), "still removed");
    // A user never stored, deleted, then its older creation delivered: never appears.
    apply(&s, &delete("evt_4", "u2", T2));
    assert!(!apply(&s, &upsert("evt_5", "u2", "B", T1)).changed);
    assert!(s.user("u2").is_none());
    // The same id re-created after the deletion (social ids are stable): it exists again.
    assert!(apply(&s, &upsert("evt_6", "u1", "again", T3)).changed);
    assert_eq!(s.user("u1").unwrap().2, None);
}

#[test]
fn a_late_deletion_spares_a_newer_incarnation() {
    let s = SqliteStore::default();
    apply(&s, &upsert("evt_3", "u1", "re-created", T3));
    assert!(!apply(&s, &delete("evt_2", "u1", T2)).changed);
    assert_eq!(s.user("u1").unwrap().2, None);
}

#[test]
fn a_user_deleted_by_event_and_still_listed_comes_back_with_the_full_listing() {
    let s = SqliteStore::default();
    s.sync_write(&[user("u1", "A", T1)]);
    apply(&s, &delete("evt_1", "u1", T2));
    assert!(s.user("u1").unwrap().2.is_some());
    // The full sync lists them again (the plan writes removed rows it lists): back.
    assert_eq!(s.sync_write(&[user("u1", "A", T1)]), 1);
    assert_eq!(s.user("u1").unwrap().2, None);
}

#[test]
fn membership_changes_apply_in_event_order_and_only_for_synced_organizations() {
    let s = SqliteStore::default();
    // Unknown organization: nothing, the next full sync brings it.
    assert!(!apply(&s, &member("evt_0", true, T1)).changed);
    assert_eq!(s.member("org_1", "u1"), None);
    s.add_org("org_1");
    assert!(apply(&s, &member("evt_1", true, T1)).changed);
    assert_eq!(s.member("org_1", "u1"), Some(true));
    // Removed at T3, then a late add from T2: stays removed.
    assert!(apply(&s, &member("evt_3", false, T3)).changed);
    assert!(!apply(&s, &member("evt_2", true, T2)).changed);
    assert_eq!(s.member("org_1", "u1"), Some(false));
    // Duplicate removal: nothing.
    assert!(apply(&s, &member("evt_3", false, T3)).duplicate);
    // A later add: a member again; then a late removal from before it changes nothing.
    let later = "2025-06-01T13:00:00.000Z";
    assert!(apply(&s, &member("evt_4", true, later)).changed);
    assert!(!apply(&s, &member("evt_5", false, T3)).changed);
    assert_eq!(s.member("org_1", "u1"), Some(true));
}

#[test]
fn old_ids_are_pruned_after_the_retention() {
    let s = SqliteStore::default();
    apply(&s, &upsert("evt_1", "u1", "A", T1));
    let later = NOW + crate::store::push::RETENTION_MS + 1;
    crate::testing::block_on(s.apply_push(&upsert("evt_2", "u2", "B", T1), later)).unwrap();
    let ids: Vec<String> = s
        .conn
        .prepare("SELECT id FROM push_events ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["evt_2"]);
}

#[test]
fn the_order_checks_are_served_by_indexes() {
    let s = SqliteStore::default();
    for w in [
        upsert("e", "u", "n", T1),
        delete("e", "u", T1),
        member("e", true, T1),
        member("e", false, T1),
    ] {
        for st in push_statements(&w, NOW) {
            let plan: Vec<String> = s
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))
                .unwrap()
                .query_map(
                    params_from_iter(crate::testing::sqlite::bind(&st.args)),
                    |r| r.get(3),
                )
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for step in &plan {
                // Only the one-row JSON array and the constant row may be scanned.
                assert!(
                    !step.starts_with("SCAN ")
                        || step.starts_with("SCAN j VIRTUAL TABLE")
                        || step == "SCAN CONSTANT ROW",
                    "{}: {plan:?}",
                    st.sql
                );
            }
        }
    }
}
