//! The writes one Auth0 Event Streams event makes (`push_events`, migration 0015), as one batch:
//! the change, guarded in SQL by the event id and by what is newer, then the id recorded.
//!
//! Order-safety lives in the statements, not in a read before the write: a user is written only
//! if the event's `updated_at` is after the stored one and after any deletion recorded for that
//! user; a deletion removes only a row not updated since; a membership change applies only if no
//! later change of that membership was recorded. Every statement also does nothing when the
//! event id is already recorded, and the batch is one transaction, so a retried delivery (or two
//! at once) applies once. Instants are compared with `julianday`, so `…:56Z` and `…:56.000Z`
//! are the same time whatever the shape Auth0 stored.

use super::sql::Arg;
use super::{RowsWritten, StoreError, UserRow};
use crate::time::{EpochMs, iso_from_ms};

/// How long an event id (and a deletion's tombstone) is kept: far longer than Auth0 retries or
/// reorders deliveries (seconds), so a duplicate or a late older event is still recognised.
pub const RETENTION_MS: u64 = 7 * 86_400_000;

/// What one event changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `user.created` / `user.updated`: the row as the sync would write it.
    UpsertUser(Box<UserRow>),
    /// `user.deleted`.
    RemoveUser {
        /// The deleted user.
        user_id: String,
    },
    /// `organization.member.added`.
    AddMember {
        /// The organization.
        org_id: String,
        /// The member.
        user_id: String,
    },
    /// `organization.member.deleted`.
    RemoveMember {
        /// The organization.
        org_id: String,
        /// The former member.
        user_id: String,
    },
}

/// One usable event, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct EventWrite {
    /// The CloudEvents `id`.
    pub id: String,
    /// The event type without Auth0's `com.auth0.` prefix, e.g. `user.updated`.
    pub kind: &'static str,
    /// The instant that orders it, as `YYYY-MM-DDTHH:MM:SS.mmmZ`: the user's `updated_at`, the
    /// deletion's `deleted_at` (else the event's `time`), or the membership event's `time`.
    pub at: String,
    /// The change.
    pub change: Change,
}

impl EventWrite {
    /// The user the event is about.
    pub fn user_id(&self) -> &str {
        match &self.change {
            Change::UpsertUser(row) => &row.user_id,
            Change::RemoveUser { user_id }
            | Change::AddMember { user_id, .. }
            | Change::RemoveMember { user_id, .. } => user_id,
        }
    }

