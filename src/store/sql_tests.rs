//! The store's SQL run natively in SQLite (the engine under D1) against the real migrations:
//! write semantics, the lock, and that every viewer query is served by an index.

use rusqlite::{Connection, params_from_iter};

use super::applications::Arg;
use super::organizations::{ADD_MEMBERS, MARK_MEMBERS_REMOVED, UPSERT_ORGS};
use super::runs::{RELEASE_LOCK, TAKE_LOCK};
use super::summary::SEAT_COUNTS;
use super::users::{
    ADD_PENDING_REMOVALS, APPLY_PENDING_REMOVALS, Position, Sort, SortKey, StatusFilter,
    UPSERT_USERS, UsersQuery, list_users_sql, users_in_sql,
};
use crate::sync::mapping::user_row;
use crate::testing::sqlite::query;

fn db() -> Connection {
    crate::testing::sqlite::migrated()
}

fn rows_json(users: &[serde_json::Value]) -> String {
    let rows: Vec<_> = users
        .iter()
        .map(|u| user_row(&serde_json::from_value(u.clone()).unwrap()))
        .collect();
    serde_json::to_string(&rows).unwrap()
}

fn user(id: &str, name: &str, last_login: Option<&str>) -> serde_json::Value {
    serde_json::json!({"user_id": id, "name": name, "email": format!("{id}@x.io"),
        "created_at": "2024-01-01T00:00:00.000Z", "last_login": last_login,
        "identities": [{"connection": "db"}]})
}

