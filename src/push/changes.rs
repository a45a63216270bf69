//! The change-history entries (`crate::changes`) a pushed event adds once it has changed a row:
//! which ones follow from what was stored before ([`Prior`]) and what the event says.

use serde_json::json;

use crate::changes::{EventType, NewEvent};
use crate::store::push::{Change, EventWrite, Prior};

/// A user as a sentence names them: `ann@example.com (auth0|1)`, or the id alone.
fn who(user_id: &str, email: Option<&str>) -> String {
    match email {
        Some(e) => format!("{e} ({user_id})"),
        None => user_id.to_string(),
    }
}

/// One entry observed at `at` from the pushed event `event_id`. The key names the push and the
/// event id, in the change module's key shape, so a second write of it is skipped.
fn entry(
    event_id: &str,
    at: &str,
    kind: EventType,
    user_id: &str,
    email: Option<&str>,
    org_id: Option<&str>,
    detail: String,
) -> NewEvent {
    let dedupe = json!([["push", event_id], kind.as_str(), user_id, null, org_id]).to_string();
    NewEvent {
        at: at.to_string(),
        run_id: None,
        kind,
        user_id: Some(user_id.to_string()),
        email: email.map(str::to_string),
        client_id: None,
        org_id: org_id.map(str::to_string),
        detail,
        baseline: false,
        dedupe,
    }
}

/// The entries for an event that changed a row, given what was stored before it (`at`: now).
pub fn entries(write: &EventWrite, prior: &Prior, at: &str) -> Vec<NewEvent> {
    let id = write.id.as_str();
    let user_id = write.user_id();
    let stored = prior.user_id.is_some();
    let mut out = Vec::new();
    match &write.change {
        Change::UpsertUser(row) => {
            let email = row.email.as_deref();
            let name = who(user_id, email);
            let mut add = |kind, detail: String| {
                out.push(entry(id, at, kind, user_id, email, None, detail));
            };
            if !stored {
                add(
                    EventType::UserAdded,
                    format!("added: {name} (Auth0 event {})", write.kind),
                );
                if row.blocked {
                    add(EventType::UserBlocked, format!("blocked: {name}"));
                }
                return out;
            }
            if prior.removed_at.is_some() {
                add(
                    EventType::UserReturned,
                    format!("returned: {name}: updated in Auth0 after being removed"),
                );
            }
            if row.blocked != prior.blocked {
                let (kind, verb) = if row.blocked {
                    (EventType::UserBlocked, "blocked")
                } else {
                    (EventType::UserUnblocked, "unblocked")
                };
                add(kind, format!("{verb}: {name}"));
            }
            if row.connection != prior.connection {
                add(
                    EventType::ConnectionChanged,
                    format!(
                        "primary connection changed: {name}, from {} to {}",
                        prior.connection.as_deref().unwrap_or("none"),
                        row.connection.as_deref().unwrap_or("none")
                    ),
                );
            }
        }
        Change::RemoveUser { .. } => {
            let email = prior.email.as_deref();
            out.push(entry(
                id,
                at,
                EventType::UserRemoved,
                user_id,
                email,
                None,
                format!("removed: {}: deleted in Auth0", who(user_id, email)),
            ));
        }
        Change::AddMember { org_id, .. } | Change::RemoveMember { org_id, .. } => {
            let added = matches!(write.change, Change::AddMember { .. });
            let email = prior.email.as_deref();
            let name = who(user_id, email);
            let (kind, detail) = if added {
                (
                    EventType::MembershipAdded,
                    format!("joined organization {org_id}: {name}"),
                )
            } else {
                (
                    EventType::MembershipRemoved,
                    format!("left organization {org_id}: {name}"),
                )
            };
            out.push(entry(id, at, kind, user_id, email, Some(org_id), detail));
        }
    }
    out
}
