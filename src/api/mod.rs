//! The viewer API as plain Rust: routing, viewer authentication, parameters and rendering.
//!
//! The runtime turns a Workers request into an [`ApiRequest`], calls [`handle`], and turns the
//! [`ApiResponse`] back; only `POST /api/sync` needs the runtime itself ([`Handled::RunSync`]).

pub mod error;
pub mod params;

use serde::Serialize;

use crate::config::ViewerToken;
use crate::store::{RunRecord, UserRecord, UsersQuery, ViewStore};
use crate::sync::SyncResult;
use crate::time::EpochMs;
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
    /// The current time, for relative filters such as `inactive_days`.
    pub now_ms: EpochMs,
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

/// The routes, parsed from the path.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Health,
    Sync,
    Users,
    SyncRuns,
    Organizations,
    Members(String),
}

fn route(path: &str) -> Option<Route> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Some(match path {
        "/healthz" => Route::Health,
        "/api/sync" => Route::Sync,
        "/api/users" => Route::Users,
        "/api/sync-runs" => Route::SyncRuns,
        "/api/organizations" => Route::Organizations,
        _ => {
            let id = path
                .strip_prefix("/api/organizations/")?
                .strip_suffix("/members")
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            Route::Members(params::percent_decode(id))
        }
    })
}

async fn answer<S: ViewStore>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: Option<&ViewerToken>,
) -> Result<Handled, ApiError> {
    let route = route(req.path).ok_or(ApiError::NotFound)?;
    if route == Route::Health {
        return Ok(Handled::Respond(ApiResponse::json(
            200,
            &serde_json::json!({"ok": true}),
        )));
    }
    authorize(viewer, req.authorization)?;
    let get = matches!(req.method, "GET" | "HEAD");
    let respond = |value: serde_json::Value| Ok(Handled::Respond(ApiResponse::json(200, &value)));
    match route {
        Route::Sync if req.method == "POST" => Ok(Handled::RunSync),
        Route::Users if get => {
            let q = params::users_query(req.query, req.now_ms)?;
            let (users, next_cursor) = users_page(store, &q).await?;
            respond(serde_json::json!({ "users": users, "next_cursor": next_cursor }))
        }
        Route::Members(id) if get => {
            if !store
                .organization_exists(&id)
                .await
                .map_err(ApiError::Store)?
            {
                return Err(ApiError::NotFound);
            }
            let mut q = params::users_query(req.query, req.now_ms)?;
            q.organization = Some(id);
            let (members, next_cursor) = users_page(store, &q).await?;
            respond(serde_json::json!({ "members": members, "next_cursor": next_cursor }))
        }
        Route::Organizations if get => {
            let organizations = store.list_organizations().await.map_err(ApiError::Store)?;
            respond(serde_json::json!({ "organizations": organizations }))
        }
        Route::SyncRuns if get => {
            let limit = params::limit(req.query, 50, 500)?;
            let runs: Vec<RunRecord> = store.list_runs(limit).await.map_err(ApiError::Store)?;
            respond(serde_json::json!({ "runs": runs }))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// One page of users and the cursor for the next, if any.
async fn users_page<S: ViewStore>(
    store: &S,
    q: &UsersQuery,
) -> Result<(Vec<UserRecord>, Option<String>), ApiError> {
    let mut page = store
        .list_users(&q.fetch_one_more())
        .await
        .map_err(ApiError::Store)?;
    if page.len() <= q.limit as usize {
        return Ok((page, None));
    }
    page.truncate(q.limit as usize);
    let next = page.last().map(|last| params::cursor_after(q.sort, last));
    Ok((page, next))
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

#[cfg(test)]
mod tests;
