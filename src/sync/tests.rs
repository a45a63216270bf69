//! Whole runs against the in-memory tenant and store.

use super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};
use serde_json::Value;

const T0: u64 = 1_750_000_000_000;

/// One invocation that runs (or continues) a sync; panics if it stood down.
fn invoke(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
    trigger: Trigger,
) -> RunRecord {
    match block_on(run_sync(fake, clock, store, Ok(cfg), trigger)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

fn run(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock) -> RunRecord {
    let cfg = sync_config("test-secret");
    invoke(fake, store, clock, &cfg, Trigger::Cron)
}

/// The store must hold exactly the tenant's users, field by field, none removed.
fn assert_store_matches(fake: &FakeAuth0, store: &MemoryStore) {
    let users = store.users.borrow();
    let active: Vec<_> = users.values().filter(|u| u.removed_at.is_none()).collect();
    let truth = fake.users.borrow();
    assert_eq!(active.len(), truth.len());
    for t in truth.iter() {
        let id = t["user_id"].as_str().unwrap();
        let u = &users.get(id).unwrap_or_else(|| panic!("missing {id}")).row;
        assert!(users[id].removed_at.is_none());
        assert_eq!(u.email.as_deref(), t["email"].as_str());
        assert_eq!(u.name.as_deref(), t["name"].as_str());
        assert_eq!(u.created_at, t["created_at"].as_str().unwrap());
        assert_eq!(u.logins_count, t["logins_count"].as_i64().unwrap_or(0));
        assert_eq!(
            u.connection.as_deref(),
            t["identities"][0]["connection"].as_str()
        );
    }
}

#[test]
fn lists_past_the_cap_including_a_cluster_in_one_millisecond() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3500, 1500));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        (r.users_seen, r.users_added, r.users_removed),
        (3500, 3500, 0)
    );
    assert_store_matches(&fake, &store);
    assert_eq!(
        fake.count("users-exports"),
        1,
        "the cluster is read from one export"
    );
    assert!(fake.download_auth.borrow().is_empty());
    assert_eq!(fake.count("/oauth/token"), 1);
    assert_eq!(r.api_requests, fake.log.borrow().len() as u64);
    // No page past the cap was ever asked for.
    assert!(fake.log.borrow().iter().all(|l| !l.contains("&page=10&")));
}

#[test]
fn a_resync_without_changes_writes_no_user_rows() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    let before = store.rows_written.get();
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(
        (
            r.users_added,
            r.users_updated,
            r.users_removed,
            r.rows_written
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(store.rows_written.get(), before);
}

#[test]
fn deletions_are_marked_and_returns_clear_the_mark() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2200, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    let removed: Vec<Value> = {
        let mut users = fake.users.borrow_mut();
        // One from the first block, one from a middle block, the newest user.
        vec![users.remove(2199), users.remove(1100), users.remove(3)]
    };
    fake.users.borrow_mut()[0]["name"] = "Renamed".into();
    clock.advance(1000);
    let r = run(&fake, &store, &clock);
    assert_eq!((r.users_removed, r.users_updated, r.users_added), (3, 1, 0));
    for u in &removed {
        let id = u["user_id"].as_str().unwrap();
        assert!(store.users.borrow()[id].removed_at.is_some(), "{id}");
    }
    assert_store_matches(&fake, &store);
    fake.users.borrow_mut().push(removed[0].clone());
    let r = run(&fake, &store, &clock);
    assert_eq!((r.users_removed, r.users_updated, r.users_added), (0, 1, 0));
    let id = removed[0]["user_id"].as_str().unwrap();
    assert!(store.users.borrow()[id].removed_at.is_none());
}

#[test]
fn a_run_that_fails_midway_marks_no_one_removed_and_keeps_data() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run(&fake, &store, &clock);
    let snapshot = store.users.borrow().clone();
    // Half the tenant vanishes, and Auth0 starts failing after a few pages.
    fake.users.borrow_mut().truncate(1200);
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| {
        (n > 4).then(|| {
            Ok(crate::http::HttpResponse {
                status: 503,
                headers: Vec::new(),
                body: String::new(),
            })
        })
    }));
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.users_removed, 0);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("did not answer usefully"),
        "{:?}",
        r.error
    );
    assert_eq!(*store.users.borrow(), snapshot);
}

