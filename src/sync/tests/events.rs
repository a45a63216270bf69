//! The change history of whole runs against the in-memory tenant and store: a first sync's
//! baseline, each kind of change exactly once, nothing on a re-sync, nothing twice after a
//! failed, paused or retried run.

use super::super::*;
use crate::auth0::fake::FakeAuth0;
use crate::changes::NewEvent;
use crate::clock::fake::FakeClock;
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};
use serde_json::json;

const T0: u64 = 1_750_000_000_000;

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

fn user(i: usize, connection: &str) -> serde_json::Value {
    json!({
        "user_id": format!("auth0|{i}"),
        "email": format!("u{i}@example.com"),
        "created_at": crate::time::iso_from_ms(1_600_000_000_000 + i as u64 * 1000),
        "identities": [{"connection": connection}],
    })
}

fn tenant() -> FakeAuth0 {
    let fake = FakeAuth0::with_users((0..4).map(|i| user(i, "db")).collect());
    *fake.orgs.borrow_mut() = vec![("org_a".into(), vec!["auth0|0".into()])];
    fake
}

/// The events written since `from`, as (run, type, detail).
fn since(store: &MemoryStore, from: usize) -> Vec<(Option<i64>, &'static str, String)> {
    store.access_events.borrow()[from..]
        .iter()
        .map(|e: &NewEvent| (e.run_id, e.kind.as_str(), e.detail.clone()))
        .collect()
}

fn set(fake: &FakeAuth0, id: &str, field: &str, value: serde_json::Value) {
    let mut users = fake.users.borrow_mut();
    let u = users.iter_mut().find(|u| u["user_id"] == id).unwrap();
    u[field] = value;
}

#[test]
fn a_scripted_sequence_of_tenant_changes_is_recorded_exactly() {
    let fake = tenant();
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        since(&store, 0),
        [(
            Some(1),
            "baseline",
            "first sync: 4 users, 1 organizations recorded".into()
        )]
    );
    assert!(store.access_events.borrow()[0].baseline);

    // Added, blocked, connection changed, joined and left an organization.
    fake.users.borrow_mut().push(user(9, "db"));
    set(&fake, "auth0|1", "blocked", json!(true));
    set(
        &fake,
        "auth0|2",
        "identities",
        json!([{"connection": "google-oauth2"}]),
    );
    fake.users.borrow_mut()[3]["name"] = "Renamed: no access change".into();
    fake.orgs.borrow_mut()[0].1 = vec!["auth0|1".into()];
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let at = store.access_events.borrow()[1].at.clone();
    assert_eq!(at, crate::time::iso_from_ms(T0 + 120_000), "the run's time");
    assert_eq!(
        since(&store, 1),
        [
            (
                Some(2),
                "user_blocked",
                "blocked: u1@example.com (auth0|1)".into()
            ),
            (
                Some(2),
                "connection_changed",
                "primary connection changed: u2@example.com (auth0|2), from db to google-oauth2"
                    .into()
            ),
            (
                Some(2),
                "user_added",
                "added: u9@example.com (auth0|9)".into()
            ),
            (
                Some(2),
                "membership_added",
                "joined organization Org org_a (org_a): u1@example.com (auth0|1)".into()
            ),
            (
                Some(2),
                "membership_removed",
                "left organization Org org_a (org_a): u0@example.com (auth0|0)".into()
            ),
        ]
    );

    // Nothing changed: nothing written.
    let (n, rows) = (store.access_events.borrow().len(), store.rows_written.get());
    let r = run(&fake, &store, &clock);
    assert_eq!((r.rows_written, store.rows_written.get()), (0, rows));
    assert_eq!(store.access_events.borrow().len(), n);

    // Unblocked and deleted; then re-created.
    set(&fake, "auth0|1", "blocked", json!(false));
    let gone = fake.users.borrow_mut().remove(2);
    run(&fake, &store, &clock);
    fake.users.borrow_mut().push(gone);
    run(&fake, &store, &clock);
    assert_eq!(
        since(&store, n),
        [
            (
                Some(4),
                "user_unblocked",
                "unblocked: u1@example.com (auth0|1)".into()
            ),
            (
                Some(4),
                "user_removed",
                "removed: u2@example.com (auth0|2): no longer listed in Auth0".into()
            ),
            (
                Some(5),
                "user_returned",
                "returned: u2@example.com (auth0|2): listed again after being removed".into()
            ),
        ]
    );
    let e = &store.access_events.borrow()[n + 1];
    assert_eq!(
        (
            e.user_id.as_deref(),
            e.email.as_deref(),
            e.org_id.as_deref()
        ),
        (Some("auth0|2"), Some("u2@example.com"), None)
    );
    let m = &store.access_events.borrow()[4];
    assert_eq!(m.org_id.as_deref(), Some("org_a"));
}

