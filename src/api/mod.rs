//! The viewer API and pages as plain Rust: routing, viewer identity, parameters and rendering.
//!
//! The runtime turns a Workers request into an [`ApiRequest`], calls [`handle`], and turns the
//! [`ApiResponse`] back. Some routes need the runtime itself: `POST /api/sync`
//! ([`Handled::RunSync`]) and the streamed CSV exports ([`Handled::Csv`] and the like).

pub mod applications;
pub mod changes;
pub mod csv_pages;
pub mod error;
pub mod json;
pub mod pages;
pub mod params;
pub mod push;
pub mod trends;
pub mod user_page;
pub mod viewer;

use crate::auth::origin::{RequestSite, check_same_origin};
use crate::store::applications::SqlRunner;
use crate::store::trends::TrendStore;
use crate::store::{
    ChangeView, ChangesQuery, RunRecord, SessionStore, UserRecord, UsersQuery, ViewStore,
};
use crate::sync::SyncResult;
use crate::time::{EpochMs, iso_from_ms};
pub use error::ApiError;
pub use viewer::{AccessOutcome, Viewer, ViewerAuth};

/// The parts of an HTTP request the API reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The path, without the query, still percent-encoded.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The body, for form posts (`/login`).
    pub body: &'a str,
    /// The current time, for relative filters and sessions.
    pub now_ms: EpochMs,
    /// Where the request says it comes from (`Origin`, `Sec-Fetch-Site`) and was sent.
    pub site: RequestSite<'a>,
    /// The sync's schedule settings: how soon a deletion shows depends on them.
    pub schedule: crate::sync::schedule::Schedule,
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

/// The content type of JSON answers.
pub const JSON: &str = "application/json; charset=utf-8";
/// The content type of pages.
pub const HTML: &str = "text/html; charset=utf-8";
/// The content type of the export.
pub const CSV: &str = "text/csv; charset=utf-8";

impl ApiResponse {
    /// A JSON answer, its text written by [`json`].
    pub fn json(status: u16, body: String) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: JSON,
            body,
        }
    }

    /// A page.
    pub fn html(status: u16, body: String) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: HTML,
            body,
        }
    }

    /// A redirect after a form post or to the login page.
    pub fn see_other(location: &str) -> Self {
        let mut r = Self::html(303, String::new());
        r.headers.push(("location", location.to_string()));
        r
    }

    /// The error's status and message; never internal detail.
    pub fn error(e: &ApiError) -> Self {
        let mut r = Self::json(e.status(), json::error(&e.to_string()));
        if matches!(e, ApiError::Unauthorized) {
            r.headers.push((
                "www-authenticate",
                "Bearer realm=\"auth0-license-sync\"".into(),
            ));
        }
        r
    }
}

/// Headers every answer carries, whatever its type.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

/// The Content-Security-Policy for a content type: pages may use only their hashed stylesheet.
pub fn content_security_policy(content_type: &str) -> String {
    if content_type == HTML {
        format!(
            "default-src 'none'; style-src '{}'; img-src 'none'; script-src 'none'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            pages::style_hash()
        )
    } else {
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'".to_string()
    }
}

/// What the runtime must do with a request.
#[derive(Debug)]
pub enum Handled {
    /// Send this.
    Respond(ApiResponse),
    /// Run a sync now (already authorized), then answer with [`sync_response`].
    RunSync,
    /// Stream the CSV export of this query (already authorized), page by page.
    Csv(UsersQuery),
    /// Stream `/changes.csv` for this query (already authorized), page by page.
    ChangesCsv(ChangesQuery),
    /// Stream `/applications/{client_id}/users.csv` (application known, already authorized),
    /// page by page.
    AppUsersCsv(crate::store::applications::AppUsersQuery),
    /// An Auth0 Event Streams delivery (`POST /api/auth0/events`): not a viewer route. The
    /// runtime authenticates it with `EVENT_STREAM_TOKEN`, reads its body and applies it
    /// (`push::events`), answering with [`push::response`].
    Auth0Events,
    /// An Auth0 Log Stream delivery (`POST /api/auth0/log-stream`): authenticated with
    /// `LOG_STREAM_TOKEN` and applied by the runtime (`push::log_stream`).
    Auth0LogStream,
}