    /// The organization, for membership events.
    pub fn org_id(&self) -> Option<&str> {
        match &self.change {
            Change::AddMember { org_id, .. } | Change::RemoveMember { org_id, .. } => Some(org_id),
            Change::UpsertUser(_) | Change::RemoveUser { .. } => None,
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The id was already recorded: nothing was written.
    pub duplicate: bool,
    /// The change wrote a row (false: what is stored is as new or newer, or the organization is
    /// not synced yet).
    pub changed: bool,
    /// Rows written, as D1 counts them.
    pub rows_written: RowsWritten,
}

/// One statement of the batch and its arguments (`?1`, `?2`, … in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: &'static str,
    /// The arguments.
    pub args: Vec<Arg>,
}

/// Forgets event ids received before `?1`.
pub const PRUNE_PUSH_EVENTS: &str = "DELETE FROM push_events WHERE received_at < ?1";

/// Writes the user (a JSON array `?1` of one [`UserRow`]; `?2` now, `?3` the event id, `?4` its
/// `updated_at`) unless the id is recorded, a deletion of the user at or after `?4` is recorded,
/// or the stored row was updated at or after `?4`. Writing clears `removed_at`: a user updated
/// after their removal exists again. Columns as `UPSERT_USERS` writes them.
pub const UPSERT_PUSHED_USER: &str = "INSERT INTO users (user_id, email, name, connection, \
     connections, last_login, logins_count, created_at, updated_at, blocked, email_verified, \
     search_text, fingerprint, first_seen_at, removed_at) \
     SELECT j.value ->> '$.user_id', j.value ->> '$.email', j.value ->> '$.name', \
     j.value ->> '$.connection', j.value ->> '$.connections', j.value ->> '$.last_login', \
     j.value ->> '$.logins_count', j.value ->> '$.created_at', j.value ->> '$.updated_at', \
     j.value ->> '$.blocked', j.value ->> '$.email_verified', j.value ->> '$.search_text', \
     j.value ->> '$.fingerprint', ?2, NULL \
     FROM json_each(?1) AS j \
     WHERE NOT EXISTS (SELECT 1 FROM push_events e WHERE e.id = ?3) \
     AND NOT EXISTS (SELECT 1 FROM push_events d WHERE d.user_id = j.value ->> '$.user_id' \
     AND d.kind = 'user.deleted' AND julianday(d.at) >= julianday(?4)) \
     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
     connection = excluded.connection, connections = excluded.connections, \
     last_login = excluded.last_login, logins_count = excluded.logins_count, \
     created_at = excluded.created_at, updated_at = excluded.updated_at, \
     blocked = excluded.blocked, email_verified = excluded.email_verified, \
     search_text = excluded.search_text, fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE users.updated_at IS NULL OR julianday(users.updated_at) IS NULL \
     OR julianday(users.updated_at) < julianday(?4)";

/// Marks user `?1` removed at `?2` (event id `?3`, deleted at `?4`), unless the id is recorded
/// or the stored row was updated after the deletion (a newer incarnation of the same id).
pub const REMOVE_PUSHED_USER: &str = "UPDATE users SET removed_at = ?2 \
     WHERE user_id = ?1 AND removed_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM push_events e WHERE e.id = ?3) \
     AND (updated_at IS NULL OR julianday(updated_at) IS NULL \
     OR julianday(updated_at) <= julianday(?4))";

/// Adds user `?2` to organization `?1` (now `?3`, event id `?4`, at `?5`), or clears their
/// removal, if the organization is stored and current, the id is not recorded, and no later
/// change of this membership is.
pub const ADD_PUSHED_MEMBER: &str = "INSERT INTO memberships (org_id, user_id, first_seen_at, \
     removed_at) SELECT ?1, ?2, ?3, NULL \
     WHERE EXISTS (SELECT 1 FROM organizations o WHERE o.id = ?1 AND o.removed_at IS NULL) \
     AND NOT EXISTS (SELECT 1 FROM push_events e WHERE e.id = ?4) \
     AND NOT EXISTS (SELECT 1 FROM push_events p WHERE p.user_id = ?2 AND p.org_id = ?1 \
     AND p.kind IN ('organization.member.added', 'organization.member.deleted') \
     AND julianday(p.at) > julianday(?5)) \
     ON CONFLICT (org_id, user_id) DO UPDATE SET removed_at = NULL \
     WHERE memberships.removed_at IS NOT NULL";

/// Marks user `?2`'s membership of `?1` removed at `?3` (event id `?4`, at `?5`), unless the id
/// is recorded or a later change of this membership is.
pub const REMOVE_PUSHED_MEMBER: &str = "UPDATE memberships SET removed_at = ?3 \
     WHERE org_id = ?1 AND user_id = ?2 AND removed_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM push_events e WHERE e.id = ?4) \
     AND NOT EXISTS (SELECT 1 FROM push_events p WHERE p.user_id = ?2 AND p.org_id = ?1 \
     AND p.kind IN ('organization.member.added', 'organization.member.deleted') \
     AND julianday(p.at) > julianday(?5))";

/// Records event `?1` (received `?2`, type `?3`, at `?4`, user `?5`, organization `?6`); a
/// recorded id changes nothing, which is how a duplicate shows.
pub const RECORD_PUSH_EVENT: &str = "INSERT INTO push_events (id, received_at, kind, at, \
     user_id, org_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING";

/// The batch for one event, in order: prune old ids, apply the change, record the id. The
/// apply's and the record's changes tell [`Applied`] apart.
pub fn push_statements(w: &EventWrite, now: EpochMs) -> [Statement; 3] {
    let now_iso = iso_from_ms(now);
    let prune = Statement {
        sql: PRUNE_PUSH_EVENTS,
        args: vec![Arg::Text(iso_from_ms(now.saturating_sub(RETENTION_MS)))],
    };
    let apply = match &w.change {
        Change::UpsertUser(row) => Statement {
            sql: UPSERT_PUSHED_USER,
            args: vec![
                Arg::Text(serde_json::to_string(&[&**row]).unwrap_or_else(|_| "[]".into())),
                Arg::text(&now_iso),
                Arg::text(&w.id),
                Arg::text(&w.at),
            ],
        },
        Change::RemoveUser { user_id } => Statement {
            sql: REMOVE_PUSHED_USER,
            args: vec![
                Arg::text(user_id),
                Arg::text(&now_iso),
                Arg::text(&w.id),
                Arg::text(&w.at),
            ],
        },
        Change::AddMember { org_id, user_id } | Change::RemoveMember { org_id, user_id } => {
            Statement {
                sql: if matches!(w.change, Change::AddMember { .. }) {
                    ADD_PUSHED_MEMBER
                } else {
                    REMOVE_PUSHED_MEMBER
                },
                args: vec![
                    Arg::text(org_id),
                    Arg::text(user_id),
                    Arg::text(&now_iso),
                    Arg::text(&w.id),
                    Arg::text(&w.at),
                ],
            }
        }
    };
    let record = Statement {
        sql: RECORD_PUSH_EVENT,
        args: vec![
            Arg::text(&w.id),
            Arg::text(&now_iso),
            Arg::text(w.kind),
            Arg::text(&w.at),
            Arg::text(w.user_id()),
            w.org_id().map_or(Arg::Null, Arg::text),
        ],
    };
    [prune, apply, record]
}

/// Reads the batch's outcome from each statement's (rows written, changes).
pub fn applied(results: &[(RowsWritten, u64); 3]) -> Applied {
    let [_, (_, changed), (_, recorded)] = *results;
    Applied {
        duplicate: recorded == 0,
        changed: changed > 0,
        rows_written: results.iter().map(|(w, _)| w).sum(),
    }
}

/// What is stored about an event's subject before it is applied: which change-history entries
/// the change makes (`push::changes`). One row of [`PUSH_PRIOR`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prior {
    /// The stored user's id; `None` when the user is not stored.
    pub user_id: Option<String>,
    /// Their email.
    pub email: Option<String>,
    /// Blocked (D1 hands back 0/1).
    pub blocked: bool,
    /// Their primary connection.
    pub connection: Option<String>,
    /// When they were marked removed.
    pub removed_at: Option<String>,
    /// The membership of the event's organization: current (1), removed (0), or no row.
    pub member: Option<bool>,
}

