//! Who may see the viewer routes: `VIEWER_TOKEN`, `SESSION_SECRET` and, from `access`,
//! Cloudflare Access.

use std::fmt;

use super::access::AccessConfig;
use super::lookup::{ConfigError, Settings, setting, too_short};
use super::streams::MIN_EVENT_STREAM_TOKEN;

/// The shortest `VIEWER_TOKEN` accepted, as for the stream tokens: it opens every viewer route
/// from the internet, so it must not be guessable (`ADMIN_TOKEN` takes the same floor).
pub const MIN_VIEWER_TOKEN: usize = MIN_EVENT_STREAM_TOKEN;

/// The bearer token that license viewers present. Unset or too short: viewers are refused.
/// Comparable only through [`ViewerToken::matches`], never with `==`:
///
/// ```compile_fail
/// # use auth0_license_sync::config::ViewerToken;
/// fn same(a: &ViewerToken, b: &ViewerToken) -> bool {
///     a == b // no `PartialEq`: a short-circuiting comparison would leak the token by timing
/// }
/// ```
///
/// ```
/// # use auth0_license_sync::auth::session::{SessionKey, SessionSigner};
/// # use auth0_license_sync::config::{ClientSecret, EventStreamToken, SessionSecret, ViewerToken};
/// // The secrets' comparisons that do exist (and the paths the `compile_fail` tests use).
/// fn same(a: &ViewerToken, presented: &str) -> bool {
///     a.matches(presented)
/// }
/// fn pushed(a: &EventStreamToken, presented: &str) -> bool {
///     a.matches(presented)
/// }
/// fn others(_: &ClientSecret, _: &SessionSecret, _: &SessionSigner, _: &SessionKey) {}
/// ```
#[derive(Clone)]
pub struct ViewerToken(String);

impl ViewerToken {
    /// Reads `VIEWER_TOKEN`; an empty value counts as unset (`Ok(None)`), so a blank secret
    /// cannot open the API.
    ///
    /// # Errors
    /// A value shorter than [`MIN_VIEWER_TOKEN`] characters: every viewer route then refuses
    /// everyone, naming the setting.
    pub(crate) fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        let Some(value) = setting(settings, "VIEWER_TOKEN") else {
            return Ok(None);
        };
        if value.chars().count() < MIN_VIEWER_TOKEN {
            return Err(too_short("VIEWER_TOKEN", MIN_VIEWER_TOKEN));
        }
        Ok(Some(Self(value)))
    }

    /// The token, for the one place that derives session keys from it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    // `matches` lives in `auth::token_match`, beside the other constant-time comparisons.
}

impl fmt::Debug for ViewerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerToken(<redacted>)")
    }
}

/// `SESSION_SECRET`: an optional key for session cookies, independent of `VIEWER_TOKEN`.
/// Its value never shows in `Debug`.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::config::SessionSecret;
/// fn same(a: &SessionSecret, b: &SessionSecret) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// Reads `SESSION_SECRET`; an empty value counts as unset.
    pub(crate) fn from_settings(settings: &impl Settings) -> Option<Self> {
        settings
            .get("SESSION_SECRET")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(Self)
    }

    /// The secret, for the one place that keys the session MAC with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// Everything that decides who may see the viewer routes, read once per request.
#[derive(Debug, Clone)]
pub struct ViewerConfig {
    /// `VIEWER_TOKEN`: unset (`Ok(None)`), set, or too short (the error names it; viewer routes
    /// then refuse everyone, saying so).
    pub token: Result<Option<ViewerToken>, ConfigError>,
    /// `SESSION_SECRET`, if set.
    pub session_secret: Option<SessionSecret>,
    /// Cloudflare Access: off (`Ok(None)`), on, or half configured (the error names the missing
    /// setting; viewer routes then refuse everyone, saying so).
    pub access: Result<Option<AccessConfig>, ConfigError>,
}

impl ViewerConfig {
    /// Reads the viewer settings. Never fails as a whole: each part carries its own outcome.
    pub(crate) fn from_settings(settings: &impl Settings) -> Self {
        Self {
            token: ViewerToken::from_settings(settings),
            session_secret: SessionSecret::from_settings(settings),
            access: AccessConfig::from_settings(settings),
        }
    }
}

#[cfg(test)]
mod tests;
