//! Deciding what one block changes: a pure diff of listed users against stored ones.

use std::collections::{HashMap, HashSet};

use crate::changes::{EventType, user_detail, who};
use crate::store::{StoredUser, UserRow};
use crate::time::ms_from_iso;

/// A change to one user the block's diff found, for the change history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChange {
    /// What changed.
    pub kind: EventType,
    /// Auth0's `user_id`.
    pub user_id: String,
    /// The email as listed now.
    pub email: Option<String>,
    /// The sentence.
    pub detail: String,
}

/// What to write for one block, and what it found gone.
#[derive(Debug, Default, PartialEq)]
pub struct BlockPlan {
    /// Rows to upsert: new, changed, or back after removal.
    pub write: Vec<UserRow>,
    /// How many of `write` are new.
    pub added: u64,
    /// How many of `write` existed (changed or returning).
    pub updated: u64,
    /// Stored, not removed, inside the block's range, and not listed: removed if the run completes.
    pub gone: Vec<String>,
    /// What changed for the rows of `write`, in their order.
    pub changes: Vec<UserChange>,
}

/// Compares a block's listed rows with the stored users of the same `created_at` range.
pub fn plan_block(listed: Vec<UserRow>, stored: &[StoredUser]) -> BlockPlan {
    let by_id: HashMap<&str, &StoredUser> =
        stored.iter().map(|s| (s.user_id.as_str(), s)).collect();
    let listed_ids: HashSet<&str> = listed.iter().map(|r| r.user_id.as_str()).collect();
    let mut gone: Vec<String> = stored
        .iter()
        .filter(|s| s.removed_at.is_none() && !listed_ids.contains(s.user_id.as_str()))
        .map(|s| s.user_id.clone())
        .collect();
    gone.sort();
    let mut plan = BlockPlan {
        gone,
        ..BlockPlan::default()
    };
    for row in listed {
        match by_id.get(row.user_id.as_str()) {
            None => {
                plan.added += 1;
                plan.changes
                    .push(change(EventType::UserAdded, &row, None, None));
            }
            // Removed by a deletion event newer than what the listing read (the search index
            // lags): the listing must not bring the user back.
            Some(s) if deleted_after(s, &row) => continue,
            Some(s) if s.fingerprint != row.fingerprint || s.removed_at.is_some() => {
                plan.updated += 1;
                plan.changes.extend(user_changes(s, &row));
            }
            Some(_) => continue,
        }
        plan.write.push(row);
    }
    plan
}

/// Whether `stored` is removed by a recorded deletion at or after the listed row's `updated_at`
/// (a row without a readable one is not newer; an unreadable deletion instant proves nothing).
fn deleted_after(stored: &StoredUser, row: &UserRow) -> bool {
    let Some(deleted) = stored.deleted_at.as_deref().and_then(ms_from_iso) else {
        return false;
    };
    stored.removed_at.is_some()
        && row
            .updated_at
            .as_deref()
            .and_then(ms_from_iso)
            .is_none_or(|updated| updated <= deleted)
}

fn change(kind: EventType, row: &UserRow, from: Option<&str>, to: Option<&str>) -> UserChange {
    let who = who(&row.user_id, row.email.as_deref());
    UserChange {
        kind,
        user_id: row.user_id.clone(),
        email: row.email.clone(),
        detail: user_detail(kind, &who, from, to),
    }
}

