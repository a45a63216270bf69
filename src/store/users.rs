//! The `users` table: its row types and SQL.

use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::row::{FromRow, json_list};
use super::sql::Arg;
use crate::fields::{FieldError, Fields};

/// A user as the sync writes it (without the columns the store sets itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    /// Auth0's `user_id`.
    pub user_id: String,
    /// Email, if Auth0 has one.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// The primary identity's connection.
    pub connection: Option<String>,
    /// Every identity's connection, as a JSON array.
    pub connections: String,
    /// Last login, ISO-8601; `None` before the first.
    pub last_login: Option<String>,
    /// Logins so far; 0 before the first.
    pub logins_count: i64,
    /// Creation time, ISO-8601.
    pub created_at: String,
    /// Last update in Auth0, ISO-8601.
    pub updated_at: Option<String>,
    /// Blocked in Auth0.
    pub blocked: bool,
    /// Email verified; `None` where the connection does not say.
    pub email_verified: Option<bool>,
    /// Email and name, lower-cased with Unicode rules, for case-insensitive search.
    pub search_text: String,
    /// A hash of the fields above, to skip unchanged rows.
    pub fingerprint: String,
}

/// The part of a stored user the sync compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// Auth0's `user_id`.
    pub user_id: String,
    /// The stored fingerprint.
    pub fingerprint: String,
    /// When the user was found gone, if they are.
    pub removed_at: Option<String>,
    /// The stored email, to name the user in change events.
    pub email: Option<String>,
    /// Blocked when stored.
    pub blocked: bool,
    /// The stored primary connection.
    pub connection: Option<String>,
    /// The stored `updated_at`: a listing that read an older state (the search index lags a push)
    /// does not overwrite it.
    pub updated_at: Option<String>,
    /// The newest deletion of this user an event recorded (Event Streams `user.deleted`, or a
    /// log `sdu`), if any is still kept: a listing older than it must not bring the user back.
    pub deleted_at: Option<String>,
}

impl FromRow for StoredUser {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            user_id: row.string("user_id")?,
            fingerprint: row.string("fingerprint")?,
            removed_at: row.opt_string("removed_at")?,
            email: row.opt_string("email")?,
            blocked: row.opt_flag("blocked")?.unwrap_or(false),
            connection: row.opt_string("connection")?,
            updated_at: row.opt_string("updated_at")?,
            deleted_at: row.opt_string("deleted_at")?,
        })
    }
}

/// A stored user as viewers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    /// Auth0's `user_id`.
    pub user_id: String,
    /// Email.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Primary connection.
    pub connection: Option<String>,
    /// All connections.
    pub connections: Vec<String>,
    /// Last login.
    pub last_login: Option<String>,
    /// Logins so far.
    pub logins_count: i64,
    /// Created in Auth0.
    pub created_at: String,
    /// Updated in Auth0.
    pub updated_at: Option<String>,
    /// Blocked in Auth0.
    pub blocked: bool,
    /// Email verified.
    pub email_verified: Option<bool>,
    /// When the sync first stored the user.
    pub first_seen_at: String,
    /// When a complete listing first lacked the user.
    pub removed_at: Option<String>,
    /// Organizations the user currently belongs to.
    pub organizations: Vec<String>,
}

// D1 hands booleans back as 0/1 and JSON columns as text.
impl FromRow for UserRecord {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            user_id: row.string("user_id")?,
            email: row.opt_string("email")?,
            name: row.opt_string("name")?,
            connection: row.opt_string("connection")?,
            connections: json_list(row, "connections")?,
            last_login: row.opt_string("last_login")?,
            logins_count: row.i64("logins_count")?,
            created_at: row.string("created_at")?,
            updated_at: row.opt_string("updated_at")?,
            blocked: row.flag("blocked")?,
            email_verified: row.opt_flag("email_verified")?,
            first_seen_at: row.string("first_seen_at")?,
            removed_at: row.opt_string("removed_at")?,
            organizations: json_list(row, "organizations")?,
        })
    }
}

