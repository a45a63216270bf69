//! Auth0 Log Streams of type Custom Webhook: batches of log events per
//! `POST /api/auth0/log-stream`, folded into the same per-application usage and first uses as
//! polling (`sync::logs`).
//!
//! Auth0 sends the `Authorization` header exactly as configured in the stream; it is compared
//! in constant time with `LOG_STREAM_TOKEN` (also accepted as `Bearer <token>`, as Event
//! Streams send it). The body is in the stream's content format: JSON Lines (one item a line),
//! a JSON array of items, or a JSON object (one item; an object of items is also read). Each
//! item carries `log_id` and the event under `data`. Unreadable items are counted, never
//! echoed, and the rest applied. A body over 1 MB, malformed JSON, an unknown format or no
//! usable item is a 400/413 with a message; only a database failure is a 5xx (Auth0 retries).
//!
//! Ingest is idempotent by `log_id`: the store counts an id once ever, whether it came by a
//! push, a retried push or polling (`store::usage`, `log_seen`). When the stream is down,
//! polling catches up from its checkpoint and counts only what no push brought.

use std::fmt;

use serde_json::Value;

use super::events::{Body, Head, MAX_BODY_BYTES};
use crate::auth0::logs::{LogEvent, event};
use crate::auth0::types::loose_text;
use crate::config::{ConfigError, EventStreamToken};
use crate::fields::Fields;
use crate::store::StoreError;
use crate::store::usage::{PushedUsage, UsageStore};
use crate::sync::logs::first_uses;
use crate::time::{EpochMs, iso_from_ms};
use crate::usage::fold;

/// The route Auth0 posts to.
pub const ROUTE: &str = "/api/auth0/log-stream";
/// The longest `log_id` kept (Auth0's are 56 digits).
const MAX_ID_BYTES: usize = 1024;

/// Why a delivery is refused, or could not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// Not a `POST`.
    Method,
    /// `LOG_STREAM_TOKEN` is unset or unusable: the route refuses everyone.
    Closed(Option<ConfigError>),
    /// No or wrong `Authorization`.
    Unauthorized,
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body broke off.
    Unreadable,
    /// Not JSON, not a known content format, or no usable item.
    Malformed(String),
    /// The database failed; nothing was written.
    Store(StoreError),
}

impl StreamError {
    /// The HTTP status: only a database failure is a 5xx.
    pub fn status(&self) -> u16 {
        match self {
            Self::Method => 405,
            Self::Closed(_) => 403,
            Self::Unauthorized => 401,
            Self::TooLarge => 413,
            Self::Unreadable | Self::Malformed(_) => 400,
            Self::Store(_) => 503,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Method => f.write_str("method not allowed: POST"),
            Self::Closed(None) => f.write_str(
                "log stream pushes are closed: LOG_STREAM_TOKEN is not set (`npx wrangler \
                 secret put LOG_STREAM_TOKEN`, the same value as the stream's Authorization Token)",
            ),
            Self::Closed(Some(e)) => write!(f, "log stream pushes are closed: {e}"),
            Self::Unauthorized => {
                f.write_str("unauthorized: the Authorization header must be LOG_STREAM_TOKEN")
            }
            Self::TooLarge => write!(f, "the body is over {MAX_BODY_BYTES} bytes"),
            Self::Unreadable => f.write_str("the body could not be read"),
            Self::Malformed(why) => write!(f, "malformed log stream delivery: {why}"),
            Self::Store(_) => {
                f.write_str("the log events could not be stored; a retry may succeed")
            }
        }
    }
}

impl std::error::Error for StreamError {}

/// Judges a delivery on its head alone, before its body is read.
///
/// # Errors
/// The method, then the secret (unset closes the route), then a declared length over 1 MB.
pub fn admit(
    head: &Head<'_>,
    token: Result<Option<&EventStreamToken>, &ConfigError>,
) -> Result<(), StreamError> {
    if head.method != "POST" {
        return Err(StreamError::Method);
    }
    let token = match token {
        Ok(Some(token)) => token,
        Ok(None) => return Err(StreamError::Closed(None)),
        Err(e) => return Err(StreamError::Closed(Some(e.clone()))),
    };
    let presented = head.authorization.map(str::trim).unwrap_or_default();
    let bearer = presented
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    // Both comparisons always run: the time taken does not tell which form was close.
    let exact = token.matches(presented);
    let as_bearer = token.matches(bearer.unwrap_or_default());
    if presented.is_empty() || !(exact || (bearer.is_some() && as_bearer)) {
        return Err(StreamError::Unauthorized);
    }
    if head
        .content_length
        .and_then(|l| l.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(StreamError::TooLarge);
    }
    Ok(())
}

/// A delivery's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items {
    /// The readable events, in the order sent.
    pub events: Vec<LogEvent>,
    /// Items that were not an object with a `log_id` and a `data` object.
    pub bad: usize,
}