/// The access changes between a stored user and the row listed now (other fields changing,
/// such as a login, are no access change).
fn user_changes(stored: &StoredUser, row: &UserRow) -> Vec<UserChange> {
    let mut out = Vec::new();
    if stored.removed_at.is_some() {
        out.push(change(EventType::UserReturned, row, None, None));
    }
    if row.blocked != stored.blocked {
        let kind = if row.blocked {
            EventType::UserBlocked
        } else {
            EventType::UserUnblocked
        };
        out.push(change(kind, row, None, None));
    }
    if row.connection != stored.connection {
        out.push(change(
            EventType::ConnectionChanged,
            row,
            stored.connection.as_deref(),
            row.connection.as_deref(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::mapping::user_row;

    fn row(id: &str, name: &str) -> UserRow {
        user_row(
            &serde_json::from_value(
                serde_json::json!({"user_id": id, "name": name, "created_at": "t"}),
            )
            .unwrap(),
        )
    }

    fn stored(r: &UserRow, removed: bool) -> StoredUser {
        StoredUser {
            user_id: r.user_id.clone(),
            fingerprint: r.fingerprint.clone(),
            removed_at: removed.then(|| "earlier".to_string()),
            email: r.email.clone(),
            blocked: r.blocked,
            connection: r.connection.clone(),
            deleted_at: None,
        }
    }

    #[test]
    fn unchanged_users_write_nothing() {
        let rows = vec![row("a", "A"), row("b", "B")];
        let s: Vec<_> = rows.iter().map(|r| stored(r, false)).collect();
        assert_eq!(plan_block(rows, &s), BlockPlan::default());
    }

    #[test]
    fn new_changed_returning_and_gone_are_told_apart() {
        let old_b = row("b", "B");
        let gone_c = row("c", "C");
        let back_d = row("d", "D");
        let already_removed_e = row("e", "E");
        let s = vec![
            stored(&old_b, false),
            stored(&gone_c, false),
            stored(&back_d, true),
            stored(&already_removed_e, true),
        ];
        let plan = plan_block(vec![row("a", "A"), row("b", "B2"), back_d], &s);
        let written: Vec<_> = plan.write.iter().map(|r| r.user_id.as_str()).collect();
        assert_eq!(written, ["a", "b", "d"]);
        assert_eq!((plan.added, plan.updated), (1, 2));
        assert_eq!(plan.gone, ["c"]);
        let kinds: Vec<_> = plan
            .changes
            .iter()
            .map(|c| (c.kind, c.user_id.as_str()))
            .collect();
        // b's rename is no access change.
        assert_eq!(
            kinds,
            [(EventType::UserAdded, "a"), (EventType::UserReturned, "d")]
        );
    }

    fn full(id: &str, email: Option<&str>, blocked: bool, connection: Option<&str>) -> UserRow {
        user_row(
            &serde_json::from_value(serde_json::json!({
                "user_id": id, "email": email, "created_at": "t", "blocked": blocked,
                "identities": connection.map_or(vec![], |c| vec![serde_json::json!({"connection": c})]),
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_listing_older_than_a_recorded_deletion_does_not_bring_the_user_back() {
        let listed = |id: &str, updated: &str| {
            user_row(
                &serde_json::from_value(serde_json::json!({
                    "user_id": id, "created_at": "2026-01-01T00:00:00.000Z", "updated_at": updated,
                }))
                .unwrap(),
            )
        };
        let deleted = |r: &UserRow, at: Option<&str>| StoredUser {
            deleted_at: at.map(str::to_string),
            ..stored(r, true)
        };
        let old = listed("old", "2026-02-01T00:00:00.000Z");
        let same = listed("same", "2026-03-01T00:00:00Z");
        let newer = listed("newer", "2026-04-01T00:00:00.000Z");
        let untombed = listed("untombed", "2026-01-02T00:00:00.000Z");
        let s = vec![
            deleted(&old, Some("2026-03-01T00:00:00.000Z")),
            deleted(&same, Some("2026-03-01T00:00:00.000Z")),
            deleted(&newer, Some("2026-03-01T00:00:00.000Z")),
            deleted(&untombed, None),
        ];
        let plan = plan_block(vec![old, same, newer, untombed], &s);
        let written: Vec<_> = plan.write.iter().map(|r| r.user_id.as_str()).collect();
        // Re-created after the deletion, or removed only by a listing's absence: back.
        assert_eq!(written, ["newer", "untombed"]);
        assert_eq!((plan.added, plan.updated, plan.gone.len()), (0, 2, 0));
        // A current user with an old tombstone (re-created since) is compared as usual.
        let current = listed("cur", "2026-01-05T00:00:00.000Z");
        let s = vec![StoredUser {
            deleted_at: Some("2026-03-01T00:00:00.000Z".into()),
            ..stored(&current, false)
        }];
        assert_eq!(plan_block(vec![current], &s), BlockPlan::default());
    }

    #[test]
    fn blocks_unblocks_and_connection_moves_read_on_their_own() {
        let before = [
            full("u1", Some("a@x.io"), false, Some("db")),
            full("u2", None, true, Some("db")),
            full("u3", Some("c@x.io"), false, Some("db")),
            full("u4", Some("d@x.io"), false, None),
        ];
        let s: Vec<_> = before.iter().map(|r| stored(r, false)).collect();
        let mut removed_blocked = stored(&before[2], true);
        removed_blocked.blocked = false;
        let s = vec![s[0].clone(), s[1].clone(), removed_blocked, s[3].clone()];
        let plan = plan_block(
            vec![
                full("u1", Some("a@x.io"), true, Some("google-oauth2")),
                full("u2", None, false, Some("db")),
                full("u3", Some("c@x.io"), true, Some("db")),
                full("u4", Some("d@x.io"), false, Some("db")),
            ],
            &s,
        );
        let details: Vec<_> = plan.changes.iter().map(|c| c.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "blocked: a@x.io (u1)",
                "primary connection changed: a@x.io (u1), from db to google-oauth2",
                "unblocked: u2",
                "returned: c@x.io (u3): listed again after being removed",
                "blocked: c@x.io (u3)",
                "primary connection changed: d@x.io (u4), from none to db",
            ]
        );
        assert_eq!(plan.changes[2].email, None);
        assert_eq!(plan.changes[0].email.as_deref(), Some("a@x.io"));
    }
}
