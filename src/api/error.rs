//! Errors a viewer can get, each with its HTTP status. Internal detail stays in the logs.

use std::fmt;

use crate::auth::origin::CrossSite;
use crate::config::ConfigError;
use crate::store::StoreError;

/// A request the API cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No or wrong bearer token.
    Unauthorized,
    /// `VIEWER_TOKEN` is not configured: every viewer is refused.
    ViewerTokenUnset,
    /// `VIEWER_TOKEN` is set but unusable (too short): every viewer is refused, and told why.
    ViewerTokenInvalid(ConfigError),
    /// A Cloudflare Access assertion failed verification.
    AccessDenied(String),
    /// Only one of the two Access settings is set; names the missing one.
    AccessMisconfigured(ConfigError),
    /// A state-changing request a browser sent from another site (cookies are not enough).
    CrossSite(CrossSite),
    /// A parameter is malformed.
    BadParam {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// No such route.
    NotFound,
    /// The route exists, not with this method.
    MethodNotAllowed,
    /// A sync is already running.
    SyncRunning,
    /// Storage failed; the detail is logged by the runtime.
    Store(StoreError),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::ViewerTokenUnset | Self::ViewerTokenInvalid(_) => 503,
            Self::AccessDenied(_) | Self::AccessMisconfigured(_) | Self::CrossSite(_) => 403,
            Self::BadParam { .. } => 400,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::SyncRunning => 409,
            Self::Store(_) => 500,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized => {
                f.write_str("unauthorized: send Authorization: Bearer <VIEWER_TOKEN>")
            }
            Self::ViewerTokenUnset => f.write_str(
                "viewer access is closed because VIEWER_TOKEN is not set: run \
                 `npx wrangler secret put VIEWER_TOKEN` (locally, add VIEWER_TOKEN=… to .dev.vars)",
            ),
            Self::ViewerTokenInvalid(e) => write!(
                f,
                "viewer access is closed because {} {}",
                e.setting, e.problem
            ),
            Self::AccessDenied(why) => write!(f, "Cloudflare Access token rejected: {why}"),
            Self::AccessMisconfigured(e) => write!(
                f,
                "viewer access is closed because Cloudflare Access is half configured: {} {}",
                e.setting, e.problem
            ),
            Self::CrossSite(e) => e.fmt(f),
            Self::BadParam { name, problem } => write!(f, "bad parameter `{name}`: {problem}"),
            Self::NotFound => f.write_str("not found"),
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::SyncRunning => {
                f.write_str("a sync is already running; its progress is in GET /api/sync-runs")
            }
            Self::Store(_) => f.write_str("internal error: the database could not be read"),
        }
    }
}

impl std::error::Error for ApiError {}
