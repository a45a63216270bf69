//! Who is asking: a Cloudflare Access identity, the viewer bearer token, or a session cookie.
//! Everything but `/healthz` and the login form requires one of them (fail closed).

use super::{ApiError, ApiRequest};
use crate::auth::access::Identity;
use crate::auth::session::{COOKIE_NAME, SessionSigner, cookie_value, verify};
use crate::config::{ConfigError, SessionSecret, ViewerConfig, ViewerToken};
use crate::store::SessionStore;

/// The outcome of checking the `Cf-Access-Jwt-Assertion` header, done by the runtime.
#[derive(Debug, Clone)]
pub enum AccessOutcome {
    /// Cloudflare Access is not configured.
    Off,
    /// Only one of `ACCESS_TEAM_DOMAIN` / `ACCESS_AUD` is set: everyone is refused, and told
    /// which setting is missing.
    Misconfigured(ConfigError),
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
    /// `VIEWER_TOKEN`, if set and usable.
    pub token: Option<&'a ViewerToken>,
    /// Why `VIEWER_TOKEN` is unusable (too short), if it is: every viewer route is then closed.
    pub token_problem: Option<&'a ConfigError>,
    /// `SESSION_SECRET`, if set.
    pub session_secret: Option<&'a SessionSecret>,
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

impl<'a> ViewerAuth<'a> {
    /// The viewer settings and the Access check's outcome.
    pub fn new(config: &'a ViewerConfig, access: AccessOutcome) -> Self {
        let (token, token_problem) = match &config.token {
            Ok(token) => (token.as_ref(), None),
            Err(e) => (None, Some(e)),
        };
        Self {
            token,
            token_problem,
            session_secret: config.session_secret.as_ref(),
            access,
        }
    }

    /// What signs sessions; none without a viewer token, so removing it ends every session.
    fn signer(&self) -> Option<SessionSigner> {
        self.token
            .map(|token| SessionSigner::new(token, self.session_secret))
    }

    /// An unusable `VIEWER_TOKEN` or half-configured Access closes every viewer route (and the
    /// login form), even to Access users: a setting that is wrong is fixed before anyone gets in.
    ///
    /// # Errors
    /// [`ApiError::ViewerTokenInvalid`] or [`ApiError::AccessMisconfigured`], naming the setting.
    pub fn check_config(&self) -> Result<(), ApiError> {
        if let Some(e) = self.token_problem {
            return Err(ApiError::ViewerTokenInvalid(e.clone()));
        }
        match &self.access {
            AccessOutcome::Misconfigured(e) => Err(ApiError::AccessMisconfigured(e.clone())),
            _ => Ok(()),
        }
    }

    /// Identifies the viewer. Reads the session epoch only when a session cookie is presented.
    ///
    /// # Errors
    /// As [`Self::check_config`]; [`ApiError::AccessDenied`] for a rejected Access token,
    /// [`ApiError::ViewerTokenUnset`] when no way in is configured, [`ApiError::Store`] if the
    /// epoch cannot be read, [`ApiError::Unauthorized`] otherwise.
    pub async fn identify<S: SessionStore>(
        &self,
        req: &ApiRequest<'_>,
        sessions: &S,
    ) -> Result<Viewer, ApiError> {
        self.check_config()?;
        match &self.access {
            AccessOutcome::Verified(id) => {
                return Ok(Viewer::Access {
                    email: id.email.clone(),
                });
            }
            AccessOutcome::Rejected(why) => return Err(ApiError::AccessDenied(why.clone())),
            // Misconfigured Access was refused by `check_config` above.
            AccessOutcome::Off | AccessOutcome::Absent | AccessOutcome::Misconfigured(_) => {}
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
        if let (Some(signer), Some(cookies)) = (self.signer(), req.cookie)
            && let Some(value) = cookie_value(cookies, COOKIE_NAME)
        {
            let epoch = sessions.session_epoch().await.map_err(ApiError::Store)?;
            if verify(&signer.key(epoch), value, req.now_ms) {
                return Ok(Viewer::Session);
            }
        }
        Err(if closed {
            ApiError::ViewerTokenUnset
        } else {
            ApiError::Unauthorized
        })
    }
}
