//! Applications (clients), connections, which clients each connection is enabled for, and the
//! connections each organization has enabled: the listings "who can reach app X" is derived from.
//!
//! Each listing says whether it was proven complete (a count against Auth0's `total`, or a
//! checkpoint listing that ended): only a complete listing may mark anything removed.

use std::collections::HashSet;

use serde::Deserialize;

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::organizations::listing_ends;
use crate::clock::Clock;
use crate::http::{HttpClient, encode_component};

/// Page size for every listing here (Auth0's documented maximum for offset paging is 100).
pub const PER_PAGE: u32 = 100;
/// Offset paging stops at 1000 results: beyond, a listing cannot be proven complete.
pub const OFFSET_CAP: u32 = 1000;
/// No listing here reads more pages than this in one go: a server that keeps answering `next`
/// cannot keep the sync forever.
pub const MAX_PAGES: u32 = 200;

/// An application as `GET /api/v2/clients` gives it, with only the fields asked for. Secrets
/// are never requested (`fields=…&include_fields=true`), and would be ignored if sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Auth0Application {
    /// The client id.
    pub client_id: String,
    /// Its name.
    #[serde(default, deserialize_with = "loose_text")]
    pub name: Option<String>,
    /// `spa`, `native`, `regular_web`, `non_interactive` (M2M), …; absent when unset.
    #[serde(default, deserialize_with = "loose_text")]
    pub app_type: Option<String>,
    /// Absent means first-party (Auth0's default).
    #[serde(default, deserialize_with = "loose_bool")]
    pub is_first_party: Option<bool>,
    /// `deny`, `allow` or `require`; absent means `deny`.
    #[serde(default, deserialize_with = "loose_text")]
    pub organization_usage: Option<String>,
}

/// A connection as `GET /api/v2/connections` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Auth0Connection {
    /// `con_…`.
    pub id: String,
    /// The name users' identities carry.
    pub name: String,
    /// `auth0`, `google-oauth2`, `samlp`, …
    #[serde(default, deserialize_with = "loose_text")]
    pub strategy: Option<String>,
}

/// A string field of an unexpected type reads as absent rather than failing its whole page.
fn loose_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn loose_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Some(b),
        _ => None,
    })
}

/// `GET /api/v2/clients?include_totals=true`.
#[derive(Debug, Deserialize)]
pub struct ClientsPage {
    /// This page's clients.
    #[serde(default)]
    pub clients: Vec<Auth0Application>,
    /// How many there are in all; absent when Auth0 does not say.
    #[serde(default)]
    pub total: Option<u64>,
}

/// `GET /api/v2/connections` with checkpoint paging (`take` given). Any other shape, a bare
/// array included, fails to parse: it carries no paging to prove the listing complete.
#[derive(Debug, Deserialize)]
pub struct ConnectionsPage {
    /// This page's connections.
    pub connections: Vec<Auth0Connection>,
    /// The next page's checkpoint.
    #[serde(default)]
    pub next: Option<String>,
}

/// One enabled client of a connection.
#[derive(Debug, Deserialize)]
pub struct EnabledClient {
    /// The client id.
    pub client_id: String,
}

/// `GET /api/v2/connections/{id}/clients`.
#[derive(Debug, Deserialize)]
pub struct ConnectionClientsPage {
    /// This page's clients.
    pub clients: Vec<EnabledClient>,
    /// The next page's checkpoint.
    #[serde(default)]
    pub next: Option<String>,
}

/// One connection enabled for an organization.
#[derive(Debug, Deserialize)]
pub struct OrgConnection {
    /// The connection's id.
    pub connection_id: String,
}

/// `GET /api/v2/organizations/{id}/enabled_connections?include_totals=true`.
#[derive(Debug, Deserialize)]
pub struct OrgConnectionsPage {
    /// This page's connections.
    #[serde(default)]
    pub enabled_connections: Vec<OrgConnection>,
    /// How many there are in all.
    #[serde(default)]
    pub total: Option<u64>,
}

/// A listing and whether it is proven complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    /// What was read, without duplicates.
    pub items: Vec<T>,
    /// `None`: proven complete. `Some(why)`: possibly incomplete, so nothing may be removed.
    pub unproven: Option<String>,
}

/// The path for one page of applications.
pub fn clients_path(page: u32) -> String {
    format!(
        "/api/v2/clients?fields=client_id,name,app_type,is_first_party,organization_usage\
         &include_fields=true&include_totals=true&page={page}&per_page={PER_PAGE}"
    )
}

/// The path for one page of connections.
pub fn connections_path(from: Option<&str>) -> String {
    let base =
        format!("/api/v2/connections?fields=id,name,strategy&include_fields=true&take={PER_PAGE}");
    match from {
        Some(f) => format!("{base}&from={}", encode_component(f)),
        None => base,
    }
}

/// The path for one page of a connection's enabled clients.
pub fn connection_clients_path(connection_id: &str, from: Option<&str>) -> String {
    let base = format!(
        "/api/v2/connections/{}/clients?take={PER_PAGE}",
        encode_component(connection_id)
    );
    match from {
        Some(f) => format!("{base}&from={}", encode_component(f)),
        None => base,
    }
}

