//! The `users` table: its row types and SQL.

use serde::{Deserialize, Deserializer, Serialize};

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
    /// A hash of the fields above, to skip unchanged rows.
    pub fingerprint: String,
}

/// The part of a stored user the sync compares against.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredUser {
    /// Auth0's `user_id`.
    pub user_id: String,
    /// The stored fingerprint.
    pub fingerprint: String,
    /// When the user was found gone, if they are.
    pub removed_at: Option<String>,
}

/// A stored user as viewers see it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
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
    #[serde(deserialize_with = "json_list")]
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
    #[serde(deserialize_with = "int_bool")]
    pub blocked: bool,
    /// Email verified.
    #[serde(deserialize_with = "opt_int_bool")]
    pub email_verified: Option<bool>,
    /// When the sync first stored the user.
    pub first_seen_at: String,
    /// When a complete listing first lacked the user.
    pub removed_at: Option<String>,
}

// D1 hands booleans back as 0/1 and JSON columns as text.
fn int_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(f64::deserialize(d)? != 0.0)
}

fn opt_int_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(|v| v != 0.0))
}

fn json_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// Which users a viewer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersQuery {
    /// Page size.
    pub limit: u32,
    /// Users after this `user_id` (the cursor).
    pub after: Option<String>,
    /// Include users marked removed.
    pub include_removed: bool,
}

/// Columns viewers see, in order.
pub const USER_COLUMNS: &str = "user_id, email, name, connection, connections, last_login, \
     logins_count, created_at, updated_at, blocked, email_verified, first_seen_at, removed_at";

/// Bulk upsert from a JSON array (`?1`) of [`UserRow`]s; `?2` is now.
///
/// Rows whose fingerprint matches and that are not removed are left alone, so D1 bills nothing
/// for them; `first_seen_at` is kept on update.
pub const UPSERT_USERS: &str = "INSERT INTO users (user_id, email, name, connection, connections, \
     last_login, logins_count, created_at, updated_at, blocked, email_verified, fingerprint, \
     first_seen_at, removed_at) \
     SELECT j.value ->> '$.user_id', j.value ->> '$.email', j.value ->> '$.name', \
     j.value ->> '$.connection', j.value ->> '$.connections', j.value ->> '$.last_login', \
     j.value ->> '$.logins_count', j.value ->> '$.created_at', j.value ->> '$.updated_at', \
     j.value ->> '$.blocked', j.value ->> '$.email_verified', j.value ->> '$.fingerprint', ?2, NULL \
     FROM json_each(?1) AS j WHERE true \
     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
     connection = excluded.connection, connections = excluded.connections, \
     last_login = excluded.last_login, logins_count = excluded.logins_count, \
     created_at = excluded.created_at, updated_at = excluded.updated_at, \
     blocked = excluded.blocked, email_verified = excluded.email_verified, \
     fingerprint = excluded.fingerprint, removed_at = NULL \
     WHERE users.fingerprint IS NOT excluded.fingerprint OR users.removed_at IS NOT NULL";

/// Marks the users in a JSON array of ids (`?1`) removed at `?2`.
pub const MARK_REMOVED: &str = "UPDATE users SET removed_at = ?2 \
     WHERE removed_at IS NULL AND user_id IN (SELECT value FROM json_each(?1))";

/// Stored users created at or after `?1` and before `?2`.
pub const USERS_IN_GE_LT: &str = "SELECT user_id, fingerprint, removed_at FROM users \
     WHERE created_at >= ?1 AND created_at < ?2";
/// Stored users created after `?1` and before `?2`.
pub const USERS_IN_GT_LT: &str = "SELECT user_id, fingerprint, removed_at FROM users \
     WHERE created_at > ?1 AND created_at < ?2";
/// Stored users created at exactly `?1`.
pub const USERS_IN_EQ: &str =
    "SELECT user_id, fingerprint, removed_at FROM users WHERE created_at = ?1";

/// An upper bound above every ISO-8601 timestamp, for open-ended ranges.
pub const AFTER_ALL_TIMES: &str = "~";

/// A page of users after the cursor, `?1` = cursor ('' for none), `?2` = include removed (0/1), `?3` = limit.
pub const LIST_USERS: &str = "SELECT user_id, email, name, connection, connections, last_login, \
     logins_count, created_at, updated_at, blocked, email_verified, first_seen_at, removed_at \
     FROM users WHERE user_id > ?1 AND (?2 = 1 OR removed_at IS NULL) ORDER BY user_id LIMIT ?3";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_d1_integers_as_booleans_and_json_text_as_lists() {
        let r: UserRecord = serde_json::from_value(serde_json::json!({
            "user_id": "a", "email": null, "name": "A", "connection": "c",
            "connections": "[\"c\",\"d\"]", "last_login": null, "logins_count": 0,
            "created_at": "t", "updated_at": null, "blocked": 1, "email_verified": null,
            "first_seen_at": "f", "removed_at": null
        }))
        .unwrap();
        assert!(r.blocked);
        assert_eq!(r.email_verified, None);
        assert_eq!(r.connections, ["c", "d"]);
    }

    #[test]
    fn the_upper_sentinel_sorts_after_timestamps() {
        assert!("2999-12-31T23:59:59.999Z" < AFTER_ALL_TIMES);
        assert!(USER_COLUMNS.split(", ").all(|c| LIST_USERS.contains(c)));
    }
}
