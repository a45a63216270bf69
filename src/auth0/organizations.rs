//! Organizations and their members, always with checkpoint paging (offset paging stops at 1000).

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::types::{Auth0Organization, MembersPage, OrganizationsPage};
use crate::clock::Clock;
use crate::http::{HttpClient, encode_component};

/// The page size for checkpoint listings; Auth0's maximum for members is not documented.
pub const TAKE: u32 = 100;

/// The path for one page of organizations.
pub fn organizations_path(from: Option<&str>) -> String {
    match from {
        Some(f) => format!(
            "/api/v2/organizations?take={TAKE}&from={}",
            encode_component(f)
        ),
        None => format!("/api/v2/organizations?take={TAKE}"),
    }
}

/// The path for one page of an organization's members.
pub fn members_path(org_id: &str, from: Option<&str>) -> String {
    let base = format!(
        "/api/v2/organizations/{}/members?take={TAKE}&fields=user_id&include_fields=true",
        encode_component(org_id)
    );
    match from {
        Some(f) => format!("{base}&from={}", encode_component(f)),
        None => base,
    }
}

/// Whether a checkpoint listing has ended: no `next`, or an empty page (which may carry one).
pub fn listing_ends(page_len: usize, next: Option<&str>) -> bool {
    page_len == 0 || next.is_none_or(str::is_empty)
}

/// Lists every organization.
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:organizations is not granted.
pub async fn list_organizations<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<Vec<Auth0Organization>, Auth0Error> {
    let mut out = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let page = client
            .get(
                &organizations_path(from.as_deref()),
                OrganizationsPage::from_value,
            )
            .await?;
        let done = listing_ends(page.organizations.len(), page.next.as_deref());
        out.extend(page.organizations);
        if done {
            return Ok(out);
        }
        from = page.next;
    }
}

/// Reads one page of an organization's members, from a checkpoint (`None`: the first page).
/// Returns their user ids and the next page's checkpoint, `None` once the listing has ended.
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:organization_members is not granted.
pub async fn member_ids_page<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    org_id: &str,
    from: Option<&str>,
) -> Result<(Vec<String>, Option<String>), Auth0Error> {
    let page = client
        .get(&members_path(org_id, from), MembersPage::from_value)
        .await?;
    let done = listing_ends(page.members.len(), page.next.as_deref());
    let ids = page.members.into_iter().map(|m| m.user_id).collect();
    Ok((ids, if done { None } else { page.next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_listing_ends_on_missing_next_or_an_empty_page() {
        assert!(listing_ends(100, None));
        assert!(listing_ends(0, Some("abc")));
        assert!(listing_ends(5, Some("")));
        assert!(!listing_ends(100, Some("abc")));
    }

    #[test]
    fn paths_use_from_and_take_and_encode_ids() {
        assert_eq!(organizations_path(None), "/api/v2/organizations?take=100");
        assert_eq!(
            members_path("org_1", Some("a+b")),
            "/api/v2/organizations/org_1/members?take=100&fields=user_id&include_fields=true&from=a%2Bb"
        );
    }
}
