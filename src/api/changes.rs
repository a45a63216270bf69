//! The change history for viewers: `GET /api/changes`, `/changes.csv` and the `/changes` page.

use super::params::{Params, decode_cursor, encode_cursor};
use super::{ApiError, ApiRequest, ApiResponse, Viewer};
use crate::changes::EventType;
use crate::render;
use crate::store::{ChangePosition, ChangeRecord, ChangeView, ChangesQuery};
use crate::time::{iso_from_ms, ms_from_iso};

fn bad(name: &'static str, problem: impl Into<String>) -> ApiError {
    ApiError::BadParam {
        name,
        problem: problem.into(),
    }
}

/// An instant parameter in its canonical form (the form stored times have, so they compare).
fn instant(p: &Params, name: &'static str) -> Result<Option<String>, ApiError> {
    p.get(name)?
        .map(|v| {
            ms_from_iso(v).map(iso_from_ms).ok_or_else(|| {
                bad(
                    name,
                    "must be an ISO-8601 UTC date or instant, e.g. 2026-01-31 or \
                     2026-01-31T09:00:00Z",
                )
            })
        })
        .transpose()
}

/// Parses `/api/changes` (and `/changes`, `/changes.csv`) parameters.
///
/// # Errors
/// The first malformed parameter, by name.
pub fn changes_query(
    query: &str,
    default_limit: u32,
    max_limit: u32,
) -> Result<ChangesQuery, ApiError> {
    let p = Params::parse(query)?;
    let since = instant(&p, "since")?;
    let until = instant(&p, "until")?;
    if let (Some(s), Some(u)) = (&since, &until)
        && s >= u
    {
        return Err(bad("until", "must be after since"));
    }
    let kind = match p.get("type")? {
        None => None,
        Some(t) => Some(EventType::parse(t).ok_or_else(|| {
            let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            bad("type", format!("must be one of {}", names.join(", ")))
        })?),
    };
    let after = match p.get("cursor")? {
        None => None,
        Some(c) => Some(
            decode_cursor(c)
                .and_then(|json| read_position(&json))
                .filter(|pos| ms_from_iso(&pos.at).is_some())
                .ok_or_else(|| {
                    bad(
                        "cursor",
                        "not a cursor this API issued; start again without it",
                    )
                })?,
        ),
    };
    let limit = match p.get("limit")? {
        None => default_limit,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max_limit).contains(n))
            .ok_or_else(|| {
                bad(
                    "limit",
                    format!("must be a whole number from 1 to {max_limit}"),
                )
            })?,
    };
    Ok(ChangesQuery {
        limit,
        after,
        since,
        until,
        kind,
        user_id: p.get("user_id")?.map(str::to_string),
        client_id: p.get("client_id")?.map(str::to_string),
    })
}

/// The cursor for the page after `last`: `{"at":…,"id":…}`, hex-encoded.
pub fn cursor_after(last: &ChangeRecord) -> String {
    encode_cursor(&super::json::body(&last.position()))
}

/// A cursor's position, read field by field (no serde derive on wasm).
fn read_position(text: &str) -> Option<ChangePosition> {
    let v = crate::fields::parse(text).ok()?;
    let f = crate::fields::Fields::of(&v).ok()?;
    Some(ChangePosition {
        at: f.string("at").ok()?,
        id: f.i64("id").ok()?,
    })
}

/// One page of changes and the cursor for the next, if any.
///
/// # Errors
/// A storage failure.
pub(super) async fn changes_page<S: ChangeView>(
    store: &S,
    q: &ChangesQuery,
) -> Result<(Vec<ChangeRecord>, Option<String>), ApiError> {
    let mut page = store
        .list_changes(&q.fetch_one_more())
        .await
        .map_err(ApiError::Store)?;
    if page.len() <= q.limit as usize {
        return Ok((page, None));
    }
    page.truncate(q.limit as usize);
    let next = page.last().map(cursor_after);
    Ok((page, next))
}

/// `GET /api/changes`.
///
/// # Errors
/// A bad parameter or a storage failure.
pub async fn api<S: ChangeView>(req: &ApiRequest<'_>, store: &S) -> Result<ApiResponse, ApiError> {
    let q = changes_query(req.query, 100, 1000)?;
    let (changes, next_cursor) = changes_page(store, &q).await?;
    Ok(ApiResponse::json(
        200,
        super::json::body(&super::json::ChangesPage {
            changes: &changes,
            next_cursor: next_cursor.as_deref(),
        }),
    ))
}

/// Rows per page of `/changes.csv`.
pub const CSV_PAGE: u32 = 1000;

/// `/changes.csv`, read a page of [`CSV_PAGE`] changes at a time.
#[derive(Debug, Clone, Copy)]
pub struct ChangesCsv;

impl<S: ChangeView> super::csv_pages::CsvExport<S> for ChangesCsv {
    type Query = ChangesQuery;

    fn header(&self) -> String {
        render::changes::csv_header()
    }

    async fn page(
        &self,
        store: &S,
        q: &ChangesQuery,
    ) -> Result<(String, Option<ChangesQuery>), crate::store::StoreError> {
        let changes = store.list_changes(q).await?;
        // A short page is the last; a full one may be followed by an empty one.
        let next = changes
            .last()
            .filter(|_| changes.len() == q.limit as usize)
            .map(|last| ChangesQuery {
                after: Some(last.position()),
                ..q.clone()
            });
        Ok((render::changes::csv_rows(&changes), next))
    }
}

/// The first page's query of `/changes.csv` filtered by `query`.
pub fn csv_query(query: ChangesQuery) -> ChangesQuery {
    ChangesQuery {
        limit: CSV_PAGE,
        ..query
    }
}

/// `/changes.csv` as one string, page after page (the runtime streams the same chunks): for tests.
///
/// # Errors
/// A storage failure.
#[cfg(test)]
pub(super) async fn csv_export<S: ChangeView>(
    store: &S,
    query: &ChangesQuery,
) -> Result<String, ApiError> {
    super::csv_pages::whole(&ChangesCsv, store, csv_query(query.clone()))
        .await
        .map_err(ApiError::Store)
}

/// The `/changes` page: a bad filter shows its message above the unfiltered history.
///
/// # Errors
/// A storage failure.
pub async fn page<S: ChangeView>(
    req: &ApiRequest<'_>,
    store: &S,
    viewer: &Viewer,
) -> Result<ApiResponse, ApiError> {
    let p = Params::parse(req.query).unwrap_or_default();
    let filters = render::changes::Filters {
        since: p.raw("since").to_string(),
        until: p.raw("until").to_string(),
        kind: p.raw("type").to_string(),
        client_id: p.raw("client_id").to_string(),
        user_id: p.raw("user_id").to_string(),
    };
    let (query, error) = match changes_query(req.query, 100, 500) {
        Ok(q) => (q, None),
        Err(e) => (
            ChangesQuery {
                limit: 100,
                ..ChangesQuery::default()
            },
            Some(e.to_string()),
        ),
    };
    let (changes, next_cursor) = changes_page(store, &query).await?;
    Ok(ApiResponse::html(
        200,
        render::changes::page(&render::changes::ChangesPage {
            viewer: &viewer.label(),
            session: viewer.has_session(),
            filters: &filters,
            error: error.as_deref(),
            changes: &changes,
            next_cursor: next_cursor.as_deref(),
            paged: query.after.is_some(),
            now: req.now_ms,
        }),
    ))
}
