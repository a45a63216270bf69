//! Auth0 Event Streams webhooks: one CloudEvents event per `POST /api/auth0/events`.
//!
//! Auth0 does not retry a 4xx and disables a destination after 500 consecutive or 5,000 total
//! failed deliveries, so refusals add up: once a delivery is authenticated and its body is one
//! JSON object, every outcome is a success: an event of a type this worker does not use, or one
//! it cannot use (no id, no `updated_at`, a user object it cannot read), is acknowledged as
//! ignored, and the next full listing reconciles whatever it would have said. Only what no
//! correct sender produces is refused: a wrong method, a missing or wrong token, a content type
//! that is not JSON, a body over 1 MB, malformed JSON.
//! A database failure is the one 5xx: nothing was written, and Auth0's retry applies it.
//!
//! The docs show two envelope spellings (`type: "user.created"` with `specversion`, and
//! `type: "com.auth0.user.created"` with `spec_version`); both are read. Test deliveries
//! (`a0purpose: "test"`) are acknowledged and change nothing.

use std::fmt;

use serde_json::Value;

use crate::auth0::types::Auth0User;
use crate::config::{ConfigError, EventStreamToken};
use crate::fields::{FieldError, Fields};
use crate::store::StoreError;
use crate::store::changes::ChangeStore;
use crate::store::push::{Applied, Change, EventWrite, PushStore};
use crate::sync::mapping::user_row;
use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

/// The route Auth0 posts to.
pub const ROUTE: &str = "/api/auth0/events";
/// The largest body accepted; one event is a few KB.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// The longest event id kept (Auth0's are `evt_` and 22 characters).
const MAX_ID_BYTES: usize = 255;

/// The request line and headers a delivery is judged on before its body is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Head<'a> {
    /// `POST`, …
    pub method: &'a str,
    /// The `Authorization` header: checked, never logged.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The `Content-Length` header, when the client sent one.
    pub content_length: Option<&'a str>,
}

/// The body as the runtime read it.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// At most [`MAX_BODY_BYTES`].
    Bytes(&'a [u8]),
    /// Longer than [`MAX_BODY_BYTES`]; the rest was not read.
    TooLarge,
    /// The body stream broke off.
    Unreadable,
}

/// Why a delivery is refused, or could not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// Not a `POST`.
    Method,
    /// `EVENT_STREAM_TOKEN` is unset or unusable: the route refuses everyone.
    Closed(Option<ConfigError>),
    /// No or wrong bearer token.
    Unauthorized,
    /// A content type that is not JSON (shown, sanitised).
    ContentType(String),
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The body broke off.
    Unreadable,
    /// Not one JSON object.
    Malformed(String),
    /// The database failed; nothing was written.
    Store(StoreError),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Method => f.write_str("method not allowed: Auth0 Event Streams POST here"),
            Self::Closed(None) => f.write_str(
                "event pushes are closed because EVENT_STREAM_TOKEN is not set: run `npx \
                 wrangler secret put EVENT_STREAM_TOKEN` and give the same token to the Event \
                 Stream's bearer authorization",
            ),
            Self::Closed(Some(e)) => write!(f, "event pushes are closed: {e}"),
            Self::Unauthorized => f.write_str(
                "unauthorized: send Authorization: Bearer <EVENT_STREAM_TOKEN> (the Event \
                 Stream's bearer token)",
            ),
            Self::ContentType(t) => write!(
                f,
                "unsupported content type `{t}`: send application/json or \
                 application/cloudevents+json"
            ),
            Self::TooLarge => write!(f, "the body is over {MAX_BODY_BYTES} bytes"),
            Self::Unreadable => f.write_str("the body could not be read"),
            Self::Malformed(why) => write!(f, "malformed event: {why}"),
            Self::Store(_) => f.write_str(
                "the event could not be stored (details are in the Worker's logs); a retry may \
                 succeed",
            ),
        }
    }
}

impl std::error::Error for PushError {}

/// What an accepted delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The change was written.
    Applied,
    /// Nothing to write: what is stored is as new or newer (or the organization is not synced).
    Unchanged,
    /// This event id was already applied.
    Duplicate,
    /// Not an event this worker uses, or not usable; the full listing reconciles.
    Ignored,
    /// Auth0's test delivery.
    Test,
}

impl Status {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Test => "test",
        }
    }
}

