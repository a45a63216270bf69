//! The application SQL in SQLite: writes only changes, and reach as SQL equals the pure rule
//! over random small tenants; the viewer's queries use their indexes.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::reach::{M2M, ReachApp, ReachTenant, ReachUser, can_reach};
use crate::testing::sqlite::{SqliteDb, query};
use crate::testing::{Rng, block_on};

fn exec(db: &SqliteDb, sql: &str, args: &[Arg]) -> u64 {
    block_on(db.sql_run("test", sql, args)).unwrap()
}

fn app_row(id: &str, usage: Option<&str>, fp: &str) -> AppRow {
    AppRow {
        client_id: id.into(),
        name: Some(format!("App {id}")),
        app_type: Some("spa".into()),
        is_first_party: 1,
        organization_usage: usage.map(Into::into),
        fingerprint: fp.into(),
    }
}

#[test]
fn upserts_write_only_changes_and_clear_removals() {
    let db = SqliteDb::default();
    let rows = vec![app_row("a", None, "1"), app_row("b", None, "1")];
    assert_eq!(
        exec(&db, UPSERT_APPS, &[Arg::json(&rows), Arg::text("t1")]),
        2
    );
    assert_eq!(
        exec(&db, UPSERT_APPS, &[Arg::json(&rows), Arg::text("t2")]),
        0
    );
    assert_eq!(
        exec(
            &db,
            MARK_APPS_REMOVED,
            &[Arg::json(&["b"]), Arg::text("t3")]
        ),
        1
    );
    assert_eq!(
        exec(
            &db,
            MARK_APPS_REMOVED,
            &[Arg::json(&["b"]), Arg::text("t4")]
        ),
        0
    );
    // Returning: written again, removal cleared, first seen kept.
    assert_eq!(
        exec(&db, UPSERT_APPS, &[Arg::json(&rows), Arg::text("t5")]),
        1
    );
    let stored = block_on(stored_apps(&db)).unwrap();
    assert!(stored.iter().all(|s| s.removed_at.is_none()));
    let seen: Vec<(String,)> = query(
        &db.0.borrow(),
        "t",
        "SELECT first_seen_at AS \"0\" FROM applications WHERE client_id = 'b'",
        &[],
    )
    .map(|v: Vec<serde_json::Value>| {
        v.into_iter()
            .map(|r| (r["0"].as_str().unwrap().to_string(),))
            .collect()
    })
    .unwrap();
    assert_eq!(seen, [("t1".to_string(),)]);
    let conns = vec![ConnRow {
        connection_id: "con_1".into(),
        name: "db".into(),
        strategy: Some("auth0".into()),
        fingerprint: "f".into(),
    }];
    assert_eq!(
        exec(&db, UPSERT_CONNS, &[Arg::json(&conns), Arg::text("t1")]),
        1
    );
    assert_eq!(
        exec(&db, UPSERT_CONNS, &[Arg::json(&conns), Arg::text("t2")]),
        0
    );
    assert_eq!(
        exec(
            &db,
            ADD_CONNECTION_CLIENTS,
            &[Arg::text("con_1"), Arg::json(&["a", "b", "a"])]
        ),
        2
    );
    assert_eq!(
        exec(
            &db,
            ADD_CONNECTION_CLIENTS,
            &[Arg::text("con_1"), Arg::json(&["a"])]
        ),
        0
    );
    assert_eq!(
        exec(
            &db,
            DROP_CONNECTION_CLIENTS,
            &[Arg::text("con_1"), Arg::json(&["b"])]
        ),
        1
    );
    let left = block_on(ids(&db, "t", CONNECTION_CLIENTS, &[Arg::text("con_1")])).unwrap();
    assert_eq!(left, ["a"]);
    let scopes = vec![
        ScopeState {
            scope: "read:clients".into(),
            granted: 1,
        },
        ScopeState {
            scope: "read:logs".into(),
            granted: 0,
        },
    ];
    assert_eq!(
        exec(&db, RECORD_SCOPES, &[Arg::json(&scopes), Arg::text("t1")]),
        2
    );
    assert_eq!(
        exec(&db, RECORD_SCOPES, &[Arg::json(&scopes), Arg::text("t2")]),
        0,
        "unchanged: no write"
    );
    assert_eq!(block_on(super::scopes(&db)).unwrap(), scopes);
}

