//! Who may change settings (issue 21): the `ADMIN_TOKEN` and `ADMIN_EMAILS` settings and the
//! admin-or-viewer decision for a request that already passed viewer authentication.

use std::fmt;

use crate::config::{ConfigError, MIN_VIEWER_TOKEN, Settings};

/// `ADMIN_TOKEN`: the bearer token (or the token a session was signed in with) that makes its
/// holder an admin. Its value never shows in `Debug`; no `PartialEq` (`==` would leak timing):
///
/// ```compile_fail
/// # use auth0_license_sync::auth::admin::AdminToken;
/// fn same(a: &AdminToken, b: &AdminToken) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct AdminToken(String);

impl AdminToken {
    /// Reads `ADMIN_TOKEN`; an empty value counts as unset, so a blank secret makes no admin.
    ///
    /// # Errors
    /// A value shorter than [`MIN_VIEWER_TOKEN`] characters, naming the setting.
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        let Some(value) = settings
            .get("ADMIN_TOKEN")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        if value.chars().count() < MIN_VIEWER_TOKEN {
            return Err(ConfigError {
                setting: "ADMIN_TOKEN",
                problem: format!(
                    "is shorter than {MIN_VIEWER_TOKEN} characters; set a random one with \
                     `openssl rand -hex 32 | npx wrangler secret put ADMIN_TOKEN`"
                ),
            });
        }
        Ok(Some(Self(value)))
    }

    /// The token, for the constant-time comparison in `auth::token_match`.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// `ADMIN_EMAILS`: Cloudflare Access identities that are admins; comma-separated, trimmed,
/// compared case-insensitively (email providers treat addresses so in practice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminEmails(Vec<String>);

impl AdminEmails {
    /// Reads `ADMIN_EMAILS`; unset or blank means no admin by email.
    pub fn from_settings(settings: &impl Settings) -> Self {
        Self::parse(settings.get("ADMIN_EMAILS").as_deref().unwrap_or(""))
    }

    /// Splits on commas, drops blanks, lowercases.
    pub fn parse(value: &str) -> Self {
        Self(
            value
                .split(',')
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        )
    }

    /// Whether `email` is listed (case-insensitively, surrounding spaces ignored).
    pub fn contains(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        !email.is_empty() && self.0.contains(&email)
    }
}

/// How a request that passed viewer authentication proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// An `Authorization: Bearer` token.
    Bearer(&'a str),
    /// A signed-in session; `admin` is whether it was signed in with `ADMIN_TOKEN`.
    Session { admin: bool },
    /// A verified Cloudflare Access identity.
    Access { email: &'a str },
}

/// What the request may do on the Settings page and API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Viewer,
}

/// Admin = holder of `ADMIN_TOKEN` (bearer or a session signed in with it) or a listed Access
/// email; everyone else who got this far is a viewer. Without `ADMIN_TOKEN` no bearer is admin.
pub fn role(credential: Credential<'_>, token: Option<&AdminToken>, emails: &AdminEmails) -> Role {
    let admin = match credential {
        Credential::Bearer(presented) => token.is_some_and(|t| t.matches(presented)),
        Credential::Session { admin } => admin,
        Credential::Access { email } => emails.contains(email),
    };
    if admin { Role::Admin } else { Role::Viewer }
}

#[cfg(test)]
mod tests;