/// The acknowledgement of one accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// What happened.
    pub status: Status,
    /// The event id, when it had a usable one.
    pub id: Option<String>,
    /// The event type as sent (sanitised), when it had one.
    pub kind: Option<String>,
    /// Why it was ignored.
    pub reason: Option<String>,
    /// D1 rows written.
    pub rows_written: u64,
    /// The change was applied but its change-history entries could not be written: logged,
    /// not shown (the event itself is stored, so a retry would not help).
    pub internal: Option<String>,
}

/// The answer's JSON body. Members in alphabetical order: the bytes the receipt has always had.
#[derive(Debug, serde::Serialize)]
pub struct Answer<'a> {
    /// The event id, or `null`.
    pub id: Option<&'a str>,
    /// Acknowledged without changing anything (ignored or a test delivery).
    pub ignored: bool,
    /// Why it was ignored; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// What happened.
    pub status: &'static str,
    /// The event type, or `null`.
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
}

impl Receipt {
    /// The answer's JSON body.
    pub fn answer(&self) -> Answer<'_> {
        Answer {
            id: self.id.as_deref(),
            ignored: matches!(self.status, Status::Ignored | Status::Test),
            reason: self.reason.as_deref(),
            status: self.status.as_str(),
            kind: self.kind.as_deref(),
        }
    }

    /// The answer as a `Value`, for tests to read.
    #[cfg(test)]
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.answer()).unwrap_or_default()
    }

    /// This delivery's share of the hour's push row in the sync history.
    pub fn tally(&self) -> crate::store::runs::PushTally {
        let applied = u64::from(self.status == Status::Applied);
        let kind = self.kind.as_deref().unwrap_or_default();
        let is = |name: &str| kind == name || kind.strip_prefix("com.auth0.") == Some(name);
        crate::store::runs::PushTally {
            received: 1,
            added: applied * u64::from(is("user.created")),
            updated: applied * u64::from(is("user.updated")),
            removed: applied * u64::from(is("user.deleted")),
            rows: self.rows_written,
        }
    }

    /// A line for the Worker's log: ids, types and outcomes only, never headers.
    pub fn log_line(&self) -> String {
        format!(
            "auth0 event {} ({}): {}{}",
            self.id.as_deref().unwrap_or("-"),
            self.kind.as_deref().unwrap_or("-"),
            self.status.as_str(),
            self.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )
    }
}

/// Text from a delivery fit to echo in a message or log: printable ASCII, at most 100 chars.
fn shown(value: &str) -> String {
    value
        .chars()
        .take(100)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// Judges a delivery on its head alone, before any of its body is read.
///
/// # Errors
/// The first reason to refuse it: method, then the token (unset closes the route), then the
/// content type, then a declared length over the limit.
pub fn admit(
    head: &Head<'_>,
    token: Result<Option<&EventStreamToken>, &ConfigError>,
) -> Result<(), PushError> {
    if head.method != "POST" {
        return Err(PushError::Method);
    }
    let token = match token {
        Ok(Some(token)) => token,
        Ok(None) => return Err(PushError::Closed(None)),
        Err(e) => return Err(PushError::Closed(Some(e.clone()))),
    };
    let presented = head
        .authorization
        .map(str::trim)
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if !presented.is_some_and(|p| token.matches(p)) {
        return Err(PushError::Unauthorized);
    }
    if let Some(ct) = head.content_type {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json = media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"));
        if !json {
            return Err(PushError::ContentType(shown(ct.trim())));
        }
    }
    if head
        .content_length
        .and_then(|l| l.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(PushError::TooLarge);
    }
    Ok(())
}

/// One parsed delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A change to apply.
    Event(EventWrite),
    /// Acknowledged without a write.
    Skip(Receipt),
}

fn skip(status: Status, id: Option<&str>, kind: Option<&str>, reason: Option<String>) -> Parsed {
    Parsed::Skip(Receipt {
        status,
        id: id.map(shown),
        kind: kind.map(shown),
        reason,
        rows_written: 0,
        internal: None,
    })
}

/// The CloudEvents envelope, in both of the docs' spellings. Every field has the type Auth0
/// documents; a body that is JSON but does not fit is ignored, not refused (see [`parse`]).
#[derive(Debug)]
struct Envelope {
    id: Option<String>,
    kind: Option<String>,
    specversion: Option<String>,
    spec_version: Option<String>,
    time: Option<String>,
    a0purpose: Option<String>,
    /// `data.object`, the parts read before the type is known.
    object: Option<Object>,
}

