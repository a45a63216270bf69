//! The parts of Auth0's JSON that the sync reads. Unknown fields (metadata, IdP tokens) are
//! ignored by design: they are never read out of the parsed body (which is dropped once the
//! type is built), stored or shown, and no error message repeats a value.
//!
//! Each type is built by hand out of a body parsed once into a [`Value`] (see `crate::fields`
//! for why not a serde derive). The rules are serde's as the derives had them: an `Option`
//! field may be absent or `null` but not of another type; a list that may be absent may not be
//! `null`; a lenient field (the `loose_*` readers) reads an unexpected type as unknown.

use serde_json::Value;

use crate::fields::{FieldError, Fields};

/// An error for `field`, which was not `expected`.
pub(crate) fn wrong(field: &str, expected: &'static str) -> FieldError {
    FieldError {
        field: field.to_string(),
        expected,
    }
}

/// A list: absent is empty unless `required`; `null` or any other type is an error.
pub(crate) fn list<'a>(
    f: &Fields<'a>,
    key: &str,
    required: bool,
) -> Result<&'a [Value], FieldError> {
    match f.map().get(key) {
        None if !required => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        _ => Err(wrong(key, "an array")),
    }
}

/// Each item of the list `key` read by `read`; an error names the item, e.g. `users[3].email`.
pub(crate) fn each<T>(
    f: &Fields<'_>,
    key: &str,
    required: bool,
    read: fn(&Value) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    list(f, key, required)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            read(item).map_err(|e| FieldError {
                field: if e.field.is_empty() {
                    format!("{key}[{i}]")
                } else {
                    format!("{key}[{i}].{}", e.field)
                },
                expected: e.expected,
            })
        })
        .collect()
}

/// A count that may be absent or `null`: a JSON integer from 0 to `u64::MAX`, nothing else (no
/// float, not even a whole one).
pub(crate) fn opt_count(f: &Fields<'_>, key: &str) -> Result<Option<u64>, FieldError> {
    f.get(key)
        .map(|v| v.as_u64().ok_or_else(|| wrong(key, "a count")))
        .transpose()
}

/// A string, or `None` for any other JSON value: one odd field must not lose a page.
pub(crate) fn loose_text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// A date as a string, or as `{"$date": "…"}` the way some export files write it.
fn date(f: &Fields<'_>, key: &str) -> Result<Option<String>, FieldError> {
    let Some(v) = f.get(key) else {
        return Ok(None);
    };
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("$date").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
    .map(Some)
    .ok_or_else(|| wrong(key, "a date as text or {\"$date\": text}"))
}

/// A boolean, or `"true"`/`"false"`, or a number (non-zero is true); anything else is unknown.
fn loose_flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(t) => match t.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|n| n != 0.0),
        _ => None,
    }
}

/// A count: a number, or an integer as text (`"5"`), clamped to `0..=i64::MAX`; anything else
/// is unknown. Text is read as an integer only: counts are whole, and `"1e3"` is not one.
fn loose_count(v: Option<&Value>) -> Option<i64> {
    match v? {
        // A float-to-int `as` saturates; JSON numbers are finite, and clamped at 0 first.
        Value::Number(n) => n
            .as_i64()
            .map(|n| n.max(0))
            .or_else(|| n.as_f64().map(|f| f.max(0.0) as i64)),
        Value::String(t) => count_text(t),
        _ => None,
    }
}

/// An integer written as text: optional sign, then digits. Negative is 0; past `i64::MAX`
/// saturates.
fn count_text(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if negative {
        0
    } else {
        digits.parse().unwrap_or(i64::MAX)
    })
}

/// Seconds: a number or numeric text (finite); anything else is unknown.
fn loose_seconds(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(t) => t.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// Tests elsewhere build these with `serde_json::from_value(json!(…))`: in test builds only,
/// that reaches the same hand-written reader (the wasm has no serde impl of them).
macro_rules! deserialize_in_tests {
    ($($t:ty),*) => {$(
        #[cfg(test)]
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <Value as serde::Deserialize>::deserialize(d)?;
                Self::from_value(&v).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

deserialize_in_tests!(Auth0User, Identity, Auth0Organization);

/// A user as `/api/v2/users` and the export file give it.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth0User {
    /// e.g. `auth0|63d1…`.
    pub user_id: String,
    /// Absent for some social and enterprise users.
    pub email: Option<String>,
    /// Absent where the connection does not say. Some enterprise connections send `"true"`.
    pub email_verified: Option<bool>,
    /// Display name.
    pub name: Option<String>,
    /// ISO-8601 UTC with milliseconds.
    pub created_at: Option<String>,
    /// ISO-8601 UTC.
    pub updated_at: Option<String>,
    /// Absent until the first login.
    pub last_login: Option<String>,
    /// Absent until the first login.
    pub logins_count: Option<i64>,
    /// Absent means not blocked.
    pub blocked: Option<bool>,
    /// Linked accounts; the first is the primary.
    pub identities: Vec<Identity>,
}

impl Auth0User {
    /// Reads a user object.
    ///
    /// # Errors
    /// No text `user_id`; `email` or `name` not text; a date neither text nor `{"$date": text}`;
    /// `identities` not a list of objects with text `connection`s. Other fields are lenient.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            user_id: f.string("user_id")?,
            email: f.opt_string("email")?,
            email_verified: loose_flag(f.get("email_verified")),
            name: f.opt_string("name")?,
            created_at: date(&f, "created_at")?,
            updated_at: date(&f, "updated_at")?,
            last_login: date(&f, "last_login")?,
            logins_count: loose_count(f.get("logins_count")),
            blocked: loose_flag(f.get("blocked")),
            identities: each(&f, "identities", false, Identity::from_value)?,
        })
    }
}

