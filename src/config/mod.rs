//! Settings read once from the Worker's environment and validated into types.
//!
//! Validation is pure: it takes a lookup function, so the runtime passes `env.secret`/`env.var`
//! and tests pass a map. Every error names the setting and says how to fix it.
//!
//! One file per concern: `auth0` (credentials), `limits` (the sync's pacing and budgets),
//! `viewer` (who may see the viewer routes), `access` (Cloudflare Access) and `streams` (the
//! pushes' tokens); below them all, `lookup` (the `Settings` lookup and `ConfigError`). This
//! file holds the whole `Config` and re-exports each part, so `crate::config::X` names them all.

mod access;
mod auth0;
mod limits;
mod lookup;
mod streams;
mod viewer;

pub use access::{AccessAud, AccessConfig, AccessTeamUrl};
pub use auth0::{ApiBase, Auth0Config, Auth0Domain, ClientId, ClientSecret};
pub use limits::{
    DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS, DEFAULT_INCREMENTAL_OVERLAP_SECONDS, SyncLimits,
    SyncSettings,
};
pub use lookup::{ConfigError, Settings};
pub use streams::EventStreamToken;
pub use viewer::{MIN_VIEWER_TOKEN, SessionSecret, ViewerConfig, ViewerToken};

/// Every setting, read from the environment once per request or cron event.
#[derive(Debug, Clone)]
pub struct Config {
    /// Who may see the viewer routes.
    pub viewer: ViewerConfig,
    /// The sync's settings, or the first problem with them (recorded in the sync history).
    pub sync: Result<SyncSettings, ConfigError>,
    /// `EVENT_STREAM_TOKEN` for Auth0 Event Streams pushes: unset (`Ok(None)`) or unusable
    /// closes `POST /api/auth0/events` to everyone.
    pub event_stream_token: Result<Option<EventStreamToken>, ConfigError>,
    /// `LOG_STREAM_TOKEN` for Auth0 Log Stream pushes: unset or unusable closes
    /// `POST /api/auth0/log-stream` to everyone.
    pub log_stream_token: Result<Option<EventStreamToken>, ConfigError>,
}

impl Config {
    /// Reads and validates every setting.
    pub fn from_settings(settings: &impl Settings) -> Self {
        Self {
            viewer: ViewerConfig::from_settings(settings),
            sync: SyncSettings::from_settings(settings),
            event_stream_token: EventStreamToken::from_settings(settings),
            log_stream_token: EventStreamToken::named(settings, "LOG_STREAM_TOKEN"),
        }
    }
}

#[cfg(test)]
mod tests;
