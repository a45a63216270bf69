//! Snapshots after scripted syncs over several days, weekly logins and the reclaim curve.

use serde_json::{Value, json};

use super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::store::{RunRecord, RunStatus};
use crate::sync::{SyncResult, Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};

/// 2025-06-01T00:00:00Z.
const DAY0: u64 = 1_748_736_000_000;
const DAY: u64 = 86_400_000;

fn user(id: &str, created: &str, last_login: Option<&str>, logins: i64, conn: &str) -> Value {
    json!({"user_id": id, "email": format!("{id}@x.io"), "name": id, "created_at": created,
        "last_login": last_login, "logins_count": logins, "identities": [{"connection": conn}]})
}

fn sync(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock) -> RunRecord {
    match block_on(run_sync(
        fake,
        clock,
        store,
        Ok(&sync_config("test-secret")),
        Trigger::Cron,
    )) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

fn rows(store: &MemoryStore, scope: Scope) -> Vec<TrendRow> {
    block_on(store.trend_rows(scope, "1970-01-01")).unwrap()
}

fn day_row(store: &MemoryStore, scope: Scope, key: &str, day: &str) -> TrendRow {
    rows(store, scope)
        .into_iter()
        .find(|r| r.key == key && r.day == day)
        .unwrap_or_else(|| panic!("no {scope:?} row {key:?} on {day}"))
}

#[test]
fn snapshots_after_syncs_over_several_days_equal_what_happened() {
    let fake = FakeAuth0::with_users(vec![
        user(
            "a",
            "2025-01-10T09:00:00.000Z",
            Some("2025-05-31T10:00:00.000Z"),
            10,
            "db",
        ),
        user(
            "b",
            "2025-01-10T10:00:00.000Z",
            Some("2025-04-20T10:00:00.000Z"),
            3,
            "db",
        ),
        user("c", "2025-03-05T10:00:00.000Z", None, 0, "google-oauth2"),
        user(
            "d",
            "2024-01-01T00:00:00.000Z",
            Some("2024-02-01T00:00:00.000Z"),
            1,
            "db",
        ),
    ]);
    let store = MemoryStore::default();
    // Day 0, 08:00: the first sync ever.
    let clock = FakeClock::at(DAY0 + 8 * 3_600_000);
    assert_eq!(sync(&fake, &store, &clock).status, RunStatus::Succeeded);
    let d0 = day_row(&store, Scope::Tenant, "", "2025-06-01");
    assert!(!d0.derived);
    assert_eq!(
        (d0.seats, d0.active, d0.blocked, d0.removed, d0.added),
        (Some(4), Some(4), Some(0), Some(0), Some(0))
    );
    // a: 1 day ago; b: 42 days; d: over a year; c: never.
    assert_eq!(
        (d0.active_30, d0.login_31_60, d0.login_61_90, d0.active_90),
        (Some(1), Some(1), Some(0), Some(2))
    );
    assert_eq!(
        (d0.login_over_365, d0.never, d0.logins),
        (Some(1), Some(1), Some(14))
    );
    let db = day_row(&store, Scope::Connection, "db", "2025-06-01");
    assert_eq!((db.seats, db.logins), (Some(3), Some(14)));
    // The backfill: users created per day before tracking, and the running total, derived.
    let derived: Vec<(String, Option<i64>, Option<i64>)> = rows(&store, Scope::Tenant)
        .into_iter()
        .filter(|r| r.derived)
        .map(|r| (r.day, r.added, r.seats))
        .collect();
    assert_eq!(
        derived,
        vec![
            ("2024-01-01".into(), Some(1), Some(1)),
            ("2025-01-10".into(), Some(2), Some(3)),
            ("2025-03-05".into(), Some(1), Some(4)),
        ]
    );

    // Day 1: e is created, b is blocked, a logs in twice more; the same day's later sync
    // overwrites the earlier figures.
    fake.users.borrow_mut().push(user(
        "e",
        "2025-06-02T09:00:00.000Z",
        Some("2025-06-02T09:01:00.000Z"),
        1,
        "google-oauth2",
    ));
    clock.advance(DAY);
    assert_eq!(sync(&fake, &store, &clock).status, RunStatus::Succeeded);
    {
        let mut users = fake.users.borrow_mut();
        users[1]["blocked"] = json!(true);
        users[0]["logins_count"] = json!(12);
        users[0]["last_login"] = json!("2025-06-02T11:00:00.000Z");
    }
    clock.advance(3 * 3_600_000);
    assert_eq!(sync(&fake, &store, &clock).status, RunStatus::Succeeded);
    let d1 = day_row(&store, Scope::Tenant, "", "2025-06-02");
    assert_eq!(
        (d1.seats, d1.active, d1.blocked, d1.added, d1.removed),
        (Some(5), Some(4), Some(1), Some(1), Some(0))
    );
    assert_eq!((d1.logins, d1.active_30), (Some(17), Some(2)));
    // Day 2: d leaves Auth0.
    fake.users.borrow_mut().retain(|u| u["user_id"] != "d");
    clock.advance(DAY);
    assert_eq!(sync(&fake, &store, &clock).status, RunStatus::Succeeded);
    let d2 = day_row(&store, Scope::Tenant, "", "2025-06-03");
    assert_eq!(
        (d2.seats, d2.removed, d2.login_over_365),
        (Some(4), Some(1), Some(0))
    );
    assert_eq!(d2.logins, Some(17), "a removed user's logins still count");
    // Day 0's figures did not move; only three observed days exist.
    assert_eq!(day_row(&store, Scope::Tenant, "", "2025-06-01"), d0);
    assert_eq!(
        rows(&store, Scope::Tenant)
            .iter()
            .filter(|r| !r.derived)
            .count(),
        3
    );

    // What /api/trends serves from them.
    let t = block_on(load(&store, DAY0 + 2 * DAY + 1, 120, Some(By::Connection))).unwrap();
    assert_eq!(t.to, "2025-06-03");
    assert_eq!(t.tracking_since.as_deref(), Some("2025-06-01"));
    assert_eq!(t.tenant.last().and_then(|p| p.seats), Some(4));
    assert!(t.tenant.iter().any(|p| p.derived && p.day == "2025-03-05"));
    let r = t.reclaim.unwrap();
    assert_eq!(r.day, "2025-06-03");
    assert_eq!(
        r.buckets.iter().map(|b| b.users).collect::<Vec<_>>(),
        vec![2, 1, 0, 0, 0, 0, 1]
    );
    let keys: Vec<&str> = t.series.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, vec!["db", "google-oauth2"]);
    // Logins: the week of 2025-06-02 counts from day 0's 14 to day 2's 17; the week before
    // has no earlier snapshot to count from.
    let week = |w: &str| {
        t.logins_per_week
            .iter()
            .find(|x| x.week == w)
            .unwrap()
            .logins
    };
    assert_eq!(week("2025-06-02"), Some(3));
    assert_eq!(week("2025-05-26"), None);
}