/// The routes, parsed from the path.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Health,
    Dashboard,
    Runs,
    Login,
    Logout,
    Csv,
    Sync,
    Users,
    User(String),
    UserPage(String),
    Summary,
    SyncRuns,
    Organizations,
    Members(String),
    Changes,
    ChangesPage,
    ChangesCsv,
    Auth0Events,
    Auth0LogStream,
    Apps(applications::AppRoute),
    Trends,
}

/// One non-empty path segment.
fn segment(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty() && !s.contains('/'))
}

/// An id from a path segment, decoded apart from query strings: `+` is a literal there.
fn path_id(name: &'static str, raw: &str) -> Result<String, ApiError> {
    let bad = |problem: String| ApiError::BadParam { name, problem };
    let id = crate::http::decode_path_segment(raw).map_err(|e| bad(e.to_string()))?;
    if id.len() > params::MAX_VALUE {
        return Err(bad(format!("must be at most {} bytes", params::MAX_VALUE)));
    }
    Ok(id)
}

fn route(path: &str) -> Result<Route, ApiError> {
    let trimmed = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    Ok(match trimmed {
        "/" => Route::Dashboard,
        "/healthz" => Route::Health,
        "/runs" => Route::Runs,
        "/login" => Route::Login,
        "/logout" => Route::Logout,
        "/users.csv" => Route::Csv,
        "/api/sync" => Route::Sync,
        "/api/users" => Route::Users,
        "/api/summary" => Route::Summary,
        "/api/sync-runs" => Route::SyncRuns,
        "/api/organizations" => Route::Organizations,
        "/api/changes" => Route::Changes,
        "/changes" => Route::ChangesPage,
        "/changes.csv" => Route::ChangesCsv,
        crate::push::events::ROUTE => Route::Auth0Events,
        crate::push::log_stream::ROUTE => Route::Auth0LogStream,
        "/api/trends" => Route::Trends,
        _ => {
            if let Some(apps) = applications::route(trimmed) {
                Route::Apps(apps?)
            } else if let Some(id) = trimmed.strip_prefix("/api/users/").and_then(segment) {
                Route::User(path_id("user_id", id)?)
            } else if let Some(id) = trimmed.strip_prefix("/users/").and_then(segment) {
                Route::UserPage(path_id("user_id", id)?)
            } else {
                let id = trimmed
                    .strip_prefix("/api/organizations/")
                    .and_then(|rest| rest.strip_suffix("/members"))
                    .and_then(segment)
                    .ok_or(ApiError::NotFound)?;
                Route::Members(path_id("organization_id", id)?)
            }
        }
    })
}

/// Routes and answers a request.
pub async fn handle<S: ViewStore + SessionStore + ChangeView + SqlRunner + TrendStore>(
    req: &ApiRequest<'_>,
    store: &S,
    auth: &ViewerAuth<'_>,
) -> Handled {
    let route = match route(req.path) {
        Ok(route) => route,
        Err(e) => return Handled::Respond(ApiResponse::error(&e)),
    };
    // Auth0's pushes carry their own token and no browser headers: neither the viewer's
    // authentication nor the cross-site check applies to them.
    if route == Route::Auth0Events {
        return Handled::Auth0Events;
    }
    if route == Route::Auth0LogStream {
        return Handled::Auth0LogStream;
    }
    let get = matches!(req.method, "GET" | "HEAD");
    // Cookies (the session, Access's) ride along on any request a foreign page makes the browser
    // send; a bearer token never does, so only requests without one need to prove their origin.
    if !get
        && req.authorization.is_none()
        && let Err(e) = check_same_origin(&req.site)
    {
        return Handled::Respond(ApiResponse::error(&ApiError::CrossSite(e)));
    }
    let page_route = matches!(
        route,
        Route::Dashboard | Route::Runs | Route::Login | Route::ChangesPage | Route::UserPage(_)
    ) || matches!(&route, Route::Apps(r) if r.is_page());
    let viewer = match route {
        Route::Health if get => {
            return Handled::Respond(ApiResponse::json(200, "{\"ok\":true}".into()));
        }
        Route::Login => match auth.check_config() {
            Ok(()) => return Handled::Respond(pages::login(req, store, auth).await),
            Err(e) => Err(e),
        },
        Route::Logout if req.method == "POST" => {
            return Handled::Respond(pages::logout(req, store, auth).await);
        }
        _ => auth.identify(req, store).await,
    };
    let result = match viewer {
        Ok(viewer) => authorized(route, get, req, store, &viewer).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(h) => h,
        // A browser without a session goes to the login form, not to a JSON error.
        Err(ApiError::Unauthorized) if page_route => {
            Handled::Respond(ApiResponse::see_other("/login"))
        }
        Err(
            e @ (ApiError::ViewerTokenUnset
            | ApiError::ViewerTokenInvalid(_)
            | ApiError::AccessMisconfigured(_)),
        ) if page_route => Handled::Respond(ApiResponse::html(
            e.status(),
            crate::render::html::closed_page(&e.to_string()),
        )),
        Err(e) => Handled::Respond(ApiResponse::error(&e)),
    }
}