#[test]
fn a_database_failure_fails_the_run_without_leaking_detail() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1500, 0));
    let store = MemoryStore::default();
    store.fail_upsert_in.set(2);
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let res = block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Manual));
    let Ok(SyncResult::Ran { run, internal }) = res else {
        panic!("{res:?}")
    };
    assert_eq!(run.status, RunStatus::Failed);
    let msg = run.error.unwrap();
    assert!(
        msg.contains("could not write users") && !msg.contains("injected"),
        "{msg}"
    );
    assert!(internal.unwrap().contains("injected failure"));
    assert_eq!(run.trigger, "manual");
}

#[test]
fn missing_read_users_fails_the_run_and_names_the_scope() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(10, 0));
    fake.scopes.borrow_mut().retain(|s| s != "read:users");
    let store = MemoryStore::default();
    let r = run(&fake, &store, &FakeClock::at(T0));
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().contains("grant read:users"));
    assert_eq!(fake.count("/api/v2/users"), 0);
}

#[test]
fn bad_configuration_is_recorded_by_setting_name() {
    let fake = FakeAuth0::with_users(Vec::new());
    let store = MemoryStore::default();
    let err = crate::config::ConfigError {
        setting: "AUTH0_CLIENT_SECRET",
        problem: "is not set".into(),
    };
    let clock = FakeClock::at(T0);
    let res = block_on(run_sync(&fake, &clock, &store, Err(&err), Trigger::Cron));
    let Ok(SyncResult::Ran { run, .. }) = res else {
        panic!()
    };
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("AUTH0_CLIENT_SECRET"));
    assert!(fake.log.borrow().is_empty());
}

#[test]
fn an_overlapping_run_stands_down_and_a_dead_run_is_closed_later() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(10, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    // A run that died holding the lock, its record left `running`.
    block_on(store.try_lock("cron-dead", T0, LOCK_LEASE_MS)).unwrap();
    block_on(store.start_run(
        "2025-01-01T00:00:00.000Z",
        "cron",
        crate::store::RunKind::Full,
        None,
    ))
    .unwrap();
    let cfg = sync_config("test-secret");
    let res = block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Manual));
    assert!(matches!(res, Ok(SyncResult::AlreadyRunning)));
    assert!(fake.log.borrow().is_empty() && store.users.borrow().is_empty());
    assert_eq!(store.runs.borrow().len(), 1);
    // Once the lease has expired, the next run takes over and closes the dead one.
    clock.advance(LOCK_LEASE_MS);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    let runs = store.runs.borrow();
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].error.as_deref(), Some(ABANDONED));
    assert!(store.lock.borrow().is_none(), "released");
}

fn org_tenant() -> FakeAuth0 {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1500, 0));
    *fake.orgs.borrow_mut() = vec![
        // 1,250 members: more than offset paging can reach; 1,200 is a multiple of the page size
        // neither, so the fake's empty final page after a full one is also met below.
        (
            "org_big".into(),
            (0..1250).map(|i| format!("auth0|{i:08}")).collect(),
        ),
        (
            "org_full_pages".into(),
            (0..200).map(|i| format!("auth0|{i:08}")).collect(),
        ),
        (
            "org_small".into(),
            vec!["auth0|00000001".into(), "auth0|00001400".into()],
        ),
    ];
    fake
}

fn active_members(store: &MemoryStore, org: &str) -> Vec<String> {
    store
        .memberships
        .borrow()
        .iter()
        .filter(|((o, _), removed)| o == org && removed.is_none())
        .map(|((_, u), _)| u.clone())
        .collect()
}

