//! The applications part of whole runs against the fake tenant: what is stored, reach as the
//! pure rule computes it from the fake's own data, changes moving reach, missing scopes noted
//! without touching the user sync, and budgets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::super::*;
use crate::auth0::fake::{FakeApps, FakeAuth0, FakeConnection};
use crate::clock::fake::FakeClock;
use crate::reach::{ReachApp, ReachTenant, ReachUser, can_reach};
use crate::store::RunStatus;
use crate::store::applications::{ids, list_apps, scopes};
use crate::sync::{SyncConfig, SyncResult, Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{Rng, block_on, sync_config};

const T0: u64 = 1_750_000_000_000;
const ALL_SCOPES: [&str; 6] = [
    "read:users",
    "read:organizations",
    "read:organization_members",
    "read:clients",
    "read:connections",
    "read:organization_connections",
];

fn invoke(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock, cfg: &SyncConfig) -> RunRecord {
    match block_on(run_sync(fake, clock, store, Ok(cfg), Trigger::Cron)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

fn run(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock) -> RunRecord {
    clock.advance(60_000);
    invoke(fake, store, clock, &sync_config("test-secret"))
}

/// A random tenant: users on a few connections, apps of every type, organizations with members
/// and enabled connections.
fn tenant(seed: u64) -> FakeAuth0 {
    let mut rng = Rng::new(seed);
    let names = ["Username-Password-Authentication", "google-oauth2", "samlp"];
    let users: Vec<Value> = (0..40)
        .map(|i| {
            let mut ids: Vec<Value> = vec![json!({"connection": *rng.pick(&names)})];
            if rng.one_in(4) {
                ids.push(json!({"connection": *rng.pick(&names)}));
            }
            json!({"user_id": format!("auth0|{i:04}"), "email": format!("u{i}@x.io"),
                   "created_at": crate::time::iso_from_ms(1_600_000_000_000 + i * 1000),
                   "blocked": rng.one_in(10), "identities": ids})
        })
        .collect();
    let fake = FakeAuth0::with_users(users);
    *fake.scopes.borrow_mut() = ALL_SCOPES.map(String::from).to_vec();
    let types = ["spa", "regular_web", "native", "non_interactive"];
    let usage = [None, Some("allow"), Some("require")];
    let clients: Vec<Value> = (0..6)
        .map(|i| {
            let mut c = json!({"client_id": format!("client{i}"), "name": format!("<b>App {i}</b>"),
                               "app_type": *rng.pick(&types), "is_first_party": true});
            if let Some(u) = rng.pick(&usage) {
                c["organization_usage"] = json!(u);
            }
            c
        })
        .collect();
    let connections: Vec<FakeConnection> = names
        .iter()
        .enumerate()
        .map(|(i, n)| FakeConnection {
            id: format!("con_{i}"),
            name: (*n).to_string(),
            clients: clients
                .iter()
                .filter(|_| rng.one_in(2))
                .map(|c| c["client_id"].as_str().unwrap().to_string())
                .collect(),
        })
        .collect();
    let mut orgs = Vec::new();
    let mut org_connections = BTreeMap::new();
    for o in 0..3 {
        let id = format!("org_{o}");
        let members: Vec<String> = (0..40)
            .filter(|_| rng.one_in(3))
            .map(|i| format!("auth0|{i:04}"))
            .collect();
        org_connections.insert(
            id.clone(),
            connections
                .iter()
                .filter(|_| rng.one_in(2))
                .map(|c| c.id.clone())
                .collect(),
        );
        orgs.push((id, members));
    }
    *fake.orgs.borrow_mut() = orgs;
    *fake.apps.borrow_mut() = FakeApps {
        clients,
        connections,
        org_connections,
        page_size: 2,
    };
    fake
}

/// Who can reach each non-M2M app, computed from the fake's own data with the pure rule.
fn reference(fake: &FakeAuth0) -> BTreeMap<String, usize> {
    reference_pairs(fake)
        .into_iter()
        .map(|(app, users)| (app, users.len()))
        .collect()
}

/// The reachable users of each non-M2M app, by the pure rule over the fake's data.
fn reference_pairs(fake: &FakeAuth0) -> BTreeMap<String, BTreeSet<String>> {
    let apps = fake.apps.borrow();
    let mut t = ReachTenant::default();
    for c in &apps.connections {
        t.connection_ids.insert(c.name.clone(), c.id.clone());
        t.enabled
            .insert(c.id.clone(), c.clients.iter().cloned().collect());
    }
    for (o, conns) in &apps.org_connections {
        t.org_connections
            .insert(o.clone(), conns.iter().cloned().collect());
    }
    let orgs = fake.orgs.borrow();
    let users: Vec<ReachUser> = fake
        .users
        .borrow()
        .iter()
        .map(|u| {
            let id = u["user_id"].as_str().unwrap().to_string();
            ReachUser {
                connections: u["identities"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["connection"].as_str().unwrap().to_string())
                    .collect(),
                blocked: u["blocked"].as_bool().unwrap_or(false),
                orgs: orgs
                    .iter()
                    .filter(|(_, m)| m.contains(&id))
                    .map(|(o, _)| o.clone())
                    .collect(),
                user_id: id,
            }
        })
        .collect();
    apps.clients
        .iter()
        .filter(|c| c["app_type"] != "non_interactive")
        .map(|c| {
            let app = ReachApp {
                client_id: c["client_id"].as_str().unwrap().into(),
                app_type: c["app_type"].as_str().map(Into::into),
                organization_usage: c["organization_usage"].as_str().map(Into::into),
            };
            let who = users
                .iter()
                .filter(|u| can_reach(u, &app, &t))
                .map(|u| u.user_id.clone())
                .collect();
            (app.client_id, who)
        })
        .collect()
}

fn stored_reach(store: &MemoryStore) -> BTreeMap<String, usize> {
    block_on(list_apps(store, &["9".into(), "9".into()], None))
        .unwrap()
        .into_iter()
        .map(|a| (a.client_id, a.users_can_reach as usize))
        .collect()
}

#[test]
fn reach_stored_by_a_run_equals_the_rule_applied_to_the_tenant() {
    let mut reached = 0;
    for seed in 0..12 {
        let fake = tenant(seed);
        // An empty log adds no note: the history holds only what the applications part says.
        fake.scopes.borrow_mut().push("read:logs".into());
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        let r = run(&fake, &store, &clock);
        assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
        assert_eq!(r.error, None);
        let want = reference(&fake);
        assert_eq!(stored_reach(&store), want, "seed {seed}");
        reached += want.values().sum::<usize>();
        // The secret the fake offers was never asked for, so never stored.
        let asked = fake
            .log
            .borrow()
            .iter()
            .filter(|l| l.contains("/api/v2/clients"))
            .all(|l| l.contains("fields=client_id,name"));
        assert!(asked);
        // An unchanged tenant: the applications part writes nothing.
        let r = run(&fake, &store, &clock);
        assert_eq!(
            (r.status, r.rows_written),
            (RunStatus::Succeeded, 0),
            "{:?}",
            r.error
        );
    }
    assert!(reached > 50, "{reached}");
}

#[test]
fn changing_enabled_clients_and_connections_moves_reach() {
    let fake = tenant(3);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    // Enable every client on every connection, and drop the org requirement of all apps.
    {
        let mut apps = fake.apps.borrow_mut();
        let all: Vec<String> = apps
            .clients
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_string())
            .collect();
        for c in &mut apps.connections {
            c.clients = all.clone();
        }
        for c in &mut apps.clients {
            c["organization_usage"] = json!("allow");
        }
    }
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let want = reference(&fake);
    let unblocked = fake
        .users
        .borrow()
        .iter()
        .filter(|u| u["blocked"] != true)
        .count();
    assert!(want.values().all(|n| *n == unblocked), "{want:?}");
    assert_eq!(stored_reach(&store), want);
    // Now disable everything on one connection and delete another: pairs go, reach shrinks.
    {
        let mut apps = fake.apps.borrow_mut();
        apps.connections[0].clients.clear();
        apps.connections.remove(1);
    }
    run(&fake, &store, &clock);
    assert_eq!(stored_reach(&store), reference(&fake));
    let left = block_on(ids(
        &store,
        "t",
        "SELECT DISTINCT connection_id AS id FROM connection_clients",
        &[],
    ))
    .unwrap();
    assert_eq!(left, ["con_2"]);
    let removed = block_on(ids(
        &store,
        "t",
        "SELECT connection_id AS id FROM connections WHERE removed_at IS NOT NULL",
        &[],
    ))
    .unwrap();
    assert_eq!(removed, ["con_1"]);
}

#[test]
fn a_listing_not_proven_complete_removes_nothing() {
    let fake = tenant(5);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    // One app gone, and Auth0's total off by one: no app may be marked removed.
    fake.apps.borrow_mut().clients.pop();
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        if !req.url.contains("/api/v2/clients?") {
            return None;
        }
        let body = json!({"clients": [], "total": 99}).to_string();
        Some(Ok(crate::http::HttpResponse {
            status: 200,
            headers: vec![],
            body,
        }))
    }));
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(r.error.unwrap().contains("not proven complete"));
    let removed = block_on(ids(
        &store,
        "t",
        "SELECT client_id AS id FROM applications WHERE removed_at IS NOT NULL",
        &[],
    ))
    .unwrap();
    assert!(removed.is_empty());
    // Proven again: now it is.
    *fake.fault.borrow_mut() = None;
    run(&fake, &store, &clock);
    let removed = block_on(ids(
        &store,
        "t",
        "SELECT client_id AS id FROM applications WHERE removed_at IS NOT NULL",
        &[],
    ))
    .unwrap();
    assert_eq!(removed, ["client5"]);
}