#[test]
fn upsert_writes_only_new_changed_or_returning_rows_and_keeps_first_seen() {
    let conn = db();
    let a = user("a", "A", None);
    let b = user("b", "B", None);
    let n = conn
        .execute(
            UPSERT_USERS,
            [rows_json(&[a.clone(), b.clone()]), "t1".into()],
        )
        .unwrap();
    assert_eq!(n, 2);
    let n = conn
        .execute(
            UPSERT_USERS,
            [rows_json(&[a.clone(), b.clone()]), "t2".into()],
        )
        .unwrap();
    assert_eq!(n, 0, "unchanged rows are not written");
    let b2 = user("b", "B2", Some("2025-01-01T00:00:00.000Z"));
    let n = conn
        .execute(UPSERT_USERS, [rows_json(&[a.clone(), b2]), "t3".into()])
        .unwrap();
    assert_eq!(n, 1);
    let (name, seen, blocked): (String, String, i64) = conn
        .query_row(
            "SELECT name, first_seen_at, blocked FROM users WHERE user_id = 'b'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), seen.as_str(), blocked), ("B2", "t1", 0));
    conn.execute(ADD_PENDING_REMOVALS, rusqlite::params![7, "[\"a\",\"a\"]"])
        .unwrap();
    assert_eq!(
        conn.execute(APPLY_PENDING_REMOVALS, rusqlite::params![7, "t4"])
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(APPLY_PENDING_REMOVALS, rusqlite::params![7, "t5"])
            .unwrap(),
        0,
        "marked once"
    );
    let n = conn
        .execute(UPSERT_USERS, [rows_json(&[a]), "t6".into()])
        .unwrap();
    assert_eq!(n, 1, "a returning user is written to clear removed_at");
    let removed: Option<String> = conn
        .query_row(
            "SELECT removed_at FROM users WHERE user_id = 'a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(removed, None);
}

#[test]
fn a_blocks_created_at_range_reads_exactly_its_stored_users() {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let conn = db();
    let users: Vec<_> = ["2021", "2022", "2022", "2023"]
        .iter()
        .enumerate()
        .map(|(i, year)| {
            let mut u = user(&format!("u{i}"), "N", None);
            u["created_at"] = format!("{year}-01-01T00:00:00.000Z").into();
            u
        })
        .collect();
    conn.execute(UPSERT_USERS, [rows_json(&users), "t".into()])
        .unwrap();
    let t = |year: &str| format!("{year}-01-01T00:00:00.000Z");
    let (y21, y22, y23) = (t("2021"), t("2022"), t("2023"));
    let read = |range| {
        let (sql, args) = users_in_sql(range);
        let mut stmt = conn.prepare(sql).unwrap();
        let mut ids: Vec<String> = stmt
            .query_map(params_from_iter(args.iter()), |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(read((Unbounded, Unbounded)), ["u0", "u1", "u2", "u3"]);
    assert_eq!(
        read((Included(y22.as_str()), Included(y22.as_str()))),
        ["u1", "u2"]
    );
    assert_eq!(read((Unbounded, Excluded(y22.as_str()))), ["u0"]);
    assert_eq!(
        read((Excluded(y21.as_str()), Excluded(y23.as_str()))),
        ["u1", "u2"]
    );
    assert_eq!(
        read((Included(y22.as_str()), Unbounded)),
        ["u1", "u2", "u3"]
    );
    assert_eq!(
        read((Excluded(y22.as_str()), Included(y23.as_str()))),
        ["u3"]
    );
    assert!(read((Included(y23.as_str()), Excluded(y23.as_str()))).is_empty());
}

#[test]
fn the_lock_admits_one_owner_until_its_lease_expires() {
    let conn = db();
    let take = |owner: &str, now: i64| {
        conn.execute(TAKE_LOCK, rusqlite::params![owner, now, now + 100])
            .unwrap()
    };
    assert_eq!(take("cron-1", 0), 1);
    assert_eq!(take("manual-2", 50), 0, "held");
    assert_eq!(take("cron-1", 60), 1, "the owner renews");
    assert_eq!(take("manual-2", 159), 0, "renewed lease still held");
    assert_eq!(take("manual-2", 160), 1, "expired lease is taken over");
    assert_eq!(
        conn.execute(RELEASE_LOCK, ["cron-1"]).unwrap(),
        0,
        "only the holder releases"
    );
    assert_eq!(conn.execute(RELEASE_LOCK, ["manual-2"]).unwrap(), 1);
}

#[test]
fn memberships_and_organizations_write_only_changes() {
    let conn = db();
    let orgs = r#"[{"id":"org_1","name":"a","display_name":"A","fingerprint":"f1"}]"#;
    assert_eq!(conn.execute(UPSERT_ORGS, [orgs, "t"]).unwrap(), 1);
    assert_eq!(conn.execute(UPSERT_ORGS, [orgs, "t"]).unwrap(), 0);
    assert_eq!(
        conn.execute(ADD_MEMBERS, ["org_1", "[\"u1\",\"u2\"]", "t"])
            .unwrap(),
        2
    );
    assert_eq!(
        conn.execute(ADD_MEMBERS, ["org_1", "[\"u1\",\"u2\"]", "t"])
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(MARK_MEMBERS_REMOVED, ["org_1", "[\"u2\"]", "t2"])
            .unwrap(),
        1
    );
    assert_eq!(
        conn.execute(ADD_MEMBERS, ["org_1", "[\"u2\"]", "t3"])
            .unwrap(),
        1,
        "back again"
    );
}

fn plan(conn: &Connection, q: &UsersQuery) -> String {
    let (sql, args) = list_users_sql(q);
    let values = crate::testing::sqlite::bind(&args);
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_sort_and_filter_reads_the_users_at_most_once() {
    // Migration 0019 keeps one secondary index on users, (created_at, user_id), for the sync's
    // block ranges: the user_id and created_at orders walk a key without a sort step; the
    // last-login and email orders read the users once into a top-N sort of the page (LIMIT
    // rows held), never a scan per row.
    let conn = db();
    let after = Some(Position {
        key: "k".into(),
        user_id: "u".into(),
    });
    for key in [
        SortKey::UserId,
        SortKey::LastLogin,
        SortKey::CreatedAt,
        SortKey::Email,
    ] {
        for desc in [false, true] {
            for q in [
                UsersQuery {
                    limit: 100,
                    sort: Sort { key, desc },
                    ..UsersQuery::default()
                },
                UsersQuery {
                    limit: 100,
                    sort: Sort { key, desc },
                    after: after.clone(),
                    status: StatusFilter::All,
                    ..UsersQuery::default()
                },
            ] {
                let p = plan(&conn, &q);
                let keyed = matches!(key, SortKey::UserId | SortKey::CreatedAt);
                assert_eq!(
                    p.contains("TEMP B-TREE"),
                    !keyed,
                    "{key:?} desc={desc}: {p}"
                );
                if keyed {
                    assert!(p.contains("INDEX") || p.contains("PRIMARY KEY"), "{p}");
                }
                let passes = p.lines().filter(|l| l.contains(" users")).count();
                assert_eq!(passes, 1, "one pass: {p}");
                assert!(!p.contains("SCAN m"), "memberships by key: {p}");
            }
        }
    }
    let by_connection = plan(
        &conn,
        &UsersQuery {
            limit: 100,
            connection: Some("db".into()),
            ..UsersQuery::default()
        },
    );
    // In user_id order, stopping at the page's limit.
    assert!(
        by_connection.contains("SCAN users") && !by_connection.contains("TEMP B-TREE"),
        "{by_connection}"
    );
    let by_org = plan(
        &conn,
        &UsersQuery {
            limit: 100,
            organization: Some("org_1".into()),
            ..UsersQuery::default()
        },
    );
    assert!(by_org.contains("memberships"), "{by_org}");
    assert!(
        !by_org.contains("SCAN m"),
        "membership lookups use the key: {by_org}"
    );
}

#[test]
fn the_query_builder_filters_and_counts_as_documented() {
    let conn = db();
    let users = [
        user("a", "Ann", Some("2025-06-01T00:00:00.000Z")),
        user("b", "Bob", Some("2024-01-01T00:00:00.000Z")),
        user("c", "Cy", None),
    ];
    conn.execute(UPSERT_USERS, [rows_json(&users), "t".into()])
        .unwrap();
    conn.execute("UPDATE users SET blocked = 1 WHERE user_id = 'b'", [])
        .unwrap();
    let ids = |q: &UsersQuery| -> Vec<String> {
        let (sql, args) = list_users_sql(q);
        let values = crate::testing::sqlite::bind(&args);
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map(params_from_iter(values), |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let base = UsersQuery {
        limit: 10,
        ..UsersQuery::default()
    };
    let q = |f: &dyn Fn(&mut UsersQuery)| {
        let mut q = base.clone();
        f(&mut q);
        ids(&q)
    };
    assert_eq!(q(&|q| q.status = StatusFilter::Active), ["a", "c"]);
    assert_eq!(q(&|q| q.status = StatusFilter::Blocked), ["b"]);
    assert_eq!(
        q(&|q| q.inactive_before = Some("2025-01-01T00:00:00.000Z".into())),
        ["b", "c"]
    );
    assert_eq!(q(&|q| q.never_logged_in = true), ["c"]);
    // last_login_days: a half-open range of instants; never-logged-in users are outside it.
    assert_eq!(
        q(&|q| q.last_login_between = Some((
            "2024-01-01T00:00:00.000Z".into(),
            Some("2025-01-01T00:00:00.000Z".into())
        ))),
        ["b"]
    );
    assert_eq!(
        q(&|q| q.last_login_between =
            Some((String::new(), Some("2025-07-01T00:00:00.000Z".into())))),
        ["a", "b"]
    );
    assert_eq!(
        q(&|q| q.last_login_between = Some(("2025-06-01T00:00:00.000Z".into(), None))),
        ["a"]
    );
    assert_eq!(q(&|q| q.search = Some("bo".into())), ["b"]);
    assert_eq!(
        q(&|q| q.sort = Sort {
            key: SortKey::LastLogin,
            desc: true
        }),
        ["a", "b", "c"]
    );
    let counts: (i64, i64, i64, i64) = conn
        .query_row(
            SEAT_COUNTS,
            ["2025-05-01", "2025-04-01", "2025-03-01"],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(counts, (3, 2, 1, 2));
}

#[test]
fn closing_abandoned_runs_forgets_their_held_removals_and_keeps_a_paused_runs() {
    use super::runs::{CLEAR_ORPHANED_PENDING, CLOSE_ABANDONED};
    let conn = db();
    conn.execute_batch(
        "INSERT INTO sync_runs (id, started_at, status, trigger) VALUES (1, 't', 'running', 'cron');
         INSERT INTO sync_runs (id, started_at, status, trigger, cursor) VALUES (2, 't', 'running', 'cron', '{}');
         INSERT INTO sync_runs (id, started_at, status, trigger) VALUES (3, 't', 'failed', 'cron');",
    )
    .unwrap();
    for run in [1, 2, 3] {
        conn.execute(
            ADD_PENDING_REMOVALS,
            rusqlite::params![run, "[\"a\",\"b\"]"],
        )
        .unwrap();
    }
    conn.execute(CLOSE_ABANDONED, ["t2", "dead"]).unwrap();
    assert_eq!(conn.execute(CLEAR_ORPHANED_PENDING, []).unwrap(), 4);
    let left: Vec<i64> = conn
        .prepare("SELECT DISTINCT run_id FROM sync_pending_removals")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, [2], "the paused run keeps its held removals");
}

#[test]
fn held_members_add_the_new_remove_only_the_unseen_and_are_forgotten() {
    use super::organizations::{
        ADD_SEEN_MEMBERS, CLEAR_ORPHANED_SEEN, CLEAR_SEEN_MEMBERS, HOLD_SEEN_MEMBERS,
        REMOVE_UNSEEN_MEMBERS,
    };
    let conn = db();
    conn.execute_batch(
        "INSERT INTO sync_runs (id, started_at, status, trigger) VALUES (1, 't', 'failed', 'cron');
         INSERT INTO sync_runs (id, started_at, status, trigger) VALUES (2, 't', 'running', 'cron');",
    )
    .unwrap();
    // Stored: kept, left, back (removed earlier); another organization's member.
    conn.execute(ADD_MEMBERS, ["o", "[\"kept\",\"left\",\"back\"]", "t0"])
        .unwrap();
    conn.execute(ADD_MEMBERS, ["p", "[\"left\"]", "t0"])
        .unwrap();
    conn.execute(MARK_MEMBERS_REMOVED, ["o", "[\"back\"]", "t0"])
        .unwrap();
    // A dead run held "left" for o: it must not save it from removal in run 2.
    conn.execute(HOLD_SEEN_MEMBERS, rusqlite::params![1, "o", "[\"left\"]"])
        .unwrap();
    // Run 2 reads o across invocations, a member twice.
    for ids in ["[\"kept\",\"back\"]", "[\"new\",\"kept\"]"] {
        conn.execute(HOLD_SEEN_MEMBERS, rusqlite::params![2, "o", ids])
            .unwrap();
    }
    let args = rusqlite::params![2, "o", "t1"];
    assert_eq!(
        conn.execute(ADD_SEEN_MEMBERS, args).unwrap(),
        2,
        "new and back"
    );
    assert_eq!(
        conn.execute(REMOVE_UNSEEN_MEMBERS, args).unwrap(),
        1,
        "left"
    );
    assert_eq!(
        conn.execute(CLEAR_SEEN_MEMBERS, rusqlite::params![2, "o"])
            .unwrap(),
        3
    );
    let active: Vec<(String, String)> = conn
        .prepare("SELECT org_id, user_id FROM memberships WHERE removed_at IS NULL ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let want = [("o", "back"), ("o", "kept"), ("o", "new"), ("p", "left")]
        .map(|(o, u)| (o.to_string(), u.to_string()));
    assert_eq!(active, want);
    // Unchanged, the same held members write nothing.
    conn.execute(
        HOLD_SEEN_MEMBERS,
        rusqlite::params![2, "o", "[\"kept\",\"back\",\"new\"]"],
    )
    .unwrap();
    assert_eq!(conn.execute(ADD_SEEN_MEMBERS, args).unwrap(), 0);
    assert_eq!(conn.execute(REMOVE_UNSEEN_MEMBERS, args).unwrap(), 0);
    // The dead run's rows go when the next run starts; the running run's stay.
    assert_eq!(conn.execute(CLEAR_ORPHANED_SEEN, []).unwrap(), 1);
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sync_member_seen WHERE run_id = 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 3);
}

#[test]
fn events_append_in_order_and_a_second_write_of_the_same_event_is_ignored() {
    use crate::changes::{EventType, INSERT_EVENTS, NewEvent, Origin, Subject, events_json};
    let conn = db();
    let user = |id: &str| Subject {
        user_id: Some(id.into()),
        email: Some(format!("{id}@x.io")),
        ..Subject::default()
    };
    let at = "2026-01-01T00:00:00.000Z";
    let first = vec![
        NewEvent::new(
            &Origin::Run(3),
            at,
            EventType::UserBlocked,
            user("b"),
            "blocked: b".into(),
        ),
        NewEvent::new(
            &Origin::Run(3),
            at,
            EventType::UserAdded,
            user("a"),
            "added: a".into(),
        ),
        NewEvent::new(
            &Origin::Run(3),
            at,
            EventType::Baseline,
            Subject::default(),
            "first sync: 2 users, 0 organizations recorded".into(),
        ),
        NewEvent::new(
            &Origin::Log("9001".into()),
            at,
            EventType::AppFirstUse,
            Subject {
                client_id: Some("c1".into()),
                ..user("a")
            },
            "first use".into(),
        ),
    ];
    assert_eq!(
        conn.execute(INSERT_EVENTS, [events_json(&first)]).unwrap(),
        4
    );
    // A retried run: the same events again, and one new.
    let mut again = first.clone();
    again.push(NewEvent::new(
        &Origin::Run(4),
        at,
        EventType::UserBlocked,
        user("b"),
        "blocked: b".into(),
    ));
    assert_eq!(
        conn.execute(INSERT_EVENTS, [events_json(&again)]).unwrap(),
        1
    );
    assert_eq!(conn.execute(INSERT_EVENTS, ["[]"]).unwrap(), 0);
    let twice = events_json(&[again[4].clone(), again[4].clone()]);
    assert_eq!(conn.execute(INSERT_EVENTS, [twice]).unwrap(), 0);
    let fresh = NewEvent::new(
        &Origin::Run(5),
        at,
        EventType::UserAdded,
        user("c"),
        "c".into(),
    );
    let twice = events_json(&[fresh.clone(), fresh]);
    assert_eq!(
        conn.execute(INSERT_EVENTS, [twice]).unwrap(),
        1,
        "a key twice in one array"
    );
    type Row = (
        i64,
        Option<i64>,
        String,
        Option<String>,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT id, run_id, type, user_id, client_id, baseline FROM access_events ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        rows,
        [
            (1, Some(3), "user_blocked".into(), s("b"), None, 0),
            (2, Some(3), "user_added".into(), s("a"), None, 0),
            (3, Some(3), "baseline".into(), None, None, 1),
            (4, None, "app_first_use".into(), s("a"), s("c1"), 0),
            (5, Some(4), "user_blocked".into(), s("b"), None, 0),
            (6, Some(5), "user_added".into(), s("c"), None, 0),
        ]
    );
}

/// The events `changes::derived` writes in SQLite, and the memory store's version of the same
/// writes, are the same rows: sentences, keys and order.
#[test]
fn derived_events_in_sql_match_the_memory_store_and_the_rust_wording() {
    use super::organizations::{
        ADD_SEEN_MEMBERS, CLEAR_SEEN_MEMBERS, HOLD_SEEN_MEMBERS, REMOVE_UNSEEN_MEMBERS,
    };
    use super::users::CLEAR_PENDING_REMOVALS;
    use super::{OrgRow, SyncStore};
    use crate::changes::derived::{
        HELD_ADDED_EVENTS, HELD_REMOVED_EVENTS, MEMBERS_ADDED_EVENTS, MEMBERS_REMOVED_EVENTS,
        REMOVAL_EVENTS,
    };
    use crate::testing::block_on;
    use crate::testing::memory::MemoryStore;
    use rusqlite::params;

    let conn = db();
    let mem = MemoryStore::default();
    let mut a = user("a", "A", None);
    a["email"] = "a@x.io".into();
    let mut b = user("b", "B", None);
    b["email"] = serde_json::Value::Null;
    let c = user("c", "C", None);
    let users = [a, b, c];
    conn.execute(UPSERT_USERS, [rows_json(&users), "t0".into()])
        .unwrap();
    let rows: Vec<_> = users
        .iter()
        .map(|u| user_row(&serde_json::from_value(u.clone()).unwrap()))
        .collect();
    block_on(mem.upsert_users(&rows, "t0", &[])).unwrap();
    let orgs = [
        OrgRow {
            id: "o".into(),
            name: Some("acme".into()),
            display_name: Some("Acme".into()),
            fingerprint: "f".into(),
        },
        OrgRow {
            id: "q".into(),
            name: None,
            display_name: None,
            fingerprint: "f".into(),
        },
    ];
    conn.execute(
        UPSERT_ORGS,
        [serde_json::to_string(&orgs).unwrap(), "t0".into()],
    )
    .unwrap();
    block_on(mem.upsert_organizations(&orgs, "t0")).unwrap();

    let ids = |v: &[&str]| serde_json::to_string(v).unwrap();
    let vec = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // In memory: what each SyncStore call does; in SQLite: the batch d1.rs sends for it.
    let add = |run: i64, org: &str, who: &[&str], now: &str| {
        conn.execute(MEMBERS_ADDED_EVENTS, params![run, org, now, ids(who)])
            .unwrap();
        conn.execute(ADD_MEMBERS, params![org, ids(who), now])
            .unwrap();
        block_on(mem.add_members(org, &vec(who), now, Some(run))).unwrap();
    };
    add(5, "o", &["a", "b", "a"], "t1");
    add(6, "o", &["a", "c"], "t2");
    conn.execute(
        MEMBERS_REMOVED_EVENTS,
        params![6, "o", "t2", ids(&["b", "zz"])],
    )
    .unwrap();
    conn.execute(MARK_MEMBERS_REMOVED, params!["o", ids(&["b", "zz"]), "t2"])
        .unwrap();
    block_on(mem.mark_members_removed("o", &vec(&["b", "zz"]), "t2", Some(6))).unwrap();
    for (org, held) in [("q", vec!["a"]), ("o", vec!["a", "b"])] {
        conn.execute(HOLD_SEEN_MEMBERS, params![7, org, ids(&held)])
            .unwrap();
        block_on(mem.hold_seen_members(7, org, &vec(&held))).unwrap();
        for sql in [
            HELD_ADDED_EVENTS,
            HELD_REMOVED_EVENTS,
            ADD_SEEN_MEMBERS,
            REMOVE_UNSEEN_MEMBERS,
        ] {
            conn.execute(sql, params![7, org, "t3"]).unwrap();
        }
        conn.execute(CLEAR_SEEN_MEMBERS, params![7, org]).unwrap();
        block_on(mem.apply_seen_members(7, org, "t3", true)).unwrap();
    }
    conn.execute(ADD_PENDING_REMOVALS, params![8, ids(&["c", "b", "a"])])
        .unwrap();
    block_on(mem.add_pending_removals(8, &vec(&["c", "b", "a"]))).unwrap();
    conn.execute("UPDATE users SET removed_at = 't' WHERE user_id = 'a'", [])
        .unwrap();
    mem.users.borrow_mut().get_mut("a").unwrap().removed_at = Some("t".into());
    for _ in 0..2 {
        // A retried batch: the second finds nothing to mark and records nothing.
        conn.execute(REMOVAL_EVENTS, params![8, "t4"]).unwrap();
        conn.execute(APPLY_PENDING_REMOVALS, params![8, "t4"])
            .unwrap();
        block_on(mem.apply_pending_removals(8, "t4", true)).unwrap();
    }
    conn.execute(CLEAR_PENDING_REMOVALS, params![8]).unwrap();

    type Event = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let sql: Vec<Event> = conn
        .prepare(
            "SELECT run_id, type, user_id, email, org_id, detail, dedupe, at FROM access_events \
             ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let memory: Vec<Event> = mem
        .access_events
        .borrow()
        .iter()
        .map(|e| {
            (
                e.run_id.unwrap(),
                e.kind.as_str().to_string(),
                e.user_id.clone().unwrap(),
                e.email.clone(),
                e.org_id.clone(),
                e.detail.clone(),
                e.dedupe.clone(),
                e.at.clone(),
            )
        })
        .collect();
    assert_eq!(sql, memory);
    let details: Vec<&str> = sql.iter().map(|e| e.5.as_str()).collect();
    assert_eq!(
        details,
        [
            "joined organization Acme (o): a@x.io (a)",
            "joined organization Acme (o): b",
            "joined organization Acme (o): c@x.io (c)",
            "left organization Acme (o): b",
            "joined organization q: a@x.io (a)",
            "joined organization Acme (o): b",
            "left organization Acme (o): c@x.io (c)",
            "removed: b: no longer listed in Auth0",
            "removed: c@x.io (c): no longer listed in Auth0",
        ]
    );
    assert_eq!(sql[0].6, r#"[["run",5],"membership_added","a",null,"o"]"#);
    assert_eq!(sql[8].6, r#"[["run",8],"user_removed","c",null,null]"#);
}

/// Every row type D1 reads decodes, through `FromRow`, from what the store's own SQL answers in
/// SQLite (the engine under D1): column names, 0/1 flags, NULLs and JSON-text lists included.
#[test]
fn every_store_read_decodes_its_rows_by_column_name() {
    use super::organizations::{LIST_ORGS, LIST_STORED_MEMBERS, LIST_STORED_ORGS, ORG_EXISTS};
    use super::runs::{INSERT_RUN, LIST_RUNS, PAUSED_RUN, UPDATE_RUN};
    use super::sessions::{BUMP_EPOCH, EpochRow, READ_EPOCH};
    use super::summary::CONNECTION_COUNTS;
    use super::users::{COUNT_CURRENT_USERS, GET_USER};
    use super::{
        ConnectionCount, OrgRecord, RunRecord, RunStatus, SeatCounts, StoredMember, StoredOrg,
        StoredUser, UserRecord,
    };

    let conn = db();
    let t = |s: &str| Arg::text(s);
    let seats = [t("2025-01-01"), t("2025-02-01"), t("2025-03-01")];
    // An empty database: SUMs over no rows are NULL and read as 0; no epoch row change yet.
    let empty: Vec<SeatCounts> = query(&conn, "t", SEAT_COUNTS, &seats).unwrap();
    assert_eq!(empty, [SeatCounts::default()]);
    let epoch: Vec<EpochRow> = query(&conn, "t", READ_EPOCH, &[]).unwrap();
    assert_eq!(epoch, [EpochRow { epoch: 0 }]);
    let epoch: Vec<EpochRow> = query(&conn, "t", BUMP_EPOCH, &[]).unwrap();
    assert_eq!(epoch, [EpochRow { epoch: 1 }]);

    let mut verified = user("a", "Ann", Some("2025-06-01T00:00:00.000Z"));
    verified["email_verified"] = true.into();
    verified["blocked"] = true.into();
    let mut unverified = user("b", "Bob", None);
    unverified["email_verified"] = false.into();
    let users = [verified, unverified, user("c", "Cy", None)];
    conn.execute(UPSERT_USERS, [rows_json(&users), "t0".into()])
        .unwrap();
    conn.execute("UPDATE users SET removed_at = 't1' WHERE user_id = 'c'", [])
        .unwrap();
    let orgs = r#"[{"id":"org_1","name":"a","display_name":null,"fingerprint":"f1"}]"#;
    conn.execute(UPSERT_ORGS, [orgs, "t"]).unwrap();
    conn.execute(ADD_MEMBERS, ["org_1", "[\"a\",\"b\"]", "t"])
        .unwrap();
    conn.execute(MARK_MEMBERS_REMOVED, ["org_1", "[\"b\"]", "t2"])
        .unwrap();

    let one: Vec<UserRecord> = query(&conn, "t", GET_USER, &[t("a")]).unwrap();
    let [a] = one.as_slice() else {
        panic!("{one:?}")
    };
    assert_eq!(
        (a.blocked, a.email_verified, a.removed_at.as_deref()),
        (true, Some(true), None)
    );
    assert_eq!(
        (a.connections.as_slice(), a.organizations.as_slice()),
        (&["db".to_string()][..], &["org_1".to_string()][..])
    );
    assert_eq!(a.email.as_deref(), Some("a@x.io"));
    let (sql, args) = list_users_sql(&UsersQuery {
        limit: 10,
        status: StatusFilter::All,
        ..UsersQuery::default()
    });
    let listed: Vec<UserRecord> = query(&conn, "t", &sql, &args).unwrap();
    let flags: Vec<_> = listed
        .iter()
        .map(|u| {
            (
                u.user_id.as_str(),
                u.blocked,
                u.email_verified,
                u.removed_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("a", true, Some(true), false),
            ("b", false, Some(false), false),
            ("c", false, None, true)
        ]
    );
    assert!(listed[1].last_login.is_none() && listed[1].updated_at.is_none());
    let (sql, [from, to]) = users_in_sql((std::ops::Bound::Unbounded, std::ops::Bound::Unbounded));
    let stored: Vec<StoredUser> = query(&conn, "t", sql, &[t(&from), t(&to)]).unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .any(|u| u.user_id == "a" && u.blocked && u.connection.as_deref() == Some("db"))
    );
    assert!(
        stored
            .iter()
            .any(|u| u.user_id == "c" && !u.blocked && u.removed_at.as_deref() == Some("t1"))
    );
    let n: Vec<serde_json::Value> = query(&conn, "t", COUNT_CURRENT_USERS, &[]).unwrap();
    assert_eq!(n, [serde_json::json!({"n": 2})]);
    let counts: Vec<SeatCounts> = query(&conn, "t", SEAT_COUNTS, &seats).unwrap();
    assert_eq!(
        (
            counts[0].current,
            counts[0].blocked,
            counts[0].removed,
            counts[0].never_logged_in
        ),
        (2, 1, 1, 1)
    );
    let per: Vec<ConnectionCount> = query(&conn, "t", CONNECTION_COUNTS, &[]).unwrap();
    assert_eq!(
        per,
        [ConnectionCount {
            connection: Some("db".into()),
            users: 2
        }]
    );

    let orgs: Vec<OrgRecord> = query(&conn, "t", LIST_ORGS, &[]).unwrap();
    assert_eq!(
        orgs,
        [OrgRecord {
            id: "org_1".into(),
            name: Some("a".into()),
            display_name: None,
            member_count: 1,
            removed_at: None
        }]
    );
    let stored: Vec<StoredOrg> = query(&conn, "t", LIST_STORED_ORGS, &[]).unwrap();
    assert_eq!(stored[0].fingerprint, "f1");
    let members: Vec<StoredMember> = query(&conn, "t", LIST_STORED_MEMBERS, &[t("org_1")]).unwrap();
    let removed: Vec<_> = members
        .iter()
        .map(|m| (m.user_id.as_str(), m.removed_at.as_deref()))
        .collect();
    assert_eq!(removed, [("a", None), ("b", Some("t2"))]);
    let found: Vec<serde_json::Value> = query(&conn, "t", ORG_EXISTS, &[t("org_1")]).unwrap();
    assert_eq!(found, [serde_json::json!({"id": "org_1"})]);

    let id: Vec<serde_json::Value> = query(
        &conn,
        "t",
        INSERT_RUN,
        &[t("s"), t("cron"), t("incremental"), t("since")],
    )
    .unwrap();
    assert_eq!(id, [serde_json::json!({"id": 1})]);
    let mut run = RunRecord::started(1, "s".into(), "cron");
    run.kind = super::RunKind::Incremental;
    run.updated_since = Some("since".into());
    run.listing_proven = true;
    run.users_seen = 3;
    run.users_total_estimate = Some(3);
    run.invocations = 2;
    run.cursor = Some("{}".into());
    let save = [
        Arg::Int(1),
        Arg::Null,
        t("running"),
        Arg::Int(3),
        Arg::Int(0),
        Arg::Int(0),
        Arg::Int(0),
        Arg::Int(4),
        Arg::Int(0),
        Arg::Int(9),
        Arg::Null,
        Arg::Int(1),
        Arg::Int(2),
        Arg::Int(0),
        Arg::Int(0),
        Arg::Int(2),
        Arg::Int(3),
        Arg::Int(0),
        t("{}"),
        Arg::Int(1),
    ];
    conn.execute(
        UPDATE_RUN,
        params_from_iter(crate::testing::sqlite::bind(&save)),
    )
    .unwrap();
    run.api_requests = 4;
    run.rows_written = 9;
    run.organizations_seen = 1;
    run.memberships_seen = 2;
    let paused: Vec<RunRecord> = query(&conn, "t", PAUSED_RUN, &[]).unwrap();
    assert_eq!(paused, [run.clone()]);
    let listed: Vec<RunRecord> = query(&conn, "t", LIST_RUNS, &[Arg::Int(5)]).unwrap();
    run.cursor = None; // never served, so never read for the list
    assert_eq!(listed, [run]);
    assert_eq!(listed[0].status, RunStatus::Running);
}

/// A row whose column is missing or of the wrong type fails as a store error naming the field.
#[test]
fn a_row_that_does_not_read_names_its_field() {
    use super::UserRecord;
    use super::users::GET_USER;

    let conn = db();
    conn.execute(
        UPSERT_USERS,
        [rows_json(&[user("a", "Ann", None)]), "t0".into()],
    )
    .unwrap();
    let wrong = GET_USER.replacen("logins_count,", "'many' AS logins_count,", 1);
    let err = query::<UserRecord>(&conn, "read a user", &wrong, &[Arg::text("a")]).unwrap_err();
    assert_eq!(err.op, "read a user");
    assert_eq!(err.detail, "field `logins_count`: expected an integer");
    let missing = GET_USER.replacen("created_at,", "", 1);
    assert_ne!(missing, GET_USER);
    let err = query::<UserRecord>(&conn, "read a user", &missing, &[Arg::text("a")]).unwrap_err();
    assert_eq!(err.detail, "field `created_at`: expected a string");
    let flag = GET_USER.replacen("blocked,", "2 AS blocked,", 1);
    let err = query::<UserRecord>(&conn, "read a user", &flag, &[Arg::text("a")]).unwrap_err();
    assert_eq!(err.detail, "field `blocked`: expected true, false, 0 or 1");
    assert!(err.to_string().contains("could not read a user"), "{err}");
}

/// The same history in SQLite and in the memory store answers every query alike, and each
/// query is served by an index without a sort step.
#[test]
fn change_queries_answer_alike_in_sql_and_memory_and_use_an_index() {
    use super::{ChangePosition, ChangeRecord, ChangeView, ChangesQuery};
    use crate::changes::{EventType, INSERT_EVENTS, NewEvent, Origin, Subject, events_json};
    use crate::store::changes::list_changes_sql;
    use crate::testing::block_on;
    use crate::testing::memory::MemoryStore;

    let conn = db();
    let mem = MemoryStore::default();
    let events: Vec<NewEvent> = (0..40)
        .map(|i| {
            let kind = EventType::ALL[i % 5];
            let subject = Subject {
                user_id: Some(format!("u{}", i % 3)),
                email: (i % 2 == 0).then(|| format!("u{i}@x.io")),
                client_id: (i % 4 == 0).then(|| "app".to_string()),
                ..Subject::default()
            };
            // Out of id order now and then, and ties.
            let at = format!("2026-01-{:02}T00:00:00.000Z", 1 + (i * 7) % 13);
            NewEvent::new(&Origin::Run(i as i64), &at, kind, subject, format!("e{i}"))
        })
        .collect();
    conn.execute(INSERT_EVENTS, [events_json(&events)]).unwrap();
    mem.append_events(&events);
    let after = ChangePosition {
        at: "2026-01-08T00:00:00.000Z".into(),
        id: 20,
    };
    let queries = [
        ChangesQuery::default(),
        ChangesQuery {
            after: Some(after.clone()),
            ..ChangesQuery::default()
        },
        ChangesQuery {
            kind: Some(EventType::UserRemoved),
            since: Some("2026-01-03T00:00:00.000Z".into()),
            until: Some("2026-01-10T00:00:00.000Z".into()),
            ..ChangesQuery::default()
        },
        ChangesQuery {
            user_id: Some("u1".into()),
            after: Some(after.clone()),
            ..ChangesQuery::default()
        },
        ChangesQuery {
            client_id: Some("app".into()),
            ..ChangesQuery::default()
        },
    ];
    for q in queries {
        let q = ChangesQuery { limit: 7, ..q };
        let (sql, args) = list_changes_sql(&q);
        // Read as D1's rows are, through `FromRow`.
        let from_sql: Vec<ChangeRecord> = query(&conn, "t", &sql, &args).unwrap();
        let from_memory = block_on(mem.list_changes(&q)).unwrap();
        assert!(!from_sql.is_empty(), "{q:?}");
        assert_eq!(from_sql, from_memory, "{q:?}");
        let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = plan
            .query_map(params_from_iter(crate::testing::sqlite::bind(&args)), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("USING INDEX access_events_"), "{q:?}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{q:?}: {plan}");
    }
}

/// Deletions from the log (`sdu`): removed once per id, only a current user not updated since,
/// and their tombstones read back with the stored users of a block (by range or by id).
#[test]
fn logged_deletions_remove_once_and_leave_a_tombstone_the_listing_reads() {
    use super::StoredUser;
    use super::usage::{RECORD_DELETIONS, REMOVE_DELETED_USERS, deletions_json};
    use super::users::USERS_BY_ID;
    use crate::usage::Deletion;

    let conn = db();
    let mut users = vec![
        user("a", "A", None),
        user("b", "B", None),
        user("c", "C", None),
    ];
    users[1]["updated_at"] = "2026-05-01T00:00:00.000Z".into(); // updated after its deletion
    users[0]["updated_at"] = "2026-01-01T00:00:00Z".into(); // another shape, same ordering
    conn.execute(UPSERT_USERS, [rows_json(&users), "t0".into()])
        .unwrap();
    let del = |id: &str, user: &str, at: &str| Deletion {
        id: id.into(),
        user_id: user.into(),
        at: at.into(),
    };
    let batch = deletions_json(&[
        del("log:1", "a", "2026-03-01T00:00:00.000Z"),
        del("log:2", "b", "2026-03-01T00:00:00.000Z"),
        del("log:3", "ghost", "2026-03-01T00:00:00.000Z"),
    ]);
    let removed = conn
        .execute(REMOVE_DELETED_USERS, [batch.as_str(), "now1"])
        .unwrap();
    assert_eq!(
        removed, 1,
        "a only: b was updated after its deletion, ghost is not stored"
    );
    assert_eq!(
        conn.execute(RECORD_DELETIONS, [batch.as_str(), "now1"])
            .unwrap(),
        3
    );
    // The same events again (a retried page, a push of what polling read): nothing.
    conn.execute("UPDATE users SET removed_at = NULL WHERE user_id = 'a'", [])
        .unwrap();
    assert_eq!(
        conn.execute(REMOVE_DELETED_USERS, [batch.as_str(), "now2"])
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(RECORD_DELETIONS, [batch.as_str(), "now2"])
            .unwrap(),
        0
    );
    conn.execute(
        "UPDATE users SET removed_at = 'now1' WHERE user_id = 'a'",
        [],
    )
    .unwrap();
    let by_id: Vec<StoredUser> = query(
        &conn,
        "t",
        USERS_BY_ID,
        &[Arg::text(r#"["a","b","ghost"]"#)],
    )
    .unwrap();
    let read: Vec<_> = by_id
        .iter()
        .map(|u| {
            (
                u.user_id.as_str(),
                u.removed_at.as_deref(),
                u.deleted_at.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            ("a", Some("now1"), Some("2026-03-01T00:00:00.000Z")),
            ("b", None, Some("2026-03-01T00:00:00.000Z")),
        ]
    );
    let (sql, [from, to]) = users_in_sql((std::ops::Bound::Unbounded, std::ops::Bound::Unbounded));
    let all: Vec<StoredUser> = query(&conn, "t", sql, &[Arg::text(&from), Arg::text(&to)]).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|u| u.deleted_at.is_some()).count(), 2);
}

/// The newest proven listings decide the next run's kind; push rows count for neither.
#[test]
fn the_last_listings_are_the_newest_proven_full_and_any() {
    use super::runs::{LAST_LISTINGS, LastListings};
    let conn = db();
    let none: Vec<LastListings> = query(&conn, "t", LAST_LISTINGS, &[]).unwrap();
    assert_eq!(none, [LastListings::default()]);
    conn.execute_batch(
        "INSERT INTO sync_runs (started_at, status, trigger, kind, listing_proven) VALUES
           ('2026-01-01T00:00:00.000Z', 'succeeded', 'cron', 'full', 1),
           ('2025-12-31T00:00:00.000Z', 'succeeded', 'cron', 'full', 1),
           ('2026-01-02T00:00:00.000Z', 'partial', 'cron', 'full', 0),
           ('2026-01-01T06:00:00.000Z', 'succeeded', 'cron', 'incremental', 1),
           ('2026-01-01T07:00:00.000Z', 'partial', 'cron', 'incremental', 0),
           ('2026-01-03T00:00:00.000Z', 'succeeded', 'push', 'push', 1);",
    )
    .unwrap();
    // What each full listing cost: the newest proven one's is the estimate.
    conn.execute_batch(
        "UPDATE sync_runs SET api_requests = 40 WHERE started_at = '2026-01-01T00:00:00.000Z';
         UPDATE sync_runs SET api_requests = 900 WHERE started_at <> '2026-01-01T00:00:00.000Z';",
    )
    .unwrap();
    let last: Vec<LastListings> = query(&conn, "t", LAST_LISTINGS, &[]).unwrap();
    let listings = LastListings {
        last_full: Some("2026-01-01T00:00:00.000Z".into()),
        last_listed: Some("2026-01-01T06:00:00.000Z".into()),
        last_full_requests: Some(40),
        ..LastListings::default()
    };
    assert_eq!(last, std::slice::from_ref(&listings));
    // The deletion signals' facts: the scope, the log followed (only with a checkpoint), its
    // newest gap, the newest Event Streams delivery (a deletion read from the log is none).
    conn.execute_batch(
        "INSERT INTO optional_scopes (scope, granted, checked_at) VALUES
           ('read:clients', 1, '2026-01-01T00:00:00.000Z'),
           ('read:logs', 0, '2026-01-01T00:00:00.000Z');
         INSERT INTO log_cursor (id, checkpoint, tracking_since) VALUES (1, NULL, '2025-12-01');",
    )
    .unwrap();
    let last: Vec<LastListings> = query(&conn, "t", LAST_LISTINGS, &[]).unwrap();
    let not_granted = LastListings {
        logs_granted: Some(false),
        ..listings.clone()
    };
    assert_eq!(last, [not_granted]);
    conn.execute_batch(
        "UPDATE optional_scopes SET granted = 1 WHERE scope = 'read:logs';
         UPDATE log_cursor SET checkpoint = '900', tracking_since = '2025-12-01T10:00:00.000Z';
         INSERT INTO usage_gaps (run_id, gap_from, gap_until, noted_at) VALUES
           (1, NULL, '2025-12-20T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
           (2, '2025-12-20T00:00:00.000Z', '2025-12-22T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
           (3, NULL, '2025-12-21T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
         INSERT INTO push_events (id, received_at, kind) VALUES
           ('evt_1', '2026-01-01T03:00:00.000Z', 'user.deleted'),
           ('evt_2', '2026-01-01T05:00:00.000Z', 'ignored'),
           ('evt_3', '2026-01-01T04:00:00.000Z', 'user.updated'),
           ('log:9001', '2026-01-01T09:00:00.000Z', 'user.deleted');",
    )
    .unwrap();
    let last: Vec<LastListings> = query(&conn, "t", LAST_LISTINGS, &[]).unwrap();
    assert_eq!(
        last,
        [LastListings {
            logs_granted: Some(true),
            log_tracking_since: Some("2025-12-01T10:00:00.000Z".into()),
            log_gap_until: Some("2025-12-22T00:00:00.000Z".into()),
            last_push: Some("2026-01-01T05:00:00.000Z".into()),
            ..listings
        }]
    );
}

/// Each delivery adds to its hour's push row; the next hour opens another.
#[test]
fn pushes_add_up_in_one_row_per_hour() {
    use super::runs::{LIST_RUNS, PushTally, record_push};
    use super::{RunKind, RunRecord};
    let db = crate::testing::sqlite::SqliteDb::default();
    let h = 1_767_225_600_000u64; // 2026-01-01T00:00:00.000Z
    let tally = |received, updated, removed| PushTally {
        received,
        updated,
        removed,
        rows: 2,
        ..PushTally::default()
    };
    crate::testing::block_on(record_push(&db, &tally(1, 1, 0), h + 60_000)).unwrap();
    crate::testing::block_on(record_push(&db, &tally(3, 0, 1), h + 3_000_000)).unwrap();
    crate::testing::block_on(record_push(&db, &tally(1, 1, 0), h + 3_600_000)).unwrap();
    let runs: Vec<RunRecord> = query(&db.0.borrow(), "t", LIST_RUNS, &[Arg::Int(10)]).unwrap();
    let rows: Vec<_> = runs
        .iter()
        .map(|r| {
            (
                r.kind,
                r.started_at.as_str(),
                r.finished_at.as_deref(),
                r.invocations,
                r.users_seen,
                r.users_updated,
                r.users_removed,
                r.rows_written,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                RunKind::Push,
                "2026-01-01T01:00:00.000Z",
                Some("2026-01-01T01:00:00.000Z"),
                1,
                1,
                1,
                0,
                2
            ),
            (
                RunKind::Push,
                "2026-01-01T00:01:00.000Z",
                Some("2026-01-01T00:50:00.000Z"),
                2,
                4,
                1,
                1,
                4
            ),
        ]
    );
    assert!(
        runs.iter()
            .all(|r| r.status == super::RunStatus::Succeeded && r.trigger == "push")
    );
}
