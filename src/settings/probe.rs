//! "Test connection" for a tenant's credentials: a token, then one cheap request per scope, as
//! a checklist in the product's words (issue 21). Not yet wired to a route.

use serde::Serialize;
use serde_json::Value;

use crate::auth0::Auth0Client;
use crate::auth0::error::{Auth0Error, GRANT_PATH};
use crate::clock::Clock;
use crate::fields::FieldError;
use crate::http::{HttpClient, encode_component};

/// A scope the sync uses, whether a tenant passes without it, and the request that probes it.
struct Probe {
    scope: &'static str,
    required: bool,
    /// One page of one item, one field where Auth0 allows `fields`: the least Auth0 can send,
    /// and one request against the rate limit per scope.
    path: &'static str,
}

/// Each scope and its cheapest request. Members need an organization id, so that probe is built
/// from the organizations answer (see [`members_path`]).
const PROBES: [Probe; 7] = [
    Probe {
        scope: "read:users",
        required: true,
        path: "/api/v2/users?search_engine=v3&per_page=1&page=0&fields=user_id&include_fields=true",
    },
    Probe {
        scope: "read:organizations",
        required: true,
        // Checkpoint mode: no totals to count.
        path: "/api/v2/organizations?take=1",
    },
    Probe {
        scope: "read:organization_members",
        required: true,
        path: "",
    },
    Probe {
        scope: "read:clients",
        required: false,
        path: "/api/v2/clients?per_page=1&page=0&fields=client_id&include_fields=true",
    },
    Probe {
        scope: "read:connections",
        required: false,
        path: "/api/v2/connections?take=1",
    },
    Probe {
        scope: "read:logs",
        required: false,
        // The request the log sync already makes (search mode, one event).
        path: "/api/v2/logs?sort=date:1&per_page=1&page=0&fields=log_id&include_fields=true",
    },
    Probe {
        scope: "read:stats",
        required: false,
        // One number, no listing.
        path: "/api/v2/stats/active-users",
    },
];

/// What the test learned about one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeState {
    Granted,
    Missing,
    /// Not learned: the token failed, Auth0 rate limited or failed the probe.
    Unknown,
}

/// One row of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeCheck {
    pub scope: &'static str,
    pub required: bool,
    pub state: ScopeState,
    /// What to do about it; `None` when granted.
    pub message: Option<String>,
    /// Auth0's own words for an unexpected failure: for the Worker's log, never the API.
    #[serde(skip)]
    pub detail: Option<String>,
}

/// The whole result, as `POST /api/tenants/{id}/test` will return it and the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Every required scope granted.
    pub passed: bool,
    /// Whether a token was issued.
    pub token: bool,
    /// One sentence for the top of the checklist.
    pub message: String,
    pub scopes: Vec<ScopeCheck>,
    /// Auth0's own words for a failed token request: for the Worker's log, never the API.
    #[serde(skip)]
    pub detail: Option<String>,
}

/// Message for credentials Auth0 refused.
const CHECK_CREDENTIALS: &str = "Auth0 refused the credentials (401). Check the client id and \
     secret, that the domain is the bare tenant domain (tenant.us.auth0.com, no https://), and \
     that the application is not disabled.";

/// Message for a 429: Auth0's limit is shared with everything else using the tenant.
const RATE_LIMITED: &str = "Auth0 is rate limiting requests (429); it will retry. Test again \
     in a minute for a complete checklist.";

fn grant_message(scope: &str) -> String {
    format!(
        "Grant {scope} in the Auth0 Dashboard → Applications → APIs → Auth0 Management API → \
         Machine to Machine Applications → your app → scopes."
    )
}

fn ignore(_: &Value) -> Result<(), FieldError> {
    Ok(())
}

fn first_org(v: &Value) -> Result<Option<String>, FieldError> {
    Ok(v["organizations"][0]["id"].as_str().map(str::to_string))
}

fn members_path(org: &str) -> String {
    format!(
        "/api/v2/organizations/{}/members?take=1&fields=user_id&include_fields=true",
        encode_component(org)
    )
}