#[test]
fn organizations_and_every_member_are_stored_and_changes_are_tracked() {
    let fake = org_tenant();
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        (
            r.organizations_seen,
            r.memberships_seen,
            r.memberships_added
        ),
        (3, 1452, 1452)
    );
    for (org, members) in fake.orgs.borrow().iter() {
        let mut want = members.clone();
        want.sort();
        assert_eq!(active_members(&store, org), want, "{org}");
    }
    // An empty page after a full one ends the listing: 2 pages + 1 empty for 200 members.
    assert_eq!(fake.count("org_full_pages/members"), 3);
    // Nothing changed: no membership or organization rows written.
    let r = run(&fake, &store, &clock);
    assert_eq!(
        (r.rows_written, r.memberships_added, r.memberships_removed),
        (0, 0, 0)
    );
    // A member leaves, an organization is deleted.
    fake.orgs.borrow_mut()[0]
        .1
        .retain(|u| u != "auth0|00000500");
    fake.orgs.borrow_mut().pop();
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(
        r.memberships_removed, 3,
        "one member left, and the deleted org's two"
    );
    assert!(!active_members(&store, "org_big").contains(&"auth0|00000500".to_string()));
    assert!(store.orgs.borrow()["org_small"].1.is_some());
    assert!(active_members(&store, "org_small").is_empty());
}

#[test]
fn each_missing_organization_scope_gives_a_partial_run_that_names_it() {
    for (scope, expect) in [
        (
            "read:organizations",
            "organizations not synced: grant read:organizations",
        ),
        (
            "read:organization_members",
            "organization members not synced: grant read:organization_members",
        ),
    ] {
        let fake = org_tenant();
        fake.scopes.borrow_mut().retain(|s| s != scope);
        let store = MemoryStore::default();
        let r = run(&fake, &store, &FakeClock::at(T0));
        assert_eq!(r.status, RunStatus::Partial, "{scope}");
        assert!(
            r.error.as_deref().unwrap().starts_with(expect),
            "{:?}",
            r.error
        );
        assert_eq!(r.users_seen, 1500, "users still sync");
        assert!(store.memberships.borrow().is_empty());
    }
}

#[test]
fn a_403_for_a_scope_the_token_claimed_still_degrades_to_partial() {
    let fake = org_tenant();
    // The token lists the scope, but the API refuses it anyway (a grant changed mid-run).
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/members").then(|| {
            Ok(crate::http::HttpResponse {
                status: 403,
                headers: Vec::new(),
                body: r#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:organization_members","errorCode":"insufficient_scope"}"#.into(),
            })
        })
    }));
    let store = MemoryStore::default();
    let r = run(&fake, &store, &FakeClock::at(T0));
    assert_eq!(r.status, RunStatus::Partial);
    assert!(r.error.unwrap().contains("grant read:organization_members"));
    assert_eq!(
        store.orgs.borrow().len(),
        3,
        "organizations themselves were stored"
    );
}

fn budgeted(requests: u32, queries: u32) -> SyncConfig {
    SyncConfig::new(
        crate::testing::auth0_config("test-secret"),
        crate::config::SyncLimits {
            max_auth0_requests: Some(requests),
            max_d1_queries: Some(queries),
            ..Default::default()
        },
    )
}

/// Runs invocations until the run finishes; returns it and each invocation's (requests, queries).
fn run_to_end(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
) -> (RunRecord, Vec<(u64, u64)>) {
    let mut per_invocation = Vec::new();
    let (mut requests, mut queries) = (0, 0);
    for _ in 0..100 {
        let before = fake.log.borrow().len() as u64;
        let r = invoke(fake, store, clock, cfg, Trigger::Cron);
        let sent = fake.log.borrow().len() as u64 - before;
        assert_eq!(
            r.api_requests - requests,
            sent,
            "the run counts what it sent"
        );
        per_invocation.push((sent, r.d1_queries - queries));
        requests = r.api_requests;
        queries = r.d1_queries;
        clock.advance(60_000);
        if r.status != RunStatus::Running {
            return (r, per_invocation);
        }
        assert!(r.cursor.is_some(), "a paused run keeps its cursor");
    }
    panic!("the run never finished");
}