/// A random small tenant: users with identities on a few connections, apps, enabled clients,
/// organizations with enabled connections and members.
struct Tenant {
    users: Vec<ReachUser>,
    removed_users: BTreeSet<String>,
    apps: Vec<ReachApp>,
    removed_apps: BTreeSet<String>,
    /// (id, name, removed)
    conns: Vec<(String, String, bool)>,
    enabled: BTreeSet<(String, String)>,
    org_conns: BTreeSet<(String, String)>,
    /// (org, user, removed)
    members: Vec<(String, String, bool)>,
}

fn random_tenant(rng: &mut Rng) -> Tenant {
    let names = ["db", "google-oauth2", "samlp", "github", "sms"];
    let n_conn = 1 + rng.below(names.len());
    let conns: Vec<(String, String, bool)> = (0..n_conn)
        .map(|i| (format!("con_{i}"), names[i].to_string(), rng.one_in(6)))
        .collect();
    let types = [
        Some("spa"),
        Some("regular_web"),
        Some("native"),
        Some(M2M),
        None,
    ];
    let usages = [
        None,
        Some("deny"),
        Some("allow"),
        Some("require"),
        Some("require"),
    ];
    let apps: Vec<ReachApp> = (0..1 + rng.below(5))
        .map(|i| ReachApp {
            client_id: format!("c{i}"),
            app_type: rng.pick(&types).map(Into::into),
            organization_usage: rng.pick(&usages).map(Into::into),
        })
        .collect();
    let removed_apps = apps
        .iter()
        .filter(|_| rng.one_in(6))
        .map(|a| a.client_id.clone())
        .collect();
    let mut enabled = BTreeSet::new();
    for (id, _, _) in &conns {
        for a in &apps {
            if rng.one_in(2) {
                enabled.insert((id.clone(), a.client_id.clone()));
            }
        }
    }
    let orgs: Vec<String> = (0..rng.below(4)).map(|i| format!("org_{i}")).collect();
    let mut org_conns = BTreeSet::new();
    for o in &orgs {
        for (id, _, _) in &conns {
            if rng.one_in(2) {
                org_conns.insert((o.clone(), id.clone()));
            }
        }
    }
    let mut members = Vec::new();
    let mut users = Vec::new();
    let mut removed_users = BTreeSet::new();
    for i in 0..rng.below(12) {
        let id = format!("u{i}");
        // Identities may name a connection the tenant does not have (deleted, or unsynced).
        let mut connections: Vec<String> = (0..rng.below(3))
            .map(|_| {
                if rng.one_in(8) {
                    "unknown".to_string()
                } else {
                    rng.pick(&conns).1.clone()
                }
            })
            .collect();
        connections.dedup();
        let mut user_orgs = BTreeSet::new();
        for o in &orgs {
            if rng.one_in(2) {
                let removed = rng.one_in(4);
                members.push((o.clone(), id.clone(), removed));
                if !removed {
                    user_orgs.insert(o.clone());
                }
            }
        }
        if rng.one_in(8) {
            removed_users.insert(id.clone());
        }
        users.push(ReachUser {
            user_id: id,
            connections,
            blocked: rng.one_in(6),
            orgs: user_orgs,
        });
    }
    Tenant {
        users,
        removed_users,
        apps,
        removed_apps,
        conns,
        enabled,
        org_conns,
        members,
    }
}

fn reach_tenant(t: &Tenant) -> ReachTenant {
    let mut r = ReachTenant::default();
    for (id, name, removed) in &t.conns {
        if !removed {
            r.connection_ids.insert(name.clone(), id.clone());
        }
    }
    for (c, a) in &t.enabled {
        r.enabled.entry(c.clone()).or_default().insert(a.clone());
    }
    for (o, c) in &t.org_conns {
        r.org_connections
            .entry(o.clone())
            .or_default()
            .insert(c.clone());
    }
    r
}

