//! The tenants and audit SQL on SQLite with the real migrations.

use rusqlite::Connection;

use super::*;
use crate::testing::sqlite::{bind, migrated, query};

fn run(conn: &Connection, sql: &str, args: &[Arg]) -> rusqlite::Result<usize> {
    conn.execute(sql, rusqlite::params_from_iter(bind(args)))
}

fn tenant(id: &str) -> TenantRow {
    TenantRow {
        id: id.into(),
        label: "Staging EU".into(),
        domain: "staging.eu.auth0.com".into(),
        client_id: "cid-staging".into(),
        secret_sealed: "v1.bm9uY2U.Y2lwaGVy".into(),
        secret_last4: "wxyz".into(),
        environment: "staging".into(),
        enabled: true,
        disabled_reason: None,
        mau_quota: Some(25_000),
        log_stream_token_sealed: None,
        events_token_sealed: Some("v1.ZXY.dG9r".into()),
        last_test: None,
        last_tested_at: None,
        created_at: "2026-12-01T10:00:00.000Z".into(),
        updated_at: "2026-12-01T10:00:00.000Z".into(),
    }
}

fn get(conn: &Connection, id: &str) -> Vec<TenantRow> {
    query(conn, "get tenant", GET_TENANT, &[Arg::text(id)]).unwrap()
}