#[test]
fn a_tenant_too_big_for_one_free_invocation_syncs_across_several_as_one_run() {
    let fake = org_tenant();
    fake.users
        .borrow_mut()
        .extend(FakeAuth0::generate(5000, 1200).into_iter().skip(1500));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, per) = run_to_end(&fake, &store, &clock, &budgeted(50, 50));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(per.len() > 1, "{per:?}");
    for (requests, queries) in &per {
        assert!(*requests <= 50 && *queries <= 50, "{per:?}");
    }
    assert_eq!(
        (r.invocations, r.users_seen, r.users_added),
        (per.len() as u64, 5000, 5000)
    );
    assert_eq!(store.runs.borrow().len(), 1, "one logical run");
    assert_store_matches(&fake, &store);
    assert_eq!(active_members(&store, "org_big").len(), 1250);
    // A re-sync of the unchanged tenant writes no user or membership rows.
    let (r, _) = run_to_end(&fake, &store, &clock, &budgeted(50, 50));
    assert_eq!((r.rows_written, r.users_added, r.users_updated), (0, 0, 0));
}

#[test]
fn removals_found_before_a_pause_apply_only_when_the_listing_completes() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(4000, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    run_to_end(&fake, &store, &clock, &budgeted(50, 50));
    let gone = fake.users.borrow_mut().remove(10)["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    // First invocation: the block holding the user is read, then the budget pauses the run.
    let r = invoke(&fake, &store, &clock, &budgeted(50, 50), Trigger::Cron);
    assert_eq!(r.status, RunStatus::Running);
    assert!(
        store.users.borrow()[&gone].removed_at.is_none(),
        "not before the listing completes"
    );
    assert_eq!(store.pending.borrow().len(), 1);
    // The next invocation fails: the held removal is dropped, nobody is marked.
    fake.secret.replace("rotated".into());
    fake.valid_tokens.borrow_mut().clear();
    let r = invoke(&fake, &store, &clock, &budgeted(50, 50), Trigger::Continue);
    assert_eq!(
        (r.status, r.users_removed, r.invocations),
        (RunStatus::Failed, 0, 2)
    );
    assert!(store.users.borrow()[&gone].removed_at.is_none());
    assert!(store.pending.borrow().is_empty());
    // With credentials back, a full run marks the user removed.
    fake.secret.replace("test-secret".into());
    let (r, _) = run_to_end(&fake, &store, &clock, &budgeted(50, 50));
    assert_eq!(r.users_removed, 1);
    assert!(store.users.borrow()[&gone].removed_at.is_some());
}

#[test]
fn the_continuation_tick_only_continues() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = budgeted(25, 50);
    let idle = block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Continue));
    assert!(matches!(idle, Ok(SyncResult::Idle)));
    assert!(fake.log.borrow().is_empty() && store.runs.borrow().is_empty());
    assert!(
        store.lock.borrow().is_none(),
        "an idle tick does not even lock"
    );
    let first = block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Cron));
    assert!(
        matches!(first, Ok(SyncResult::Ran { ref run, .. }) if run.status == RunStatus::Running)
    );
    let mut ticks = 0;
    while store.runs.borrow()[0].status == RunStatus::Running {
        ticks += 1;
        assert!(ticks < 20);
        block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Continue)).unwrap();
    }
    assert_eq!(store.runs.borrow()[0].status, RunStatus::Succeeded);
    assert_eq!(store.runs.borrow().len(), 1);
}

#[test]
fn a_d1_limit_failure_names_the_budget_setting_without_the_raw_error() {
    let e = StoreError {
        op: "write users",
        detail: "D1_ERROR: Too many API requests by single worker invocation.".into(),
    };
    let m = store_failure_message(&e);
    assert!(
        m.contains("SYNC_MAX_D1_QUERIES") && !m.contains("D1_ERROR"),
        "{m}"
    );
    let other = StoreError {
        op: "write users",
        detail: "disk I/O error".into(),
    };
    assert_eq!(
        store_failure_message(&other),
        "The sync stopped because the database could not write users (details are in the Worker's logs)."
    );
}