fn load(db: &SqliteDb, t: &Tenant) {
    let conn = db.0.borrow();
    for u in &t.users {
        let removed = t.removed_users.contains(&u.user_id).then_some("t");
        conn.execute(
            "INSERT INTO users (user_id, email, name, connection, connections, created_at, blocked, \
             fingerprint, first_seen_at, removed_at, search_text) VALUES (?1, ?1 || '@x.io', ?1, ?2, ?3, 't', ?4, 'f', 't', ?5, ?1)",
            rusqlite::params![u.user_id, u.connections.first(), serde_json::to_string(&u.connections).unwrap(), u.blocked, removed],
        )
        .unwrap();
    }
    let rows: Vec<AppRow> = t
        .apps
        .iter()
        .map(|a| AppRow {
            client_id: a.client_id.clone(),
            name: None,
            app_type: a.app_type.clone(),
            is_first_party: 1,
            organization_usage: a.organization_usage.clone(),
            fingerprint: "f".into(),
        })
        .collect();
    drop(conn);
    exec(db, UPSERT_APPS, &[Arg::json(&rows), Arg::text("t")]);
    let gone: Vec<&String> = t.removed_apps.iter().collect();
    exec(db, MARK_APPS_REMOVED, &[Arg::json(&gone), Arg::text("t")]);
    let conn = db.0.borrow();
    for (id, name, removed) in &t.conns {
        conn.execute(
            "INSERT INTO connections (connection_id, name, fingerprint, first_seen_at, removed_at) VALUES (?1, ?2, 'f', 't', ?3)",
            rusqlite::params![id, name, removed.then_some("t")],
        )
        .unwrap();
    }
    for (c, a) in &t.enabled {
        conn.execute("INSERT INTO connection_clients VALUES (?1, ?2)", [c, a])
            .unwrap();
    }
    for (o, c) in &t.org_conns {
        conn.execute(
            "INSERT INTO organization_connections VALUES (?1, ?2)",
            [o, c],
        )
        .unwrap();
    }
    for (o, u, removed) in &t.members {
        conn.execute(
            "INSERT INTO memberships (org_id, user_id, first_seen_at, removed_at) VALUES (?1, ?2, 't', ?3)",
            rusqlite::params![o, u, removed.then_some("t")],
        )
        .unwrap();
    }
}

/// The pure rule, restricted to current users and apps, as every view applies it.
fn expected(t: &Tenant) -> BTreeMap<String, BTreeSet<String>> {
    let rt = reach_tenant(t);
    t.apps
        .iter()
        .filter(|a| !t.removed_apps.contains(&a.client_id))
        .map(|a| {
            let who = t
                .users
                .iter()
                .filter(|u| !t.removed_users.contains(&u.user_id) && can_reach(u, a, &rt))
                .map(|u| u.user_id.clone())
                .collect();
            (a.client_id.clone(), who)
        })
        .collect()
}