#[test]
fn a_tenant_round_trips_and_every_update_lands() {
    let conn = migrated();
    let mut t = tenant("staging-eu");
    assert_eq!(run(&conn, INSERT_TENANT, &t.insert_args()).unwrap(), 1);
    let mut dev = tenant("dev");
    dev.created_at = "2026-12-02T10:00:00.000Z".into();
    dev.mau_quota = None;
    dev.events_token_sealed = None;
    run(&conn, INSERT_TENANT, &dev.insert_args()).unwrap();
    assert_eq!(get(&conn, "staging-eu"), vec![t.clone()]);
    let all: Vec<TenantRow> = query(&conn, "list", LIST_TENANTS, &[]).unwrap();
    assert_eq!(all, vec![t.clone(), dev.clone()]);

    let at = Arg::text("2026-12-03T00:00:00.000Z");
    run(
        &conn,
        UPDATE_TENANT,
        &[
            Arg::text("staging-eu"),
            Arg::text("Staging"),
            Arg::text("login.example.com"),
            Arg::text("cid-2"),
            Arg::text("other"),
            Arg::Null,
            at.clone(),
        ],
    )
    .unwrap();
    run(
        &conn,
        ROTATE_SECRET,
        &[
            Arg::text("staging-eu"),
            Arg::text("v1.new"),
            Arg::text("abcd"),
            at.clone(),
        ],
    )
    .unwrap();
    run(
        &conn,
        SET_ENABLED,
        &[
            Arg::text("staging-eu"),
            Arg::Int(0),
            Arg::text("Test failed: 401"),
            at.clone(),
        ],
    )
    .unwrap();
    run(
        &conn,
        SET_STREAM_TOKENS,
        &[
            Arg::text("staging-eu"),
            Arg::text("v1.log"),
            Arg::Null,
            at.clone(),
        ],
    )
    .unwrap();
    run(
        &conn,
        SET_LAST_TEST,
        &[
            Arg::text("staging-eu"),
            Arg::text(r#"{"passed":false}"#),
            Arg::text("2026-12-04T00:00:00.000Z"),
        ],
    )
    .unwrap();
    t.label = "Staging".into();
    t.domain = "login.example.com".into();
    t.client_id = "cid-2".into();
    t.environment = "other".into();
    t.mau_quota = None;
    t.secret_sealed = "v1.new".into();
    t.secret_last4 = "abcd".into();
    t.enabled = false;
    t.disabled_reason = Some("Test failed: 401".into());
    t.log_stream_token_sealed = Some("v1.log".into());
    t.events_token_sealed = None;
    t.last_test = Some(r#"{"passed":false}"#.into());
    t.last_tested_at = Some("2026-12-04T00:00:00.000Z".into());
    t.updated_at = "2026-12-03T00:00:00.000Z".into();
    assert_eq!(get(&conn, "staging-eu"), vec![t]);
    // The other tenant was not touched.
    assert_eq!(get(&conn, "dev"), vec![dev]);

    assert_eq!(
        run(&conn, DELETE_TENANT, &[Arg::text("staging-eu")]).unwrap(),
        1
    );
    assert!(get(&conn, "staging-eu").is_empty());
    assert_eq!(get(&conn, "dev").len(), 1);
}

/// A change that makes a row invalid.
type Change = fn(&mut TenantRow);

#[test]
fn the_table_refuses_what_the_form_never_accepts() {
    let conn = migrated();
    run(&conn, INSERT_TENANT, &tenant("ok-1").insert_args()).unwrap();
    let bad: [(&str, Change); 9] = [
        ("duplicate id", |t| t.id = "ok-1".into()),
        ("default id", |t| t.id = "default".into()),
        ("upper case id", |t| t.id = "Prod".into()),
        ("empty id", |t| t.id = String::new()),
        ("environment", |t| t.environment = "prod".into()),
        ("negative quota", |t| t.mau_quota = Some(-1)),
        ("long label", |t| t.label = "x".repeat(201)),
        ("empty domain", |t| t.domain = String::new()),
        ("more than four", |t| t.secret_last4 = "abcde".into()),
    ];
    for (what, change) in bad {
        let mut t = tenant("ok-2");
        change(&mut t);
        assert!(
            run(&conn, INSERT_TENANT, &t.insert_args()).is_err(),
            "{what} accepted"
        );
    }
    // The same row unchanged is accepted: the refusals above are the changes'.
    run(&conn, INSERT_TENANT, &tenant("ok-2").insert_args()).unwrap();
}

#[test]
fn audit_entries_round_trip_newest_first_with_field_names_only() {
    let conn = migrated();
    let entry = |at_ms, action, changed: Vec<ChangedField>| AuditEntry {
        who: "admin@example.com".into(),
        at_ms,
        action,
        tenant: "staging-eu".into(),
        changed,
    };
    let all = [
        entry(1_000, AuditAction::Add, FIELDS.to_vec()),
        entry(
            2_000,
            AuditAction::RotateSecret,
            vec![ChangedField::ClientSecret],
        ),
        entry(2_000, AuditAction::Test, Vec::new()),
        entry(3_000, AuditAction::Remove, Vec::new()),
    ];
    for e in &all {
        run(&conn, INSERT_AUDIT, &audit_args(e)).unwrap();
    }
    let read: Vec<AuditEntry> = query(&conn, "audit", LIST_AUDIT, &[Arg::Int(10)]).unwrap();
    let mut want = all.to_vec();
    want.reverse();
    assert_eq!(read, want);
    let two: Vec<AuditEntry> = query(&conn, "audit", LIST_AUDIT, &[Arg::Int(2)]).unwrap();
    assert_eq!(two, want[..2]);
    let stored: String = conn
        .query_row(
            "SELECT changed FROM settings_audit WHERE action = 'rotate_secret'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, r#"["client_secret"]"#);
    // Every action's stored name passes the table's CHECK and reads back.
    for a in ACTIONS {
        run(
            &conn,
            INSERT_AUDIT,
            &audit_args(&entry(9_000, a, Vec::new())),
        )
        .unwrap();
        let back: Vec<AuditEntry> = query(&conn, "audit", LIST_AUDIT, &[Arg::Int(1)]).unwrap();
        assert_eq!(back[0].action, a);
        conn.execute("DELETE FROM settings_audit WHERE at_ms = 9000", [])
            .unwrap();
    }
}

#[test]
fn an_unknown_stored_action_or_field_is_an_error_naming_the_column() {
    let conn = migrated();
    conn.execute(
        "INSERT INTO settings_audit (at_ms, who, action, tenant, changed) \
         VALUES (1, 'a', 'add', 't', '[\"password\"]')",
        [],
    )
    .unwrap();
    let e = query::<AuditEntry>(&conn, "audit", LIST_AUDIT, &[Arg::Int(1)]).unwrap_err();
    assert!(e.detail.contains("changed"), "{e:?}");
}