/// Which users a viewer asks for: filters, order and the page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsersQuery {
    /// Page size.
    pub limit: u32,
    /// Users after this position (the cursor).
    pub after: Option<Position>,
    /// Which states to include.
    pub status: StatusFilter,
    /// Only this primary connection.
    pub connection: Option<String>,
    /// Only members of this organization.
    pub organization: Option<String>,
    /// Only users whose last login is before this instant, or who never logged in.
    pub inactive_before: Option<String>,
    /// Only users who never logged in.
    pub never_logged_in: bool,
    /// Only users whose last login is at or after the first instant and, when given, before the
    /// second (`last_login_days`, the reclaim curve's bars).
    pub last_login_between: Option<(String, Option<String>)>,
    /// A lower-case substring of email or name.
    pub search: Option<String>,
    /// The order.
    pub sort: Sort,
}

/// A place in a sorted listing: the sort key's value and the `user_id` that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The sort column's value at the last row served.
    pub key: String,
    /// The last row's `user_id`.
    pub user_id: String,
}

/// Which users by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Everyone not marked removed (the default).
    #[default]
    Current,
    /// Not removed and not blocked.
    Active,
    /// Blocked and not removed.
    Blocked,
    /// Marked removed.
    Removed,
    /// Everyone.
    All,
}

/// The column to sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// `user_id` (the default: stable and unique).
    #[default]
    UserId,
    /// Last login; never-logged-in users sort first ascending, last descending.
    LastLogin,
    /// Creation time.
    CreatedAt,
    /// Email; users without one sort first ascending.
    Email,
}

impl SortKey {
    /// The SQL expression sorted on; indexes exist on exactly these expressions.
    pub fn sql(self) -> &'static str {
        match self {
            Self::UserId => "user_id",
            Self::LastLogin => "COALESCE(last_login, '')",
            Self::CreatedAt => "created_at",
            Self::Email => "COALESCE(email, '')",
        }
    }

    /// The key's value for a record, as the SQL expression computes it.
    pub fn value(self, r: &UserRecord) -> String {
        match self {
            Self::UserId => r.user_id.clone(),
            Self::LastLogin => r.last_login.clone().unwrap_or_default(),
            Self::CreatedAt => r.created_at.clone(),
            Self::Email => r.email.clone().unwrap_or_default(),
        }
    }
}

/// An order: a key and a direction; ties broken by `user_id` in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    /// The column.
    pub key: SortKey,
    /// Descending.
    pub desc: bool,
}