/// A probe's outcome as a checklist row.
fn judge(probe: &Probe, outcome: Result<(), Auth0Error>) -> ScopeCheck {
    let (state, message, detail) = match outcome {
        Ok(()) => (ScopeState::Granted, None, None),
        Err(Auth0Error::MissingScope { .. }) => {
            (ScopeState::Missing, Some(grant_message(probe.scope)), None)
        }
        Err(Auth0Error::RateLimited { .. }) => {
            (ScopeState::Unknown, Some(RATE_LIMITED.into()), None)
        }
        // Auth0's words go to the log only; the row says what to do.
        Err(e) => (
            ScopeState::Unknown,
            Some(format!(
                "Auth0 did not answer the {} check usefully; test again later.",
                probe.scope
            )),
            Some(e.to_string()),
        ),
    };
    ScopeCheck {
        scope: probe.scope,
        required: probe.required,
        state,
        message,
        detail,
    }
}

/// The message when no token was issued.
fn token_message(e: &Auth0Error) -> String {
    match e {
        Auth0Error::InvalidCredentials { .. } => CHECK_CREDENTIALS.into(),
        Auth0Error::NotAuthorizedForApi { .. } => format!(
            "Auth0 issued no Management API token (403): authorize the application in the \
             {GRANT_PATH} list and grant it read:users, read:organizations and \
             read:organization_members; check the domain is the tenant's own."
        ),
        Auth0Error::RateLimited { .. } => RATE_LIMITED.into(),
        _ => "Auth0 did not answer the token request usefully; test again later.".into(),
    }
}

/// Runs the test with `client` (a fresh client for the tenant under test).
pub async fn probe<H: HttpClient, C: Clock>(client: &mut Auth0Client<'_, H, C>) -> ProbeReport {
    if let Err(e) = client.connect().await {
        let scopes = PROBES
            .iter()
            .map(|p| ScopeCheck {
                scope: p.scope,
                required: p.required,
                state: ScopeState::Unknown,
                message: None,
                detail: None,
            })
            .collect();
        return ProbeReport {
            passed: false,
            token: false,
            message: token_message(&e),
            scopes,
            detail: Some(e.to_string()),
        };
    }
    let mut org: Option<String> = None;
    let mut scopes = Vec::with_capacity(PROBES.len());
    for p in &PROBES {
        let check = match p.scope {
            "read:organizations" => {
                let got = client.get(p.path, first_org).await;
                judge(p, got.map(|found| org = found))
            }
            "read:organization_members" => match &org {
                Some(id) => judge(p, client.get(&members_path(id), ignore).await),
                // No organization to ask about: the token's `scope` is the only word.
                None => {
                    let listed = client
                        .granted_scopes()
                        .is_some_and(|s| s.iter().any(|g| g == p.scope));
                    let outcome = if listed {
                        Ok(())
                    } else {
                        Err(Auth0Error::MissingScope {
                            scope: p.scope.into(),
                        })
                    };
                    judge(p, outcome)
                }
            },
            _ => judge(p, client.get(p.path, ignore).await),
        };
        scopes.push(check);
    }
    let passed = scopes
        .iter()
        .all(|s| !s.required || s.state == ScopeState::Granted);
    let missing: Vec<&str> = scopes
        .iter()
        .filter(|s| s.required && s.state == ScopeState::Missing)
        .map(|s| s.scope)
        .collect();
    let message = if passed {
        "Connected: every required scope is granted.".to_string()
    } else if !missing.is_empty() {
        format!(
            "Connected, but required scopes are missing: {}. {}",
            missing.join(", "),
            grant_message("them")
        )
    } else if scopes
        .iter()
        .any(|s| s.message.as_deref() == Some(RATE_LIMITED))
    {
        RATE_LIMITED.into()
    } else {
        "Connected, but some required scopes could not be checked; test again later.".into()
    };
    ProbeReport {
        passed,
        token: true,
        message,
        scopes,
        detail: None,
    }
}

#[cfg(test)]
mod tests;