/// The parts of `data.object` read before the type is known (a user is read whole, apart).
#[derive(Debug)]
struct Object {
    user_id: Option<String>,
    updated_at: Option<String>,
    deleted_at: Option<String>,
    /// `organization.id`.
    org_id: Option<String>,
    /// `user.user_id` (of a member).
    member_id: Option<String>,
}

impl Envelope {
    /// Reads the envelope; `Err` when a field it reads has another type than Auth0 documents.
    fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        let object = match f.opt_obj("data")? {
            Some(data) => data.opt_obj("object")?.map(Object::read).transpose()?,
            None => None,
        };
        Ok(Self {
            id: f.opt_string("id")?,
            kind: f.opt_string("type")?,
            specversion: f.opt_string("specversion")?,
            spec_version: f.opt_string("spec_version")?,
            time: f.opt_string("time")?,
            a0purpose: f.opt_string("a0purpose")?,
            object,
        })
    }
}

impl Object {
    fn read(f: Fields<'_>) -> Result<Self, FieldError> {
        let named = |key: &str, field: &str| -> Result<Option<String>, FieldError> {
            let Some(n) = f.opt_obj(key)? else {
                return Ok(None);
            };
            // Both `id` and `user_id` have to be text when present, whichever is used.
            let (id, user_id) = (n.opt_string("id")?, n.opt_string("user_id")?);
            Ok(if field == "id" { id } else { user_id })
        };
        Ok(Self {
            user_id: f.opt_string("user_id")?,
            updated_at: f.opt_string("updated_at")?,
            deleted_at: f.opt_string("deleted_at")?,
            org_id: named("organization", "id")?,
            member_id: named("user", "user_id")?,
        })
    }
}

/// A timestamp in the one shape the store compares, or `None` if it is not one.
fn instant(v: Option<&str>) -> Option<String> {
    v.and_then(ms_from_iso).map(iso_from_ms)
}

/// A non-empty string of at most 1 KB.
fn id_text(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty() && s.len() <= 1024)
}

/// The event types this worker applies, by their name without `com.auth0.`.
const USER_CREATED: &str = "user.created";
const USER_UPDATED: &str = "user.updated";
const USER_DELETED: &str = "user.deleted";
const MEMBER_ADDED: &str = "organization.member.added";
const MEMBER_DELETED: &str = "organization.member.deleted";

/// Parses one delivery's body.
///
/// # Errors
/// [`PushError::Malformed`] when the body is not one JSON object; anything inside one that
/// cannot be used is a [`Parsed::Skip`] instead.
pub fn parse(body: &[u8]) -> Result<Parsed, PushError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| PushError::Malformed("the body is not UTF-8 text".into()))?;
    // One event is one object, whatever else the text might parse as.
    if !text.trim_start().starts_with('{') {
        return Err(PushError::Malformed(
            "expected one CloudEvents event as a JSON object".into(),
        ));
    }
    let value = crate::fields::parse(text)
        .map_err(|e| PushError::Malformed(format!("the body is not JSON ({e})")))?;
    // JSON that does not fit the documented types is still JSON: ignored, not refused.
    let Ok(event) = Envelope::from_value(&value) else {
        return Ok(skip(
            Status::Ignored,
            None,
            None,
            Some("a field has a type Auth0 does not send".into()),
        ));
    };
    let raw_id = event.id;
    let raw_type = event.kind;
    let (id_ref, type_ref) = (raw_id.as_deref(), raw_type.as_deref());
    if event.a0purpose.as_deref() == Some("test") {
        return Ok(skip(Status::Test, id_ref, type_ref, None));
    }
    let ignored = |reason: &str| Ok(skip(Status::Ignored, id_ref, type_ref, Some(reason.into())));
    let spec = event.specversion.or(event.spec_version);
    if !spec.is_some_and(|v| v == "1.0" || v.starts_with("1.")) {
        return ignored("not a CloudEvents 1.0 event (specversion)");
    }
    let Some(id) = id_ref.filter(|id| !id.is_empty() && id.len() <= MAX_ID_BYTES) else {
        return ignored("no usable event id");
    };
    let Some(raw_type) = type_ref else {
        return ignored("no event type");
    };
    let name = raw_type.strip_prefix("com.auth0.").unwrap_or(raw_type);
    let kind = match name {
        USER_CREATED => USER_CREATED,
        USER_UPDATED => USER_UPDATED,
        USER_DELETED => USER_DELETED,
        MEMBER_ADDED => MEMBER_ADDED,
        MEMBER_DELETED => MEMBER_DELETED,
        _ => return ignored("an event type this worker does not use"),
    };
    let Some(object) = event.object else {
        return ignored("no data.object");
    };
    let time = event.time;
    let (change, at) = match kind {
        USER_CREATED | USER_UPDATED => {
            // The order of updates is the order of `updated_at`; without it none can be told.
            let Some(at) = instant(object.updated_at.as_deref()) else {
                return ignored("the user has no updated_at to order it by");
            };
            let user = value
                .get("data")
                .and_then(|d| d.get("object"))
                .map(Auth0User::from_value);
            let Some(Ok(user)) = user else {
                return ignored("the user object is unreadable");
            };
            if user.user_id.is_empty() || user.user_id.len() > 1024 {
                return ignored("the user has no usable user_id");
            }
            if user.created_at.as_deref().and_then(ms_from_iso).is_none() {
                return ignored("the user has no created_at");
            }
            (Change::UpsertUser(Box::new(user_row(&user))), at)
        }
        USER_DELETED => {
            let Some(user_id) = id_text(object.user_id) else {
                return ignored("the user has no usable user_id");
            };
            let deleted_at = object.deleted_at;
            let Some(at) = instant(deleted_at.as_deref()).or_else(|| instant(time.as_deref()))
            else {
                return ignored("neither deleted_at nor time says when");
            };
            (Change::RemoveUser { user_id }, at)
        }
        _ => {
            let org_id = id_text(object.org_id);
            let user_id = id_text(object.member_id);
            let (Some(org_id), Some(user_id)) = (org_id, user_id) else {
                return ignored("no organization.id or user.user_id");
            };
            let Some(at) = instant(time.as_deref()) else {
                return ignored("no time to order it by");
            };
            let change = if kind == MEMBER_ADDED {
                Change::AddMember { org_id, user_id }
            } else {
                Change::RemoveMember { org_id, user_id }
            };
            (change, at)
        }
    };
    Ok(Parsed::Event(EventWrite {
        id: id.to_string(),
        kind,
        at,
        change,
    }))
}

