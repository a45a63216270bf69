//! The store over the SQLite runner, with the real migrations: the statements D1 runs, held to
//! D1's limits as the D1 runner holds them.

use super::Db;
use crate::auth0::types::Auth0Organization;
use crate::store::organizations::UPSERT_ORGS;
use crate::store::sql::{Arg, SqlRunner, limits};
use crate::store::{OrgRow, SyncStore};
use crate::sync::organizations::org_row;
use crate::testing::block_on;
use crate::testing::sqlite::SqliteDb;

/// A B2B tenant's organizations, named as such tenants name them (issue 20's case: 15,000).
fn b2b_orgs(n: usize) -> Vec<OrgRow> {
    (0..n)
        .map(|i| {
            org_row(&Auth0Organization {
                id: format!("org_{i:016x}"),
                name: Some(format!("customer-{i:05}-northwind-logistics-emea")),
                display_name: Some(format!(
                    "Customer {i:05}: Northwind Logistics EMEA (Frankfurt, Paris, Madrid)"
                )),
            })
        })
        .collect()
}

fn count(db: &Db<SqliteDb>, sql: &str) -> i64 {
    db.0.0.borrow().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn fifteen_thousand_organizations_unchunked_fail_d1s_value_limit_and_chunked_all_land() {
    let db = Db(SqliteDb::default());
    let rows = b2b_orgs(15_000);
    let json = serde_json::to_string(&rows).unwrap();
    assert!(json.len() > limits::MAX_VALUE_BYTES, "{}", json.len());

    // The write as it was: one JSON value for every organization.
    let e = block_on(db.0.sql_run(
        "write organizations",
        UPSERT_ORGS,
        &[
            Arg::Text(json.clone()),
            Arg::text("2026-12-08T00:00:00.000Z"),
        ],
    ))
    .unwrap_err();
    assert!(
        e.detail
            .contains("`write organizations` (INSERT INTO organizations")
            && e.detail.contains("D1 allows 2,000,000 per string or BLOB"),
        "{}",
        e.detail
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM organizations"),
        0,
        "nothing ran"
    );

    // Through the store: chunks of at most 1 MB, every organization stored.
    let written = block_on(db.upsert_organizations(&rows, "2026-12-08T00:00:00.000Z")).unwrap();
    assert_eq!(written, 15_000);
    assert_eq!(count(&db, "SELECT count(*) FROM organizations"), 15_000);
    assert!(
        db.0.3.get() <= limits::CHUNK_VALUE_BYTES,
        "{}",
        db.0.3.get()
    );
    assert_eq!(db.meter().queries(), 4, "one refused, three chunks");

    // Removing them all is one value per chunk too.
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let removed =
        block_on(db.mark_organizations_removed(&ids, "2026-12-09T00:00:00.000Z")).unwrap();
    assert_eq!(removed, 15_000);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM organizations WHERE removed_at IS NULL"
        ),
        0
    );
}

#[test]
fn a_large_organizations_members_land_in_chunks_with_their_events() {
    let db = Db(SqliteDb::default());
    block_on(db.upsert_organizations(&b2b_orgs(1), "t0")).unwrap();
    let org = b2b_orgs(1)[0].id.clone();
    // Long ids (as enterprise connections make them): 100,000 of them pass 1 MB of JSON.
    let ids: Vec<String> = (0..100_000)
        .map(|i| format!("samlp|northwind-emea-okta|employee-{i:08}@northwind.example"))
        .collect();
    assert!(serde_json::to_string(&ids).unwrap().len() > limits::CHUNK_VALUE_BYTES);
    let run = block_on(db.start_run("t1", "cron", crate::store::RunKind::Full, None)).unwrap();
    block_on(db.add_members(&org, &ids, "t1", Some(run))).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM memberships"), 100_000);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM access_events WHERE type = 'membership_added'"
        ),
        100_000
    );
    assert!(
        db.0.3.get() <= limits::CHUNK_VALUE_BYTES,
        "{}",
        db.0.3.get()
    );
}