#[test]
fn each_missing_scope_is_noted_and_never_fails_the_user_sync() {
    for missing in [
        "read:clients",
        "read:connections",
        "read:organization_connections",
    ] {
        let fake = tenant(1);
        // Make sure an app requires organizations, so read:organization_connections matters.
        fake.apps.borrow_mut().clients[0]["organization_usage"] = json!("require");
        fake.apps.borrow_mut().clients[0]["app_type"] = json!("spa");
        fake.scopes.borrow_mut().retain(|s| s != missing);
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        let r = run(&fake, &store, &clock);
        assert_eq!(r.status, RunStatus::Succeeded, "{missing}: {:?}", r.error);
        assert_eq!(r.users_added, 40);
        let e = r.error.unwrap_or_default();
        assert!(
            e.contains(&format!("not enabled: grant {missing}")),
            "{missing}: {e}"
        );
        // Nothing guarded by the scope was asked for.
        let path = match missing {
            "read:clients" => "/api/v2/clients",
            "read:connections" => "/api/v2/connections",
            _ => "/enabled_connections",
        };
        assert!(
            !fake.log.borrow().iter().any(|l| l.contains(path)),
            "{missing}"
        );
        let states = block_on(scopes(&store)).unwrap();
        assert!(
            states.iter().any(|s| s.scope == missing && s.granted == 0),
            "{states:?}"
        );
        assert!(
            states
                .iter()
                .any(|s| s.scope == "read:logs" && s.granted == 0)
        );
    }
}