/// The path for one page of an organization's enabled connections.
pub fn org_connections_path(org_id: &str, page: u32) -> String {
    format!(
        "/api/v2/organizations/{}/enabled_connections?include_totals=true&page={page}&per_page={PER_PAGE}",
        encode_component(org_id)
    )
}

/// Offset-paged reading, shared by clients and organization connections: reads until a page is
/// empty or the distinct count reaches `total`; complete only when it equals `total` exactly.
struct OffsetProof {
    seen: usize,
    total: Option<u64>,
}

impl OffsetProof {
    /// Whether to stop after a page of `len` items, `seen` distinct so far.
    fn done(&self, len: usize, page: u32) -> bool {
        len == 0
            || self.total.is_some_and(|t| self.seen as u64 >= t)
            || (page + 1) * PER_PAGE >= OFFSET_CAP
            || page + 1 >= MAX_PAGES
    }

    fn verdict(&self, what: &str) -> Option<String> {
        match self.total {
            Some(t) if t == self.seen as u64 => None,
            Some(t) => Some(format!(
                "{what}: read {} distinct, Auth0 reports {t}",
                self.seen
            )),
            None => Some(format!(
                "{what}: Auth0 gave no total to check the listing against"
            )),
        }
    }
}

/// Lists every application.
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:clients is not granted.
pub async fn list_applications<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<Listing<Auth0Application>, Auth0Error> {
    let mut items: Vec<Auth0Application> = Vec::new();
    let mut ids = HashSet::new();
    let mut proof = OffsetProof {
        seen: 0,
        total: None,
    };
    for page in 0.. {
        let p: ClientsPage = client.get(&clients_path(page)).await?;
        let len = p.clients.len();
        proof.total = p.total.or(proof.total);
        for a in p.clients {
            if ids.insert(a.client_id.clone()) {
                items.push(a);
            }
        }
        proof.seen = ids.len();
        if proof.done(len, page) {
            break;
        }
    }
    Ok(Listing {
        unproven: proof.verdict("applications"),
        items,
    })
}

/// Lists every connection (checkpoint paging: complete when it ends).
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:connections is not granted.
pub async fn list_connections<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
) -> Result<Listing<Auth0Connection>, Auth0Error> {
    let mut items: Vec<Auth0Connection> = Vec::new();
    let mut ids = HashSet::new();
    let mut from: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let ConnectionsPage { connections, next } =
            client.get(&connections_path(from.as_deref())).await?;
        let done = listing_ends(connections.len(), next.as_deref());
        items.extend(connections.into_iter().filter(|c| ids.insert(c.id.clone())));
        if done {
            return Ok(Listing {
                items,
                unproven: None,
            });
        }
        from = next;
    }
    Ok(Listing {
        items,
        unproven: Some(format!("connections: more than {MAX_PAGES} pages")),
    })
}

/// Lists the clients a connection is enabled for (checkpoint paging: complete when it ends).
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:connections is not granted; `Rejected` 404 when
/// the connection is gone.
pub async fn list_connection_clients<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    connection_id: &str,
) -> Result<Listing<String>, Auth0Error> {
    let mut items: Vec<String> = Vec::new();
    let mut ids = HashSet::new();
    let mut from: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page: ConnectionClientsPage = client
            .get(&connection_clients_path(connection_id, from.as_deref()))
            .await?;
        let done = listing_ends(page.clients.len(), page.next.as_deref());
        for c in page.clients {
            if ids.insert(c.client_id.clone()) {
                items.push(c.client_id);
            }
        }
        if done {
            return Ok(Listing {
                items,
                unproven: None,
            });
        }
        from = page.next;
    }
    Ok(Listing {
        items,
        unproven: Some(format!(
            "enabled clients of {connection_id}: more than {MAX_PAGES} pages"
        )),
    })
}

/// Lists the connections an organization has enabled.
///
/// # Errors
/// Any [`Auth0Error`]; `MissingScope` when read:organization_connections is not granted.
pub async fn list_org_connections<H: HttpClient, C: Clock>(
    client: &mut Auth0Client<'_, H, C>,
    org_id: &str,
) -> Result<Listing<String>, Auth0Error> {
    let mut items: Vec<String> = Vec::new();
    let mut ids = HashSet::new();
    let mut proof = OffsetProof {
        seen: 0,
        total: None,
    };
    for page in 0.. {
        let p: OrgConnectionsPage = client.get(&org_connections_path(org_id, page)).await?;
        let len = p.enabled_connections.len();
        proof.total = p.total.or(proof.total);
        for c in p.enabled_connections {
            if ids.insert(c.connection_id.clone()) {
                items.push(c.connection_id);
            }
        }
        proof.seen = ids.len();
        if proof.done(len, page) {
            break;
        }
    }
    Ok(Listing {
        unproven: proof.verdict(&format!("connections of organization {org_id}")),
        items,
    })
}

#[cfg(test)]
#[path = "tests/applications.rs"]
mod tests;