#[test]
fn a_snapshot_that_does_not_fit_the_budget_waits_for_the_next_invocation() {
    let users = (0..30)
        .map(|i| {
            user(
                &format!("u{i:02}"),
                "2025-01-10T09:00:00.000Z",
                None,
                0,
                "db",
            )
        })
        .collect();
    let fake = FakeAuth0::with_users(users);
    let clock = FakeClock::at(DAY0 + 3_600_000);
    // What a whole run with its snapshot costs, unbudgeted.
    let whole = sync(&fake, &MemoryStore::default(), &clock).d1_queries;
    let store = MemoryStore::default();
    let mut cfg = sync_config("test-secret");
    // One query short: enough for the users and the run's own closing, not for the snapshot too.
    let max = u32::try_from(whole).unwrap() - 1;
    cfg.budget.max_queries = Some(max);
    let first = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Cron)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.status, RunStatus::Running, "{first:?}");
    assert!(
        first.cursor.as_deref().unwrap_or("").contains("snapshot"),
        "{first:?}"
    );
    assert!(rows(&store, Scope::Tenant).is_empty());
    let tokens = fake.count("/oauth/token");
    let second = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Continue)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    };
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(second.id, first.id);
    assert_eq!(
        fake.count("/oauth/token"),
        tokens,
        "no Auth0 token for the snapshot"
    );
    assert!(second.d1_queries - first.d1_queries <= u64::from(max));
    assert_eq!(
        day_row(&store, Scope::Tenant, "", "2025-06-01").seats,
        Some(30)
    );
}