/// Leaves a run as an invocation that died after a checkpoint would: `running`, with a cursor.
fn died_at(store: &MemoryStore, fake: &FakeAuth0, users_done: usize, deaths: u32) {
    let id = block_on(store.start_run(
        "2025-06-01T00:00:00.000Z",
        "cron",
        crate::store::RunKind::Full,
        None,
    ))
    .unwrap();
    let mut run = RunRecord::started(id, "2025-06-01T00:00:00.000Z".into(), "cron");
    let mut created: Vec<String> = fake
        .users
        .borrow()
        .iter()
        .map(|u| u["created_at"].as_str().unwrap().to_string())
        .collect();
    created.sort();
    // A checkpoint falls on a block boundary: the first user of a new millisecond.
    let at = (users_done..created.len())
        .find(|&i| created[i] != created[i - 1])
        .unwrap();
    run.users_seen = at as u64;
    let cursor = super::cursor::Cursor::Users {
        lower: Lower::Inclusive(created[at].clone()),
    };
    run.cursor = Some(
        super::cursor::Saved {
            cursor,
            deaths,
            baseline: false,
        }
        .to_json(),
    );
    block_on(store.save_run(&run)).unwrap();
}

#[test]
fn a_run_whose_invocation_died_continues_from_its_last_checkpoint() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3000, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    died_at(&store, &fake, 2000, 1);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!((r.id, r.invocations), (1, 2), "the same run, continued");
    // Only the part after the checkpoint was listed again.
    assert_eq!(r.users_seen, 3000);
    assert!(
        fake.count("/api/v2/users") <= 12,
        "{}",
        fake.count("/api/v2/users")
    );
    assert_eq!(store.runs.borrow().len(), 1);
}

#[test]
fn a_run_that_keeps_dying_at_the_same_point_is_given_up() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    died_at(&store, &fake, 1000, MAX_DEATHS);
    let r = run(&fake, &store, &clock);
    assert_eq!(
        (r.id, r.status),
        (2, RunStatus::Succeeded),
        "a new run starts over"
    );
    let runs = store.runs.borrow();
    assert_eq!(runs[0].status, RunStatus::Failed);
    let msg = runs[0].error.as_deref().unwrap();
    assert!(
        msg.contains("3 times in a row") && msg.contains("SYNC_MAX_AUTH0_REQUESTS"),
        "{msg}"
    );
    assert!(runs[0].cursor.is_none() || runs[0].status == RunStatus::Failed);
}

#[test]
fn checkpoints_carry_a_death_count_that_a_clean_pause_resets() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(12_000, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    // Enough budget to pass a checkpoint (every 5,000 users), not to finish.
    let r = invoke(&fake, &store, &clock, &budgeted(80, 200), Trigger::Cron);
    assert_eq!(r.status, RunStatus::Running);
    let saved = super::cursor::Saved::from_json(r.cursor.as_deref().unwrap()).unwrap();
    assert_eq!(saved.deaths, 0, "a clean pause");
    let mut last = r;
    for _ in 0..10 {
        if last.status != RunStatus::Running {
            break;
        }
        last = invoke(&fake, &store, &clock, &budgeted(80, 200), Trigger::Continue);
    }
    assert_eq!(
        (last.status, last.users_seen, last.cursor),
        (RunStatus::Succeeded, 12_000, None)
    );
}

#[test]
fn an_invocation_killed_mid_run_leaves_a_checkpoint_the_next_continues_from() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(9000, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    // The runtime stopping the Worker mid-run, after the checkpoint past 5,000 users.
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| {
        assert!(n < 85, "the Worker is stopped here");
        None
    }));
    let cfg = sync_config("test-secret");
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Cron))
    }));
    assert!(died.is_err());
    let saved = store.runs.borrow()[0].clone();
    assert_eq!(saved.status, RunStatus::Running);
    let checkpoint = super::cursor::Saved::from_json(saved.cursor.as_deref().unwrap()).unwrap();
    assert_eq!(checkpoint.deaths, 1);
    // The lock's lease runs out; the next tick continues the same run from the checkpoint.
    *fake.fault.borrow_mut() = None;
    store.lock.replace(None);
    let before = fake.count("/api/v2/users");
    let r = run(&fake, &store, &clock);
    assert_eq!(
        (r.id, r.status, r.invocations),
        (1, RunStatus::Succeeded, 2)
    );
    assert!(
        fake.count("/api/v2/users") - before < 50,
        "did not start over"
    );
    assert_store_matches(&fake, &store);
}

