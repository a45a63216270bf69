//! The parts of Auth0's JSON that the sync reads. Unknown fields (metadata, IdP tokens) are
//! ignored by design: they are never parsed, stored or shown.

use serde::Deserialize;

/// A user as `/api/v2/users` and the export file give it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Auth0User {
    /// e.g. `auth0|63d1…`.
    pub user_id: String,
    /// Absent for some social and enterprise users.
    #[serde(default)]
    pub email: Option<String>,
    /// Absent where the connection does not say. Some enterprise connections send `"true"`.
    #[serde(default, deserialize_with = "loose_flag")]
    pub email_verified: Option<bool>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// ISO-8601 UTC with milliseconds.
    #[serde(default, deserialize_with = "date")]
    pub created_at: Option<String>,
    /// ISO-8601 UTC.
    #[serde(default, deserialize_with = "date")]
    pub updated_at: Option<String>,
    /// Absent until the first login.
    #[serde(default, deserialize_with = "date")]
    pub last_login: Option<String>,
    /// Absent until the first login.
    #[serde(default, deserialize_with = "loose_count")]
    pub logins_count: Option<i64>,
    /// Absent means not blocked.
    #[serde(default, deserialize_with = "loose_flag")]
    pub blocked: Option<bool>,
    /// Linked accounts; the first is the primary.
    #[serde(default)]
    pub identities: Vec<Identity>,
}

/// A date as a string, or as `{"$date": "…"}` the way some export files write it.
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Plain(String),
        Wrapped {
            #[serde(rename = "$date")]
            date: String,
        },
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|r| match r {
        Raw::Plain(s) | Raw::Wrapped { date: s } => s,
    }))
}

/// A JSON value of any type, read without failing: a field of an unexpected type must not make
/// a whole page of users unreadable.
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Flag(bool),
    Number(f64),
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Loose {
    fn number(self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(n),
            Self::Text(t) => t.trim().parse().ok(),
            Self::Flag(_) | Self::Other(_) => None,
        }
        .filter(|n: &f64| n.is_finite())
    }
}

/// A boolean, or `"true"`/`"false"`, or 0/1; anything else is unknown.
fn loose_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<Loose>::deserialize(d)?.and_then(|v| match v {
        Loose::Flag(b) => Some(b),
        Loose::Text(t) => match t.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        other => other.number().map(|n| n != 0.0),
    }))
}

/// A count: a number or numeric text, clamped to `0..=i64::MAX`; anything else is unknown.
fn loose_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    // A float-to-int `as` saturates; the number is finite and clamped at 0 first.
    Ok(Option::<Loose>::deserialize(d)?
        .and_then(Loose::number)
        .map(|n| n.max(0.0) as i64))
}

/// Seconds: a number or numeric text (finite); anything else is unknown.
fn loose_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Loose>::deserialize(d)?.and_then(Loose::number))
}

/// One linked identity: only its connection matters here.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Identity {
    /// e.g. `google-oauth2`.
    #[serde(default)]
    pub connection: Option<String>,
}

/// `/api/v2/users?include_totals=true`.
#[derive(Debug, Deserialize)]
pub struct UsersPage {
    /// This page's users.
    pub users: Vec<Auth0User>,
    /// The matching total; may itself be capped at 1000.
    #[serde(default)]
    pub total: Option<u64>,
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Lifetime in seconds, as Auth0 sent it; the client clamps it.
    #[serde(default, deserialize_with = "loose_seconds")]
    pub expires_in: Option<f64>,
    /// Space-separated granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The OAuth error body of the token endpoint.
#[derive(Debug, Deserialize, Default)]
pub struct OAuthError {
    /// e.g. `access_denied`.
    #[serde(default)]
    pub error: Option<String>,
    /// Human text.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The Boom-style error body of `/api/v2`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    /// e.g. `insufficient_scope`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Human text.
    #[serde(default)]
    pub message: Option<String>,
}

/// An organization in either paging mode.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Auth0Organization {
    /// e.g. `org_…`.
    pub id: String,
    /// The URL-safe name.
    #[serde(default)]
    pub name: Option<String>,
    /// The name shown to people.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `/api/v2/organizations?from=…&take=…`.
#[derive(Debug, Deserialize)]
pub struct OrganizationsPage {
    /// This page.
    #[serde(default)]
    pub organizations: Vec<Auth0Organization>,
    /// The checkpoint for the next page; absent on the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// One member as `/organizations/{id}/members` gives it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Auth0Member {
    /// The member's user id.
    pub user_id: String,
}

/// `/api/v2/organizations/{id}/members?from=…&take=…`.
#[derive(Debug, Deserialize)]
pub struct MembersPage {
    /// This page.
    #[serde(default)]
    pub members: Vec<Auth0Member>,
    /// The checkpoint for the next page; absent on the last.
    #[serde(default)]
    pub next: Option<String>,
}

/// A bulk export job.
#[derive(Debug, Deserialize)]
pub struct ExportJob {
    /// e.g. `job_…`.
    pub id: String,
    /// `pending`, `processing`, `completed`, `failed`, …
    #[serde(default)]
    pub status: Option<String>,
    /// The signed download URL, once completed.
    #[serde(default)]
    pub location: Option<String>,
}
