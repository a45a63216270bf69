//! The API's JSON bodies: serde `Serialize` derives on the API types, written by serde_json.
//!
//! Each answer is a small borrowed envelope around the stored types, written straight to text,
//! so a year of trend points never becomes a `Value` tree in memory. Field order is declaration
//! order; the golden tests (`api/tests/json.rs`) pin every body byte for byte.

use serde::Serialize;

use crate::render::applications::Coverage;
use crate::render::applications::NotEnabled;
use crate::store::applications::{AppSummary, UsageGap, UserApp};
use crate::store::{ChangeRecord, OrgRecord, RunRecord, UserRecord};

/// `value` as JSON text.
pub fn body<T: Serialize>(value: &T) -> String {
    // ok: every body is a derive over strings, integers, booleans, options and sequences (no
    // maps with non-string keys, no custom serializer), for which serde_json cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// `{"error": message}`.
pub fn error(message: &str) -> String {
    #[derive(Serialize)]
    struct Error<'a> {
        error: &'a str,
    }
    body(&Error { error: message })
}

/// `{"users": […], "next_cursor": …}`: a page of users, of an application's users too.
#[derive(Serialize)]
pub struct UsersPage<'a, T> {
    /// The page.
    pub users: &'a [T],
    /// The cursor for the next page; `null` on the last.
    pub next_cursor: Option<&'a str>,
}

/// `{"members": […], "next_cursor": …}`: a page of an organization's members.
#[derive(Serialize)]
pub struct MembersPage<'a> {
    /// The page.
    pub members: &'a [UserRecord],
    /// The cursor for the next page; `null` on the last.
    pub next_cursor: Option<&'a str>,
}

/// `{"user": …, "applications": […]}`.
#[derive(Serialize)]
pub struct UserWithApps<'a> {
    /// The user.
    pub user: &'a UserRecord,
    /// The applications the user can reach or used.
    pub applications: &'a [UserApp],
}

/// `{"organizations": […]}`.
#[derive(Serialize)]
pub struct Organizations<'a> {
    /// Every organization.
    pub organizations: &'a [OrgRecord],
}

/// `{"runs": […]}`.
#[derive(Serialize)]
pub struct Runs<'a> {
    /// The newest runs first.
    pub runs: &'a [RunRecord],
}

/// `{"run": …}`: the answer to `POST /api/sync`.
#[derive(Serialize)]
pub struct Run<'a> {
    /// The run this request made or continued.
    pub run: &'a RunRecord,
}

/// `{"changes": […], "next_cursor": …}`.
#[derive(Serialize)]
pub struct ChangesPage<'a> {
    /// The page.
    pub changes: &'a [ChangeRecord],
    /// The cursor for the next page; `null` on the last.
    pub next_cursor: Option<&'a str>,
}

/// `{"applications": […], "not_enabled": […], "usage_gaps": […]}`.
#[derive(Serialize)]
pub struct Applications<'a> {
    /// Every application with its reach and usage.
    pub applications: &'a [AppSummary],
    /// Features whose scope is not granted.
    pub not_enabled: &'a [NotEnabled],
    /// Spans of the log whose usage is unknown.
    pub usage_gaps: &'a [UsageGap],
}

impl<'a> Applications<'a> {
    /// The list with what the views show beside it.
    pub fn new(applications: &'a [AppSummary], c: &'a Coverage) -> Self {
        Self {
            applications,
            not_enabled: &c.not_enabled,
            usage_gaps: &c.usage_gaps,
        }
    }
}

/// `{"application": …, "not_enabled": […], "usage_gaps": […]}`.
#[derive(Serialize)]
pub struct Application<'a> {
    /// The application with its reach and usage.
    pub application: &'a AppSummary,
    /// Features whose scope is not granted.
    pub not_enabled: &'a [NotEnabled],
    /// Spans of the log whose usage is unknown.
    pub usage_gaps: &'a [UsageGap],
}

impl<'a> Application<'a> {
    /// One application with what the views show beside it.
    pub fn new(application: &'a AppSummary, c: &'a Coverage) -> Self {
        Self {
            application,
            not_enabled: &c.not_enabled,
            usage_gaps: &c.usage_gaps,
        }
    }
}