/// Builds the statement for one page of users, with `?N` placeholders and their values.
///
/// Every filter is a bound parameter: viewer input never becomes SQL text.
pub fn list_users_sql(q: &UsersQuery) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut bind = |v: Arg| {
        args.push(v);
        format!("?{}", args.len())
    };
    let mut conds: Vec<String> = Vec::new();
    match q.status {
        StatusFilter::Current => conds.push("removed_at IS NULL".into()),
        StatusFilter::Active => conds.push("removed_at IS NULL AND blocked = 0".into()),
        StatusFilter::Blocked => conds.push("removed_at IS NULL AND blocked = 1".into()),
        StatusFilter::Removed => conds.push("removed_at IS NOT NULL".into()),
        StatusFilter::All => {}
    }
    if let Some(c) = &q.connection {
        conds.push(format!("connection = {}", bind(Arg::Text(c.clone()))));
    }
    if let Some(o) = &q.organization {
        conds.push(format!(
            "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.user_id \
             AND m.org_id = {} AND m.removed_at IS NULL)",
            bind(Arg::Text(o.clone()))
        ));
    }
    if let Some(cutoff) = &q.inactive_before {
        conds.push(format!(
            "(last_login IS NULL OR last_login < {})",
            bind(Arg::Text(cutoff.clone()))
        ));
    }
    if q.never_logged_in {
        conds.push("last_login IS NULL".into());
    }
    if let Some((from, before)) = &q.last_login_between {
        conds.push(format!("last_login >= {}", bind(Arg::Text(from.clone()))));
        if let Some(before) = before {
            conds.push(format!("last_login < {}", bind(Arg::Text(before.clone()))));
        }
    }
    if let Some(s) = &q.search {
        let p = bind(Arg::Text(s.clone()));
        conds.push(format!("instr(search_text, {p}) > 0"));
    }
    let key = q.sort.key.sql();
    let (cmp, dir) = if q.sort.desc {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(pos) = &q.after {
        if q.sort.key == SortKey::UserId {
            conds.push(format!(
                "user_id {cmp} {}",
                bind(Arg::Text(pos.user_id.clone()))
            ));
        } else {
            let k = bind(Arg::Text(pos.key.clone()));
            let id = bind(Arg::Text(pos.user_id.clone()));
            conds.push(format!(
                "({key} {cmp} {k} OR ({key} = {k} AND user_id {cmp} {id}))"
            ));
        }
    }
    let order = if q.sort.key == SortKey::UserId {
        format!("user_id {dir}")
    } else {
        format!("{key} {dir}, user_id {dir}")
    };
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let limit = bind(Arg::Int(i64::from(q.limit)));
    let sql = format!(
        "SELECT {USER_COLUMNS}, {USER_ORGANIZATIONS} FROM users{filter} ORDER BY {order} LIMIT {limit}"
    );
    (sql, args)
}

/// One user by id (`?1`).
pub const GET_USER: &str = concat!(
    "SELECT user_id, email, name, connection, connections, last_login, logins_count, created_at, ",
    "updated_at, blocked, email_verified, first_seen_at, removed_at, ",
    "(SELECT json_group_array(m.org_id) FROM memberships m ",
    "WHERE m.user_id = users.user_id AND m.removed_at IS NULL) AS organizations ",
    "FROM users WHERE user_id = ?1"
);

/// Each user's current organizations, as a JSON array.
pub const USER_ORGANIZATIONS: &str = "(SELECT json_group_array(m.org_id) FROM memberships m \
     WHERE m.user_id = users.user_id AND m.removed_at IS NULL) AS organizations";

/// Columns viewers see, in order.
pub const USER_COLUMNS: &str = "user_id, email, name, connection, connections, last_login, \
     logins_count, created_at, updated_at, blocked, email_verified, first_seen_at, removed_at";

/// Bulk upsert from a JSON array (`?1`) of [`UserRow`]s; `?2` is now.
///
/// Rows whose fingerprint matches and that are not removed are left alone, so D1 bills nothing
/// for them; `first_seen_at` is kept on update.
pub const UPSERT_USERS: &str = "INSERT INTO users (user_id, email, name, connection, connections, \
     last_login, logins_count, created_at, updated_at, blocked, email_verified, search_text, \
     fingerprint, first_seen_at, removed_at) \
     SELECT j.value ->> '$.user_id', j.value ->> '$.email', j.value ->> '$.name', \
     j.value ->> '$.connection', j.value ->> '$.connections', j.value ->> '$.last_login', \
     j.value ->> '$.logins_count', j.value ->> '$.created_at', j.value ->> '$.updated_at', \
     j.value ->> '$.blocked', j.value ->> '$.email_verified', j.value ->> '$.search_text', \
     j.value ->> '$.fingerprint', ?2, NULL \
     FROM json_each(?1) AS j WHERE true \
     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
     connection = excluded.connection, connections = excluded.connections, \
     last_login = excluded.last_login, logins_count = excluded.logins_count, \
     created_at = excluded.created_at, updated_at = excluded.updated_at, \
     blocked = excluded.blocked, email_verified = excluded.email_verified, \
     search_text = excluded.search_text, fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE users.fingerprint IS NOT excluded.fingerprint OR users.removed_at IS NOT NULL";

