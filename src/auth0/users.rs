//! `GET /api/v2/users`: the query the sync sends (a `created_at` range, sorted ascending) and the
//! page it gets back. How pages make a complete listing is the sync's business (`sync::listing`).

use std::ops::Bound;

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::UsersPage;
use crate::clock::Clock;
use crate::http::{HttpClient, query_string};

/// The largest page Auth0 serves.
pub const PER_PAGE: u32 = 100;
/// Page-based listing stops at this many results (and `total` may be capped at it).
pub const RESULT_CAP: u32 = 1000;
/// Pages one query can reach under the cap.
pub const MAX_PAGES: u32 = RESULT_CAP / PER_PAGE;
/// Only the fields the store keeps: smaller pages, and no metadata or IdP tokens in memory.
pub const USER_FIELDS: &str = "user_id,email,email_verified,name,created_at,updated_at,last_login,logins_count,blocked,identities";

/// The Lucene query for `created_at` within these bounds; `None` when both are open.
pub fn created_at_query(lower: Bound<&str>, upper: Bound<&str>) -> Option<String> {
    let (open, from) = match lower {
        Bound::Unbounded if matches!(upper, Bound::Unbounded) => return None,
        Bound::Unbounded => ('[', "*"),
        Bound::Included(t) => ('[', t),
        Bound::Excluded(t) => ('{', t),
    };
    let (to, close) = match upper {
        Bound::Unbounded => ("*", ']'),
        Bound::Included(t) => (t, ']'),
        Bound::Excluded(t) => (t, '}'),
    };
    Some(format!("created_at:{open}{from} TO {to}{close}"))
}

/// The path and query for one page of users matching `q`, `per_page` at a time.
pub fn users_path(q: Option<&str>, page: u32, per_page: u32) -> String {
    let mut params = vec![
        ("search_engine", "v3".to_string()),
        ("per_page", per_page.to_string()),
        ("page", page.to_string()),
        ("include_totals", "true".to_string()),
        // An immutable sort key: unsorted listings have repeated and skipped users across pages.
        ("sort", "created_at:1".to_string()),
        ("fields", USER_FIELDS.to_string()),
        ("include_fields", "true".to_string()),
    ];
    if let Some(q) = q {
        params.push(("q", q.to_string()));
    }
    format!("/api/v2/users?{}", query_string(&params))
}

/// One page of users matching `q`, with Auth0's `total` for the whole query when it sends one.
///
/// # Errors
/// Any [`Auth0Error`] of the request.
pub async fn fetch_page<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    q: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<UsersPage, Auth0Error> {
    client
        .get(&users_path(q, page, per_page), UsersPage::from_value)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_always_sends_v3_a_stable_sort_and_the_range() {
        let q = created_at_query(
            Bound::Excluded("2023-01-25T17:48:14.784Z"),
            Bound::Unbounded,
        );
        let p = users_path(q.as_deref(), 3, PER_PAGE);
        assert!(p.starts_with("/api/v2/users?search_engine=v3&per_page=100&page=3&include_totals=true&sort=created_at%3A1"), "{p}");
        assert!(
            p.ends_with("&q=created_at%3A%7B2023-01-25T17%3A48%3A14.784Z%20TO%20%2A%5D"),
            "{p}"
        );
        assert!(!users_path(None, 0, 1).contains("&q="));
        assert!(users_path(None, 0, 1).contains("per_page=1&"));
    }

    #[test]
    fn ranges_use_lucene_brackets_for_each_kind_of_bound() {
        let q = |l, u| created_at_query(l, u);
        assert_eq!(q(Bound::Unbounded, Bound::Unbounded), None);
        assert_eq!(
            q(Bound::Included("a"), Bound::Unbounded).as_deref(),
            Some("created_at:[a TO *]")
        );
        assert_eq!(
            q(Bound::Unbounded, Bound::Excluded("b")).as_deref(),
            Some("created_at:[* TO b}")
        );
        assert_eq!(
            q(Bound::Excluded("a"), Bound::Excluded("b")).as_deref(),
            Some("created_at:{a TO b}")
        );
        assert_eq!(
            q(Bound::Included("t"), Bound::Included("t")).as_deref(),
            Some("created_at:[t TO t]")
        );
    }
}
