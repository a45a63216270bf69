//! Sync limits: pacing against Auth0's rate limit, per-invocation budgets and how often a full
//! listing runs.

use super::auth0::Auth0Config;
use super::lookup::{ConfigError, Settings};

/// Auth0 requests per invocation unless set: under the Paid plan's 1,000 subrequests, with room
/// for the Access keys and other fetches.
const DEFAULT_MAX_AUTH0_REQUESTS: u32 = 950;
/// D1 queries per invocation unless set: under the Paid plan's 1,000.
pub(super) const DEFAULT_MAX_D1_QUERIES: u32 = 950;

/// Optional tuning of the sync, from vars. Unset means: pace by Auth0's rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SyncLimits {
    /// `AUTH0_RATE_LIMIT_PER_SECOND`: requests per second to stay under.
    pub rate_per_second: Option<f64>,
    /// `AUTH0_RATE_LIMIT_BURST`: requests that may go at once.
    pub burst: Option<u32>,
    /// `SYNC_MAX_AUTH0_REQUESTS`: Auth0 requests per invocation (Workers' subrequest limit).
    pub max_auth0_requests: Option<u32>,
    /// `SYNC_MAX_D1_QUERIES`: D1 queries per invocation.
    pub max_d1_queries: Option<u32>,
    /// `FULL_SYNC_INTERVAL_HOURS`: a full listing at least this often, incremental runs between
    /// (24 when unset; 0, and `Default`, which tests use: every run is a full listing).
    pub full_sync_interval_hours: u32,
    /// `INCREMENTAL_OVERLAP_SECONDS`: how far before the last proven listing's start an
    /// incremental run reaches back (300 when unset).
    pub incremental_overlap_seconds: u32,
    /// `FULL_SYNC_AUTO_MAX_REQUESTS`: without a deletion signal, every run is a full listing
    /// while one costs at most this many Auth0 requests, else one runs hourly (200 when unset).
    pub full_sync_auto_max_requests: u32,
}

/// The default of `FULL_SYNC_INTERVAL_HOURS`.
const DEFAULT_FULL_SYNC_INTERVAL_HOURS: u32 = 24;
/// The default of `FULL_SYNC_AUTO_MAX_REQUESTS`: 100 users a page, so a full listing of about
/// 20,000 users.
pub const DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS: u32 = 200;
/// The default of `INCREMENTAL_OVERLAP_SECONDS`: far more than the search index's lag (seconds)
/// and any clock skew, for a few more users listed a tick.
pub const DEFAULT_INCREMENTAL_OVERLAP_SECONDS: u32 = 300;

/// A setting's number in `min..=max`, read by `read` (`str::parse` for counts,
/// [`crate::decimal::parse`] for a rate); `range` says the bounds in the error.
fn optional_number<T: PartialOrd>(
    settings: &impl Settings,
    name: &'static str,
    read: impl Fn(&str) -> Option<T>,
    (min, max): (T, T),
    range: &str,
    example: &str,
) -> Result<Option<T>, ConfigError> {
    let Some(raw) = settings.get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match read(raw.trim()) {
        Some(v) if v >= min && v <= max => Ok(Some(v)),
        _ => Err(ConfigError {
            setting: name,
            problem: format!(
                "`{}` is not a number from {range}; set it like {name}={example} in \
                 wrangler.toml [vars] (or .dev.vars), or remove it",
                raw.trim()
            ),
        }),
    }
}

fn count(text: &str) -> Option<u32> {
    text.parse().ok()
}

impl SyncLimits {
    /// Reads the optional limits.
    ///
    /// # Errors
    /// A value that is not a number in range, by name.
    fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            rate_per_second: optional_number(
                settings,
                "AUTH0_RATE_LIMIT_PER_SECOND",
                crate::decimal::parse,
                (0.1, 1000.0),
                "0.1 to 1000",
                "2",
            )?,
            burst: optional_number(
                settings,
                "AUTH0_RATE_LIMIT_BURST",
                count,
                (1, 1000),
                "1 to 1000",
                "2",
            )?,
            max_auth0_requests: Some(
                optional_number(
                    settings,
                    "SYNC_MAX_AUTH0_REQUESTS",
                    count,
                    (20, 100_000),
                    "20 to 100000",
                    "45",
                )?
                .unwrap_or(DEFAULT_MAX_AUTH0_REQUESTS),
            ),
            max_d1_queries: Some(
                optional_number(
                    settings,
                    "SYNC_MAX_D1_QUERIES",
                    count,
                    (20, 100_000),
                    "20 to 100000",
                    "45",
                )?
                .unwrap_or(DEFAULT_MAX_D1_QUERIES),
            ),
            full_sync_interval_hours: optional_number(
                settings,
                "FULL_SYNC_INTERVAL_HOURS",
                count,
                (0, 8760),
                "0 to 8760 (0: every sync lists the whole tenant)",
                "24",
            )?
            .unwrap_or(DEFAULT_FULL_SYNC_INTERVAL_HOURS),
            incremental_overlap_seconds: optional_number(
                settings,
                "INCREMENTAL_OVERLAP_SECONDS",
                count,
                (0, 86_400),
                "0 to 86400",
                "300",
            )?
            .unwrap_or(DEFAULT_INCREMENTAL_OVERLAP_SECONDS),
            full_sync_auto_max_requests: optional_number(
                settings,
                "FULL_SYNC_AUTO_MAX_REQUESTS",
                count,
                (0, 1_000_000),
                "0 to 1000000 (0: without a deletion signal, a full listing every hour)",
                "200",
            )?
            .unwrap_or(DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS),
        })
    }
}

/// What a sync needs from the settings.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How to reach Auth0.
    pub auth0: Auth0Config,
    /// Pacing and per-invocation budgets.
    pub limits: SyncLimits,
}

impl SyncSettings {
    /// Reads the Auth0 settings, then the limits.
    ///
    /// # Errors
    /// The first setting that is missing or malformed, by name.
    pub fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            auth0: Auth0Config::from_settings(settings)?,
            limits: SyncLimits::from_settings(settings)?,
        })
    }
}

#[cfg(test)]
mod tests;
