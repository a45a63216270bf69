//! The tenant's log (`read:logs`): checkpoint paging (`from`/`take`, the `Link` header's next
//! URL), the oldest retained event to start from, and lenient parsing of the few fields usage
//! needs. IPs, user agents, descriptions and details are never read out of the parsed page,
//! kept or logged.
//!
//! What the docs say (Management API, "Retrieve logs by checkpoint"): events newer than `from`,
//! ordered by `log_id`, at most 100 a page; the next page is the `Link` header's `rel="next"`
//! URL, and an empty page links to the same URL. Nothing says how to start without a log id: the
//! search mode's `sort=date:1` gives the oldest event still retained, whose id is the first
//! checkpoint. What an expired checkpoint gets is not documented: a 400 on a `from` request that
//! does not name the page size is taken as one.

use std::fmt;

use serde_json::Value;

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::loose_text;
use crate::clock::Clock;
use crate::fields::{FieldError, Fields};
use crate::http::{HttpClient, decode_form, encode_component, split_url};

/// The page size asked first.
pub const TAKE: u32 = 100;
/// The page size after Auth0 refused [`TAKE`] (the overview names 50 for Public Cloud).
pub const FALLBACK_TAKE: u32 = 50;

/// One log event: only what per-application usage and the MAU ledger need. Absent or mistyped
/// fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogEvent {
    /// The event's id: the checkpoint.
    pub log_id: Option<String>,
    /// ISO-8601 UTC.
    pub date: Option<String>,
    /// The event type code, e.g. `s`.
    pub kind: Option<String>,
    /// The application.
    pub client_id: Option<String>,
    /// The user; absent on machine-to-machine events.
    pub user_id: Option<String>,
    // The ledger's fields are boxed strings (16 bytes, not 24): a page holds up to 100 events
    // and the sync's enums carry one, which clippy would otherwise call too large.
    /// The connection's name (`connection`).
    pub connection: Option<Box<str>>,
    /// The connection's id (`connection_id`).
    pub connection_id: Option<Box<str>>,
    /// The organization logged in to, where present (`organization_id`).
    pub organization_id: Option<Box<str>>,
    /// The user's email: Auth0 puts it in `user_name` for many types, a phone number or a
    /// username for others, and nothing for the rest; never relied on.
    pub user_name: Option<Box<str>>,
}

/// A log event object's nine fields; any other field, or any of these of another type than
/// text, is not read.
pub fn event(item: &Fields<'_>) -> LogEvent {
    let text = |key: &str| loose_text(item.get(key));
    let boxed = |key: &str| text(key).map(String::into_boxed_str);
    LogEvent {
        log_id: text("log_id"),
        date: text("date"),
        kind: text("type"),
        client_id: text("client_id"),
        user_id: text("user_id"),
        connection: boxed("connection"),
        connection_id: boxed("connection_id"),
        organization_id: boxed("organization_id"),
        user_name: boxed("user_name"),
    }
}

/// One page read from a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    /// The events newer than the checkpoint, in Auth0's order.
    pub events: Vec<LogEvent>,
    /// Items that were not event objects.
    pub unreadable: usize,
    /// Where the next page starts: the `Link` next URL's `from`, else the last event's id.
    /// Equal to the checkpoint read from when the page is empty (nothing new).
    pub next_from: String,
}

/// Why the log could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// Auth0 failed or refused (scope, rate limit, 5xx, budget).
    Auth0(Auth0Error),
    /// A 400 naming the page size: ask again with [`FALLBACK_TAKE`].
    PageSize {
        /// Auth0's message.
        message: String,
    },
    /// A 400 on a `from` request that does not name the page size: the checkpoint has left
    /// the log's retention (undocumented; see the module docs).
    CheckpointRefused {
        /// Auth0's message.
        message: String,
    },
    /// The `Link` header could not be read, or named no usable next page for a full page.
    BadLink {
        /// What was wrong (the header itself is not repeated: it may be long).
        detail: &'static str,
    },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth0(e) => e.fmt(f),
            Self::PageSize { message } => {
                write!(f, "Auth0 refused the log's page size (400: {message})")
            }
            Self::CheckpointRefused { message } => write!(
                f,
                "Auth0 refused the stored log checkpoint (400: {message}); it has most likely \
                 left the log's retention"
            ),
            Self::BadLink { detail } => {
                write!(f, "Auth0's log paging could not be followed: {detail}")
            }
        }
    }
}

impl From<Auth0Error> for LogError {
    fn from(e: Auth0Error) -> Self {
        Self::Auth0(e)
    }
}

/// The path of one page after checkpoint `from`.
pub fn checkpoint_path(from: &str, take: u32) -> String {
    format!("/api/v2/logs?from={}&take={take}", encode_component(from))
}

