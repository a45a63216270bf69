//! The `organizations` and `memberships` tables: row types and SQL.

use serde::Serialize;

use super::row::FromRow;
use crate::fields::{FieldError, Fields};

/// An organization as the sync writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRow {
    /// `org_…`.
    pub id: String,
    /// The URL-safe name.
    pub name: Option<String>,
    /// The name people see.
    pub display_name: Option<String>,
    /// A hash of the fields above.
    pub fingerprint: String,
}

/// The part of a stored organization the sync compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrg {
    /// `org_…`.
    pub id: String,
    /// The stored fingerprint.
    pub fingerprint: String,
    /// When it was found gone.
    pub removed_at: Option<String>,
}

/// A stored membership, for the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    /// The member.
    pub user_id: String,
    /// When it was found gone.
    pub removed_at: Option<String>,
}

/// An organization as viewers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRecord {
    /// `org_…`.
    pub id: String,
    /// The URL-safe name.
    pub name: Option<String>,
    /// The name people see.
    pub display_name: Option<String>,
    /// Members not marked removed.
    pub member_count: i64,
    /// When a complete listing first lacked it.
    pub removed_at: Option<String>,
}

impl FromRow for StoredOrg {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.string("id")?,
            fingerprint: row.string("fingerprint")?,
            removed_at: row.opt_string("removed_at")?,
        })
    }
}

impl FromRow for StoredMember {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            user_id: row.string("user_id")?,
            removed_at: row.opt_string("removed_at")?,
        })
    }
}

impl FromRow for OrgRecord {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.string("id")?,
            name: row.opt_string("name")?,
            display_name: row.opt_string("display_name")?,
            member_count: row.i64("member_count")?,
            removed_at: row.opt_string("removed_at")?,
        })
    }
}

/// Every stored organization.
pub const LIST_STORED_ORGS: &str = "SELECT id, fingerprint, removed_at FROM organizations";

/// Bulk upsert from a JSON array (`?1`) of [`OrgRow`]s; `?2` is now. Unchanged rows are not written.
pub const UPSERT_ORGS: &str = "INSERT INTO organizations (id, name, display_name, fingerprint, \
     first_seen_at, removed_at) \
     SELECT j.value ->> '$.id', j.value ->> '$.name', j.value ->> '$.display_name', \
     j.value ->> '$.fingerprint', ?2, NULL FROM json_each(?1) AS j WHERE true \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, display_name = excluded.display_name, \
     fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE organizations.fingerprint IS NOT excluded.fingerprint \
     OR organizations.removed_at IS NOT NULL";

/// Marks the organizations in a JSON array of ids (`?1`) removed at `?2`.
pub const MARK_ORGS_REMOVED: &str = "UPDATE organizations SET removed_at = ?2 \
     WHERE removed_at IS NULL AND id IN (SELECT value FROM json_each(?1))";

/// One organization's stored memberships, `?1` = org id.
pub const LIST_STORED_MEMBERS: &str =
    "SELECT user_id, removed_at FROM memberships WHERE org_id = ?1";

/// Adds members (JSON array of user ids `?2`) to org `?1` at `?3`, or clears their removal.
pub const ADD_MEMBERS: &str = "INSERT INTO memberships (org_id, user_id, first_seen_at, removed_at) \
     SELECT ?1, j.value, ?3, NULL FROM json_each(?2) AS j WHERE true \
     ON CONFLICT (org_id, user_id) DO UPDATE SET removed_at = NULL \
     WHERE memberships.removed_at IS NOT NULL";

/// Marks members (JSON array `?2`) of org `?1` removed at `?3`.
pub const MARK_MEMBERS_REMOVED: &str = "UPDATE memberships SET removed_at = ?3 \
     WHERE org_id = ?1 AND removed_at IS NULL AND user_id IN (SELECT value FROM json_each(?2))";

/// Holds members (JSON array `?3`) run `?1` read of org `?2`, while its listing spans invocations.
pub const HOLD_SEEN_MEMBERS: &str = "INSERT OR IGNORE INTO sync_member_seen (run_id, org_id, user_id) \
     SELECT ?1, ?2, j.value FROM json_each(?3) AS j";

/// Adds the members run `?1` holds for org `?2` at `?3`, or clears their removal; unchanged
/// memberships are not written.
pub const ADD_SEEN_MEMBERS: &str = "INSERT INTO memberships (org_id, user_id, first_seen_at, removed_at) \
     SELECT ?2, s.user_id, ?3, NULL FROM sync_member_seen AS s WHERE s.run_id = ?1 AND s.org_id = ?2 \
     ON CONFLICT (org_id, user_id) DO UPDATE SET removed_at = NULL \
     WHERE memberships.removed_at IS NOT NULL";

/// Marks removed at `?3` the stored members of org `?2` that run `?1` did not hold: only after
/// that organization's listing is complete in this run.
pub const REMOVE_UNSEEN_MEMBERS: &str = "UPDATE memberships SET removed_at = ?3 \
     WHERE org_id = ?2 AND removed_at IS NULL AND user_id NOT IN \
     (SELECT user_id FROM sync_member_seen WHERE run_id = ?1 AND org_id = ?2)";

/// Forgets the members run `?1` holds for org `?2`.
pub const CLEAR_SEEN_MEMBERS: &str =
    "DELETE FROM sync_member_seen WHERE run_id = ?1 AND org_id = ?2";

/// Forgets the held members of every run no longer `running` or `paused` (after
/// `CLOSE_ABANDONED`).
pub const CLEAR_ORPHANED_SEEN: &str = "DELETE FROM sync_member_seen WHERE run_id NOT IN \
     (SELECT id FROM sync_runs WHERE status IN ('running', 'paused'))";

/// Organizations with their active member counts, by name.
pub const LIST_ORGS: &str = "SELECT o.id, o.name, o.display_name, o.removed_at, \
     (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id AND m.removed_at IS NULL) \
     AS member_count FROM organizations o ORDER BY o.removed_at IS NOT NULL, o.name, o.id";

/// Whether an organization id is stored, `?1` = id.
pub const ORG_EXISTS: &str = "SELECT id FROM organizations WHERE id = ?1";