#[test]
fn reach_in_sql_equals_the_pure_rule_over_random_tenants() {
    let mut reachable_pairs = 0;
    for seed in 0..300u64 {
        let mut rng = Rng::new(seed);
        let t = random_tenant(&mut rng);
        let db = SqliteDb::default();
        load(&db, &t);
        let want = expected(&t);
        // The per-user expression, as /api/applications/{id}/users and /api/users/{id} use it.
        let sql = format!(
            "SELECT a.client_id AS id, u.user_id AS user FROM users u JOIN applications a WHERE {REACH}"
        );
        let rows: Vec<serde_json::Value> = query(&db.0.borrow(), "t", &sql, &[]).unwrap();
        let mut got: BTreeMap<String, BTreeSet<String>> =
            want.keys().map(|k| (k.clone(), BTreeSet::new())).collect();
        for r in rows {
            got.entry(r["id"].as_str().unwrap().into())
                .or_default()
                .insert(r["user"].as_str().unwrap().into());
        }
        assert_eq!(got, want, "seed {seed}");
        reachable_pairs += want.values().map(BTreeSet::len).sum::<usize>();
        // The counts computed at sync end.
        exec(&db, REFRESH_REACH, &[Arg::text("t1")]);
        for (client, who) in &want {
            let l = block_on(list_apps(&db, &["0".into(), "0".into()], Some(client))).unwrap();
            let m2m = t
                .apps
                .iter()
                .any(|a| &a.client_id == client && a.app_type.as_deref() == Some(M2M));
            if m2m {
                assert!(l.is_empty(), "M2M apps are not listed");
                assert!(who.is_empty());
                continue;
            }
            assert_eq!(l.len(), 1);
            assert_eq!(
                l[0].users_can_reach,
                who.len() as i64,
                "seed {seed} {client}"
            );
            assert_eq!(
                l[0].never_used,
                who.len() as i64,
                "no usage yet: all never used"
            );
            // The users listing, paged by 2, returns exactly the reachable users.
            let mut listed = BTreeSet::new();
            let mut after = None;
            loop {
                let q = AppUsersQuery {
                    client_id: client.clone(),
                    limit: 2,
                    after: after.clone(),
                    cutoffs: ["0".into(), "0".into()],
                    ..Default::default()
                };
                let page = block_on(app_users(&db, &q)).unwrap();
                assert!(page.iter().all(|u| u.can_reach));
                listed.extend(page.iter().map(|u| u.user_id.clone()));
                match page.last() {
                    Some(last) if page.len() == 2 => after = Some(last.user_id.clone()),
                    _ => break,
                }
            }
            assert_eq!(&listed, who, "seed {seed} {client}");
        }
        // Unchanged tenant: the refresh writes nothing.
        assert_eq!(exec(&db, REFRESH_REACH, &[Arg::text("t2")]), 0);
    }
    assert!(
        reachable_pairs > 200,
        "the random tenants exercise reach: {reachable_pairs}"
    );
}

