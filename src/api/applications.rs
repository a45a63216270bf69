//! The application routes: `/api/applications[/{client_id}[/users]]`, their CSV exports and
//! pages. Who can reach an application is the store's rule; usage comes from the log tables.

use super::json;
use super::params::{self, Params, decode_cursor, encode_cursor};
use super::viewer::Viewer;
use super::{ApiError, ApiRequest, ApiResponse, CSV, Handled};
use crate::render;
pub use crate::render::applications::{Coverage, NotEnabled};
use crate::store::StoreError;
use crate::store::applications::{
    Activity, AppSummary, AppUser, AppUsersQuery, SqlRunner, app_users, gaps, list_apps, scopes,
};
use crate::sync::applications::{OPTIONAL_SCOPES, not_enabled_message};
use crate::time::{EpochMs, iso_from_ms};

/// The application routes.
#[derive(Debug, PartialEq, Eq)]
pub enum AppRoute {
    /// `GET /api/applications`.
    List,
    /// `GET /api/applications/{client_id}`.
    One(String),
    /// `GET /api/applications/{client_id}/users`.
    Users(String),
    /// `GET /applications.csv`.
    ListCsv,
    /// `GET /applications/{client_id}/users.csv`.
    UsersCsv(String),
    /// `GET /applications`.
    ListPage,
    /// `GET /applications/{client_id}`.
    Page(String),
}

impl AppRoute {
    /// Whether the route is a page (a browser without a session goes to the login form).
    pub fn is_page(&self) -> bool {
        matches!(self, Self::ListPage | Self::Page(_))
    }
}

/// The route for `path` (already without a trailing `/`), if it is an application route.
pub fn route(path: &str) -> Option<Result<AppRoute, ApiError>> {
    let id = |raw: &str| super::path_id("client_id", raw);
    let seg = super::segment;
    Some(match path {
        "/api/applications" => Ok(AppRoute::List),
        "/applications" => Ok(AppRoute::ListPage),
        "/applications.csv" => Ok(AppRoute::ListCsv),
        _ => {
            if let Some(rest) = path.strip_prefix("/api/applications/") {
                match rest.strip_suffix("/users").and_then(seg) {
                    Some(raw) => id(raw).map(AppRoute::Users),
                    None => id(seg(rest)?).map(AppRoute::One),
                }
            } else if let Some(rest) = path.strip_prefix("/applications/") {
                match rest.strip_suffix("/users.csv").and_then(seg) {
                    Some(raw) => id(raw).map(AppRoute::UsersCsv),
                    None => id(seg(rest)?).map(AppRoute::Page),
                }
            } else {
                return None;
            }
        }
    })
}

/// Reads what is not enabled and the usage gaps.
///
/// # Errors
/// A storage failure.
pub async fn coverage<S: SqlRunner>(store: &S) -> Result<Coverage, ApiError> {
    let states = scopes(store).await.map_err(ApiError::Store)?;
    let not_enabled = OPTIONAL_SCOPES
        .iter()
        .filter(|s| states.iter().any(|st| st.scope == **s && st.granted == 0))
        .map(|s| NotEnabled {
            scope: (*s).to_string(),
            message: not_enabled_message(s),
        })
        .collect();
    let usage_gaps = gaps(store).await.map_err(ApiError::Store)?;
    Ok(Coverage {
        not_enabled,
        usage_gaps,
    })
}

/// The 30- and 90-day cut-offs.
pub(super) fn cutoffs(now: EpochMs) -> [String; 2] {
    [30u64, 90].map(|d| iso_from_ms(now.saturating_sub(d * 86_400_000)))
}

fn bad(name: &'static str, problem: &str) -> ApiError {
    ApiError::BadParam {
        name,
        problem: problem.into(),
    }
}

/// Parses `/api/applications/{id}/users` parameters.
///
/// # Errors
/// The first malformed parameter, by name.
pub fn users_query(client_id: &str, query: &str, now: EpochMs) -> Result<AppUsersQuery, ApiError> {
    let p = Params::parse(query)?;
    let activity = match p.get("activity")? {
        None => Activity::Any,
        Some("active_30d") => Activity::Active30,
        Some("active_90d") => Activity::Active90,
        Some("inactive_90d") => Activity::Inactive90,
        Some("never") => Activity::Never,
        Some(_) => {
            return Err(bad(
                "activity",
                "must be active_30d, active_90d, inactive_90d or never",
            ));
        }
    };
    let after = match p.get("cursor")? {
        None => None,
        Some(c) => Some(
            decode_cursor(c)
                .filter(|s| s.starts_with('>'))
                .ok_or_else(|| {
                    bad(
                        "cursor",
                        "not a cursor this API issued; start again without it",
                    )
                })?,
        ),
    }
    .map(|s| s.get(1..).unwrap_or_default().to_string());
    let search = match p.get("q")? {
        Some(v) if v.chars().count() > 200 => {
            return Err(bad("q", "must be at most 200 characters"));
        }
        // Unicode, as `search_text` is stored (see `params::users_query`).
        other => other.map(crate::lowercase::lowercase),
    };
    Ok(AppUsersQuery {
        client_id: client_id.to_string(),
        limit: params::limit(query, 100, 1000)?,
        after,
        activity,
        search,
        cutoffs: cutoffs(now),
    })
}

/// One page of an application's users and the next cursor.
///
/// # Errors
/// A storage failure.
pub async fn users_page<S: SqlRunner>(
    store: &S,
    q: &AppUsersQuery,
) -> Result<(Vec<AppUser>, Option<String>), ApiError> {
    let more = AppUsersQuery {
        limit: q.limit + 1,
        ..q.clone()
    };
    let mut page = app_users(store, &more).await.map_err(ApiError::Store)?;
    if page.len() <= q.limit as usize {
        return Ok((page, None));
    }
    page.truncate(q.limit as usize);
    let next = page
        .last()
        .map(|u| encode_cursor(&format!(">{}", u.user_id)));
    Ok((page, next))
}