/// Parses and applies an admitted delivery's body.
///
/// # Errors
/// The body is too large, unreadable or not one JSON object ([`PushError`] 4xx), or the
/// database failed ([`PushError::Store`]).
pub async fn ingest<S: PushStore + ChangeStore>(
    body: Body<'_>,
    store: &S,
    now: EpochMs,
) -> Result<Receipt, PushError> {
    let bytes = match body {
        Body::Bytes(b) if b.len() <= MAX_BODY_BYTES => b,
        Body::Bytes(_) | Body::TooLarge => return Err(PushError::TooLarge),
        Body::Unreadable => return Err(PushError::Unreadable),
    };
    let write = match parse(bytes)? {
        Parsed::Skip(receipt) => return Ok(receipt),
        Parsed::Event(write) => write,
    };
    // What was stored before, for the change history; the write itself decides in SQL.
    let prior = store.prior(&write).await.map_err(PushError::Store)?;
    let Applied {
        duplicate,
        changed,
        mut rows_written,
    } = store
        .apply_push(&write, now)
        .await
        .map_err(PushError::Store)?;
    let mut internal = None;
    if changed {
        let entries = crate::push::changes::entries(&write, &prior, &iso_from_ms(now));
        match store.record_events(&entries).await {
            Ok(n) => rows_written += n,
            Err(e) => {
                internal = Some(format!(
                    "change history not written: {}: {}",
                    e.op, e.detail
                ))
            }
        }
    }
    let status = if duplicate {
        Status::Duplicate
    } else if changed {
        Status::Applied
    } else {
        Status::Unchanged
    };
    Ok(Receipt {
        status,
        id: Some(shown(&write.id)),
        kind: Some(write.kind.to_string()),
        reason: None,
        rows_written,
        internal,
    })
}

/// [`admit`], then [`ingest`]: one delivery from head to receipt (the runtime reads the body in
/// between, so it calls the two itself).
///
/// # Errors
/// As [`admit`] and [`ingest`].
pub async fn receive<S: PushStore + ChangeStore>(
    head: &Head<'_>,
    body: Body<'_>,
    token: Result<Option<&EventStreamToken>, &ConfigError>,
    store: &S,
    now: EpochMs,
) -> Result<Receipt, PushError> {
    admit(head, token)?;
    ingest(body, store, now).await
}

#[cfg(test)]
mod tests;
