//! Per-user, per-application usage folded from log events: a pure function over one batch,
//! shared by the log follower (polling, `sync::logs`) and pushed Log Stream batches later.
//!
//! The fold is order-independent: counts add up, dates only keep their newest (or oldest), so
//! any split of the log into batches, in any order, folds to the same usage once the batches
//! are merged. Within a batch an event counts once per `log_id`. Across batches and across
//! polling and Log Stream pushes, the store counts each `log_id` once ever (`store::usage`,
//! `log_seen`), from the per-event `items`.

use serde::Serialize;

use crate::auth0::logs::LogEvent;
use crate::time::{iso_from_ms, ms_from_iso};

/// Event types that are a successful login: `last_login` and `logins`.
pub const LOGIN_TYPES: &[&str] = &["s"];

/// Event types in which the user was seen using the application (`last_seen`, `first_used`): the
/// same events that make a user active for MAU, kept in one place (`mau::active`, with sources).
pub const SEEN_TYPES: &[&str] = crate::mau::active::ACTIVE_TYPES;

/// Event types that say a user was deleted: `sdu`, "Successful User Deletion" in Auth0's log event
/// type list (`fdu` is the failure; the legacy `du` is gone from the list).
pub const DELETION_TYPES: &[&str] = &["sdu"];

/// A user deletion the log reports: applied as an Event Streams `user.deleted` is, once per id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// `log:` and the event's `log_id`: its id among recorded deletions (`push_events`).
    pub id: String,
    /// The deleted user.
    pub user_id: String,
    /// When (ISO-8601 UTC ms).
    pub at: String,
}

/// One (user, application) pair's usage in a batch: what the store adds to `app_usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageDelta {
    /// The event's `log_id` for an event's own usage (`UsageBatch::items`); `None` for a pair's.
    #[serde(rename = "i", skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// The user.
    #[serde(rename = "u")]
    pub user_id: String,
    /// The application.
    #[serde(rename = "c")]
    pub client_id: String,
    /// Successful logins in the batch.
    #[serde(rename = "n")]
    pub logins: u64,
    /// The newest successful login (ISO-8601 UTC ms).
    #[serde(rename = "l")]
    pub last_login: Option<String>,
    /// The newest event of a seen type.
    #[serde(rename = "s")]
    pub last_seen: Option<String>,
    /// The oldest event of a seen type.
    #[serde(rename = "f")]
    pub first_used: Option<String>,
}

impl UsageDelta {
    /// Adds another delta of the same pair.
    pub fn merge(&mut self, other: &Self) {
        self.logins += other.logins;
        self.last_login = newest(self.last_login.take(), other.last_login.clone());
        self.last_seen = newest(self.last_seen.take(), other.last_seen.clone());
        self.first_used = oldest(self.first_used.take(), other.first_used.clone());
    }
}

fn newest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn oldest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A batch of events folded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageBatch {
    /// Per pair, ordered by (user, client).
    pub deltas: Vec<UsageDelta>,
    /// Per counted event, with its `log_id`: what the store writes, counting an id once ever.
    /// Ordered by (user, client), in the events' order within a pair, so that the store can bind
    /// them in chunks that keep each pair together (`store::usage::item_chunks`).
    pub items: Vec<UsageDelta>,
    /// Distinct events read (by `log_id`).
    pub events: u64,
    /// Events that counted for usage.
    pub counted: u64,
    /// User deletions among the events, in the batch's order.
    pub deletions: Vec<Deletion>,
    /// The oldest and newest dates among the batch's events (any type).
    pub oldest: Option<String>,
    /// See `oldest`.
    pub newest: Option<String>,
}

/// A date in the one stored shape (`YYYY-MM-DDTHH:MM:SS.mmmZ`), so that dates compare as text.
pub fn normal_date(date: &str) -> Option<String> {
    ms_from_iso(date).map(iso_from_ms)
}

/// Folds a batch of events into per-pair deltas. Events without an id or a readable date are
/// skipped; so are events of other types, and those without a user or an application
/// (machine-to-machine events have no user).
pub fn fold(events: &[LogEvent]) -> UsageBatch {
    // Of two events with one id, the first given is kept. (A set of `&str`, which the sync
    // already compiles in, rather than one more sort instantiation: wasm size.)
    let mut ids = std::collections::HashSet::with_capacity(events.len());
    let distinct: Vec<(&str, &LogEvent)> = events
        .iter()
        .filter_map(|e| e.log_id.as_deref().map(|id| (id, e)))
        .filter(|(id, _)| ids.insert(*id))
        .collect();
    let mut batch = UsageBatch {
        events: distinct.len() as u64,
        ..UsageBatch::default()
    };
    let mut deltas: Vec<UsageDelta> = Vec::new();
    for (id, e) in distinct {
        let Some(date) = e.date.as_deref().and_then(normal_date) else {
            continue;
        };
        batch.oldest = oldest(batch.oldest.take(), Some(date.clone()));
        batch.newest = newest(batch.newest.take(), Some(date.clone()));
        let kind = e.kind.as_deref().unwrap_or_default();
        if DELETION_TYPES.contains(&kind) {
            if let Some(user) = e.user_id.as_deref().filter(|u| !u.is_empty()) {
                batch.deletions.push(Deletion {
                    id: format!("log:{id}"),
                    user_id: user.to_string(),
                    at: date,
                });
            }
            continue;
        }
        let (Some(user), Some(client)) = (e.user_id.as_deref(), e.client_id.as_deref()) else {
            continue;
        };
        if user.is_empty() || client.is_empty() || !SEEN_TYPES.contains(&kind) {
            continue;
        }
        batch.counted += 1;
        let login = LOGIN_TYPES.contains(&kind);
        deltas.push(UsageDelta {
            log_id: Some(id.to_string()),
            user_id: user.to_string(),
            client_id: client.to_string(),
            logins: u64::from(login),
            last_login: login.then(|| date.clone()),
            last_seen: Some(date.clone()),
            first_used: Some(date),
        });
    }
    deltas.sort_by(|a, b| (&a.user_id, &a.client_id).cmp(&(&b.user_id, &b.client_id)));
    batch.items = deltas.clone();
    let mut merged: Vec<UsageDelta> = Vec::with_capacity(deltas.len());
    for d in deltas {
        match merged.last_mut() {
            Some(last) if last.user_id == d.user_id && last.client_id == d.client_id => {
                last.merge(&d);
            }
            _ => merged.push(UsageDelta { log_id: None, ..d }),
        }
    }
    batch.deltas = merged;
    batch
}

#[cfg(test)]
mod tests;