#[test]
fn applications_and_organizations_get_their_own_series() {
    let fake = FakeAuth0::with_users(vec![
        user(
            "a",
            "2025-01-10T09:00:00.000Z",
            Some("2025-05-31T10:00:00.000Z"),
            1,
            "db",
        ),
        user("b", "2025-01-10T09:00:00.000Z", None, 0, "db"),
    ]);
    let store = MemoryStore::default();
    {
        let conn = store.trends.conn();
        conn.execute_batch(
            "INSERT INTO applications (client_id, name, fingerprint, first_seen_at) VALUES \
               ('app1', '<b>Payroll</b>', 'f', 't'); \
             INSERT INTO app_usage (user_id, client_id, last_login, logins, last_seen, first_used) VALUES \
               ('a', 'app1', '2025-05-31T10:00:00.000Z', 7, '2025-05-31T10:00:00.000Z', '2025-06-01T01:00:00.000Z'), \
               ('b', 'app1', '2025-01-31T10:00:00.000Z', 2, '2025-01-31T10:00:00.000Z', '2025-01-02T00:00:00.000Z'), \
               ('a', 'app2', NULL, 0, '2025-05-01T00:00:00.000Z', '2025-05-01T00:00:00.000Z');",
        )
        .unwrap();
    }
    store.orgs.borrow_mut().insert(
        "org_1".into(),
        (
            crate::store::OrgRow {
                id: "org_1".into(),
                name: Some("acme".into()),
                display_name: Some("Acme & Co".into()),
                fingerprint: "f".into(),
            },
            None,
        ),
    );
    let clock = FakeClock::at(DAY0 + 3_600_000);
    sync(&fake, &store, &clock);
    let app1 = day_row(&store, Scope::Application, "app1", "2025-06-01");
    assert_eq!(app1.label.as_deref(), Some("<b>Payroll</b>"));
    assert_eq!(
        (
            app1.seats,
            app1.added,
            app1.active_30,
            app1.active_90,
            app1.logins
        ),
        (Some(2), Some(1), Some(1), Some(1), Some(9))
    );
    assert_eq!(app1.active, None, "not tracked per application");
    let app2 = day_row(&store, Scope::Application, "app2", "2025-06-01");
    assert_eq!(
        (app2.label, app2.seats, app2.active_90),
        (None, Some(1), Some(1))
    );
    // The organization's members: the sync found none in the fake, so it has none and no row.
    assert!(rows(&store, Scope::Organization).is_empty());
}

/// Issue 19: a snapshot taken at a (simulated) time before data already stored counts nothing
/// dated after its instant: not a user created later, not a last login or an application's use
/// after it, not the logins those carry; for the tenant, a connection, an organization and an
/// application alike.
#[test]
fn a_snapshot_never_counts_what_is_dated_after_it() {
    let fake = FakeAuth0::with_users(vec![
        // Logged in before the snapshot.
        user(
            "a",
            "2025-01-10T09:00:00.000Z",
            Some("2025-05-31T10:00:00.000Z"),
            10,
            "db",
        ),
        // Last login after it: a seat, but neither active nor in any reclaim bar, no logins.
        user(
            "f",
            "2025-01-10T09:00:00.000Z",
            Some("2025-06-20T10:00:00.000Z"),
            5,
            "db",
        ),
        // Created after it: not there yet.
        user(
            "n",
            "2025-07-01T09:00:00.000Z",
            Some("2025-07-02T10:00:00.000Z"),
            2,
            "db",
        ),
    ]);
    fake.orgs
        .borrow_mut()
        .push(("org_1".into(), vec!["a".into(), "f".into(), "n".into()]));
    let store = MemoryStore::default();
    store
        .trends
        .conn()
        .execute_batch(
            "INSERT INTO app_usage (user_id, client_id, last_login, logins, last_seen, first_used) VALUES \
               ('a', 'app1', '2025-05-31T10:00:00.000Z', 4, '2025-05-31T12:00:00.000Z', '2025-05-01T00:00:00.000Z'), \
               ('f', 'app1', '2025-06-20T10:00:00.000Z', 3, '2025-06-20T10:00:00.000Z', '2025-05-10T00:00:00.000Z'), \
               ('f', 'app2', '2025-06-10T10:00:00.000Z', 1, '2025-06-10T10:00:00.000Z', '2025-06-10T10:00:00.000Z');",
        )
        .unwrap();
    let clock = FakeClock::at(DAY0 + 3_600_000);
    sync(&fake, &store, &clock);
    let figures = |r: &TrendRow| {
        (
            r.seats,
            r.active_30,
            r.active_90,
            r.never,
            r.logins,
            [
                r.login_31_60,
                r.login_61_90,
                r.login_91_180,
                r.login_181_365,
                r.login_over_365,
            ],
        )
    };
    let want = (Some(2), Some(1), Some(1), Some(0), Some(10), [Some(0); 5]);
    let tenant = day_row(&store, Scope::Tenant, "", "2025-06-01");
    assert_eq!(figures(&tenant), want, "tenant");
    let db = day_row(&store, Scope::Connection, "db", "2025-06-01");
    assert_eq!(figures(&db), want, "connection");
    let org = day_row(&store, Scope::Organization, "org_1", "2025-06-01");
    assert_eq!(figures(&org), want, "organization");
    let app1 = day_row(&store, Scope::Application, "app1", "2025-06-01");
    assert_eq!(
        (app1.seats, app1.active_30, app1.active_90, app1.logins),
        (Some(2), Some(1), Some(1), Some(4)),
        "application: f used it before, but its last use and login are later"
    );
    assert!(
        rows(&store, Scope::Application)
            .iter()
            .all(|r| r.key != "app2"),
        "app2 was first used after the snapshot"
    );
}