#[test]
fn a_403_for_a_scope_the_token_claims_is_noted_not_a_failure() {
    let fake = tenant(2);
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        if !req.url.contains("/api/v2/connections") {
            return None;
        }
        let body =
            json!({"statusCode": 403, "error": "Forbidden", "errorCode": "insufficient_scope",
                          "message": "Insufficient scope, expected any of: read:connections"})
            .to_string();
        Some(Ok(crate::http::HttpResponse {
            status: 403,
            headers: vec![],
            body,
        }))
    }));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(
        r.error
            .unwrap()
            .contains("not enabled: grant read:connections")
    );
    let states = block_on(scopes(&store)).unwrap();
    assert!(
        states
            .iter()
            .any(|s| s.scope == "read:connections" && s.granted == 0)
    );
    // Applications were still stored; with no connections no one can reach them.
    assert!(stored_reach(&store).values().all(|n| *n == 0));
    assert!(!stored_reach(&store).is_empty());
}

#[test]
fn an_auth0_failure_in_the_applications_part_leaves_the_user_sync_standing() {
    let fake = tenant(4);
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/clients").then(|| {
            Ok(crate::http::HttpResponse {
                status: 503,
                headers: vec![],
                body: String::new(),
            })
        })
    }));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!((r.status, r.users_added), (RunStatus::Succeeded, 40));
    assert!(r.error.unwrap().contains("Applications not synced"));
}