/// A tenant whose users come in runs of up to 30 per millisecond, ties reordered on every
/// request, as Auth0's search engine may serve them.
fn tie_tenant(n: usize) -> FakeAuth0 {
    let fake = FakeAuth0::with_users(FakeAuth0::generate_runs(n, 30, 9));
    fake.reorder_ties.set(true);
    fake
}

fn ids(users: &[Value]) -> Vec<String> {
    users
        .iter()
        .map(|u| u["user_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn ties_reordered_on_every_request_lose_no_one_and_remove_no_one_falsely() {
    let fake = tie_tenant(5000);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let r = run(&fake, &store, &clock);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        (r.users_seen, r.users_added, r.users_removed),
        (5000, 5000, 0)
    );
    assert_store_matches(&fake, &store);
    for round in 0..3_usize {
        // Deletions all over the history, a few new users (one sharing an old millisecond), renames.
        let gone: Vec<Value> = {
            let mut users = fake.users.borrow_mut();
            [4000 - 7 * round, 2500 + round, 997, 10]
                .iter()
                .map(|&i| users.remove(i))
                .collect()
        };
        let mut fresh = FakeAuth0::generate(3, 0);
        for (k, u) in fresh.iter_mut().enumerate() {
            u["user_id"] = format!("auth0|new-{round}-{k}").into();
        }
        let shared = fake.users.borrow()[1500]["created_at"].clone();
        fresh[0]["created_at"] = shared;
        fake.users.borrow_mut().extend(fresh);
        fake.users.borrow_mut()[3000 + round]["name"] = format!("Renamed {round}").into();
        clock.advance(60_000);
        let r = run(&fake, &store, &clock);
        assert_eq!(
            r.status,
            RunStatus::Succeeded,
            "round {round}: {:?}",
            r.error
        );
        assert_eq!(
            (r.users_added, r.users_updated, r.users_removed),
            (3, 1, 4),
            "round {round}"
        );
        assert_eq!(r.users_seen, fake.users.borrow().len() as u64);
        for id in ids(&gone) {
            assert!(store.users.borrow()[&id].removed_at.is_some(), "{id}");
        }
        assert_store_matches(&fake, &store);
    }
}

#[test]
fn ties_reordered_under_a_free_plan_budget_still_converge_exactly() {
    let fake = tie_tenant(3000);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, per) = run_to_end(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    for (requests, queries) in &per {
        assert!(*requests <= 45 && *queries <= 45, "{per:?}");
    }
    assert_store_matches(&fake, &store);
    let gone = fake.users.borrow_mut().remove(1234);
    let (r, _) = run_to_end(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!((r.status, r.users_removed), (RunStatus::Succeeded, 1));
    assert!(
        store.users.borrow()[gone["user_id"].as_str().unwrap()]
            .removed_at
            .is_some()
    );
    assert_store_matches(&fake, &store);
}

#[test]
fn a_listing_that_cannot_be_proven_ends_partial_with_the_numbers_and_removes_no_one() {
    let fake = tie_tenant(2500);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    assert_eq!(run(&fake, &store, &clock).status, RunStatus::Succeeded);
    let gone = ids(&[fake.users.borrow_mut().remove(1800)]);
    fake.users.borrow_mut()[5]["name"] = "Renamed".into();
    // Auth0's counts are off by one everywhere: no range can be proven complete.
    fake.total_error.set(1);
    clock.advance(60_000);
    let r = run(&fake, &store, &clock);
    assert_eq!((r.status, r.users_removed), (RunStatus::Partial, 0));
    let msg = r.error.as_deref().unwrap();
    assert!(
        msg.contains("no one was marked removed") && msg.contains("distinct users, Auth0 reports"),
        "{msg}"
    );
    assert!(store.users.borrow()[&gone[0]].removed_at.is_none());
    assert!(
        store.pending.borrow().is_empty(),
        "held removals are dropped"
    );
    // What it read is still written.
    assert_eq!(r.users_updated, 1);
    assert_eq!(
        store.users.borrow()["auth0|00000005"].row.name.as_deref(),
        Some("Renamed")
    );
    // Once Auth0's counts agree again, the next run proves the listing and removes the user.
    fake.total_error.set(0);
    let r = run(&fake, &store, &clock);
    assert_eq!(
        (r.status, r.users_removed),
        (RunStatus::Succeeded, 1),
        "{:?}",
        r.error
    );
    assert_store_matches(&fake, &store);
}

#[test]
fn a_well_behaved_tenant_costs_one_count_per_full_block_and_nothing_more() {
    // 2,500 users, three per millisecond, ties in a stable order: two full blocks and a short one.
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 0));
    let store = MemoryStore::default();
    let r = run(&fake, &store, &FakeClock::at(T0));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(fake.count("per_page=1&"), 2, "one count per full block");
    // 10 + 10 + 6 pages and the two counts: no straddle was read again.
    assert_eq!(fake.count("/api/v2/users"), 28);
    assert_store_matches(&fake, &store);
}