/// The path that finds the oldest retained event: the search mode sorted by date, one event,
/// only the fields usage needs.
pub fn oldest_path() -> String {
    format!(
        "/api/v2/logs?sort={}&per_page=1&page=0&fields={}&include_fields=true",
        encode_component("date:1"),
        encode_component("log_id,date,type,client_id,user_id")
    )
}

/// Whether a 400's text is about the page size rather than the checkpoint.
fn names_page_size(code: Option<&str>, message: &str) -> bool {
    let text = format!("{} {message}", code.unwrap_or_default()).to_ascii_lowercase();
    ["take", "per_page", "page size", "page_size"]
        .iter()
        .any(|w| text.contains(w))
}

/// The `rel="next"` URL of a `Link` header (RFC 8288), if any.
///
/// # Errors
/// [`LogError::BadLink`] when the header is not a list of `<url>; params`.
pub fn next_link(header: &str) -> Result<Option<&str>, LogError> {
    let bad = |detail| LogError::BadLink { detail };
    let mut rest = header.trim_start();
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('<')
            .ok_or(bad("a Link value does not start with <"))?;
        let (url, after) = inner
            .split_once('>')
            .ok_or(bad("a Link URL has no closing >"))?;
        // Parameters run to the next comma outside quotes.
        let mut quoted = false;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = after.get(..end).ok_or(bad("unreadable Link parameters"))?;
        let is_next = params.split(';').any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Ok(Some(url));
        }
        rest = after
            .get(end..)
            .map_or("", |r| r.trim_start_matches(',').trim_start());
    }
    Ok(None)
}

/// The `from` of a next URL. Only the checkpoint is taken from it: the token is never sent to a
/// host named in a header, and the path stays the client's own.
///
/// # Errors
/// [`LogError::BadLink`] when the URL's query does not decode or carries no `from`.
pub fn from_of(url: &str) -> Result<String, LogError> {
    let (_, query) = split_url(url);
    decode_form(query)
        .map_err(|_| LogError::BadLink {
            detail: "the next URL's query is not UTF-8",
        })?
        .into_iter()
        .find(|(k, _)| k == "from")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or(LogError::BadLink {
            detail: "the next URL has no from",
        })
}

/// A page's event objects, and how many items were anything else (counted, never used). The
/// answer itself must be a JSON array.
fn split_items(page: &Value) -> Result<(Vec<LogEvent>, usize), FieldError> {
    let items = page
        .as_array()
        .ok_or(FieldError::new("", "an array of log events"))?;
    let mut events = Vec::with_capacity(items.len());
    let mut unreadable = 0;
    for item in items {
        match Fields::of(item) {
            Ok(f) => events.push(event(&f)),
            Err(_) => unreadable += 1,
        }
    }
    Ok((events, unreadable))
}

/// Reads the page after checkpoint `from`.
///
/// An event whose id is the checkpoint itself is dropped (it was read before), in case Auth0
/// ever returns it again; a page that would not move the checkpoint is refused rather than
/// read twice.
///
/// # Errors
/// [`LogError`]; a missing `read:logs` is `Auth0(MissingScope)`.
pub async fn read_page<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    from: &str,
    take: u32,
) -> Result<LogPage, LogError> {
    let answer = client
        .get_with_link(&checkpoint_path(from, take), split_items)
        .await;
    let ((mut events, unreadable), link) = match answer {
        Err(Auth0Error::Rejected {
            status: 400,
            code,
            message,
        }) => {
            return Err(if names_page_size(code.as_deref(), &message) {
                LogError::PageSize { message }
            } else {
                LogError::CheckpointRefused { message }
            });
        }
        other => other?,
    };
    events.retain(|e| e.log_id.as_deref() != Some(from));
    let linked = match link.as_deref().map(next_link).transpose()?.flatten() {
        Some(url) => Some(from_of(url)?),
        None => None,
    };
    if events.is_empty() && unreadable == 0 {
        // Nothing new: the empty page links to the same URL.
        return Ok(LogPage {
            events,
            unreadable,
            next_from: from.to_string(),
        });
    }
    let next_from = linked
        .or_else(|| events.last().and_then(|e| e.log_id.clone()))
        .ok_or(LogError::BadLink {
            detail: "a page of events came without a next link or event ids",
        })?;
    if next_from == from {
        return Err(LogError::BadLink {
            detail: "the next link of a page of events did not move past it",
        });
    }
    Ok(LogPage {
        events,
        unreadable,
        next_from,
    })
}

/// The oldest event the log still retains, or `None` when it holds none.
///
/// # Errors
/// [`LogError::Auth0`].
pub async fn read_oldest<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<Option<LogEvent>, LogError> {
    let (events, _) = client.get(&oldest_path(), split_items).await?;
    Ok(events.into_iter().find(|e| e.log_id.is_some()))
}

#[cfg(test)]
mod tests;