/// Issue 19: a removal dated after the snapshot's instant is an event after it too: a snapshot
/// taken at a (simulated) time before a later sync removed a user still counts that user, and
/// that membership, as they stood then.
#[test]
fn a_snapshot_counts_users_removed_after_it_as_they_stood() {
    let fake = FakeAuth0::with_users(vec![
        user(
            "a",
            "2025-01-10T09:00:00.000Z",
            Some("2025-05-31T10:00:00.000Z"),
            10,
            "db",
        ),
        user(
            "r",
            "2025-01-10T09:00:00.000Z",
            Some("2025-05-30T10:00:00.000Z"),
            3,
            "db",
        ),
    ]);
    fake.orgs
        .borrow_mut()
        .push(("org_1".into(), vec!["a".into(), "r".into()]));
    let store = MemoryStore::default();
    sync(&fake, &store, &FakeClock::at(DAY0 + 3_600_000));
    // A later sync removed `r` (and its membership); the fake no longer lists it.
    let later = "2025-07-01T00:00:00.000Z";
    store
        .users
        .borrow_mut()
        .get_mut("r")
        .expect("r was synced")
        .removed_at = Some(later.into());
    *store
        .memberships
        .borrow_mut()
        .get_mut(&("org_1".into(), "r".into()))
        .expect("r's membership was synced") = Some(later.into());
    fake.users.borrow_mut().retain(|u| u["user_id"] != "r");
    fake.orgs.borrow_mut()[0].1.retain(|u| u != "r");
    // A sync at a time before that removal rewrites 2025-06-01.
    sync(&fake, &store, &FakeClock::at(DAY0 + 2 * 3_600_000));
    let figures = |r: &TrendRow| (r.seats, r.active, r.removed, r.active_30, r.logins);
    let want = (Some(2), Some(2), Some(0), Some(2), Some(13));
    let tenant = day_row(&store, Scope::Tenant, "", "2025-06-01");
    assert_eq!(figures(&tenant), want, "tenant");
    let db = day_row(&store, Scope::Connection, "db", "2025-06-01");
    assert_eq!(figures(&db), want, "connection");
    let org = day_row(&store, Scope::Organization, "org_1", "2025-06-01");
    assert_eq!(figures(&org), want, "organization");
}

#[test]
fn weekly_logins_are_differences_and_unknown_without_a_baseline() {
    let mon = day_number("2025-06-02").unwrap();
    assert_eq!(week_start(mon), mon);
    assert_eq!(week_start(mon + 6), mon);
    assert_eq!(week_start(mon + 7), mon + 7);
    assert_eq!(day_text(mon), "2025-06-02");
    // Empty: every week unknown.
    let w = weekly_logins(&[], mon, mon + 13);
    assert_eq!(w.len(), 2);
    assert!(w.iter().all(|x| x.logins.is_none()));
    // A single point: still nothing to count from.
    assert!(
        weekly_logins(&[(mon + 1, 50)], mon, mon + 6)
            .iter()
            .all(|x| x.logins.is_none())
    );
    let pts = [
        (mon - 1, 100),
        (mon + 3, 130),
        (mon + 9, 125),
        (mon + 20, 160),
    ];
    let w = weekly_logins(&pts, mon, mon + 20);
    assert_eq!(
        w.iter().map(|x| x.logins).collect::<Vec<_>>(),
        vec![Some(30), Some(0), Some(35)],
        "a count that went down is 0, not negative"
    );
    // Huge counts do not overflow.
    let w = weekly_logins(&[(mon - 1, i64::MIN), (mon, i64::MAX)], mon, mon);
    assert_eq!(w[0].logins, Some(i64::MAX));
}

#[test]
fn the_reclaim_curve_links_each_bar_and_skips_derived_rows() {
    let row = TrendRow {
        day: "2025-06-01".into(),
        active_30: Some(5),
        login_31_60: Some(4),
        never: Some(2),
        ..TrendRow::default()
    };
    let r = reclaim(&row).unwrap();
    assert_eq!(r.buckets.len(), 7);
    assert_eq!(r.buckets[0].users, 5);
    assert_eq!(r.buckets[1].href, "/?last_login_days=30-60#users");
    assert_eq!(r.buckets[6].href, "/?never_logged_in=true#users");
    assert!(
        reclaim(&TrendRow {
            derived: true,
            ..row
        })
        .is_none()
    );
}
