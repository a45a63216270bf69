//! The fake tenant's applications, connections, enabled clients and organizations' enabled
//! connections, paged as Auth0 pages them, each endpoint behind its scope.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::{FakeAuth0, answer};
use crate::http::HttpResponse;

/// A fake connection.
#[derive(Debug, Clone, Default)]
pub struct FakeConnection {
    /// `con_…`.
    pub id: String,
    /// The name users' identities carry.
    pub name: String,
    /// Client ids it is enabled for.
    pub clients: Vec<String>,
}

/// The tenant's application wiring.
#[derive(Debug, Clone, Default)]
pub struct FakeApps {
    /// Clients as Auth0 JSON.
    pub clients: Vec<Value>,
    /// Connections.
    pub connections: Vec<FakeConnection>,
    /// Organization id to enabled connection ids.
    pub org_connections: BTreeMap<String, Vec<String>>,
    /// Items per page Auth0 chooses to give (it may give fewer than asked); 0: as asked.
    pub page_size: usize,
}

fn num(p: &HashMap<String, String>, name: &str, default: usize) -> usize {
    p.get(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

impl FakeAuth0 {
    fn size(&self, asked: usize) -> usize {
        match self.apps.borrow().page_size {
            0 => asked,
            n => n.min(asked),
        }
    }

    /// Answers the application endpoints; `None` for any other path.
    pub(super) fn apps_route(
        &self,
        path: &str,
        p: &HashMap<String, String>,
    ) -> Option<HttpResponse> {
        let apps = self.apps.borrow().clone();
        if path == "/api/v2/clients" {
            if let Some(denied) = self.scope_needed("read:clients") {
                return Some(denied);
            }
            // Offset paging with totals; secrets are only given when not filtered out.
            let size = self.size(num(p, "per_page", 50));
            let page = num(p, "page", 0);
            let fields: Vec<&str> = p
                .get("fields")
                .map_or(Vec::new(), |f| f.split(',').collect());
            let items: Vec<Value> = apps
                .clients
                .iter()
                .skip(page * size)
                .take(size)
                .map(|c| {
                    let mut c = c.clone();
                    c["client_secret"] = json!("fake-secret-never-to-be-read");
                    if let Some(o) = c.as_object_mut()
                        && !fields.is_empty()
                    {
                        o.retain(|k, _| fields.contains(&k.as_str()));
                    }
                    c
                })
                .collect();
            return Some(answer(
                200,
                json!({"clients": items, "start": page * size, "limit": size, "total": apps.clients.len()}),
            ));
        }
        if path == "/api/v2/connections" {
            if let Some(denied) = self.scope_needed("read:connections") {
                return Some(denied);
            }
            let take = self.size(num(p, "take", 50));
            let from = num(p, "from", 0);
            let page: Vec<Value> = apps
                .connections
                .iter()
                .skip(from)
                .take(take)
                .map(|c| json!({"id": c.id, "name": c.name, "strategy": "auth0"}))
                .collect();
            // A full last page still carries `next`; the page after it is empty.
            let next = (page.len() == take).then(|| (from + take).to_string());
            return Some(answer(200, json!({"connections": page, "next": next})));
        }
        if let Some(rest) = path.strip_prefix("/api/v2/connections/")
            && let Some(id) = rest.strip_suffix("/clients")
        {
            if let Some(denied) = self.scope_needed("read:connections") {
                return Some(denied);
            }
            let id = crate::http::decode_path_segment(id).unwrap_or_default();
            let Some(conn) = apps.connections.iter().find(|c| c.id == id) else {
                return Some(answer(
                    404,
                    json!({"statusCode": 404, "message": "The connection does not exist", "errorCode": "inexistent_connection"}),
                ));
            };
            let take = self.size(num(p, "take", 50));
            let from = num(p, "from", 0);
            let page: Vec<Value> = conn
                .clients
                .iter()
                .skip(from)
                .take(take)
                .map(|c| json!({"client_id": c}))
                .collect();
            let more = from + take < conn.clients.len();
            let mut body = json!({"clients": page});
            if more {
                body["next"] = json!((from + take).to_string());
            }
            return Some(answer(200, body));
        }
        if let Some(rest) = path.strip_prefix("/api/v2/organizations/")
            && let Some(org) = rest.strip_suffix("/enabled_connections")
        {
            if let Some(denied) = self.scope_needed("read:organization_connections") {
                return Some(denied);
            }
            let org = crate::http::decode_path_segment(org).unwrap_or_default();
            let Some(conns) = apps.org_connections.get(&org) else {
                return Some(answer(
                    404,
                    json!({"statusCode": 404, "message": "No organization found"}),
                ));
            };
            let size = self.size(num(p, "per_page", 50));
            let page = num(p, "page", 0);
            let items: Vec<Value> = conns
                .iter()
                .skip(page * size)
                .take(size)
                .map(|c| json!({"connection_id": c, "assign_membership_on_login": false}))
                .collect();
            return Some(answer(
                200,
                json!({"enabled_connections": items, "start": page * size, "limit": size, "total": conns.len()}),
            ));
        }
        None
    }
}
