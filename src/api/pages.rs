//! The HTML routes: dashboard, sync history, login and logout.

use std::sync::OnceLock;

use super::{ApiError, ApiRequest, ApiResponse, ViewerAuth, params, users_page};
use crate::auth::encoding::base64_std;
use crate::auth::session::{SessionSigner, clear_cookie_header, issue, set_cookie_header};
use crate::auth::sha256::sha256;
use crate::render::html::{self, Dashboard, Filters};
use crate::store::trends::TrendStore;
use crate::store::{RunStatus, SessionStore, UsersQuery, ViewStore};

use super::viewer::Viewer;

/// `sha256-<base64>` of the inline stylesheet, for the CSP.
pub fn style_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| format!("sha256-{}", base64_std(&sha256(html::STYLE.as_bytes()))))
}

/// The table's filters as given, to echo them back in the form.
fn filters(query: &str) -> Filters {
    // An undecodable query echoes nothing; its error shows above the table.
    let p = params::Params::parse(query).unwrap_or_default();
    let get = |name: &str| p.raw(name).to_string();
    Filters {
        q: get("q"),
        status: get("status"),
        connection: get("connection"),
        organization: get("organization"),
        inactive_days: get("inactive_days"),
        never_logged_in: get("never_logged_in") == "true",
        sort: get("sort"),
        last_login_days: get("last_login_days"),
    }
}

/// The dashboard.
///
/// # Errors
/// A storage failure.
pub async fn dashboard<S: ViewStore + TrendStore>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<ApiResponse, ApiError> {
    let summary = super::summary(store, req.now_ms, req.schedule).await?;
    let f = filters(req.query);
    // A bad filter shows its message above an unfiltered table, rather than an error page.
    let (query, filter_error) = match params::users_query(req.query, req.now_ms) {
        Ok(q) => (q, None),
        Err(e) => (
            UsersQuery {
                limit: 100,
                ..UsersQuery::default()
            },
            Some(e.to_string()),
        ),
    };
    let (users, next_cursor) = users_page(store, &query).await?;
    let charts = super::trends::dashboard_charts(store, req.now_ms).await?;
    let last_good = summary.last_complete_sync.as_ref();
    let last_run = summary.last_sync.as_ref();
    let page = html::dashboard(&Dashboard {
        viewer: &viewer.label(),
        session: viewer.has_session(),
        counts: &summary.counts,
        connections: &summary.by_connection,
        organizations: &summary.by_organization,
        last_run,
        last_good_run: last_good
            .filter(|_| last_run.is_some_and(|r| r.status == RunStatus::Failed)),
        users: &users,
        next_cursor: next_cursor.as_deref(),
        paged: query.after.is_some(),
        filters: &f,
        filter_error: filter_error.as_deref(),
        now: req.now_ms,
        charts: &charts,
        deletions: &summary.deletions,
    });
    Ok(ApiResponse::html(200, page))
}

/// The sync history page.
///
/// # Errors
/// A storage failure.
pub async fn runs<S: ViewStore>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<ApiResponse, ApiError> {
    let runs = store.list_runs(200).await.map_err(ApiError::Store)?;
    Ok(ApiResponse::html(
        200,
        html::runs_page(&viewer.label(), viewer.has_session(), &runs, req.now_ms),
    ))
}

/// `GET /login` shows the form; `POST /login` checks the token and starts a session signed
/// under the current session epoch.
pub async fn login<S: SessionStore>(
    req: &ApiRequest<'_>,
    sessions: &S,
    auth: &ViewerAuth<'_>,
) -> ApiResponse {
    let Some(token) = auth.token else {
        return ApiResponse::html(
            503,
            html::closed_page(&ApiError::ViewerTokenUnset.to_string()),
        );
    };
    match req.method {
        "POST" => {
            // A body that does not decode presents no token.
            let form = params::Params::parse(req.body).unwrap_or_default();
            if !token.matches(form.raw("token").trim()) {
                return ApiResponse::html(
                    401,
                    html::login_page(Some("That is not the viewer token.")),
                );
            }
            let epoch = match sessions.session_epoch().await {
                Ok(epoch) => epoch,
                Err(e) => return ApiResponse::error(&ApiError::Store(e)),
            };
            let key = SessionSigner::new(token, auth.session_secret).key(epoch);
            let mut r = ApiResponse::see_other("/");
            r.headers
                .push(("set-cookie", set_cookie_header(&issue(&key, req.now_ms))));
            r
        }
        "GET" | "HEAD" => ApiResponse::html(200, html::login_page(None)),
        _ => ApiResponse::error(&ApiError::MethodNotAllowed),
    }
}

/// Whether `POST /logout` asks to end every session (`?everywhere=1`).
fn everywhere(query: &str) -> bool {
    params::pairs(query)
        .iter()
        .any(|(k, v)| k == "everywhere" && matches!(v.as_str(), "1" | "true"))
}

/// Ends this browser's session. With `?everywhere=1`, a signed-in viewer also ends every other
/// session, stolen cookies included, by bumping the session epoch.
pub async fn logout<S: SessionStore>(
    req: &ApiRequest<'_>,
    sessions: &S,
    auth: &ViewerAuth<'_>,
) -> ApiResponse {
    if everywhere(req.query) {
        // Only a viewer may sign everyone out; otherwise anyone could, at will.
        if let Err(e) = auth.identify(req, sessions).await {
            return ApiResponse::error(&e);
        }
        if let Err(e) = sessions.bump_session_epoch().await {
            return ApiResponse::error(&ApiError::Store(e));
        }
    }
    let mut r = ApiResponse::see_other("/login");
    r.headers.push(("set-cookie", clear_cookie_header()));
    r
}
