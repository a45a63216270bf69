//! What D1 bills in rows written per stored user, usage pair and counted log event (issue 19
//! §2), counted from the schema the way workerd counts, and migration 0019's rebuilds keeping
//! every row.
//!
//! workerd's SQLite counts, per statement (measured through Miniflare's D1, `meta.rows_written`):
//! an INSERT is 1 + one per index entry (a rowid table's non-integer PRIMARY KEY is an index of
//! its own; a WITHOUT ROWID table's key is the table); an UPDATE is 1 + one per index on a
//! column it sets; a DELETE is 1. SQLite's own `changes()` counts rows only, so the index part
//! is counted here from `pragma index_list`.

use rusqlite::Connection;

use crate::store::usage::{PRUNE_SEEN, RECORD_SEEN, UPSERT_USAGE};
use crate::testing::sqlite::{migrate, migrated};

/// Rows D1 counts for inserting one row into `table`.
fn insert_cost(conn: &Connection, table: &str) -> usize {
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    let without_rowid = sql.to_uppercase().contains("WITHOUT ROWID");
    let mut st = conn
        .prepare(&format!("SELECT origin FROM pragma_index_list('{table}')"))
        .unwrap();
    let origins: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // A WITHOUT ROWID table's `pk` entry is the table itself.
    1 + origins
        .iter()
        .filter(|o| !(without_rowid && o.as_str() == "pk"))
        .count()
}

fn before_0019() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    migrate(&conn, |name| name < "0019");
    conn
}

fn apply_0019(conn: &Connection) {
    migrate(conn, |name| name.starts_with("0019"));
}

#[test]
fn a_new_user_costs_two_rows_and_a_usage_pair_or_a_counted_event_one() {
    let old = before_0019();
    let new = migrated();
    let cost = |c: &Connection| {
        ["users", "app_usage", "log_seen", "memberships"].map(|t| insert_cost(c, t))
    };
    // Before: the user row, its primary-key index and four indexes; the usage pair and its
    // (client_id, last_seen) entry; the counted id and its seen_at entry.
    assert_eq!(cost(&old), [6, 2, 2, 2]);
    assert_eq!(cost(&new), [2, 1, 1, 2]);
}