/// One item: `{log_id, data: {…event…}}`; the item's `log_id` wins over `data.log_id`.
fn item(v: &Value, items: &mut Items) {
    let read = Fields::of(v).ok().and_then(|f| {
        let data = f.get("data").and_then(|d| Fields::of(d).ok())?;
        let mut e = event(&data);
        e.log_id = loose_text(f.get("log_id"))
            .or(e.log_id)
            .filter(|id| !id.is_empty() && id.len() <= MAX_ID_BYTES);
        e.log_id.is_some().then_some(e)
    });
    match read {
        Some(e) => items.events.push(e),
        None => items.bad += 1,
    }
}

/// Parses a body in any of the Custom Webhook content formats.
///
/// # Errors
/// [`StreamError::Malformed`] for a body that is not UTF-8 or JSON in one of the formats, or
/// that holds no usable item.
pub fn parse(body: &[u8]) -> Result<Items, StreamError> {
    let bad = |why: &str| StreamError::Malformed(why.into());
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8 text"))?;
    let mut items = Items::default();
    let trimmed = text.trim_start();
    let whole = crate::fields::parse(text);
    match (trimmed.as_bytes().first(), whole) {
        (Some(b'['), Ok(Value::Array(list))) => list.iter().for_each(|v| item(v, &mut items)),
        (Some(b'{'), Ok(Value::Object(map))) => {
            if map.contains_key("log_id") || map.contains_key("data") {
                item(&Value::Object(map), &mut items);
            } else {
                map.values().for_each(|v| item(v, &mut items));
            }
        }
        (Some(b'{'), Err(_)) => {
            // JSON Lines: one item a line; a line that is not JSON is one bad item.
            let mut json = 0;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                match crate::fields::parse(line) {
                    Ok(v) => {
                        json += 1;
                        item(&v, &mut items);
                    }
                    Err(_) => items.bad += 1,
                }
            }
            if json == 0 {
                return Err(bad("the body is not JSON"));
            }
        }
        (Some(b'['), Err(_)) => return Err(bad("the body is not JSON")),
        _ => {
            return Err(bad(
                "unknown content format: send JSON Lines, a JSON array or a JSON object",
            ));
        }
    }
    if items.events.is_empty() {
        return Err(bad("no item with a log_id and a data object"));
    }
    Ok(items)
}

/// The acknowledgement of an accepted delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// Readable items.
    pub events: usize,
    /// Unreadable items.
    pub bad: usize,
    /// Events that counted for usage now (not counted before by a push or a poll).
    pub counted: u64,
    /// Users marked removed by the batch's deletion events (`sdu`).
    pub removed: u64,
    /// D1 rows written.
    pub rows_written: u64,
}

/// The answer's JSON body: counts only, never the items.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    /// Readable items.
    pub received: usize,
    /// Unreadable items.
    pub unreadable: usize,
    /// Events that counted for usage now.
    pub counted: u64,
    /// Users marked removed.
    pub removed: u64,
}

impl Receipt {
    /// The answer's JSON body.
    pub fn answer(&self) -> Answer {
        Answer {
            received: self.events,
            unreadable: self.bad,
            counted: self.counted,
            removed: self.removed,
        }
    }

    /// This delivery's share of the hour's push row in the sync history.
    pub fn tally(&self) -> crate::store::runs::PushTally {
        crate::store::runs::PushTally {
            received: self.events as u64,
            removed: self.removed,
            rows: self.rows_written,
            ..Default::default()
        }
    }

    /// A line for the Worker's log: counts only, never the items or headers.
    pub fn log_line(&self) -> String {
        format!(
            "auth0 log stream: {} events, {} unreadable items, {} counted, {} removed",
            self.events, self.bad, self.counted, self.removed
        )
    }
}

/// Parses and applies one delivery's body.
///
/// # Errors
/// Any [`parse`] error, the body's size or a broken read, and store failures (nothing written).
pub async fn ingest<S: UsageStore>(
    body: Body<'_>,
    store: &S,
    now: EpochMs,
) -> Result<Receipt, StreamError> {
    let bytes = match body {
        Body::Bytes(b) => b,
        Body::TooLarge => return Err(StreamError::TooLarge),
        Body::Unreadable => return Err(StreamError::Unreadable),
    };
    let items = parse(bytes)?;
    let batch = fold(&items.events);
    let mut receipt = Receipt {
        events: items.events.len(),
        bad: items.bad,
        counted: 0,
        removed: 0,
        rows_written: 0,
    };
    if batch.items.is_empty() && batch.deletions.is_empty() {
        return Ok(receipt);
    }
    // Before polling first read the log to its end, first uses are the baseline, as there.
    let cursor = store.log_cursor().await.map_err(StreamError::Store)?;
    let baseline = cursor.is_none_or(|c| c.caught_up_at.is_none());
    let firsts = first_uses(&batch.deltas, None, baseline);
    let now = iso_from_ms(now);
    let written = store
        .write_pushed_usage(&PushedUsage {
            items: &batch.items,
            events: &firsts,
            deletions: &batch.deletions,
            now: &now,
        })
        .await
        .map_err(StreamError::Store)?;
    receipt.counted = written.counted;
    receipt.removed = written.removed;
    receipt.rows_written = written.rows;
    Ok(receipt)
}

#[cfg(test)]
mod tests;
