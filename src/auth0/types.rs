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

/// A list: absent is empty unless `required`; `null` or any other type is an error.
pub(crate) fn list<'a>(
    f: &Fields<'a>,
    key: &str,
    required: bool,
) -> Result<&'a [Value], FieldError> {
    match f.map().get(key) {
        None if !required => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        _ => Err(FieldError::new(key, "an array")),
    }
}

/// Each item of the list `key` read by `read`; an error names the item, e.g. `users[3].email`.
pub(crate) fn each<T>(
    f: &Fields<'_>,
    key: &str,
    required: bool,
    read: fn(&Value) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    let items = list(f, key, required)?;
    // A loop, not `collect` into a `Result`: that adapter is compiled again per item type.
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(read(item).map_err(|e| FieldError {
            field: if e.field.is_empty() {
                format!("{key}[{i}]")
            } else {
                format!("{key}[{i}].{}", e.field)
            },
            expected: e.expected,
        })?);
    }
    Ok(out)
}

/// A count that may be absent or `null`: a JSON integer from 0 to `u64::MAX`, nothing else (no
/// float, not even a whole one).
pub(crate) fn opt_count(f: &Fields<'_>, key: &str) -> Result<Option<u64>, FieldError> {
    f.get(key)
        .map(|v| v.as_u64().ok_or_else(|| FieldError::new(key, "a count")))
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
    .ok_or_else(|| FieldError::new(key, "a date as text or {\"$date\": text}"))
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
        Value::String(t) => crate::decimal::parse(t),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_full_user_reads_every_field_and_ignores_the_rest() {
        let u = Auth0User::from_value(&json!({
            "user_id": "auth0|1", "email": "a@x.io", "email_verified": true, "name": "Ann",
            "created_at": "2023-01-25T17:48:14.784Z",
            "updated_at": {"$date": "2023-01-26T00:00:00.000Z"},
            "last_login": null, "logins_count": 3, "blocked": false,
            "identities": [{"connection": "google-oauth2", "access_token": "idp-secret"}, {}],
            "app_metadata": {"plan": [1, 2]},
        }))
        .unwrap();
        assert_eq!(u.user_id, "auth0|1");
        assert_eq!(u.email.as_deref(), Some("a@x.io"));
        assert_eq!(u.name.as_deref(), Some("Ann"));
        assert_eq!(u.updated_at.as_deref(), Some("2023-01-26T00:00:00.000Z"));
        assert_eq!(u.last_login, None);
        assert_eq!(
            (u.email_verified, u.logins_count, u.blocked),
            (Some(true), Some(3), Some(false))
        );
        assert_eq!(u.identities.len(), 2);
        assert_eq!(u.identities[0].connection.as_deref(), Some("google-oauth2"));
        assert_eq!(u.identities[1].connection, None);
        assert!(!format!("{u:?}").contains("idp-secret"));
    }

    #[test]
    fn counts_as_text_are_integers_only() {
        let count = |v: Value| {
            Auth0User::from_value(&json!({"user_id": "a", "logins_count": v}))
                .unwrap()
                .logins_count
        };
        assert_eq!(count(json!("5")), Some(5));
        assert_eq!(count(json!(" 12 ")), Some(12));
        assert_eq!(count(json!("+3")), Some(3));
        assert_eq!(count(json!("-3")), Some(0));
        assert_eq!(count(json!("99999999999999999999999")), Some(i64::MAX));
        for not_a_count in ["", "-", "1e3", "12.5", "inf", "NaN", "٣", "5 5", "0x10"] {
            assert_eq!(count(json!(not_a_count)), None, "{not_a_count:?}");
        }
        // Numbers stay lenient: floats truncate, out-of-range ones clamp.
        assert_eq!(count(json!(2.9)), Some(2));
        assert_eq!(count(json!(-2.5)), Some(0));
        assert_eq!(count(json!(u64::MAX)), Some(i64::MAX));
        assert_eq!(count(json!(i64::MIN)), Some(0));
        assert_eq!(count(json!(true)), None);
        assert_eq!(count(json!([5])), None);
    }

    #[test]
    fn flags_read_booleans_their_text_and_numbers() {
        let flag = |v: Value| {
            Auth0User::from_value(&json!({"user_id": "a", "blocked": v}))
                .unwrap()
                .blocked
        };
        assert_eq!(flag(json!(" true ")), Some(true));
        assert_eq!(flag(json!("false")), Some(false));
        assert_eq!(
            flag(json!("1")),
            None,
            "text is read as a word, not a number"
        );
        assert_eq!(flag(json!(0)), Some(false));
        assert_eq!(flag(json!(0.5)), Some(true));
        assert_eq!(flag(json!({})), None);
        assert_eq!(flag(json!(null)), None);
    }

    #[test]
    fn strict_fields_refuse_with_the_field_named_and_no_value_repeated() {
        let err = |v: Value| UsersPage::from_value(&v).unwrap_err().to_string();
        assert_eq!(err(json!({})), "field `users`: expected an array");
        assert_eq!(
            err(json!({"users": null})),
            "field `users`: expected an array"
        );
        assert_eq!(err(json!([])), "expected an object");
        let e =
            err(json!({"users": [{"user_id": "a"}, {"user_id": "b", "email": {"t": "tok_9"}}]}));
        assert_eq!(e, "field `users[1].email`: expected a string");
        assert_eq!(
            err(json!({"users": [7]})),
            "field `users[0]`: expected an object"
        );
        let e = err(json!({"users": [{"user_id": "a", "created_at": 5}]}));
        assert!(
            e.starts_with("field `users[0].created_at`: expected a date"),
            "{e}"
        );
        assert!(
            err(json!({"users": [{"user_id": "a", "created_at": {"$date": null}}]}))
                .contains("created_at")
        );
        assert!(
            err(json!({"users": [{"user_id": "a", "identities": null}]})).contains("identities")
        );
        assert!(
            err(json!({"users": [{"user_id": "a", "identities": [null]}]}))
                .contains("identities[0]")
        );
        assert!(
            err(json!({"users": [{"user_id": "a", "identities": [{"connection": 1}]}]}))
                .contains("identities[0].connection")
        );
        // `total` is a JSON integer count, as serde's `u64` read it: no floats, no negatives.
        for bad in [json!(-1), json!(1.0), json!(1e300), json!("5")] {
            assert_eq!(
                err(json!({"users": [], "total": bad})),
                "field `total`: expected a count"
            );
        }
        let p = UsersPage::from_value(&json!({"users": [], "total": u64::MAX})).unwrap();
        assert_eq!(p.total, Some(u64::MAX));
        assert_eq!(
            UsersPage::from_value(&json!({"users": [], "total": null}))
                .unwrap()
                .total,
            None
        );
    }

    #[test]
    fn optional_lists_may_be_absent_but_not_null() {
        let p = OrganizationsPage::from_value(&json!({"next": "x"})).unwrap();
        assert!(p.organizations.is_empty());
        assert_eq!(p.next.as_deref(), Some("x"));
        // A `null` list could end a listing early and mark everything after it removed.
        assert!(OrganizationsPage::from_value(&json!({"organizations": null})).is_err());
        assert!(MembersPage::from_value(&json!({"members": null})).is_err());
        assert!(MembersPage::from_value(&json!({"members": [{"user_id": 1}]})).is_err());
        assert!(OrganizationsPage::from_value(&json!({"organizations": [], "next": 1})).is_err());
        let m = MembersPage::from_value(&json!({"members": [{"user_id": "u"}]})).unwrap();
        assert_eq!(
            m.members,
            [Auth0Member {
                user_id: "u".into()
            }]
        );
        let o =
            Auth0Organization::from_value(&json!({"id": "org_1", "display_name": "Acme"})).unwrap();
        assert_eq!((o.name, o.display_name.as_deref()), (None, Some("Acme")));
        assert!(Auth0Organization::from_value(&json!({"id": "o", "name": false})).is_err());
    }

    #[test]
    fn token_and_job_answers() {
        let t = TokenResponse::from_value(
            &json!({"access_token": "t", "expires_in": "7200", "scope": "read:users"}),
        )
        .unwrap();
        assert_eq!(
            (t.expires_in, t.scope.as_deref()),
            (Some(7200.0), Some("read:users"))
        );
        let t =
            TokenResponse::from_value(&json!({"access_token": "t", "expires_in": [1]})).unwrap();
        assert_eq!((t.expires_in, t.scope), (None, None));
        assert!(TokenResponse::from_value(&json!({"access_token": "t", "scope": 5})).is_err());
        assert!(TokenResponse::from_value(&json!({"expires_in": 5})).is_err());
        let j = ExportJob::from_value(
            &json!({"id": "job_1", "status": "completed", "location": "https://x"}),
        )
        .unwrap();
        assert_eq!(
            (j.id.as_str(), j.status.as_deref()),
            ("job_1", Some("completed"))
        );
        assert!(ExportJob::from_value(&json!({"id": "job_1", "location": 5})).is_err());
    }

    #[test]
    fn error_bodies_say_all_or_nothing() {
        let e = ApiErrorBody::read(
            r#"{"errorCode": "insufficient_scope", "message": "m", "statusCode": 403}"#,
        );
        assert_eq!(
            (e.error_code.as_deref(), e.message.as_deref()),
            (Some("insufficient_scope"), Some("m"))
        );
        // One field of the wrong type: the body says nothing, as a failed derive did.
        let e = ApiErrorBody::read(r#"{"errorCode": "insufficient_scope", "message": 5}"#);
        assert_eq!((e.error_code, e.message), (None, None));
        let e = OAuthError::read(r#"{"error": "access_denied", "error_description": "no"}"#);
        assert_eq!(
            (e.error.as_deref(), e.error_description.as_deref()),
            (Some("access_denied"), Some("no"))
        );
        for junk in [
            "",
            "<html>",
            "[]",
            "5",
            "null",
            "{\"error\": [1]}",
            "{\"error\": \"x\"",
        ] {
            let e = OAuthError::read(junk);
            assert_eq!((e.error, e.error_description), (None, None), "{junk}");
        }
    }

    #[test]
    fn serde_in_tests_reaches_the_same_reader() {
        let u: Auth0User =
            serde_json::from_value(json!({"user_id": "a", "logins_count": "5"})).unwrap();
        assert_eq!(u.logins_count, Some(5));
        let e = serde_json::from_value::<Auth0User>(json!({"user_id": 5})).unwrap_err();
        assert!(e.to_string().contains("user_id"), "{e}");
    }
}
