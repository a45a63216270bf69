//! Auth0's pushes on the Workers runtime: read a delivery's body (at most 1 MB, never more into
//! memory), apply it through `push::events` or `push::log_stream`, and log the outcome without
//! any header.

use futures_util::StreamExt;
use worker::{Request, console_error, console_log};

use crate::api::{self, ApiResponse};
use crate::config::Config;
use crate::push::events::{self, Body, Head, MAX_BODY_BYTES, PushError};
use crate::push::log_stream::{self, StreamError};
use crate::runtime::d1::D1Store;
use crate::store::runs::{PushTally, record_push};
use crate::time::EpochMs;

/// The body as it arrived.
enum Read {
    Bytes(Vec<u8>),
    TooLarge,
    Broken,
}

/// Reads at most `max` bytes. Past that it stops reading (the rest is never buffered) and says
/// so: a push over the limit is refused whole.
async fn read_capped(req: &mut Request, max: usize) -> Read {
    let Ok(mut chunks) = req.stream() else {
        return Read::Broken;
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return Read::Broken;
        };
        if bytes.len().saturating_add(chunk.len()) > max {
            return Read::TooLarge;
        }
        bytes.extend_from_slice(&chunk);
    }
    Read::Bytes(bytes)
}

/// The body of an admitted delivery, read as `push` reads it.
async fn body(req: &mut Request) -> Read {
    read_capped(req, MAX_BODY_BYTES).await
}

fn as_body(read: &Read) -> Body<'_> {
    match read {
        Read::Bytes(b) => Body::Bytes(b),
        Read::TooLarge => Body::TooLarge,
        Read::Broken => Body::Unreadable,
    }
}

/// Adds a stored delivery to the hour's push row of the sync history; a failure is only logged
/// (the delivery itself is stored).
async fn ledger(store: &D1Store, tally: &PushTally, now: EpochMs) {
    if let Err(e) = record_push(store, tally, now).await {
        console_error!("push not added to the sync history: {}: {}", e.op, e.detail);
    }
}

/// `POST /api/auth0/log-stream`: one Log Stream batch.
pub async fn auth0_log_stream(
    req: &mut Request,
    config: &Config,
    store: &D1Store,
    method: &str,
    authorization: Option<&str>,
    now: EpochMs,
) -> ApiResponse {
    let content_length = req.headers().get("content-length").ok().flatten();
    let head = Head {
        method,
        authorization,
        content_type: None,
        content_length: content_length.as_deref(),
    };
    let token = config.log_stream_token.as_ref().map(Option::as_ref);
    let result = match log_stream::admit(&head, token) {
        Err(e) => Err(e),
        Ok(()) => log_stream::ingest(as_body(&body(req).await), store, now).await,
    };
    // Counts only: the items, the Authorization header and the secret never reach a log.
    match &result {
        Ok(receipt) => {
            console_log!("{}", receipt.log_line());
            ledger(store, &receipt.tally(), now).await;
            ApiResponse::json(200, api::json::body(&receipt.answer()))
        }
        Err(e) => {
            if let StreamError::Store(s) = e {
                console_error!("auth0 log stream not stored: {}: {}", s.op, s.detail);
            } else {
                console_log!("auth0 log stream refused ({}): {e}", e.status());
            }
            let mut r = ApiResponse::json(e.status(), api::json::error(&e.to_string()));
            if e.status() == 503 {
                r.headers.push(("retry-after", "1".into()));
            }
            r
        }
    }
}

/// `POST /api/auth0/events`: one Event Streams delivery.
pub async fn auth0_event(
    req: &mut Request,
    config: &Config,
    store: &D1Store,
    method: &str,
    authorization: Option<&str>,
    now: EpochMs,
) -> ApiResponse {
    let content_type = req.headers().get("content-type").ok().flatten();
    let content_length = req.headers().get("content-length").ok().flatten();
    let head = Head {
        method,
        authorization,
        content_type: content_type.as_deref(),
        content_length: content_length.as_deref(),
    };
    let token = config.event_stream_token.as_ref().map(Option::as_ref);
    let result = match events::admit(&head, token) {
        Err(e) => Err(e),
        Ok(()) => {
            let read = body(req).await;
            events::ingest(as_body(&read), store, now).await
        }
    };
    // Outcomes and ids only: the Authorization header and the token never reach a log.
    match &result {
        Ok(receipt) => {
            console_log!("{}", receipt.log_line());
            if receipt.status != events::Status::Test {
                ledger(store, &receipt.tally(), now).await;
            }
            if let Some(detail) = &receipt.internal {
                console_error!(
                    "auth0 event {}: {detail}",
                    receipt.id.as_deref().unwrap_or("-")
                );
            }
        }
        Err(PushError::Store(e)) => {
            console_error!("auth0 event not stored: {}: {}", e.op, e.detail)
        }
        Err(e) => console_log!("auth0 event refused ({}): {e}", api::push::status(e)),
    }
    api::push::response(&result)
}