/// Holds users (JSON array `?2`) found gone by run `?1` until its listing is complete.
pub const ADD_PENDING_REMOVALS: &str = "INSERT INTO sync_pending_removals (run_id, user_id) \
     SELECT ?1, j.value FROM json_each(?2) AS j WHERE true ON CONFLICT DO NOTHING";

/// Marks removed, at `?2`, the users run `?1` found gone.
pub const APPLY_PENDING_REMOVALS: &str = "UPDATE users SET removed_at = ?2 \
     WHERE removed_at IS NULL \
     AND user_id IN (SELECT user_id FROM sync_pending_removals WHERE run_id = ?1)";

/// Forgets run `?1`'s pending removals (applied, or the run failed).
pub const CLEAR_PENDING_REMOVALS: &str = "DELETE FROM sync_pending_removals WHERE run_id = ?1";

/// Users not marked removed: the next run's estimate of the tenant's size.
pub const COUNT_CURRENT_USERS: &str = "SELECT COUNT(*) AS n FROM users WHERE removed_at IS NULL";

/// The columns of a [`StoredUser`], with the newest recorded deletion of each row's user
/// (`push_events`, kept for its retention) as `deleted_at`.
macro_rules! select_stored_users {
    () => {
        "SELECT user_id, fingerprint, removed_at, email, blocked, connection, updated_at, \
         (SELECT MAX(d.at) FROM push_events d WHERE d.user_id = users.user_id \
         AND d.kind = 'user.deleted') AS deleted_at FROM users "
    };
}

/// Stored users whose ids are in the JSON array `?1` (an incremental block's listed users).
pub const USERS_BY_ID: &str = concat!(
    select_stored_users!(),
    "WHERE user_id IN (SELECT j.value FROM json_each(?1) AS j)"
);

/// Stored users created at or after `?1` and before `?2`.
pub const USERS_IN_GE_LT: &str = concat!(
    select_stored_users!(),
    "WHERE created_at >= ?1 AND created_at < ?2"
);
/// Stored users created after `?1` and before `?2`.
pub const USERS_IN_GT_LT: &str = concat!(
    select_stored_users!(),
    "WHERE created_at > ?1 AND created_at < ?2"
);
/// Stored users created at or after `?1` and at or before `?2`.
pub const USERS_IN_GE_LE: &str = concat!(
    select_stored_users!(),
    "WHERE created_at >= ?1 AND created_at <= ?2"
);
/// Stored users created after `?1` and at or before `?2`.
pub const USERS_IN_GT_LE: &str = concat!(
    select_stored_users!(),
    "WHERE created_at > ?1 AND created_at <= ?2"
);

/// A range of `created_at` values: the users one listing block vouches for.
pub type CreatedRange<'a> = (Bound<&'a str>, Bound<&'a str>);

/// The statement and its two arguments for the stored users created inside `range`.
pub fn users_in_sql((lower, upper): CreatedRange<'_>) -> (&'static str, [String; 2]) {
    let (after, from) = match lower {
        Bound::Unbounded => (false, ""),
        Bound::Included(t) => (false, t),
        Bound::Excluded(t) => (true, t),
    };
    let (to_inclusive, to) = match upper {
        Bound::Unbounded => (false, AFTER_ALL_TIMES),
        Bound::Included(t) => (true, t),
        Bound::Excluded(t) => (false, t),
    };
    let sql = match (after, to_inclusive) {
        (false, false) => USERS_IN_GE_LT,
        (true, false) => USERS_IN_GT_LT,
        (false, true) => USERS_IN_GE_LE,
        (true, true) => USERS_IN_GT_LE,
    };
    (sql, [from.to_string(), to.to_string()])
}