#[test]
fn a_tenant_that_sends_no_totals_cannot_prove_its_listing() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1500, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    assert_eq!(run(&fake, &store, &clock).status, RunStatus::Succeeded);
    fake.users.borrow_mut().remove(700);
    fake.omit_total.set(true);
    let r = run(&fake, &store, &clock);
    assert_eq!((r.status, r.users_removed), (RunStatus::Partial, 0));
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("Auth0 reports no total"),
        "{:?}",
        r.error
    );
    assert_eq!(
        r.users_seen, 1499,
        "what was read is still counted and written"
    );
}

#[test]
fn a_straddling_millisecond_too_full_for_one_page_is_exported_and_a_stable_one_is_not() {
    for (reorder, exports) in [(true, 1), (false, 0)] {
        let mut users = FakeAuth0::generate_runs(2500, 10, 3);
        // 150 users in one millisecond in the middle of the first block.
        let at = users[400]["created_at"].clone();
        for u in users.iter_mut().skip(401).take(149) {
            u["created_at"] = at.clone();
        }
        users.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
        let fake = FakeAuth0::with_users(users);
        fake.reorder_ties.set(reorder);
        let store = MemoryStore::default();
        let r = run(&fake, &store, &FakeClock::at(T0));
        assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
        assert_store_matches(&fake, &store);
        // Reordered, no request can list the 150 whole: the export does. In a stable order the
        // count proves the pages right and no export is needed.
        assert_eq!(fake.count("users-exports"), exports, "reorder {reorder}");
    }
}

#[test]
fn a_wrong_count_is_overruled_by_reading_the_range_again() {
    let fake = tie_tenant(2500);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    assert_eq!(run(&fake, &store, &clock).status, RunStatus::Succeeded);
    let gone = ids(&[fake.users.borrow_mut().remove(300)]);
    // Every one-user count answers a wrong total; the bounded re-reading counts right.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("per_page=1&").then(|| {
            Ok(crate::http::HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: r#"{"users":[],"total":3}"#.into(),
            })
        })
    }));
    let r = run(&fake, &store, &clock);
    assert_eq!(
        (r.status, r.users_removed),
        (RunStatus::Succeeded, 1),
        "{:?}",
        r.error
    );
    assert!(store.users.borrow()[&gone[0]].removed_at.is_some());
    assert_store_matches(&fake, &store);
}