#[test]
fn the_applications_part_keeps_the_free_budgets_and_resumes_across_invocations() {
    let fake = tenant(6);
    // read:logs too: a budget too small for a log page must not keep the run from finishing.
    fake.scopes.borrow_mut().push("read:logs".into());
    fake.apps.borrow_mut().page_size = 1;
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = SyncConfig::new(
        crate::testing::auth0_config("test-secret"),
        crate::config::SyncLimits {
            max_auth0_requests: Some(20),
            max_d1_queries: Some(14),
            ..Default::default()
        },
    );
    let mut trigger = Trigger::Cron;
    let mut invocations = 0;
    let mut queries = 0;
    let r = loop {
        invocations += 1;
        assert!(invocations < 200, "the run never finished");
        let before = (fake.log.borrow().len(), 0);
        clock.advance(60_000);
        let r = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), trigger)) {
            Ok(SyncResult::Ran { run, .. }) => *run,
            other => panic!("{other:?}"),
        };
        assert!(fake.log.borrow().len() - before.0 <= 20);
        assert!(
            r.d1_queries - queries <= 14,
            "{} queries",
            r.d1_queries - queries
        );
        queries = r.d1_queries;
        if r.status != RunStatus::Running {
            break r;
        }
        trigger = Trigger::Continue;
    };
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let note = r.error.unwrap_or_default();
    assert!(note.contains("SYNC_MAX_D1_QUERIES"), "{note}");
    assert!(invocations > 3, "{invocations}");
    assert_eq!(stored_reach(&store), reference(&fake));
    let pairs: BTreeSet<String> = block_on(ids(
        &store,
        "t",
        "SELECT connection_id || '/' || client_id AS id FROM connection_clients",
        &[],
    ))
    .unwrap()
    .into_iter()
    .collect();
    let want: BTreeSet<String> = fake
        .apps
        .borrow()
        .connections
        .iter()
        .flat_map(|c| c.clients.iter().map(move |cl| format!("{}/{cl}", c.id)))
        .collect();
    assert_eq!(pairs, want);
}

/// The reach events stored, as (type, client, user), sorted.
fn events(store: &MemoryStore) -> Vec<(String, String, String)> {
    struct E {
        kind: String,
        client_id: String,
        user_id: String,
    }
    impl crate::store::FromRow for E {
        fn from_row(row: crate::fields::Fields<'_>) -> Result<Self, crate::fields::FieldError> {
            Ok(Self {
                kind: row.string("type")?,
                client_id: row.string("client_id")?,
                user_id: row.string("user_id")?,
            })
        }
    }
    let mut v: Vec<(String, String, String)> =
        block_on(crate::store::applications::SqlRunner::sql_rows::<E>(
            store,
            "t",
            "SELECT type, client_id, user_id FROM access_events",
            &[],
        ))
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.client_id, e.user_id))
        .collect();
    v.sort();
    v
}