/// An upper bound above every ISO-8601 timestamp, for open-ended ranges.
pub const AFTER_ALL_TIMES: &str = "~";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_d1_integers_as_booleans_and_json_text_as_lists() {
        let v = serde_json::json!({
            "user_id": "a", "email": null, "name": "A", "connection": "c",
            "connections": "[\"c\",\"d\"]", "last_login": null, "logins_count": 0,
            "created_at": "t", "updated_at": null, "blocked": 1, "email_verified": null,
            "first_seen_at": "f", "removed_at": null
        });
        let read = |v: &serde_json::Value| UserRecord::from_row(Fields::of(v).unwrap());
        let r = read(&v).unwrap();
        assert!(r.blocked);
        assert_eq!(r.email_verified, None);
        assert_eq!((r.email, r.last_login, r.removed_at), (None, None, None));
        assert_eq!(r.connections, ["c", "d"]);
        assert!(r.organizations.is_empty(), "no organizations column: none");

        let mut w = v.clone();
        w["blocked"] = 0.into();
        w["email_verified"] = 1.into();
        w["organizations"] = "[\"org_1\"]".into();
        let r = read(&w).unwrap();
        assert!(!r.blocked);
        assert_eq!(r.email_verified, Some(true));
        assert_eq!(r.organizations, ["org_1"]);
        w["email_verified"] = 0.into();
        assert_eq!(read(&w).unwrap().email_verified, Some(false));

        w["blocked"] = 2.into();
        assert_eq!(
            read(&w).unwrap_err().to_string(),
            "field `blocked`: expected true, false, 0 or 1"
        );
        w["blocked"] = serde_json::Value::Null;
        assert!(read(&w).is_err(), "blocked is NOT NULL");
        let mut w = v.clone();
        w["logins_count"] = "0".into();
        assert_eq!(
            read(&w).unwrap_err().to_string(),
            "field `logins_count`: expected an integer"
        );
        let mut w = v;
        w.as_object_mut().unwrap().remove("created_at");
        assert_eq!(
            read(&w).unwrap_err().to_string(),
            "field `created_at`: expected a string"
        );
    }

    #[test]
    fn the_upper_sentinel_sorts_after_timestamps() {
        assert!("2999-12-31T23:59:59.999Z" < AFTER_ALL_TIMES);
    }

    #[test]
    fn viewer_input_is_bound_never_spliced_into_sql() {
        let q = UsersQuery {
            limit: 10,
            connection: Some("x'); DROP TABLE users;--".into()),
            search: Some("o'brien".into()),
            organization: Some("org_1".into()),
            inactive_before: Some("2025-01-01".into()),
            after: Some(Position {
                key: "k'".into(),
                user_id: "u'".into(),
            }),
            sort: Sort {
                key: SortKey::LastLogin,
                desc: true,
            },
            ..UsersQuery::default()
        };
        let (sql, args) = list_users_sql(&q);
        assert!(!sql.contains("DROP"), "{sql}");
        assert!(!sql.contains("brien") && !sql.contains("org_1"), "{sql}");
        assert_eq!(args.len(), 7);
        assert!(
            sql.contains("ORDER BY COALESCE(last_login, '') DESC, user_id DESC LIMIT ?7"),
            "{sql}"
        );
        assert!(sql.contains("(COALESCE(last_login, '') < ?5 OR (COALESCE(last_login, '') = ?5 AND user_id < ?6))"), "{sql}");
    }

    #[test]
    fn status_filters_pick_the_right_states() {
        let sql = |status| {
            list_users_sql(&UsersQuery {
                limit: 1,
                status,
                ..UsersQuery::default()
            })
            .0
        };
        assert!(
            sql(StatusFilter::Current).contains("WHERE removed_at IS NULL ORDER BY user_id ASC")
        );
        assert!(sql(StatusFilter::Blocked).contains("blocked = 1"));
        assert!(sql(StatusFilter::Removed).contains("removed_at IS NOT NULL"));
        assert!(!sql(StatusFilter::All).contains("FROM users WHERE"));
    }
}
