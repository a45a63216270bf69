//! Listing every user past the 1000-result cap: keyset blocks over `created_at`.
//!
//! Each block asks for users with `created_at` at or after a lower bound, sorted ascending,
//! and pages until the cap (10 pages of 100). A full block ends at its last `created_at`, which
//! becomes the next block's inclusive lower bound, so nothing between blocks is skipped and only
//! the boundary millisecond is listed twice (and deduplicated). A full block whose users all
//! share one millisecond cannot be narrowed by `created_at`: that millisecond is read from a
//! bulk export job instead, and the listing resumes just after it.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::{Auth0User, UsersPage};
use crate::clock::Clock;
use crate::http::{HttpClient, query_string};

/// The largest page Auth0 serves.
pub const PER_PAGE: u32 = 100;
/// Pages per block: page-based listing stops at 1000 results.
pub const MAX_PAGES: u32 = 1000 / PER_PAGE;
/// Only the fields the store keeps: smaller pages, and no metadata or IdP tokens in memory.
pub const USER_FIELDS: &str = "user_id,email,email_verified,name,created_at,updated_at,last_login,logins_count,blocked,identities";

/// Where a block starts on `created_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum Lower {
    /// From the first user.
    Unbounded,
    /// At or after this instant.
    Inclusive(String),
    /// Strictly after this instant.
    Exclusive(String),
}

impl Lower {
    /// The Lucene query for this bound, if any.
    fn lucene(&self) -> Option<String> {
        match self {
            Self::Unbounded => None,
            Self::Inclusive(t) => Some(format!("created_at:[{t} TO *]")),
            Self::Exclusive(t) => Some(format!("created_at:{{{t} TO *]")),
        }
    }

    fn admits(&self, created_at: &str) -> bool {
        match self {
            Self::Unbounded => true,
            Self::Inclusive(t) => created_at >= t.as_str(),
            Self::Exclusive(t) => created_at > t.as_str(),
        }
    }
}

/// The `created_at` range a finished block vouches for: every user in it was listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// From `lower` up to, not including, `before` (or to the end).
    Range {
        /// The block's lower bound.
        lower: Lower,
        /// The exclusive upper bound; `None` for the last block.
        before: Option<String>,
    },
    /// Exactly one millisecond, read from an export.
    Exactly(String),
}

impl Covered {
    /// Whether a user created at this instant falls in the range.
    pub fn contains(&self, created_at: &str) -> bool {
        match self {
            Self::Range { lower, before } => {
                lower.admits(created_at) && before.as_deref().is_none_or(|b| created_at < b)
            }
            Self::Exactly(t) => created_at == t,
        }
    }
}

/// What follows a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The listing is complete.
    Done,
    /// Another block starts here.
    From(Lower),
    /// More than a block's worth of users share this millisecond: export it.
    Export(String),
}

/// The path and query for one page of a block.
pub fn users_path(lower: &Lower, page: u32) -> String {
    let mut q = vec![
        ("search_engine", "v3".to_string()),
        ("per_page", PER_PAGE.to_string()),
        ("page", page.to_string()),
        ("include_totals", "true".to_string()),
        // An immutable sort key: unsorted listings have repeated and skipped users across pages.
        ("sort", "created_at:1".to_string()),
        ("fields", USER_FIELDS.to_string()),
        ("include_fields", "true".to_string()),
    ];
    if let Some(l) = lower.lucene() {
        q.push(("q", l));
    }
    format!("/api/v2/users?{}", query_string(&q))
}

/// Decides, from a block's users, what it covered and what comes next.
///
/// `full` means the block reached the cap, so more users may follow.
pub fn end_of_block(lower: &Lower, users: &[Auth0User], full: bool) -> (Covered, Next) {
    if !full {
        let covered = Covered::Range {
            lower: lower.clone(),
            before: None,
        };
        return (covered, Next::Done);
    }
    let created = |u: &Auth0User| u.created_at.clone().unwrap_or_default();
    let min = users.iter().map(created).min().unwrap_or_default();
    let max = users.iter().map(created).max().unwrap_or_default();
    let covered = Covered::Range {
        lower: lower.clone(),
        before: Some(max.clone()),
    };
    if min == max {
        (covered, Next::Export(max))
    } else {
        (covered, Next::From(Lower::Inclusive(max)))
    }
}

/// Keeps the first of each `user_id` and only users inside `covered`.
pub fn dedupe_within(users: Vec<Auth0User>, covered: &Covered) -> Vec<Auth0User> {
    let mut seen = HashSet::with_capacity(users.len());
    users
        .into_iter()
        .filter(|u| covered.contains(u.created_at.as_deref().unwrap_or("")))
        .filter(|u| seen.insert(u.user_id.clone()))
        .collect()
}