fn diff(
    before: &BTreeMap<String, BTreeSet<String>>,
    after: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<(String, String, String)> {
    let empty = BTreeSet::new();
    let mut out = Vec::new();
    let apps: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for app in apps {
        let b = before.get(app).unwrap_or(&empty);
        let a = after.get(app).unwrap_or(&empty);
        out.extend(
            a.difference(b)
                .map(|u| ("app_reachable".to_string(), app.clone(), u.clone())),
        );
        out.extend(
            b.difference(a)
                .map(|u| ("app_unreachable".to_string(), app.clone(), u.clone())),
        );
    }
    out.sort();
    out
}

#[test]
fn wiring_changes_write_exactly_the_reach_events_the_rule_implies() {
    for seed in 0..6 {
        let fake = tenant(seed);
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        run(&fake, &store, &clock);
        assert!(
            events(&store).is_empty(),
            "the first sync is a baseline: no reach events"
        );
        let mut rng = Rng::new(seed ^ 0xABC);
        let mut expected = Vec::new();
        for step in 0..6 {
            let before = reference_pairs(&fake);
            {
                let mut apps = fake.apps.borrow_mut();
                let all: Vec<String> = apps
                    .clients
                    .iter()
                    .map(|c| c["client_id"].as_str().unwrap().to_string())
                    .collect();
                match rng.below(4) {
                    // Toggle one client on one connection.
                    0 => {
                        let c = rng.below(apps.connections.len());
                        let client = rng.pick(&all).clone();
                        let clients = &mut apps.connections[c].clients;
                        match clients.iter().position(|x| *x == client) {
                            Some(i) => {
                                clients.remove(i);
                            }
                            None => clients.push(client),
                        }
                    }
                    // An application starts or stops requiring organizations.
                    1 => {
                        let i = rng.below(apps.clients.len());
                        let now = apps.clients[i]["organization_usage"] == "require";
                        apps.clients[i]["organization_usage"] =
                            json!(if now { "allow" } else { "require" });
                    }
                    // An organization enables or disables a connection.
                    2 => {
                        let org = format!("org_{}", rng.below(3));
                        let con = format!("con_{}", rng.below(3));
                        let conns = apps.org_connections.entry(org).or_default();
                        match conns.iter().position(|x| *x == con) {
                            Some(i) => {
                                conns.remove(i);
                            }
                            None => conns.push(con),
                        }
                    }
                    // An application is deleted.
                    _ => {
                        if apps.clients.len() > 1 {
                            let i = rng.below(apps.clients.len());
                            apps.clients.remove(i);
                        }
                    }
                }
            }
            let r = run(&fake, &store, &clock);
            assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
            expected.extend(diff(&before, &reference_pairs(&fake)));
            expected.sort();
            // Exactly the pairs that moved, each once, over all runs so far.
            assert_eq!(events(&store), expected, "seed {seed} step {step}");
        }
        // An unchanged tenant writes no event.
        run(&fake, &store, &clock);
        assert_eq!(events(&store), expected);
    }
}

#[test]
fn reach_events_read_on_their_own_and_keep_a_stable_order() {
    let p = |c: &str, u: &str| crate::store::applications::ReachPair {
        client_id: c.into(),
        name: Some("Portal".into()),
        user_id: u.into(),
        email: Some(format!("{u}@x.io")),
    };
    let e = crate::sync::applications::reach_events(
        7,
        "t",
        &[p("a", "u1"), p("a", "u2")],
        &[p("a", "u2"), p("b", "u1")],
    );
    let got: Vec<(&str, &str, &str)> = e
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.client_id.as_deref().unwrap(),
                e.user_id.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("app_unreachable", "a", "u1"), ("app_reachable", "b", "u1")]
    );
    assert_eq!(
        e[1].detail,
        "u1@x.io can now reach Portal (b): its connections, enabled clients or organization requirement changed"
    );
    assert_eq!(e[0].run_id, Some(7));
}

