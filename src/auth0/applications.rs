//! Applications (clients), connections, which clients each connection is enabled for, and the
//! connections each organization has enabled: the listings "who can reach app X" is derived from.
//!
//! Each listing says whether it was proven complete (a count against Auth0's `total`, or a
//! checkpoint listing that ended): only a complete listing may mark anything removed.

use std::collections::HashSet;

use serde_json::Value;

use super::client::Auth0Client;
use super::error::Auth0Error;
use super::organizations::listing_ends;
use super::types::{each, loose_text, opt_count};
use crate::clock::Clock;
use crate::fields::{FieldError, Fields};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth0Application {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: Option<String>,
    /// `spa`, `native`, `regular_web`, `non_interactive` (M2M), …; absent when unset.
    pub app_type: Option<String>,
    /// Absent means first-party (Auth0's default).
    pub is_first_party: Option<bool>,
    /// `deny`, `allow` or `require`; absent means `deny`.
    pub organization_usage: Option<String>,
}

impl Auth0Application {
    /// Reads an application; every field but `client_id` reads an unexpected type as absent
    /// rather than failing its whole page.
    ///
    /// # Errors
    /// Not an object, or no text `client_id`.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            client_id: f.string("client_id")?,
            name: loose_text(f.get("name")),
            app_type: loose_text(f.get("app_type")),
            is_first_party: f.get("is_first_party").and_then(Value::as_bool),
            organization_usage: loose_text(f.get("organization_usage")),
        })
    }
}

/// A connection as `GET /api/v2/connections` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth0Connection {
    /// `con_…`.
    pub id: String,
    /// The name users' identities carry.
    pub name: String,
    /// `auth0`, `google-oauth2`, `samlp`, …
    pub strategy: Option<String>,
}

impl Auth0Connection {
    /// Reads a connection; a `strategy` of an unexpected type reads as absent.
    ///
    /// # Errors
    /// Not an object, or no text `id` or `name`.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            id: f.string("id")?,
            name: f.string("name")?,
            strategy: loose_text(f.get("strategy")),
        })
    }
}

/// `GET /api/v2/clients?include_totals=true`.
#[derive(Debug)]
pub struct ClientsPage {
    /// This page's clients.
    pub clients: Vec<Auth0Application>,
    /// How many there are in all; absent when Auth0 does not say.
    pub total: Option<u64>,
}

impl ClientsPage {
    /// Reads a page.
    ///
    /// # Errors
    /// `clients` present but not a list of applications, or `total` not a count.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            clients: each(&f, "clients", false, Auth0Application::from_value)?,
            total: opt_count(&f, "total")?,
        })
    }
}

/// `GET /api/v2/connections` with checkpoint paging (`take` given). Any other shape, a bare
/// array included, fails to read: it carries no paging to prove the listing complete.
#[derive(Debug)]
pub struct ConnectionsPage {
    /// This page's connections.
    pub connections: Vec<Auth0Connection>,
    /// The next page's checkpoint.
    pub next: Option<String>,
}

impl ConnectionsPage {
    /// Reads a page.
    ///
    /// # Errors
    /// Not an object, no `connections` list, a connection unreadable, or `next` not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            connections: each(&f, "connections", true, Auth0Connection::from_value)?,
            next: f.opt_string("next")?,
        })
    }
}

/// A client id of an object that must carry one (`{"client_id": …}`).
fn client_id(v: &Value) -> Result<String, FieldError> {
    Fields::of(v)?.string("client_id")
}

/// `GET /api/v2/connections/{id}/clients`: the enabled clients' ids.
#[derive(Debug)]
pub struct ConnectionClientsPage {
    /// This page's client ids.
    pub clients: Vec<String>,
    /// The next page's checkpoint.
    pub next: Option<String>,
}

impl ConnectionClientsPage {
    /// Reads a page.
    ///
    /// # Errors
    /// No `clients` list, a client without a text `client_id`, or `next` not text.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            clients: each(&f, "clients", true, client_id)?,
            next: f.opt_string("next")?,
        })
    }
}

/// A connection id of an object that must carry one (`{"connection_id": …}`).
fn connection_id(v: &Value) -> Result<String, FieldError> {
    Fields::of(v)?.string("connection_id")
}

/// `GET /api/v2/organizations/{id}/enabled_connections?include_totals=true`.
#[derive(Debug)]
pub struct OrgConnectionsPage {
    /// This page's connection ids.
    pub enabled_connections: Vec<String>,
    /// How many there are in all.
    pub total: Option<u64>,
}

impl OrgConnectionsPage {
    /// Reads a page.
    ///
    /// # Errors
    /// `enabled_connections` present but not a list of objects with a text `connection_id`,
    /// or `total` not a count.
    pub fn from_value(v: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(v)?;
        Ok(Self {
            enabled_connections: each(&f, "enabled_connections", false, connection_id)?,
            total: opt_count(&f, "total")?,
        })
    }
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
        let p = client
            .get(&clients_path(page), ClientsPage::from_value)
            .await?;
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
        let ConnectionsPage { connections, next } = client
            .get(
                &connections_path(from.as_deref()),
                ConnectionsPage::from_value,
            )
            .await?;
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
        let page = client
            .get(
                &connection_clients_path(connection_id, from.as_deref()),
                ConnectionClientsPage::from_value,
            )
            .await?;
        let done = listing_ends(page.clients.len(), page.next.as_deref());
        for c in page.clients {
            if ids.insert(c.clone()) {
                items.push(c);
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
        let p = client
            .get(
                &org_connections_path(org_id, page),
                OrgConnectionsPage::from_value,
            )
            .await?;
        let len = p.enabled_connections.len();
        proof.total = p.total.or(proof.total);
        for c in p.enabled_connections {
            if ids.insert(c.clone()) {
                items.push(c);
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
mod tests;