/// One block of the listing.
#[derive(Debug)]
pub struct Block {
    /// Users inside `covered`, once each.
    pub users: Vec<Auth0User>,
    /// The range this block listed completely.
    pub covered: Covered,
    /// What follows.
    pub next: Next,
    /// Auth0's total for the block's query (possibly capped at 1000).
    pub total_hint: Option<u64>,
}

/// Fetches one block: up to [`MAX_PAGES`] pages from `lower`.
///
/// # Errors
/// Any [`Auth0Error`] of a page.
pub async fn fetch_block<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    lower: &Lower,
) -> Result<Block, Auth0Error> {
    let mut users = Vec::new();
    let mut total_hint = None;
    let mut full = true;
    for page in 0..MAX_PAGES {
        let answer: UsersPage = client.get(&users_path(lower, page)).await?;
        if page == 0 {
            total_hint = answer.total;
        }
        let short = answer.users.len() < PER_PAGE as usize;
        users.extend(answer.users);
        if short {
            full = false;
            break;
        }
    }
    let (covered, next) = end_of_block(lower, &users, full);
    Ok(Block {
        users: dedupe_within(users, &covered),
        covered,
        next,
        total_hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, created: &str) -> Auth0User {
        serde_json::from_value(serde_json::json!({"user_id": id, "created_at": created})).unwrap()
    }

    #[test]
    fn query_always_sends_v3_a_stable_sort_and_the_bound() {
        let p = users_path(&Lower::Exclusive("2023-01-25T17:48:14.784Z".into()), 3);
        assert!(p.starts_with("/api/v2/users?search_engine=v3&per_page=100&page=3&include_totals=true&sort=created_at%3A1"), "{p}");
        assert!(
            p.ends_with("&q=created_at%3A%7B2023-01-25T17%3A48%3A14.784Z%20TO%20%2A%5D"),
            "{p}"
        );
        assert!(!users_path(&Lower::Unbounded, 0).contains("&q="));
        assert!(users_path(&Lower::Inclusive("x".into()), 0).contains("q=created_at%3A%5Bx%20TO"));
    }

    #[test]
    fn a_short_block_is_the_last_and_covers_everything_after_its_bound() {
        let lower = Lower::Inclusive("2021".into());
        let (covered, next) = end_of_block(&lower, &[user("a", "2022")], false);
        assert_eq!(next, Next::Done);
        assert!(covered.contains("2021") && covered.contains("2999"));
        assert!(!covered.contains("2020"));
    }

    #[test]
    fn a_full_block_continues_from_its_last_instant_inclusively() {
        let users = vec![
            user("a", "2020-01"),
            user("b", "2020-02"),
            user("c", "2020-03"),
        ];
        let (covered, next) = end_of_block(&Lower::Unbounded, &users, true);
        assert_eq!(next, Next::From(Lower::Inclusive("2020-03".into())));
        // The boundary instant is left to the next block, which lists all of it.
        assert!(covered.contains("2020-02") && !covered.contains("2020-03"));
        assert_eq!(dedupe_within(users, &covered).len(), 2);
    }

    #[test]
    fn a_full_block_of_one_millisecond_asks_for_an_export() {
        let users = vec![user("a", "t"), user("b", "t")];
        let lower = Lower::Inclusive("t".into());
        let (covered, next) = end_of_block(&lower, &users, true);
        assert_eq!(next, Next::Export("t".into()));
        assert!(!covered.contains("t"));
        let exact = Covered::Exactly("t".into());
        assert!(exact.contains("t") && !exact.contains("u"));
        assert!(
            Lower::Exclusive("t".into()).admits("u") && !Lower::Exclusive("t".into()).admits("t")
        );
    }

    #[test]
    fn dedupe_keeps_first_of_each_id() {
        let users = vec![user("a", "1"), user("b", "1"), user("a", "1")];
        let out = dedupe_within(
            users,
            &Covered::Range {
                lower: Lower::Unbounded,
                before: None,
            },
        );
        let ids: Vec<_> = out.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn cursor_bounds_round_trip_as_json() {
        for l in [
            Lower::Unbounded,
            Lower::Inclusive("a".into()),
            Lower::Exclusive("b".into()),
        ] {
            let s = serde_json::to_string(&l).unwrap();
            assert_eq!(serde_json::from_str::<Lower>(&s).unwrap(), l);
        }
    }
}