#[test]
fn the_applications_cursor_round_trips() {
    use crate::sync::applications::{AppProgress, AppState};
    use crate::sync::cursor::Cursor;
    for progress in [
        AppProgress::Lists,
        AppProgress::Connections,
        AppProgress::Clients {
            after: Some("con_1".into()),
        },
        AppProgress::Orgs {
            after: Some(String::new()),
        },
        AppProgress::Orgs { after: None },
        AppProgress::Reach,
    ] {
        let c = Cursor::Applications {
            state: AppState {
                progress,
                partial: Some("organizations not synced".into()),
                notes: vec!["note".into()],
                changed: true,
                baseline: true,
            },
        };
        assert_eq!(Cursor::from_json(&c.to_json()), Some(c));
    }
    assert_eq!(
        Cursor::from_json(r#"{"phase":"applications","state":{"progress":"nope"}}"#),
        None
    );
}

/// Who can reach what by the stored wiring, through the SQL rule (current, non-M2M apps).
fn stored_pairs(store: &MemoryStore) -> BTreeMap<String, BTreeSet<String>> {
    let sql = format!(
        "SELECT json_array(a.client_id, u.user_id) AS id FROM users u JOIN applications a \
         WHERE {}",
        crate::store::applications::REACH
    );
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pair in block_on(ids(store, "t", &sql, &[])).unwrap() {
        let v: Value = serde_json::from_str(&pair).unwrap();
        out.entry(v[0].as_str().unwrap().into())
            .or_default()
            .insert(v[1].as_str().unwrap().into());
    }
    out
}

/// Enables or disables one random client (not `except`) on one random connection of the fake;
/// returns the client.
fn toggle_client(fake: &FakeAuth0, rng: &mut Rng, except: Option<&str>) -> String {
    let mut apps = fake.apps.borrow_mut();
    let all: Vec<String> = apps
        .clients
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_string())
        .filter(|c| Some(c.as_str()) != except)
        .collect();
    let c = rng.below(apps.connections.len());
    let client = rng.pick(&all).clone();
    let clients = &mut apps.connections[c].clients;
    match clients.iter().position(|x| *x == client) {
        Some(i) => {
            clients.remove(i);
        }
        None => clients.push(client.clone()),
    }
    client
}

/// Users and memberships that change in the same run as the wiring (and between wiring
/// changes) record their own events, not reach events: the batch brings the stored reach up to
/// the users before diffing, so only the pairs the wiring moved get an event.
#[test]
fn reach_moved_by_users_and_memberships_is_not_a_reach_event() {
    let names = ["Username-Password-Authentication", "google-oauth2", "samlp"];
    let mut user_moves = 0;
    for seed in 0..6 {
        let fake = tenant(seed);
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        run(&fake, &store, &clock);
        let mut rng = Rng::new(seed ^ 0x5EED);
        let mut expected = Vec::new();
        for step in 0..6 {
            let untouched = reference_pairs(&fake);
            {
                // A new user, a block toggled, a membership toggled, a user deleted.
                let mut users = fake.users.borrow_mut();
                users.push(json!({"user_id": format!("auth0|new{step}"),
                    "email": format!("new{step}@x.io"),
                    "created_at": crate::time::iso_from_ms(1_700_000_000_000 + step * 1000),
                    "identities": [{"connection": *rng.pick(&names)}]}));
                let i = rng.below(users.len());
                let blocked = users[i]["blocked"] == true;
                users[i]["blocked"] = json!(!blocked);
                let i = rng.below(users.len());
                users.remove(i);
                let id = format!("auth0|{:04}", rng.below(40));
                let mut orgs = fake.orgs.borrow_mut();
                let members = &mut orgs[rng.below(3)].1;
                match members.iter().position(|m| *m == id) {
                    Some(i) => {
                        members.remove(i);
                    }
                    None => members.push(id),
                }
            }
            let before = reference_pairs(&fake);
            user_moves += diff(&untouched, &before).len();
            toggle_client(&fake, &mut rng, None);
            let r = run(&fake, &store, &clock);
            assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
            expected.extend(diff(&before, &reference_pairs(&fake)));
            expected.sort();
            assert_eq!(events(&store), expected, "seed {seed} step {step}");
        }
    }
    assert!(
        user_moves > 20,
        "the users' changes moved reach: {user_moves}"
    );
}

