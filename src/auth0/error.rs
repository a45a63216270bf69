//! What can go wrong talking to Auth0, each with a message a license viewer can act on.

use std::fmt;

/// Where, in Auth0's console, scopes are granted to the sync's app.
pub const GRANT_PATH: &str =
    "Auth0 → Applications → APIs → Auth0 Management API → Machine to Machine Applications";

/// A failed Auth0 call, after any retries. `Display` is the message stored in the sync history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth0Error {
    /// The token endpoint refused the client credentials (401).
    InvalidCredentials {
        /// Auth0's `error` code, e.g. `access_denied` or `invalid_client`.
        code: String,
    },
    /// The app has no grant for the Management API, or the audience is wrong (403 at the token).
    NotAuthorizedForApi {
        /// Auth0's `error_description`.
        description: String,
    },
    /// A fresh token was still refused (401 from the API).
    TokenRejected {
        /// Auth0's message.
        message: String,
    },
    /// The token lacks a scope (403 `insufficient_scope`).
    MissingScope {
        /// The scope Auth0 asked for, e.g. `read:users`.
        scope: String,
    },
    /// Any other 403.
    Forbidden {
        /// Auth0's message.
        message: String,
    },
    /// 429s went on past the retry budget.
    RateLimited {
        /// How many 429s this request met.
        retries: u32,
    },
    /// 5xx, timeouts or unreadable bodies went on past the retry budget.
    Unavailable {
        /// The last failure, e.g. `HTTP 503` or `invalid JSON`.
        last: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A 4xx that retrying cannot fix (bad query, paging past the cap, unknown id).
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Auth0's `errorCode`, if any.
        code: Option<String>,
        /// Auth0's message.
        message: String,
    },
    /// A bulk export job ended without a file, or took too long.
    Export {
        /// What happened.
        detail: String,
    },
    /// The run's request budget is spent; the rest waits for the next invocation.
    BudgetSpent,
}

impl Auth0Error {
    /// True for a 403 for a scope: the caller may degrade instead of failing.
    pub fn missing_scope(&self) -> Option<&str> {
        match self {
            Self::MissingScope { scope } => Some(scope),
            _ => None,
        }
    }
}

impl fmt::Display for Auth0Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCredentials { code } => write!(
                f,
                "Auth0 refused the client credentials (401 {code}). Check that AUTH0_CLIENT_ID and \
                 AUTH0_CLIENT_SECRET are the Machine-to-Machine app's, that AUTH0_DOMAIN is the bare \
                 tenant domain (tenant.us.auth0.com, not https://…), and that the app is enabled."
            ),
            Self::NotAuthorizedForApi { description } => write!(
                f,
                "Auth0 refused a Management API token (403): {description}. Authorize the app in \
                 {GRANT_PATH} and grant read:users, read:organizations and read:organization_members; \
                 check that AUTH0_DOMAIN is the tenant's own domain."
            ),
            Self::TokenRejected { message } => write!(
                f,
                "Auth0 rejected a freshly issued token (401: {message}). The app's grant may have \
                 been revoked mid-run; check the app in {GRANT_PATH}."
            ),
            Self::MissingScope { scope } => write!(
                f,
                "Auth0 answered 403 insufficient_scope: grant {scope} to the M2M app in {GRANT_PATH}."
            ),
            Self::Forbidden { message } => write!(f, "Auth0 answered 403 Forbidden: {message}"),
            Self::RateLimited { retries } => write!(
                f,
                "Auth0 kept answering 429 Too Many Requests ({retries} retries). The sync stopped \
                 and stored data is unchanged; it resumes on the next run. If this repeats, lower \
                 AUTH0_RATE_LIMIT_PER_SECOND or check what else uses the tenant's Management API quota."
            ),
            Self::Unavailable { last, attempts } => write!(
                f,
                "Auth0 did not answer usefully after {attempts} attempts (last: {last}). Stored data \
                 is unchanged; the next run tries again."
            ),
            Self::Rejected {
                status,
                code,
                message,
            } => match code {
                Some(code) => write!(f, "Auth0 rejected a request ({status} {code}): {message}"),
                None => write!(f, "Auth0 rejected a request ({status}): {message}"),
            },
            Self::Export { detail } => write!(f, "Auth0 user export job failed: {detail}"),
            Self::BudgetSpent => f.write_str("this invocation's Auth0 request budget is spent"),
        }
    }
}

impl std::error::Error for Auth0Error {}