async fn authorized<S: ViewStore + ChangeView + SqlRunner + TrendStore>(
    route: Route,
    get: bool,
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<Handled, ApiError> {
    let respond = |body: String| Ok(Handled::Respond(ApiResponse::json(200, body)));
    match route {
        Route::Dashboard if get => Ok(Handled::Respond(
            pages::dashboard(req, store, viewer).await?,
        )),
        Route::Runs if get => Ok(Handled::Respond(pages::runs(req, store, viewer).await?)),
        Route::Sync if req.method == "POST" => Ok(Handled::RunSync),
        Route::Changes if get => Ok(Handled::Respond(changes::api(req, store).await?)),
        Route::ChangesPage if get => Ok(Handled::Respond(changes::page(req, store, viewer).await?)),
        Route::ChangesCsv if get => Ok(Handled::ChangesCsv(changes::changes_query(
            req.query,
            changes::CSV_PAGE,
            changes::CSV_PAGE,
        )?)),
        Route::Csv if get => Ok(Handled::Csv(params::users_query(req.query, req.now_ms)?)),
        Route::Users if get => {
            let q = params::users_query(req.query, req.now_ms)?;
            let (users, next_cursor) = users_page(store, &q).await?;
            respond(json::body(&json::UsersPage {
                users: &users,
                next_cursor: next_cursor.as_deref(),
            }))
        }
        Route::User(id) if get => match store.get_user(&id).await.map_err(ApiError::Store)? {
            Some(user) => {
                let apps = crate::store::applications::user_apps(store, &id)
                    .await
                    .map_err(ApiError::Store)?;
                respond(json::body(&json::UserWithApps {
                    user: &user,
                    applications: &apps,
                }))
            }
            None => Err(ApiError::NotFound),
        },
        Route::UserPage(id) if get => Ok(Handled::Respond(
            user_page::page(&id, req, store, viewer).await?,
        )),
        Route::Apps(r) if get => applications::answer(r, req, store, viewer).await,
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
            respond(json::body(&json::MembersPage {
                members: &members,
                next_cursor: next_cursor.as_deref(),
            }))
        }
        Route::Organizations if get => {
            let organizations = store.list_organizations().await.map_err(ApiError::Store)?;
            respond(json::body(&json::Organizations {
                organizations: &organizations,
            }))
        }
        Route::Summary if get => {
            respond(json::body(&summary(store, req.now_ms, req.schedule).await?))
        }
        // Written straight to text: no `Value` tree of a year of points.
        Route::Trends if get => respond(json::body(
            &trends::trends_json(store, req.query, req.now_ms).await?,
        )),
        Route::SyncRuns if get => {
            let limit = params::limit(req.query, 50, 500)?;
            let runs: Vec<RunRecord> = store.list_runs(limit).await.map_err(ApiError::Store)?;
            respond(json::body(&json::Runs { runs: &runs }))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// One page of users and the cursor for the next, if any.
///
/// # Errors
/// A storage failure.
pub async fn users_page<S: ViewStore>(
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

/// The seat counts and context the dashboard shows, as `/api/summary` serves them.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// Seats by state.
    pub counts: crate::store::SeatCounts,
    /// Users per primary connection.
    pub by_connection: Vec<crate::store::ConnectionCount>,
    /// Organizations with member counts.
    pub by_organization: Vec<crate::store::OrgRecord>,
    /// The newest run.
    pub last_sync: Option<RunRecord>,
    /// The newest run that stored a complete user listing (succeeded or partial).
    pub last_complete_sync: Option<RunRecord>,
    /// When these figures were read.
    pub generated_at: String,
    /// How soon a deletion in Auth0 shows here, why, and what would make it sooner.
    pub deletions: crate::sync::schedule::Outlook,
}

/// Runs the summary's queries.
///
/// # Errors
/// A storage failure.
pub async fn summary<S: ViewStore>(
    store: &S,
    now: EpochMs,
    schedule: crate::sync::schedule::Schedule,
) -> Result<Summary, ApiError> {
    let cutoffs = [30u64, 60, 90].map(|d| iso_from_ms(now.saturating_sub(d * 86_400_000)));
    let counts = store.seat_counts(&cutoffs).await.map_err(ApiError::Store)?;
    let by_connection = store.connection_counts().await.map_err(ApiError::Store)?;
    let by_organization = store.list_organizations().await.map_err(ApiError::Store)?;
    let facts = store.listing_facts().await.map_err(ApiError::Store)?;
    let mut runs = store.list_runs(50).await.map_err(ApiError::Store)?;
    // The hourly push rows are no sync: the summary speaks of listings.
    runs.retain(|r| r.kind != crate::store::RunKind::Push);
    let last_complete_sync = runs
        .iter()
        .find(|r| {
            matches!(
                r.status,
                crate::store::RunStatus::Succeeded | crate::store::RunStatus::Partial
            )
        })
        .cloned();
    Ok(Summary {
        counts,
        by_connection,
        by_organization,
        last_sync: runs.into_iter().next(),
        last_complete_sync,
        generated_at: iso_from_ms(now),
        deletions: crate::sync::schedule::outlook(schedule, &facts, now),
    })
}

/// `/users.csv`, read a page of [`CSV_PAGE`] users at a time.
#[derive(Debug, Clone, Copy)]
pub struct UsersCsv;

impl<S: ViewStore> csv_pages::CsvExport<S> for UsersCsv {
    type Query = UsersQuery;

    fn header(&self) -> String {
        crate::render::csv::header()
    }

    async fn page(
        &self,
        store: &S,
        q: &UsersQuery,
    ) -> Result<(String, Option<UsersQuery>), crate::store::StoreError> {
        let users = store.list_users(q).await?;
        // A short page is the last; a full one may be followed by an empty one.
        let next = users
            .last()
            .filter(|_| users.len() == q.limit as usize)
            .map(|last| UsersQuery {
                after: Some(params::position_of(q.sort, last)),
                ..q.clone()
            });
        Ok((crate::render::csv::rows(&users), next))
    }
}

/// The first page's query of `/users.csv` filtered by `query`.
pub fn users_csv_query(query: UsersQuery) -> UsersQuery {
    UsersQuery {
        limit: CSV_PAGE,
        ..query
    }
}

/// The CSV export as one string (the runtime streams the same chunks page by page): for tests.
///
/// # Errors
/// A storage failure.
#[cfg(test)]
async fn csv_export<S: ViewStore>(store: &S, query: &UsersQuery) -> Result<String, ApiError> {
    csv_pages::whole(&UsersCsv, store, users_csv_query(query.clone()))
        .await
        .map_err(ApiError::Store)
}

/// Rows per page of the CSV export: large pages, few queries, bounded memory.
pub const CSV_PAGE: u32 = 1000;

/// The answer to `POST /api/sync`.
pub fn sync_response(result: &Result<SyncResult, crate::store::StoreError>) -> ApiResponse {
    match result {
        Ok(SyncResult::Ran { run, .. }) => ApiResponse::json(200, json::body(&json::Run { run })),
        Ok(SyncResult::AlreadyRunning | SyncResult::Idle) => {
            ApiResponse::error(&ApiError::SyncRunning)
        }
        Err(e) => ApiResponse::error(&ApiError::Store(e.clone())),
    }
}

#[cfg(test)]
mod tests;