/// Runs whose wiring batches fail at a random statement (the batch rolls back, as D1's does when
/// an invocation dies in it), some after an earlier batch of the same run committed: the events
/// stored always match the wiring stored, and the next run writes the rest, each event once.
#[test]
fn a_wiring_batch_that_fails_loses_and_doubles_no_reach_event() {
    let mut injected = 0;
    let mut after_a_commit = 0;
    for seed in 0..8 {
        let fake = tenant(seed);
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        run(&fake, &store, &clock);
        let mut rng = Rng::new(seed ^ 0xFA11);
        let mut expected = Vec::new();
        for step in 0..6 {
            let before = reference_pairs(&fake);
            // Two clients change (two batches in one run), each moving its own reach only: a
            // run records each batch's moves, and one client's moves could cancel out in two.
            let first = toggle_client(&fake, &mut rng, None);
            toggle_client(&fake, &mut rng, Some(&first));
            let after = reference_pairs(&fake);
            // A batch of a wiring change has six statements: two runs' worth of positions.
            let at = rng.below(14);
            store.apps.2.set(Some(at));
            let r = run(&fake, &store, &clock);
            if store.apps.2.get().is_none() {
                injected += 1;
                after_a_commit += usize::from(at >= 6);
                assert_eq!(r.status, RunStatus::Failed, "seed {seed} step {step}");
                let e = r.error.unwrap_or_default();
                assert!(e.contains("write enabled pairs"), "{e}");
                // What committed wrote its events, and nothing else did.
                let mut so_far = expected.clone();
                so_far.extend(diff(&before, &stored_pairs(&store)));
                so_far.sort();
                assert_eq!(events(&store), so_far, "seed {seed} step {step}: partial");
                let again = run(&fake, &store, &clock);
                assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.error);
            } else {
                store.apps.2.set(None);
                assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
            }
            let mut reached = after.clone();
            reached.retain(|_, users| !users.is_empty());
            assert_eq!(stored_pairs(&store), reached, "seed {seed} step {step}");
            expected.extend(diff(&before, &after));
            expected.sort();
            assert_eq!(events(&store), expected, "seed {seed} step {step}");
            // A re-sync changes nothing and writes nothing.
            let r = run(&fake, &store, &clock);
            assert_eq!((r.status, r.rows_written), (RunStatus::Succeeded, 0));
            assert_eq!(events(&store), expected);
        }
    }
    assert!(
        injected > 5 && after_a_commit > 0,
        "{injected} {after_a_commit}"
    );
}

/// The SQL that writes reach events inside the wiring batch writes what [`reach_events`] says
/// (the same rows, sentences, keys and order), and a second run of it writes nothing.
#[test]
fn reach_events_in_sql_write_what_the_rust_rule_says() {
    use crate::store::applications::{
        Arg, ReachPair, SqlRunner, reach_events_sql, reach_pairs_sql, snapshot_add_sql,
    };
    use crate::sync::applications::reach_events;
    let fake = tenant(3);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    let scope = block_on(ids(
        &store,
        "t",
        "SELECT client_id AS id FROM applications",
        &[],
    ))
    .unwrap();
    let scope = Arg::json(&scope);
    let pairs_sql = format!(
        "SELECT json_array(client_id, name, user_id, email) AS id FROM ({})",
        reach_pairs_sql()
    );
    let after: Vec<ReachPair> =
        block_on(ids(&store, "t", &pairs_sql, std::slice::from_ref(&scope)))
            .unwrap()
            .into_iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&p).unwrap();
                let s = |i: usize| v[i].as_str().map(String::from);
                ReachPair {
                    client_id: s(0).unwrap(),
                    name: s(1),
                    user_id: s(2).unwrap(),
                    email: s(3),
                }
            })
            .collect();
    assert!(after.len() > 1, "the tenant has reach to compare");
    // Stored before: every pair but the first, and one whose user is gone (an odd id).
    block_on(store.sql_run("t", &snapshot_add_sql(), std::slice::from_ref(&scope))).unwrap();
    let ghost = "ghost|é\\\"1\u{1f}";
    block_on(store.sql_run(
        "t",
        "DELETE FROM reach_snapshot WHERE client_id = ?1 AND user_id = ?2",
        &[Arg::text(&after[0].client_id), Arg::text(&after[0].user_id)],
    ))
    .unwrap();
    block_on(store.sql_run(
        "t",
        "INSERT INTO reach_snapshot (client_id, user_id) VALUES (?1, ?2)",
        &[Arg::text(&after[0].client_id), Arg::text(ghost)],
    ))
    .unwrap();
    let mut before: Vec<ReachPair> = after[1..].to_vec();
    before.push(ReachPair {
        user_id: ghost.into(),
        email: None,
        ..after[0].clone()
    });
    let now = "2026-01-01T00:00:00.000Z";
    let want: Vec<Value> = reach_events(42, now, &before, &after)
        .into_iter()
        .map(|e| {
            json!([
                e.at,
                e.run_id,
                e.kind.as_str(),
                e.user_id,
                e.email,
                e.client_id,
                e.detail,
                0,
                e.dedupe
            ])
        })
        .collect();
    assert_eq!(want.len(), 2);
    let args = [scope.clone(), Arg::Int(42), Arg::text(now)];
    assert_eq!(
        block_on(store.sql_run("t", &reach_events_sql(), &args)).unwrap(),
        2
    );
    let got: Vec<Value> = block_on(ids(
        &store,
        "t",
        "SELECT json_array(at, run_id, type, user_id, email, client_id, detail, baseline, dedupe) \
         AS id FROM access_events WHERE run_id = 42 ORDER BY id",
        &[],
    ))
    .unwrap()
    .iter()
    .map(|r| serde_json::from_str(r).unwrap())
    .collect();
    assert_eq!(got, want);
    // The same batch again: every key is stored, nothing is written twice.
    assert_eq!(
        block_on(store.sql_run("t", &reach_events_sql(), &args)).unwrap(),
        0
    );
}