/// One linked identity: only its connection matters here.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// e.g. `google-oauth2`.
    pub connection: Option<String>,
}

impl Identity {
    /// Reads an identity object.
    ///
    /// # Errors
    /// Not an object, or a `connection` that is not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        Ok(Self {
            connection: Fields::of(v)?.opt_string("connection")?,
        })
    }
}

/// `/api/v2/users?include_totals=true`.
#[derive(Debug)]
pub struct UsersPage {
    /// This page's users.
    pub users: Vec<Auth0User>,
    /// The matching total; may itself be capped at 1000.
    pub total: Option<u64>,
}

impl UsersPage {
    /// Reads a page.
    ///
    /// # Errors
    /// No `users` list, any user unreadable, or a `total` that is not a count.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            users: each(&f, "users", true, Auth0User::from_value)?,
            total: opt_count(&f, "total")?,
        })
    }
}

/// The token endpoint's success answer.
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Lifetime in seconds, as Auth0 sent it; the client clamps it.
    pub expires_in: Option<f64>,
    /// Space-separated granted scopes.
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Reads the answer.
    ///
    /// # Errors
    /// No text `access_token`, or a `scope` that is not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            access_token: f.string("access_token")?,
            expires_in: loose_seconds(f.get("expires_in")),
            scope: f.opt_string("scope")?,
        })
    }
}

/// The OAuth error body of the token endpoint.
#[derive(Debug, Default)]
pub struct OAuthError {
    /// e.g. `access_denied`.
    pub error: Option<String>,
    /// Human text.
    pub error_description: Option<String>,
}

impl OAuthError {
    /// Reads an error body; one that is not JSON or does not fit says nothing (all `None`).
    pub fn read(body: &str) -> Self {
        let read = |v: &Value| -> Result<Self, FieldError> {
            let f = Fields::of(v)?;
            Ok(Self {
                error: f.opt_string("error")?,
                error_description: f.opt_string("error_description")?,
            })
        };
        crate::fields::parse(body)
            .ok()
            .and_then(|v| read(&v).ok())
            .unwrap_or_default()
    }
}

/// The Boom-style error body of `/api/v2`.
#[derive(Debug, Default)]
pub struct ApiErrorBody {
    /// e.g. `insufficient_scope` (`errorCode`).
    pub error_code: Option<String>,
    /// Human text.
    pub message: Option<String>,
}

impl ApiErrorBody {
    /// Reads an error body; one that is not JSON or does not fit says nothing (all `None`).
    pub fn read(body: &str) -> Self {
        let read = |v: &Value| -> Result<Self, FieldError> {
            let f = Fields::of(v)?;
            Ok(Self {
                error_code: f.opt_string("errorCode")?,
                message: f.opt_string("message")?,
            })
        };
        crate::fields::parse(body)
            .ok()
            .and_then(|v| read(&v).ok())
            .unwrap_or_default()
    }
}

/// An organization in either paging mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth0Organization {
    /// e.g. `org_…`.
    pub id: String,
    /// The URL-safe name.
    pub name: Option<String>,
    /// The name shown to people.
    pub display_name: Option<String>,
}

impl Auth0Organization {
    /// Reads an organization.
    ///
    /// # Errors
    /// No text `id`, or a name that is not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            id: f.string("id")?,
            name: f.opt_string("name")?,
            display_name: f.opt_string("display_name")?,
        })
    }
}

/// `/api/v2/organizations?from=…&take=…`.
#[derive(Debug)]
pub struct OrganizationsPage {
    /// This page.
    pub organizations: Vec<Auth0Organization>,
    /// The checkpoint for the next page; absent on the last.
    pub next: Option<String>,
}

impl OrganizationsPage {
    /// Reads a page.
    ///
    /// # Errors
    /// `organizations` present but not a list of organizations, or `next` not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            organizations: each(&f, "organizations", false, Auth0Organization::from_value)?,
            next: f.opt_string("next")?,
        })
    }
}

/// One member as `/organizations/{id}/members` gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth0Member {
    /// The member's user id.
    pub user_id: String,
}

impl Auth0Member {
    /// Reads a member.
    ///
    /// # Errors
    /// No text `user_id`.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        Ok(Self {
            user_id: Fields::of(v)?.string("user_id")?,
        })
    }
}

/// `/api/v2/organizations/{id}/members?from=…&take=…`.
#[derive(Debug)]
pub struct MembersPage {
    /// This page.
    pub members: Vec<Auth0Member>,
    /// The checkpoint for the next page; absent on the last.
    pub next: Option<String>,
}

impl MembersPage {
    /// Reads a page.
    ///
    /// # Errors
    /// `members` present but not a list of members, or `next` not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            members: each(&f, "members", false, Auth0Member::from_value)?,
            next: f.opt_string("next")?,
        })
    }
}

/// A bulk export job.
#[derive(Debug)]
pub struct ExportJob {
    /// e.g. `job_…`.
    pub id: String,
    /// `pending`, `processing`, `completed`, `failed`, …
    pub status: Option<String>,
    /// The signed download URL, once completed.
    pub location: Option<String>,
}

impl ExportJob {
    /// Reads a job.
    ///
    /// # Errors
    /// No text `id`, or a `status` or `location` that is not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            id: f.string("id")?,
            status: f.opt_string("status")?,
            location: f.opt_string("location")?,
        })
    }
}