#[test]
fn whatever_the_ties_and_changes_a_run_is_exact_or_partial_and_never_removes_falsely() {
    for seed in 0..10_u64 {
        let n = 1200 + (seed as usize * 137) % 1500;
        // Runs of up to 1..150 users: some too full for one page, read from an export.
        let max_run = 1 + (seed as usize * 37) % 150;
        let fake = FakeAuth0::with_users(FakeAuth0::generate_runs(n, max_run, seed));
        fake.reorder_ties.set(seed % 3 != 0);
        let store = MemoryStore::default();
        let clock = FakeClock::at(T0);
        let r = run(&fake, &store, &clock);
        assert_eq!(r.status, RunStatus::Succeeded, "seed {seed}: {:?}", r.error);
        assert_store_matches(&fake, &store);
        let gone: Vec<String> = {
            let mut users = fake.users.borrow_mut();
            let picks = [n / 2, n / 3, 1 + seed as usize];
            picks
                .iter()
                .map(|&i| users.remove(i)["user_id"].as_str().unwrap().into())
                .collect()
        };
        // Some runs meet a count that is off; they may end partial but never remove anyone.
        fake.total_error.set(i64::from(seed % 4 == 1));
        clock.advance(60_000);
        let r = run(&fake, &store, &clock);
        let removed: Vec<String> = store
            .users
            .borrow()
            .iter()
            .filter(|(_, u)| u.removed_at.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        match r.status {
            RunStatus::Succeeded => {
                assert!(seed % 4 != 1, "seed {seed}: a wrong count cannot be proven");
                assert_eq!(removed.len(), 3, "seed {seed}");
                assert!(gone.iter().all(|id| removed.contains(id)), "seed {seed}");
                assert_store_matches(&fake, &store);
            }
            RunStatus::Partial => {
                assert!(seed % 4 == 1, "seed {seed}: {:?}", r.error);
                assert!(removed.is_empty() && r.users_removed == 0, "seed {seed}");
            }
            other => panic!("seed {seed}: {other:?} {:?}", r.error),
        }
    }
}

#[test]
fn a_budget_too_small_to_prove_a_block_ends_partial_instead_of_looping() {
    let fake = tie_tenant(3000);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    assert_eq!(run(&fake, &store, &clock).status, RunStatus::Succeeded);
    let gone = ids(&[fake.users.borrow_mut().remove(2000)]);
    // 20 requests: the pages, the count and a few straddles, not every straddle of a block.
    let (r, per) = run_to_end(&fake, &store, &clock, &budgeted(20, 45));
    assert!(per.iter().all(|(requests, _)| *requests <= 20), "{per:?}");
    assert!(per.len() < 20, "{} invocations", per.len());
    let removed: Vec<_> = store
        .users
        .borrow()
        .iter()
        .filter(|(_, u)| u.removed_at.is_some())
        .map(|(id, _)| id.clone())
        .collect();
    match r.status {
        RunStatus::Partial => {
            assert!(
                r.error
                    .as_deref()
                    .unwrap()
                    .contains("SYNC_MAX_AUTH0_REQUESTS"),
                "{:?}",
                r.error
            );
            assert!(removed.is_empty());
        }
        RunStatus::Succeeded => assert_eq!(removed, gone),
        other => panic!("{other:?}: {:?}", r.error),
    }
}

#[test]
fn an_unproven_range_is_remembered_across_the_invocations_of_a_run() {
    let fake = tie_tenant(3000);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    assert_eq!(run(&fake, &store, &clock).status, RunStatus::Succeeded);
    fake.users.borrow_mut().remove(100);
    // Only the first block's count is wrong; later invocations prove their blocks.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("created_at%3A%5B%2A%20TO").then(|| {
            Ok(crate::http::HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: r#"{"users":[],"total":3}"#.into(),
            })
        })
    }));
    let (r, per) = run_to_end(&fake, &store, &clock, &budgeted(45, 45));
    assert!(per.len() > 1, "{per:?}");
    assert_eq!(
        (r.status, r.users_removed),
        (RunStatus::Partial, 0),
        "{:?}",
        r.error
    );
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("range [the first user, "),
        "{:?}",
        r.error
    );
    assert!(
        store
            .users
            .borrow()
            .values()
            .all(|u| u.removed_at.is_none())
    );
}

mod applications;
mod cpu;
mod cursor;
mod events;
mod incremental;
mod paused;
mod proof;
mod writer;
