//! Streams `/applications/{client_id}/users.csv` from D1 a page at a time, so a large tenant's
//! export never sits in memory whole.

use futures_util::stream::{self, LocalBoxStream, StreamExt};
use worker::{Response, Result, console_error};

use crate::api::applications::users_csv_chunk;
use crate::api::{CSV, SECURITY_HEADERS, content_security_policy};
use crate::render::applications::users_csv_header;
use crate::store::applications::AppUsersQuery;
use crate::store::d1::D1Store;

/// The streamed response for `query` (its filters; pages of its `limit`).
///
/// # Errors
/// Only if the response cannot be built at all.
pub fn csv_response(store: D1Store, query: AppUsersQuery) -> Result<Response> {
    let pages = stream::unfold(Some((store, query, true)), |state| async move {
        let (store, q, header) = state?;
        let mut chunk = if header {
            users_csv_header()
        } else {
            String::new()
        };
        match users_csv_chunk(&store, &q).await {
            Ok((rows, next)) => {
                chunk.push_str(&rows);
                Some((
                    Ok::<Vec<u8>, worker::Error>(chunk.into_bytes()),
                    next.map(|n| (store, n, false)),
                ))
            }
            Err(e) => {
                // Headers are already sent: end the file with a line saying it is incomplete.
                if let crate::api::ApiError::Store(e) = e {
                    console_error!("{}: {}", e.op, e.detail);
                }
                chunk.push_str("\"export incomplete: the database could not be read\"\r\n");
                Some((Ok(chunk.into_bytes()), None))
            }
        }
    });
    csv_stream(pages.boxed_local(), "application-users.csv")
}

/// A streamed CSV export's response. Boxed, so the runtime's stream plumbing (generic over the
/// stream) is compiled once for every export rather than once per export.
///
/// # Errors
/// Only if the response or a header cannot be built.
pub fn csv_stream(
    pages: LocalBoxStream<'static, Result<Vec<u8>>>,
    filename: &str,
) -> Result<Response> {
    let mut resp = Response::from_stream(pages)?;
    set_csv_headers(&mut resp, filename)?;
    Ok(resp)
}

/// The headers of a streamed CSV export: its type, file name, CSP and the security set.
/// One copy for every export (each stream's own code is generic, this part need not be).
///
/// # Errors
/// Only if a header cannot be set.
fn set_csv_headers(resp: &mut Response, filename: &str) -> Result<()> {
    let headers = resp.headers_mut();
    headers.set("content-type", CSV)?;
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    headers.set("content-security-policy", &content_security_policy(CSV))?;
    for (k, v) in SECURITY_HEADERS {
        headers.set(k, v)?;
    }
    Ok(())
}