#[test]
fn a_first_sync_over_several_invocations_is_one_baseline() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    *fake.orgs.borrow_mut() = vec![("org_a".into(), vec!["auth0|00000001".into()])];
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = SyncConfig::new(
        crate::testing::auth0_config("test-secret"),
        crate::config::SyncLimits {
            max_auth0_requests: Some(14),
            max_d1_queries: Some(45),
            ..Default::default()
        },
    );
    let mut invocations = 0;
    let r = loop {
        invocations += 1;
        let r = invoke(&fake, &store, &clock, &cfg);
        if r.status != RunStatus::Running {
            break r;
        }
        assert!(
            store.access_events.borrow().is_empty(),
            "nothing before it finishes"
        );
    };
    assert!(invocations > 2, "{invocations}");
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        since(&store, 0),
        [(
            Some(1),
            "baseline",
            "first sync: 2500 users, 1 organizations recorded".into()
        )]
    );
    // The next run records changes.
    fake.users.borrow_mut().remove(0);
    clock.advance(60_000);
    let r = invoke(&fake, &store, &clock, &sync_config("test-secret"));
    assert_eq!(r.users_removed, 1);
    let kinds: Vec<_> = since(&store, 1).into_iter().map(|e| e.1).collect();
    assert_eq!(kinds, ["user_removed"]);
}

#[test]
fn a_first_sync_that_fails_leaves_the_next_one_a_baseline() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    store.fail_upsert_in.set(3);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Failed);
    assert!(!store.users.borrow().is_empty(), "some users were written");
    assert!(store.access_events.borrow().is_empty());
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    let kinds: Vec<_> = since(&store, 0).into_iter().map(|e| e.1).collect();
    assert_eq!(kinds, ["baseline"], "no added events for the rest");
}

#[test]
fn failed_and_paused_runs_record_each_change_once() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    // One change in each block.
    for i in [10usize, 1200, 2400] {
        fake.users.borrow_mut()[i]["blocked"] = true.into();
    }
    // The second block's write fails: the run fails after the first block's events landed with
    // its rows.
    store.fail_upsert_in.set(2);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(since(&store, 1).len(), 1);
    // Retried under a tight budget, pausing between blocks.
    let cfg = SyncConfig::new(
        crate::testing::auth0_config("test-secret"),
        crate::config::SyncLimits {
            max_auth0_requests: Some(14),
            max_d1_queries: Some(45),
            ..Default::default()
        },
    );
    loop {
        clock.advance(60_000);
        if invoke(&fake, &store, &clock, &cfg).status != RunStatus::Running {
            break;
        }
    }
    let got: Vec<_> = since(&store, 1).into_iter().map(|e| (e.1, e.2)).collect();
    let want: Vec<_> = [10, 1200, 2400]
        .map(|i| {
            (
                "user_blocked",
                format!("blocked: user{i}@example.com (auth0|{i:08})"),
            )
        })
        .to_vec();
    assert_eq!(got, want);
    // And the same events again are ignored by their keys.
    let again: Vec<NewEvent> = store.access_events.borrow().clone();
    assert_eq!(block_on(store.record_events(&again)).unwrap(), 0);
    assert_eq!(since(&store, 0).len(), 4);
}
