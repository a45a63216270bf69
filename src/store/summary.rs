//! Seat counts for the dashboard and `/api/summary`: row types and SQL.

use serde::Serialize;

use super::row::FromRow;
use crate::fields::{FieldError, Fields};

/// Counts of users by state. `inactive_*` count users whose last login is older than that many
/// days, or who never logged in, as the `inactive_days` filter does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeatCounts {
    /// Not marked removed (active + blocked).
    pub current: i64,
    /// Not removed and not blocked: the seats in use.
    pub active: i64,
    /// Blocked and not removed.
    pub blocked: i64,
    /// Marked removed from Auth0.
    pub removed: i64,
    /// Not removed and never logged in.
    pub never_logged_in: i64,
    /// Not removed, no login in 30 days.
    pub inactive_30: i64,
    /// Not removed, no login in 60 days.
    pub inactive_60: i64,
    /// Not removed, no login in 90 days.
    pub inactive_90: i64,
}

impl FromRow for SeatCounts {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        // SUM over no rows is NULL in SQL.
        let count = |key| Ok::<_, FieldError>(row.opt_i64(key)?.unwrap_or(0));
        Ok(Self {
            current: count("current")?,
            active: count("active")?,
            blocked: count("blocked")?,
            removed: count("removed")?,
            never_logged_in: count("never_logged_in")?,
            inactive_30: count("inactive_30")?,
            inactive_60: count("inactive_60")?,
            inactive_90: count("inactive_90")?,
        })
    }
}

/// Users (not removed) per primary connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionCount {
    /// The connection; `None` for users without identities.
    pub connection: Option<String>,
    /// How many.
    pub users: i64,
}

impl FromRow for ConnectionCount {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            connection: row.opt_string("connection")?,
            users: row.i64("users")?,
        })
    }
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
