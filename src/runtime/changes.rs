//! Streams `/changes.csv` from D1 a page at a time, so a long history never sits in memory whole.

use futures_util::{StreamExt, stream};
use worker::{Response, Result, console_error};

use crate::api::changes::CSV_PAGE;
use crate::render::changes::{csv_header, csv_rows};
use crate::store::d1::D1Store;
use crate::store::{ChangeView, ChangesQuery};

/// The streamed response for `query` (its filters; pages of [`CSV_PAGE`]).
///
/// # Errors
/// Only if the response cannot be built at all.
pub fn csv_response(store: D1Store, query: ChangesQuery) -> Result<Response> {
    let first = ChangesQuery {
        limit: CSV_PAGE,
        ..query
    };
    let pages = stream::unfold(Some((store, Some(first), true)), |state| async move {
        let (store, query, header) = state?;
        let mut chunk = if header { csv_header() } else { String::new() };
        let q = query?;
        match store.list_changes(&q).await {
            Ok(changes) => {
                chunk.push_str(&csv_rows(&changes));
                let next = changes
                    .last()
                    .filter(|_| changes.len() == q.limit as usize)
                    .map(|last| ChangesQuery {
                        after: Some(last.position()),
                        ..q.clone()
                    });
                let more = next.is_some();
                Some((
                    Ok::<Vec<u8>, worker::Error>(chunk.into_bytes()),
                    more.then_some((store, next, false)),
                ))
            }
            Err(e) => {
                // Headers are already sent: end the file with a line saying it is incomplete.
                console_error!("{}: {}", e.op, e.detail);
                chunk.push_str("\"export incomplete: the database could not be read\"\r\n");
                Some((Ok(chunk.into_bytes()), None))
            }
        }
    });
    super::app_csv::csv_stream(pages.boxed_local(), "auth0-access-changes.csv")
}
