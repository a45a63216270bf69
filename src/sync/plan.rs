//! Deciding what one block changes: a pure diff of listed users against stored ones.

use std::collections::{HashMap, HashSet};

use crate::store::{StoredUser, UserRow};

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
            None => plan.added += 1,
            Some(s) if s.fingerprint != row.fingerprint || s.removed_at.is_some() => {
                plan.updated += 1;
            }
            Some(_) => continue,
        }
        plan.write.push(row);
    }
    plan
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
    }
}