#[test]
fn usage_joins_the_listing_and_the_counts() {
    let db = SqliteDb::default();
    let t = Tenant {
        users: ["a", "b", "c"]
            .iter()
            .map(|id| ReachUser {
                user_id: (*id).into(),
                connections: vec!["db".into()],
                blocked: *id == "c",
                orgs: BTreeSet::new(),
            })
            .collect(),
        removed_users: BTreeSet::new(),
        apps: vec![ReachApp {
            client_id: "x".into(),
            app_type: Some("spa".into()),
            organization_usage: None,
        }],
        removed_apps: BTreeSet::new(),
        conns: vec![("con_1".into(), "db".into(), false)],
        enabled: [("con_1".to_string(), "x".to_string())].into(),
        org_conns: BTreeSet::new(),
        members: vec![],
    };
    load(&db, &t);
    let conn = db.0.borrow();
    // a logged in recently; c (blocked) used it long ago.
    conn.execute_batch(
        "INSERT INTO app_usage VALUES ('a', 'x', '2026-11-30T00:00:00.000Z', 3, '2026-11-30T01:00:00.000Z', '2026-10-01T00:00:00.000Z');
         INSERT INTO app_usage VALUES ('c', 'x', '2026-01-01T00:00:00.000Z', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
         INSERT INTO log_cursor (id, checkpoint, tracking_since) VALUES (1, 'l1', '2025-12-01T00:00:00.000Z');",
    )
    .unwrap();
    drop(conn);
    exec(&db, REFRESH_REACH, &[Arg::text("t1")]);
    let cut = [
        "2026-11-01T00:00:00.000Z".to_string(),
        "2026-09-02T00:00:00.000Z".to_string(),
    ];
    let apps = block_on(list_apps(&db, &cut, None)).unwrap();
    assert_eq!(
        apps,
        [AppSummary {
            client_id: "x".into(),
            name: None,
            app_type: Some("spa".into()),
            users_can_reach: 2,
            active_30d: 1,
            active_90d: 1,
            never_used: 1,
            last_login: Some("2026-11-30T00:00:00.000Z".into()),
            usage_since: Some("2025-12-01T00:00:00.000Z".into()),
        }]
    );
    let page = |activity| {
        let q = AppUsersQuery {
            client_id: "x".into(),
            limit: 10,
            activity,
            cutoffs: cut.clone(),
            ..Default::default()
        };
        block_on(app_users(&db, &q))
            .unwrap()
            .into_iter()
            .map(|u| (u.user_id, u.can_reach, u.logins))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        page(Activity::Any),
        [
            ("a".into(), true, 3),
            ("b".into(), true, 0),
            ("c".into(), false, 1)
        ]
    );
    assert_eq!(page(Activity::Active30), [("a".into(), true, 3)]);
    assert_eq!(
        page(Activity::Inactive90),
        [("b".into(), true, 0), ("c".into(), false, 1)]
    );
    assert_eq!(page(Activity::Never), [("b".into(), true, 0)]);
    let q = AppUsersQuery {
        client_id: "x".into(),
        limit: 10,
        search: Some("b".into()),
        cutoffs: cut.clone(),
        ..Default::default()
    };
    assert_eq!(block_on(app_users(&db, &q)).unwrap().len(), 1);
    let mine = block_on(user_apps(&db, "c")).unwrap();
    assert_eq!(mine.len(), 1);
    assert!(!mine[0].can_reach);
    assert_eq!(mine[0].logins, 1);
    assert!(block_on(user_apps(&db, "nobody")).unwrap().is_empty());
}

fn plan(db: &SqliteDb, sql: &str, n_args: usize) -> String {
    let conn = db.0.borrow();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let args: Vec<rusqlite::types::Value> = (0..n_args)
        .map(|_| rusqlite::types::Value::Text("x".into()))
        .collect();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn viewer_queries_use_their_indexes() {
    let db = SqliteDb::default();
    let p = plan(&db, LIST_APPS, 3);
    // Each application's activity is its own key range of app_usage (migration 0019).
    assert!(
        p.contains("SEARCH au USING PRIMARY KEY (client_id=?)"),
        "{p}"
    );
    assert!(!p.contains("SCAN au"), "{p}");
    let (sql, args) = app_users_sql(&AppUsersQuery {
        client_id: "x".into(),
        limit: 5,
        ..Default::default()
    });
    let p = plan(&db, &sql, args.len());
    // Users are walked in primary-key order from the cursor: no sort of the whole table.
    assert!(!p.contains("TEMP B-TREE"), "{p}");
    assert!(p.contains("SEARCH u USING PRIMARY KEY (user_id>?)"), "{p}");
    let p = plan(&db, &user_apps_sql(), 1);
    assert!(p.contains("SEARCH u USING PRIMARY KEY (user_id=?)"), "{p}");
    let p = plan(&db, REFRESH_REACH, 1);
    // One pass over users; connections by name and enabled clients by key.
    assert!(
        p.contains("connections_name") || p.contains("SEARCH c"),
        "{p}"
    );
}

/// The reach-event statements of a wiring batch find each pair by key: one pass over the users
/// (or the stored pairs) per part, never a scan per row, so their cost is linear in the users.
#[test]
fn reach_event_statements_look_pairs_up_by_key() {
    let db = SqliteDb::default();
    let drop = plan(&db, &snapshot_drop_sql(), 1);
    let add = plan(&db, &snapshot_add_sql(), 1);
    let events = plan(&db, &reach_events_sql(), 3);
    for p in [&drop, &add, &events] {
        for full in [
            "SCAN reach_snapshot",
            "SCAN s\n",
            "SCAN e\n",
            "SCAN a\n",
            "SCAN m\n",
        ] {
            assert!(!format!("{p}\n").contains(full), "{full}: {p}");
        }
        assert!(!p.contains("TEMP B-TREE FOR"), "{p}");
    }
    assert!(
        drop.contains("SEARCH u USING PRIMARY KEY (user_id=?)"),
        "{drop}"
    );
    for p in [&add, &events] {
        assert!(
            p.contains("SEARCH s USING PRIMARY KEY (client_id=? AND user_id=?)"),
            "{p}"
        );
    }
    assert!(events.contains("(dedupe=?)"), "{events}");
}
