//! Who is asking: a Cloudflare Access identity, the viewer bearer token, or a session cookie.
//! Everything but `/healthz` and the login form requires one of them (fail closed).

use super::{ApiError, ApiRequest};
use crate::auth::access::Identity;
use crate::auth::session::{COOKIE_NAME, SessionKey, cookie_value, verify};
use crate::config::ViewerToken;

/// The outcome of checking the `Cf-Access-Jwt-Assertion` header, done by the runtime.
#[derive(Debug, Clone)]
pub enum AccessOutcome {
    /// Cloudflare Access is not configured.
    Off,
    /// Configured, but the request carries no assertion.
    Absent,
    /// A valid assertion.
    Verified(Identity),
    /// An assertion that failed verification; the message is safe to show.
    Rejected(String),
}

/// What the API checks viewers against.
#[derive(Debug)]
pub struct ViewerAuth<'a> {
    /// `VIEWER_TOKEN`, if set.
    pub token: Option<&'a ViewerToken>,
    /// The key session cookies are signed with, if sessions are possible.
    pub session_key: Option<&'a SessionKey>,
    /// The Access check's outcome.
    pub access: AccessOutcome,
}

/// An identified viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Presented the bearer token.
    Token,
    /// Has a session cookie from the login form.
    Session,
    /// Came through Cloudflare Access.
    Access {
        /// The viewer's email, as Access asserts it.
        email: Option<String>,
    },
}

impl Viewer {
    /// How pages name the viewer.
    pub fn label(&self) -> String {
        match self {
            Self::Token => "viewer token".into(),
            Self::Session => "signed in with the viewer token".into(),
            Self::Access { email } => email
                .clone()
                .unwrap_or_else(|| "Cloudflare Access user".into()),
        }
    }

    /// Whether a "Log out" makes sense.
    pub fn has_session(&self) -> bool {
        matches!(self, Self::Session)
    }
}

impl ViewerAuth<'_> {
    /// Identifies the viewer.
    ///
    /// # Errors
    /// [`ApiError::AccessDenied`] for a bad Access assertion, [`ApiError::ViewerTokenUnset`] when
    /// no way in is configured, [`ApiError::Unauthorized`] otherwise.
    pub fn identify(&self, req: &ApiRequest<'_>) -> Result<Viewer, ApiError> {
        match &self.access {
            AccessOutcome::Verified(id) => {
                return Ok(Viewer::Access {
                    email: id.email.clone(),
                });
            }
            AccessOutcome::Rejected(why) => return Err(ApiError::AccessDenied(why.clone())),
            AccessOutcome::Off | AccessOutcome::Absent => {}
        }
        let closed = self.token.is_none() && matches!(self.access, AccessOutcome::Off);
        if let Some(header) = req.authorization {
            let token = self.token.ok_or(if closed {
                ApiError::ViewerTokenUnset
            } else {
                ApiError::Unauthorized
            })?;
            let presented = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .map_or("", str::trim);
            return if token.matches(presented) {
                Ok(Viewer::Token)
            } else {
                Err(ApiError::Unauthorized)
            };
        }
        if let (Some(key), Some(cookies)) = (self.session_key, req.cookie)
            && let Some(value) = cookie_value(cookies, COOKIE_NAME)
            && verify(key, value, req.now_ms)
        {
            return Ok(Viewer::Session);
        }
        Err(if closed {
            ApiError::ViewerTokenUnset
        } else {
            ApiError::Unauthorized
        })
    }
}
