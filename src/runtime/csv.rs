//! Streams the CSV exports from D1 a chunk at a time (`api::csv_pages` decides the chunks), so a
//! large tenant's export never sits in memory whole.

use futures_util::stream::{self, LocalBoxStream, StreamExt};
use worker::{Response, Result, console_error};

use crate::api::csv_pages::{CsvExport, chunk};
use crate::api::{CSV, SECURITY_HEADERS, content_security_policy};
use crate::runtime::d1::D1Store;

/// The streamed response of `export` from its `first` page on, named `filename`.
///
/// # Errors
/// Only if the response cannot be built at all.
pub fn csv_response<X>(
    export: X,
    store: D1Store,
    first: X::Query,
    filename: &str,
) -> Result<Response>
where
    X: CsvExport<D1Store> + 'static,
    X::Query: 'static,
{
    let pages = stream::unfold(Some((export, store, first, true)), |state| async move {
        let (export, store, q, is_first) = state?;
        let c = chunk(&export, &store, &q, is_first).await;
        if let Some(e) = &c.failure {
            console_error!("{}: {}", e.op, e.detail);
        }
        let next = c.next.map(|n| (export, store, n, false));
        Some((Ok::<Vec<u8>, worker::Error>(c.text.into_bytes()), next))
    });
    csv_stream(pages.boxed_local(), filename)
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