/// Every row of `table`, every column, as text, in key order.
fn dump(conn: &Connection, table: &str, columns: &str) -> Vec<String> {
    let mut st = conn
        .prepare(&format!(
            "SELECT json_array({columns}) FROM {table} ORDER BY {columns}"
        ))
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const USER_COLUMNS: &str = "user_id, email, name, connection, connections, last_login, \
     logins_count, created_at, updated_at, blocked, email_verified, fingerprint, first_seen_at, \
     removed_at, search_text";

#[test]
fn migration_0019_keeps_every_row_and_the_legacy_ids_still_dedupe() {
    let conn = before_0019();
    for i in 0..300 {
        let email = (i % 7 != 0).then(|| format!("u{i}@x.io"));
        let login = (i % 5 != 0).then(|| format!("2026-0{}-1{}T00:00:00.000Z", 1 + i % 9, i % 10));
        let removed = (i % 11 == 0).then_some("2026-11-01T00:00:00.000Z");
        conn.execute(
            "INSERT INTO users (user_id, email, name, connection, connections, last_login, \
             logins_count, created_at, updated_at, blocked, email_verified, fingerprint, \
             first_seen_at, removed_at, search_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             ?10, ?11, ?12, ?13, ?14, ?15)",
            rusqlite::params![
                format!("auth0|{i:04}"),
                email,
                format!("User {i}"),
                ["db", "google-oauth2", "acme-saml"][i % 3],
                "[\"db\"]",
                login,
                i * 3,
                format!("2024-01-{:02}T00:00:00.{:03}Z", 1 + i % 28, i),
                Option::<String>::None,
                i % 13 == 0,
                [Some(true), Some(false), None][i % 3],
                format!("fp{i}"),
                "2026-01-01T00:00:00.000Z",
                removed,
                format!("u{i}@x.io\nuser {i}"),
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO app_usage (user_id, client_id, last_login, logins, last_seen, first_used) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                format!("auth0|{i:04}"),
                ["spa", "web"][i % 2],
                Option::<String>::None,
                i,
                "2026-11-30T00:00:00.000Z",
                "2026-01-01T00:00:00.000Z"
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO log_seen (log_id, seen_at) VALUES (?1, ?2)",
            rusqlite::params![
                format!("9000{i:04}"),
                format!("2026-11-{:02}T00:00:00.000Z", 1 + i % 30)
            ],
        )
        .unwrap();
    }
    let users = dump(&conn, "users", USER_COLUMNS);
    let usage = dump(
        &conn,
        "app_usage",
        "user_id, client_id, last_login, logins, last_seen, first_used",
    );
    let seen = dump(&conn, "log_seen", "log_id, seen_at");
    assert_eq!((users.len(), usage.len(), seen.len()), (300, 300, 300));

    apply_0019(&conn);
    assert_eq!(dump(&conn, "users", USER_COLUMNS), users);
    assert_eq!(
        dump(
            &conn,
            "app_usage",
            "user_id, client_id, last_login, logins, last_seen, first_used"
        ),
        usage
    );
    assert_eq!(dump(&conn, "log_seen", "log_id, seen_at"), seen);
    let legacy: i64 = conn
        .query_row("SELECT count(*) FROM log_seen WHERE at = '~'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(legacy, 300);
    // The rebuilt tables are the ones the later SQL reads: no leftovers.
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE name LIKE '%_v19' OR name IN ('users_email', 'users_connection', 'users_last_login', 'app_usage_client', 'log_seen_at')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(names.is_empty(), "{names:?}");

    // An id counted before 0019 is not counted again, nor recorded twice; a new one is.
    let items = r#"[{"i":"90000007","u":"auth0|0007","c":"web","n":1,"l":"2026-11-20T00:00:00.000Z","s":"2026-11-20T00:00:00.000Z","f":"2026-11-20T00:00:00.000Z"},
                    {"i":"90009999","u":"auth0|0007","c":"web","n":1,"l":"2026-11-21T00:00:00.000Z","s":"2026-11-21T00:00:00.000Z","f":"2026-11-21T00:00:00.000Z"}]"#;
    let now = "2026-12-01T00:00:00.000Z";
    let none: Option<&str> = None;
    let logins = |c: &Connection| -> i64 {
        c.query_row(
            "SELECT logins FROM app_usage WHERE client_id = 'web' AND user_id = 'auth0|0007'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = logins(&conn);
    conn.execute(UPSERT_USAGE, rusqlite::params![items, none, true])
        .unwrap();
    let recorded = conn
        .execute(RECORD_SEEN, rusqlite::params![items, none, true, now])
        .unwrap();
    assert_eq!((logins(&conn) - before, recorded), (1, 1));
    // Delivered again: nothing.
    conn.execute(UPSERT_USAGE, rusqlite::params![items, none, true])
        .unwrap();
    let recorded = conn
        .execute(RECORD_SEEN, rusqlite::params![items, none, true, now])
        .unwrap();
    assert_eq!((logins(&conn) - before, recorded), (1, 0));

    // Pruning: legacy ids by when they were seen, new ones by their event's date and when
    // they were seen.
    let pruned = conn.execute(PRUNE_SEEN, [now]).unwrap();
    assert_eq!(pruned, 0, "nothing 31 days old yet");
    let pruned = conn
        .execute(PRUNE_SEEN, ["2026-12-26T00:00:00.000Z"])
        .unwrap();
    // The cut-off is 2026-11-25: legacy ids seen 2026-11-01 … 11-24 (10 a day); the new one,
    // dated 11-21, was seen 12-01: kept; the legacy id counted again is stored under '~' only.
    let left: Vec<String> = dump(&conn, "log_seen", "at, log_id");
    assert_eq!(pruned, 240, "{left:?}");
    let pruned = conn
        .execute(PRUNE_SEEN, ["2027-01-02T00:00:00.000Z"])
        .unwrap();
    assert_eq!(pruned, 60 + 1, "the rest, and the new one");
}

#[test]
fn the_dedupe_lookup_and_the_pruning_use_the_key() {
    let conn = migrated();
    let plan = |sql: &str, n: usize| -> String {
        let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let args: Vec<rusqlite::types::Value> = (0..n)
            .map(|_| rusqlite::types::Value::Text("[]".into()))
            .collect();
        st.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (sql, n) in [(UPSERT_USAGE, 3), (RECORD_SEEN, 4), (PRUNE_SEEN, 1)] {
        let p = plan(sql, n);
        assert!(!p.contains("SCAN log_seen"), "{p}");
        assert!(p.contains("log_seen USING PRIMARY KEY"), "{p}");
    }
}

#[test]
fn a_writes_items_are_chunked_by_pair_so_each_usage_row_is_written_once() {
    use crate::store::usage::{ITEMS_PER_STATEMENT, item_chunks};
    use crate::usage::UsageDelta;
    let item = |n: usize| UsageDelta {
        log_id: Some(format!("{n:08}")),
        user_id: format!("auth0|{:04}", n % 997),
        client_id: ["spa", "web", "cli"][n % 3].into(),
        logins: 1,
        last_login: None,
        last_seen: Some("2026-11-30T00:00:00.000Z".into()),
        first_used: Some("2026-11-30T00:00:00.000Z".into()),
    };
    assert_eq!(item_chunks(&[]), ["[]"]);
    // As `usage::fold` orders them: by user and application.
    let mut items: Vec<UsageDelta> = (0..ITEMS_PER_STATEMENT + 1_234).map(item).collect();
    items.sort_by(|a, b| (&a.user_id, &a.client_id).cmp(&(&b.user_id, &b.client_id)));
    let chunks: Vec<Vec<serde_json::Value>> = item_chunks(&items)
        .iter()
        .map(|c| serde_json::from_str(c).unwrap())
        .collect();
    assert_eq!(chunks.len(), 2);
    assert!(chunks.iter().all(|c| c.len() <= ITEMS_PER_STATEMENT));
    let ids: std::collections::BTreeSet<&str> = chunks
        .iter()
        .flatten()
        .map(|v| v["i"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), items.len(), "every item, once");
    // Each pair lies in one chunk, but for at most the one at the boundary.
    let pairs = |c: &Vec<serde_json::Value>| -> std::collections::BTreeSet<(String, String)> {
        c.iter()
            .map(|v| {
                (
                    v["u"].as_str().unwrap().into(),
                    v["c"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert!(pairs(&chunks[0]).intersection(&pairs(&chunks[1])).count() <= 1);
}
