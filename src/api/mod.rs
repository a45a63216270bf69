//! The viewer API as plain Rust: routing, viewer authentication, parameters and rendering.
//!
//! The runtime turns a Workers request into an [`ApiRequest`], calls [`handle`], and turns the
//! [`ApiResponse`] back; only `POST /api/sync` needs the runtime itself ([`Handled::RunSync`]).

pub mod error;
pub mod params;

use serde::Serialize;

use crate::config::ViewerToken;
use crate::store::{RunRecord, UserRecord, ViewStore};
use crate::sync::SyncResult;
pub use error::ApiError;

/// The parts of an HTTP request the API reads.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers beyond the security set.
    pub headers: Vec<(&'static str, String)>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl ApiResponse {
    /// A JSON answer.
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: "application/json; charset=utf-8",
            body: serde_json::to_string(value).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// The error's status and message; never internal detail.
    pub fn error(e: &ApiError) -> Self {
        let mut r = Self::json(e.status(), &serde_json::json!({ "error": e.to_string() }));
        if matches!(e, ApiError::Unauthorized) {
            r.headers.push((
                "www-authenticate",
                "Bearer realm=\"auth0-license-sync\"".into(),
            ));
        }
        r
    }
}

/// Headers every answer carries.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    ("cache-control", "no-store"),
];

/// What the runtime must do with a request.
#[derive(Debug)]
pub enum Handled {
    /// Send this.
    Respond(ApiResponse),
    /// Run a sync now (already authorized), then answer with [`sync_response`].
    RunSync,
}

/// Routes and answers a request.
pub async fn handle<S: ViewStore>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: Option<&ViewerToken>,
) -> Handled {
    match answer(req, store, viewer).await {
        Ok(h) => h,
        Err(e) => Handled::Respond(ApiResponse::error(&e)),
    }
}

async fn answer<S: ViewStore>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: Option<&ViewerToken>,
) -> Result<Handled, ApiError> {
    let path = req.path.trim_end_matches('/');
    let known = ["/healthz", "/api/sync", "/api/users", "/api/sync-runs"];
    if !known.contains(&path) {
        return Err(ApiError::NotFound);
    }
    if path == "/healthz" {
        return Ok(Handled::Respond(ApiResponse::json(
            200,
            &serde_json::json!({"ok": true}),
        )));
    }
    authorize(viewer, req.authorization)?;
    match (req.method, path) {
        ("POST", "/api/sync") => Ok(Handled::RunSync),
        ("GET" | "HEAD", "/api/users") => {
            let q = params::users_query(req.query)?;
            let mut page = store
                .list_users(&q.fetch_one_more())
                .await
                .map_err(ApiError::Store)?;
            let next_cursor = (page.len() > q.limit as usize).then(|| {
                page.truncate(q.limit as usize);
                params::encode_cursor(&page[page.len() - 1].user_id)
            });
            Ok(Handled::Respond(ApiResponse::json(
                200,
                &UsersPage {
                    users: page,
                    next_cursor,
                },
            )))
        }
        ("GET" | "HEAD", "/api/sync-runs") => {
            let limit = params::limit(req.query, 50, 500)?;
            let runs = store.list_runs(limit).await.map_err(ApiError::Store)?;
            Ok(Handled::Respond(ApiResponse::json(200, &RunsPage { runs })))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Checks the viewer's bearer token. With no `VIEWER_TOKEN` set, everyone is refused.
///
/// # Errors
/// [`ApiError::ViewerTokenUnset`] or [`ApiError::Unauthorized`].
pub fn authorize(viewer: Option<&ViewerToken>, header: Option<&str>) -> Result<(), ApiError> {
    let token = viewer.ok_or(ApiError::ViewerTokenUnset)?;
    let presented = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    if token.matches(presented) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// The answer to `POST /api/sync`.
pub fn sync_response(result: &Result<SyncResult, crate::store::StoreError>) -> ApiResponse {
    match result {
        Ok(SyncResult::Ran { run, .. }) => {
            ApiResponse::json(200, &serde_json::json!({ "run": run }))
        }
        Ok(SyncResult::AlreadyRunning) => ApiResponse::error(&ApiError::SyncRunning),
        Err(e) => ApiResponse::error(&ApiError::Store(e.clone())),
    }
}

#[derive(Serialize)]
struct UsersPage {
    users: Vec<UserRecord>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct RunsPage {
    runs: Vec<RunRecord>,
}

#[cfg(test)]
mod tests;
