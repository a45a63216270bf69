//! Auth0's own activity figures (`read:stats`, an optional scope): users active in the last 30
//! days, and daily login and signup counts. Shown beside the MAU ledger, never folded into it:
//! the definitions differ (`mau::compare`).
//!
//! `GET /api/v2/stats/active-users` answers a bare number; `GET /api/v2/stats/daily?from=&to=`
//! (days as `YYYYMMDD`) an array of `{date, logins, signups, leaked_passwords, …}` that counts
//! events, not unique users.

use std::fmt;

use serde_json::Value;

use super::client::Auth0Client;
use super::error::Auth0Error;
use crate::clock::Clock;
use crate::fields::{FieldError, Fields};
use crate::http::{HttpClient, encode_component};
use crate::time::{EpochMs, iso_from_ms};

/// The scope both endpoints need.
pub const SCOPE: &str = "read:stats";
/// The active-users path.
pub const ACTIVE_USERS_PATH: &str = "/api/v2/stats/active-users";

/// One day of Auth0's daily stats. Absent or mistyped counts are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyStats {
    /// The day as Auth0 wrote it (ISO-8601).
    pub date: String,
    /// Successful logins that day (events, not users).
    pub logins: Option<u64>,
    /// Signups that day.
    pub signups: Option<u64>,
    /// Logins with a breached password detected.
    pub leaked_passwords: Option<u64>,
}

/// Why the stats could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// The app was not granted `read:stats`: the page shows the feature as not enabled.
    NotEnabled,
    /// Any other failure.
    Auth0(Auth0Error),
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotEnabled => write!(f, "not enabled: grant {SCOPE}"),
            Self::Auth0(e) => e.fmt(f),
        }
    }
}

impl From<Auth0Error> for StatsError {
    fn from(e: Auth0Error) -> Self {
        match e.missing_scope() {
            Some(s) if s.contains(SCOPE) => Self::NotEnabled,
            _ => Self::Auth0(e),
        }
    }
}

/// A whole, non-negative count: an integer, or a float with no fraction.
fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        let f = v.as_f64()?;
        // 2^64 as a double: anything at or past it does not fit.
        (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
    })
}

/// The active-users answer: a bare number.
fn read_active(v: &Value) -> Result<u64, FieldError> {
    count(v).ok_or(FieldError::new("", "a count of active users"))
}

/// The daily answer: an array of day objects; items without a text `date` are skipped, counts
/// of another type are `None`.
fn read_daily(v: &Value) -> Result<Vec<DailyStats>, FieldError> {
    let items = v
        .as_array()
        .ok_or(FieldError::new("", "an array of daily stats"))?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let f = Fields::of(item).ok()?;
            let n = |k: &str| f.get(k).and_then(count);
            Some(DailyStats {
                date: f.get("date")?.as_str()?.to_string(),
                logins: n("logins"),
                signups: n("signups"),
                leaked_passwords: n("leaked_passwords"),
            })
        })
        .collect())
}

/// A UTC day as the daily endpoint wants it: `YYYYMMDD`.
pub fn day(ms: EpochMs) -> String {
    iso_from_ms(ms)
        .chars()
        .take(10)
        .filter(|c| *c != '-')
        .collect()
}

/// The daily path for the days from `from` to `to` (inclusive).
pub fn daily_path(from: EpochMs, to: EpochMs) -> String {
    format!(
        "/api/v2/stats/daily?from={}&to={}",
        encode_component(&day(from)),
        encode_component(&day(to))
    )
}

/// Users active in the last 30 days, by Auth0's count.
///
/// # Errors
/// [`StatsError::NotEnabled`] without `read:stats`; else [`StatsError::Auth0`].
pub async fn active_users<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<u64, StatsError> {
    Ok(client.get(ACTIVE_USERS_PATH, read_active).await?)
}

/// Auth0's daily stats from `from` to `to` (inclusive, UTC days).
///
/// # Errors
/// [`StatsError::NotEnabled`] without `read:stats`; else [`StatsError::Auth0`].
pub async fn daily<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    from: EpochMs,
    to: EpochMs,
) -> Result<Vec<DailyStats>, StatsError> {
    Ok(client.get(&daily_path(from, to), read_daily).await?)
}

#[cfg(test)]
mod tests;
