//! Seat counts for the dashboard and `/api/summary`: row types and SQL.

use serde::{Deserialize, Serialize};

/// Counts of users by state. `inactive_*` count users whose last login is older than that many
/// days, or who never logged in, as the `inactive_days` filter does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SeatCounts {
    /// Not marked removed (active + blocked).
    #[serde(deserialize_with = "count")]
    pub current: i64,
    /// Not removed and not blocked: the seats in use.
    #[serde(deserialize_with = "count")]
    pub active: i64,
    /// Blocked and not removed.
    #[serde(deserialize_with = "count")]
    pub blocked: i64,
    /// Marked removed from Auth0.
    #[serde(deserialize_with = "count")]
    pub removed: i64,
    /// Not removed and never logged in.
    #[serde(deserialize_with = "count")]
    pub never_logged_in: i64,
    /// Not removed, no login in 30 days.
    #[serde(deserialize_with = "count")]
    pub inactive_30: i64,
    /// Not removed, no login in 60 days.
    #[serde(deserialize_with = "count")]
    pub inactive_60: i64,
    /// Not removed, no login in 90 days.
    #[serde(deserialize_with = "count")]
    pub inactive_90: i64,
}

// SUM over no rows is NULL in SQL.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(0.0) as i64)
}

/// Users (not removed) per primary connection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConnectionCount {
    /// The connection; `None` for users without identities.
    pub connection: Option<String>,
    /// How many.
    pub users: i64,
}

/// All seat counts in one pass; `?1..?3` are the 30/60/90-day cut-offs.
pub const SEAT_COUNTS: &str = "SELECT \
     SUM(removed_at IS NULL) AS current, \
     SUM(removed_at IS NULL AND blocked = 0) AS active, \
     SUM(removed_at IS NULL AND blocked = 1) AS blocked, \
     SUM(removed_at IS NOT NULL) AS removed, \
     SUM(removed_at IS NULL AND last_login IS NULL) AS never_logged_in, \
     SUM(removed_at IS NULL AND (last_login IS NULL OR last_login < ?1)) AS inactive_30, \
     SUM(removed_at IS NULL AND (last_login IS NULL OR last_login < ?2)) AS inactive_60, \
     SUM(removed_at IS NULL AND (last_login IS NULL OR last_login < ?3)) AS inactive_90 \
     FROM users";

/// Users per connection, largest first.
pub const CONNECTION_COUNTS: &str = "SELECT connection, COUNT(*) AS users FROM users \
     WHERE removed_at IS NULL GROUP BY connection ORDER BY users DESC, connection";
