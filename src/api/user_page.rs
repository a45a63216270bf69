//! `GET /users/{user_id}`: the user detail page, the same data as `/api/users/{user_id}`.

use super::viewer::Viewer;
use super::{ApiError, ApiRequest, ApiResponse};
use crate::render::users::{UserPage, not_found_page, user_page};
use crate::store::ViewStore;
use crate::store::applications::{SqlRunner, user_apps};

/// The page, or a 404 page naming the problem for an unknown user.
///
/// # Errors
/// A storage failure.
pub async fn page<S: ViewStore + SqlRunner>(
    id: &str,
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<ApiResponse, ApiError> {
    let label = viewer.label();
    let Some(user) = store.get_user(id).await.map_err(ApiError::Store)? else {
        return Ok(ApiResponse::html(
            404,
            not_found_page(&label, viewer.has_session()),
        ));
    };
    let apps = user_apps(store, id).await.map_err(ApiError::Store)?;
    let coverage = super::applications::coverage(store).await?;
    Ok(ApiResponse::html(
        200,
        user_page(&UserPage {
            viewer: &label,
            session: viewer.has_session(),
            user: &user,
            apps: &apps,
            not_enabled: &coverage.not_enabled,
            now: req.now_ms,
        }),
    ))
}
