//! The bearer tokens that Auth0's pushes present: `EVENT_STREAM_TOKEN` and `LOG_STREAM_TOKEN`.

use std::fmt;

use super::lookup::{ConfigError, Settings, setting, too_short};

/// The shortest `EVENT_STREAM_TOKEN` accepted: the route is open to the internet, so the
/// token must not be guessable.
pub(super) const MIN_EVENT_STREAM_TOKEN: usize = 16;

/// `EVENT_STREAM_TOKEN`: the bearer token Auth0 Event Streams send to `POST /api/auth0/events`.
/// Its value never shows in `Debug`.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::config::EventStreamToken;
/// fn same(a: &EventStreamToken, b: &EventStreamToken) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct EventStreamToken(String);

impl EventStreamToken {
    /// Reads `EVENT_STREAM_TOKEN`. Unset or blank is `Ok(None)`: the route then refuses everyone.
    ///
    /// # Errors
    /// A value shorter than [`MIN_EVENT_STREAM_TOKEN`] characters (the route refuses everyone,
    /// saying so).
    pub(crate) fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        Self::named(settings, "EVENT_STREAM_TOKEN")
    }

    /// Reads the stream secret `name` (`EVENT_STREAM_TOKEN`, `LOG_STREAM_TOKEN`) by the same
    /// rules.
    ///
    /// # Errors
    /// As [`Self::from_settings`].
    pub(crate) fn named(
        settings: &impl Settings,
        name: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(value) = setting(settings, name) else {
            return Ok(None);
        };
        if value.chars().count() < MIN_EVENT_STREAM_TOKEN {
            return Err(too_short(name, MIN_EVENT_STREAM_TOKEN));
        }
        Ok(Some(Self(value)))
    }

    /// The token, for the one place that compares with it (`auth::token_match`).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EventStreamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventStreamToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests;
