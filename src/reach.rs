//! Who can reach an application: the domain rule the store's SQL (`store::applications::REACH`)
//! must equal, kept apart from storage so it reads as the rule it is.

use std::collections::{BTreeMap, BTreeSet};

/// The `app_type` of machine-to-machine applications: no user signs in to them, so they are
/// kept in the store but left out of every "who can reach" view.
pub const M2M: &str = "non_interactive";

/// A user as reach sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachUser {
    /// The user.
    pub user_id: String,
    /// Every identity's connection name.
    pub connections: Vec<String>,
    /// Blocked users cannot sign in.
    pub blocked: bool,
    /// Organizations the user is a current member of.
    pub orgs: BTreeSet<String>,
}

/// An application as reach sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachApp {
    /// The client id.
    pub client_id: String,
    /// `non_interactive` apps are never reachable.
    pub app_type: Option<String>,
    /// `require`: sign-in goes through an organization.
    pub organization_usage: Option<String>,
}

/// The tenant's wiring as reach sees it (current connections, apps and organizations only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachTenant {
    /// Connection name to id, for current connections.
    pub connection_ids: BTreeMap<String, String>,
    /// Connection id to the clients it is enabled for.
    pub enabled: BTreeMap<String, BTreeSet<String>>,
    /// Organization id to the connection ids it has enabled.
    pub org_connections: BTreeMap<String, BTreeSet<String>>,
}

/// Whether `user` can reach `app`: not blocked, the app is not M2M, one of the user's
/// identities' connections is enabled for the app, and, where the app requires organizations,
/// the user is a member of an organization that has that same connection enabled.
pub fn can_reach(user: &ReachUser, app: &ReachApp, tenant: &ReachTenant) -> bool {
    if user.blocked || app.app_type.as_deref() == Some(M2M) {
        return false;
    }
    let require = app.organization_usage.as_deref() == Some("require");
    user.connections.iter().any(|name| {
        let Some(id) = tenant.connection_ids.get(name) else {
            return false;
        };
        let enabled = tenant
            .enabled
            .get(id)
            .is_some_and(|clients| clients.contains(&app.client_id));
        enabled
            && (!require
                || user.orgs.iter().any(|org| {
                    tenant
                        .org_connections
                        .get(org)
                        .is_some_and(|conns| conns.contains(id))
                }))
    })
}