/// A large tenant: a wiring change moving the reach of thousands of users writes each event,
/// in one batch per change, and no bound value grows with the users.
#[test]
fn a_large_tenant_moves_reach_without_binding_anything_large() {
    const USERS: u64 = 20_000;
    let names = ["Username-Password-Authentication", "google-oauth2"];
    let users: Vec<Value> = (0..USERS)
        .map(|i| {
            json!({"user_id": format!("auth0|{i:06}"), "email": format!("u{i}@x.io"),
                   "created_at": crate::time::iso_from_ms(1_600_000_000_000 + i * 1000),
                   "identities": [{"connection": names[(i % 2) as usize]}]})
        })
        .collect();
    let fake = FakeAuth0::with_users(users);
    *fake.scopes.borrow_mut() = ALL_SCOPES.map(String::from).to_vec();
    let client = |i: usize| {
        json!({"client_id": format!("client{i}"), "name": format!("App {i}"),
                                   "app_type": "spa", "is_first_party": true})
    };
    *fake.apps.borrow_mut() = FakeApps {
        clients: vec![client(0), client(1)],
        connections: vec![
            FakeConnection {
                id: "con_0".into(),
                name: names[0].into(),
                clients: vec!["client0".into()],
            },
            FakeConnection {
                id: "con_1".into(),
                name: names[1].into(),
                clients: vec!["client1".into()],
            },
        ],
        org_connections: BTreeMap::new(),
        page_size: 50,
    };
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let until_done = || {
        let mut trigger = Trigger::Cron;
        for _ in 0..50 {
            clock.advance(60_000);
            let cfg = sync_config("test-secret");
            let r = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), trigger)) {
                Ok(SyncResult::Ran { run, .. }) => *run,
                other => panic!("{other:?}"),
            };
            if r.status != RunStatus::Running {
                return r;
            }
            trigger = Trigger::Continue;
        }
        panic!("the run never finished");
    };
    let r = until_done();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(events(&store).is_empty(), "the first sync is a baseline");
    // Swap: each connection now serves the other application.
    let before = reference_pairs(&fake);
    {
        let mut apps = fake.apps.borrow_mut();
        apps.connections[0].clients = vec!["client1".into()];
        apps.connections[1].clients = vec!["client0".into()];
    }
    let r = until_done();
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let want = diff(&before, &reference_pairs(&fake));
    assert_eq!(want.len(), 2 * USERS as usize);
    assert_eq!(events(&store), want);
    let largest = store.apps.3.get();
    // The reach before, bound as one value (the old design), would be over 1.5 MB here.
    assert!(largest < 100_000, "a bound value of {largest} bytes");
}