impl super::FromRow for Prior {
    fn from_row(row: crate::fields::Fields<'_>) -> Result<Self, crate::fields::FieldError> {
        Ok(Self {
            user_id: row.opt_string("user_id")?,
            email: row.opt_string("email")?,
            // No stored user: NULL, not blocked.
            blocked: row.opt_flag("blocked")?.unwrap_or(false),
            connection: row.opt_string("connection")?,
            removed_at: row.opt_string("removed_at")?,
            member: row.opt_flag("member")?,
        })
    }
}

/// The stored user `?1` and their membership of organization `?2` (NULL for user events), as one
/// row whatever is stored.
pub const PUSH_PRIOR: &str = "SELECT u.user_id AS user_id, u.email AS email, \
     u.blocked AS blocked, u.connection AS connection, u.removed_at AS removed_at, \
     (SELECT m.removed_at IS NULL FROM memberships m WHERE m.org_id = ?2 AND m.user_id = ?1) \
     AS member FROM (SELECT 1) AS one LEFT JOIN users u ON u.user_id = ?1";

/// The arguments of [`PUSH_PRIOR`] for an event.
pub fn prior_args(w: &EventWrite) -> [Arg; 2] {
    [
        Arg::text(w.user_id()),
        w.org_id().map_or(Arg::Null, Arg::text),
    ]
}

/// What pushes need from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait PushStore {
    /// Runs [`push_statements`] as one transaction and reports what it did.
    ///
    /// # Errors
    /// Any database failure; nothing is written then, so Auth0's retry applies it.
    async fn apply_push(&self, write: &EventWrite, now: EpochMs) -> Result<Applied, StoreError>;

    /// What is stored about the event's user (and membership) before it is applied.
    ///
    /// # Errors
    /// Any database failure.
    async fn prior(&self, write: &EventWrite) -> Result<Prior, StoreError>;
}
