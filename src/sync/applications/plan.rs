//! The applications part's pure decisions: rows from Auth0's objects, what to write and mark
//! removed, which enabled-client pairs to add or drop, and the reach events between two sets of
//! (application, user) pairs.

use std::collections::{HashMap, HashSet};

use crate::auth0::applications::{Auth0Application, Auth0Connection, Listing};
use crate::changes::{EventType, NewEvent, Origin, Subject};
use crate::store::applications::{AppRow, ConnRow, ReachPair, StoredRow};
use crate::sync::mapping::digest_hex;

/// The reach events between two sets of (application, user) pairs, in a deterministic order:
/// the rule [`reach_events_sql`] writes in SQL inside the wiring batch, held equal by a test.
pub fn reach_events(
    run_id: i64,
    now: &str,
    before: &[ReachPair],
    after: &[ReachPair],
) -> Vec<NewEvent> {
    let key = |p: &ReachPair| (p.client_id.clone(), p.user_id.clone());
    let had: HashSet<(String, String)> = before.iter().map(key).collect();
    let has: HashSet<(String, String)> = after.iter().map(key).collect();
    let event = |p: &ReachPair, kind: EventType| {
        let who = p.email.as_deref().unwrap_or(&p.user_id);
        let app = p.name.as_deref().unwrap_or(&p.client_id);
        let verb = if kind == EventType::AppReachable {
            "can now reach"
        } else {
            "can no longer reach"
        };
        NewEvent::new(
            &Origin::Run(run_id),
            now,
            kind,
            Subject {
                user_id: Some(p.user_id.clone()),
                email: p.email.clone(),
                client_id: Some(p.client_id.clone()),
                org_id: None,
            },
            format!(
                "{who} {verb} {app} ({}): its connections, enabled clients or organization requirement changed",
                p.client_id
            ),
        )
    };
    let mut events: Vec<NewEvent> = after
        .iter()
        .filter(|p| !had.contains(&key(p)))
        .map(|p| event(p, EventType::AppReachable))
        .chain(
            before
                .iter()
                .filter(|p| !has.contains(&key(p)))
                .map(|p| event(p, EventType::AppUnreachable)),
        )
        .collect();
    events.sort_by(|a, b| {
        (&a.client_id, &a.user_id, a.kind).cmp(&(&b.client_id, &b.user_id, b.kind))
    });
    events
}

/// Maps an application to its row, fingerprinted.
pub fn app_row(a: &Auth0Application) -> AppRow {
    let first_party = a.is_first_party.unwrap_or(true);
    let fingerprint = digest_hex(&[
        Some(&a.client_id),
        a.name.as_deref(),
        a.app_type.as_deref(),
        Some(if first_party { "1" } else { "0" }),
        a.organization_usage.as_deref(),
    ]);
    AppRow {
        client_id: a.client_id.clone(),
        name: a.name.clone(),
        app_type: a.app_type.clone(),
        is_first_party: i64::from(first_party),
        organization_usage: a.organization_usage.clone(),
        fingerprint,
    }
}

/// Maps a connection to its row, fingerprinted.
pub fn conn_row(c: &Auth0Connection) -> ConnRow {
    let fingerprint = digest_hex(&[Some(&c.id), Some(&c.name), c.strategy.as_deref()]);
    ConnRow {
        connection_id: c.id.clone(),
        name: c.name.clone(),
        strategy: c.strategy.clone(),
        fingerprint,
    }
}

/// Rows to write (new, changed or returning) and ids to mark removed (only from a proven
/// listing), comparing listed rows by id and fingerprint with stored ones.
pub fn plan_rows<'a, T>(
    listed: &'a [T],
    key: impl Fn(&T) -> (&str, &str),
    stored: &[StoredRow],
    proven: bool,
) -> (Vec<&'a T>, Vec<String>) {
    let by_id: HashMap<&str, &StoredRow> = stored.iter().map(|s| (s.id.as_str(), s)).collect();
    let write = listed
        .iter()
        .filter(|r| {
            let (id, fp) = key(r);
            by_id
                .get(id)
                .is_none_or(|s| s.fingerprint != fp || s.removed_at.is_some())
        })
        .collect();
    let listed_ids: HashSet<&str> = listed.iter().map(|r| key(r).0).collect();
    let mut gone: Vec<String> = if proven {
        stored
            .iter()
            .filter(|s| s.removed_at.is_none() && !listed_ids.contains(s.id.as_str()))
            .map(|s| s.id.clone())
            .collect()
    } else {
        Vec::new()
    };
    gone.sort();
    (write, gone)
}

/// Pairs to add and to drop for one connection (or organization): drops only from a proven
/// listing.
pub fn plan_pairs(listed: &Listing<String>, stored: &[String]) -> (Vec<String>, Vec<String>) {
    let have: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let want: HashSet<&str> = listed.items.iter().map(String::as_str).collect();
    let mut add: Vec<String> = want
        .iter()
        .filter(|c| !have.contains(*c))
        .map(|c| (*c).to_string())
        .collect();
    let mut drop: Vec<String> = if listed.unproven.is_none() {
        have.iter()
            .filter(|c| !want.contains(*c))
            .map(|c| (*c).to_string())
            .collect()
    } else {
        Vec::new()
    };
    add.sort();
    drop.sort();
    (add, drop)
}