/// One page of `/applications/{id}/users.csv`'s rows and the query for the next page, if any.
/// The runtime streams these chunks after the header; tests join them (`users_csv_export`).
///
/// # Errors
/// A storage failure.
pub(super) async fn users_csv_chunk<S: SqlRunner>(
    store: &S,
    q: &AppUsersQuery,
) -> Result<(String, Option<AppUsersQuery>), ApiError> {
    let (users, next) = users_page(store, q).await?;
    let next = next.and(users.last()).map(|last| AppUsersQuery {
        after: Some(last.user_id.clone()),
        ..q.clone()
    });
    Ok((render::applications::users_csv_rows(&users), next))
}

/// `/applications/{id}/users.csv`, read a page of its query's `limit` at a time.
#[derive(Debug, Clone, Copy)]
pub struct AppUsersCsv;

impl<S: SqlRunner> super::csv_pages::CsvExport<S> for AppUsersCsv {
    type Query = AppUsersQuery;

    fn header(&self) -> String {
        render::applications::users_csv_header()
    }

    async fn page(
        &self,
        store: &S,
        q: &AppUsersQuery,
    ) -> Result<(String, Option<AppUsersQuery>), StoreError> {
        users_csv_chunk(store, q).await.map_err(|e| match e {
            ApiError::Store(e) => e,
            // Not reached today (a page fails only in storage), but named if it ever is.
            other => StoreError {
                op: "read application users",
                detail: other.to_string(),
            },
        })
    }
}

/// `/applications/{id}/users.csv` as one string, in pages of `q.limit` (as the runtime streams it):
/// for tests.
///
/// # Errors
/// A storage failure.
#[cfg(test)]
pub(super) async fn users_csv_export<S: SqlRunner>(
    store: &S,
    q: &AppUsersQuery,
) -> Result<String, ApiError> {
    super::csv_pages::whole(&AppUsersCsv, store, q.clone())
        .await
        .map_err(ApiError::Store)
}

/// One application, or not found (unknown, removed, or M2M).
async fn one<S: SqlRunner>(store: &S, id: &str, now: EpochMs) -> Result<AppSummary, ApiError> {
    list_apps(store, &cutoffs(now), Some(id))
        .await
        .map_err(ApiError::Store)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// Answers an application route (the viewer is already known).
///
/// # Errors
/// Bad parameters, an unknown application, or a storage failure.
pub async fn answer<S: SqlRunner>(
    route: AppRoute,
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<Handled, ApiError> {
    let now = req.now_ms;
    let respond = |body: String| Ok(Handled::Respond(ApiResponse::json(200, body)));
    let csv = |body: String, name: &str| {
        let mut r = ApiResponse {
            status: 200,
            headers: Vec::new(),
            content_type: CSV,
            body,
        };
        r.headers.push((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ));
        Ok(Handled::Respond(r))
    };
    match route {
        AppRoute::List => {
            let applications = list_apps(store, &cutoffs(now), None)
                .await
                .map_err(ApiError::Store)?;
            let c = coverage(store).await?;
            respond(json::body(&json::Applications::new(&applications, &c)))
        }
        AppRoute::One(id) => {
            let application = one(store, &id, now).await?;
            let c = coverage(store).await?;
            respond(json::body(&json::Application::new(&application, &c)))
        }
        AppRoute::Users(id) => {
            let q = users_query(&id, req.query, now)?;
            one(store, &id, now).await?;
            let (users, next_cursor) = users_page(store, &q).await?;
            respond(json::body(&json::UsersPage {
                users: &users,
                next_cursor: next_cursor.as_deref(),
            }))
        }
        AppRoute::ListCsv => {
            let apps = list_apps(store, &cutoffs(now), None)
                .await
                .map_err(ApiError::Store)?;
            csv(render::applications::apps_csv(&apps), "applications.csv")
        }
        AppRoute::UsersCsv(id) => {
            let mut q = users_query(&id, req.query, now)?;
            one(store, &id, now).await?;
            q.limit = super::CSV_PAGE;
            Ok(Handled::AppUsersCsv(q))
        }
        AppRoute::ListPage => {
            let apps = list_apps(store, &cutoffs(now), None)
                .await
                .map_err(ApiError::Store)?;
            let c = coverage(store).await?;
            Ok(Handled::Respond(ApiResponse::html(
                200,
                render::applications::list_page(
                    &viewer.label(),
                    viewer.has_session(),
                    &apps,
                    &c,
                    now,
                ),
            )))
        }
        AppRoute::Page(id) => {
            let app = one(store, &id, now).await?;
            let c = coverage(store).await?;
            // A bad filter shows its message above an unfiltered table.
            let (q, error) = match users_query(&id, req.query, now) {
                Ok(q) => (q, None),
                Err(e) => (users_query(&id, "", now)?, Some(e.to_string())),
            };
            let (users, next) = users_page(store, &q).await?;
            let activity = Params::parse(req.query)
                .unwrap_or_default()
                .raw("activity")
                .to_string();
            Ok(Handled::Respond(ApiResponse::html(
                200,
                render::applications::app_page(&render::applications::AppPage {
                    viewer: &viewer.label(),
                    session: viewer.has_session(),
                    app: &app,
                    coverage: &c,
                    users: &users,
                    next_cursor: next.as_deref(),
                    activity: &activity,
                    error: error.as_deref(),
                    now,
                }),
            )))
        }
    }
}
