//! Exactly one writer, and work that fits each invocation: runs against the in-memory tenant and
//! store, with time and a rival invocation scripted through the fake's request hook.

use std::cell::Cell;
use std::rc::Rc;

use super::super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};

const T0: u64 = 1_750_000_000_000;

fn invoke(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
) -> SyncResult {
    block_on(run_sync(fake, clock, store, Ok(cfg), Trigger::Cron)).unwrap()
}

fn ran(r: SyncResult) -> RunRecord {
    match r {
        SyncResult::Ran { run, .. } => *run,
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_crons_firing_in_the_same_millisecond_do_not_share_the_lock() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(10, 0));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    // The other cron of the same minute holds the lock, under the name it gave itself.
    for rival in [format!("cron-{T0}"), lease::owner_name("cron", T0, 7)] {
        store.lock.replace(None);
        block_on(store.try_lock(&rival, T0, LOCK_LEASE_MS)).unwrap();
        let res = block_on(run_sync_as(
            &fake,
            &clock,
            &store,
            Ok(&cfg),
            Trigger::Cron,
            8,
        ));
        assert!(
            matches!(res, Ok(SyncResult::AlreadyRunning)),
            "{rival}: {res:?}"
        );
        assert!(fake.log.borrow().is_empty() && store.runs.borrow().is_empty());
        assert_eq!(store.lock.borrow().as_ref().unwrap().0, rival, "left alone");
    }
}

/// Every request moves time on by `step_ms`; before each, a rival invocation tries the lock.
fn slow_tenant_with_a_rival(
    fake: &FakeAuth0,
    store: &Rc<MemoryStore>,
    clock: &Rc<FakeClock>,
    step_ms: u64,
) -> Rc<Cell<u32>> {
    let rival_won = Rc::new(Cell::new(0));
    let (s, c, won) = (store.clone(), clock.clone(), rival_won.clone());
    *fake.fault.borrow_mut() = Some(Box::new(move |_, _| {
        c.advance(step_ms);
        if block_on(s.try_lock("rival", c.now_ms(), LOCK_LEASE_MS)).unwrap() {
            won.set(won.get() + 1);
            s.lock.replace(None);
        }
        None
    }));
    rival_won
}

#[test]
fn the_lease_is_renewed_by_elapsed_time_before_each_block() {
    // 40 s per request: a block of 10 pages takes under 7 minutes, the whole run over 30, far
    // past one 15-minute lease; no 5,000-user checkpoint is ever reached.
    let fake = FakeAuth0::with_users(FakeAuth0::generate(4500, 0));
    let store = Rc::new(MemoryStore::default());
    let clock = Rc::new(FakeClock::at(T0));
    let rival_won = slow_tenant_with_a_rival(&fake, &store, &clock, 40_000);
    let r = ran(invoke(&fake, &store, &clock, &sync_config("test-secret")));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(clock.now_ms() - T0 > 2 * LOCK_LEASE_MS);
    assert_eq!(
        rival_won.get(),
        0,
        "the lock was free while the run still wrote"
    );
}

#[test]
fn an_invocation_that_lost_its_lease_writes_nothing_more() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3500, 0));
    let store = Rc::new(MemoryStore::default());
    let clock = Rc::new(FakeClock::at(T0));
    let cfg = sync_config("test-secret");
    ran(invoke(&fake, &store, &clock, &cfg));
    // Changes for the next run: everyone renamed, and an early user deleted (held for removal).
    let gone = fake.users.borrow_mut().remove(5)["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    for u in fake.users.borrow_mut().iter_mut() {
        u["name"] = "Renamed".into();
    }
    // Mid-run (in the second block), the invocation stalls past its lease and a new owner takes
    // the lock and the run.
    let snapshot: Rc<std::cell::RefCell<Option<_>>> = Rc::default();
    let (s, c, snap) = (store.clone(), clock.clone(), snapshot.clone());
    // The fake numbers requests from its first: the 15th of this run is in its second block.
    let steal_at = fake.log.borrow().len() as u32 + 15;
    *fake.fault.borrow_mut() = Some(Box::new(move |n, _| {
        if n == steal_at {
            c.advance(LOCK_LEASE_MS + 1);
            s.lock
                .replace(Some(("new-owner".into(), c.now_ms() + LOCK_LEASE_MS)));
            s.runs.borrow_mut()[1].invocations = 42;
            *snap.borrow_mut() = Some((
                s.users.borrow().clone(),
                s.runs.borrow().clone(),
                s.pending.borrow().clone(),
                s.rows_written.get(),
            ));
        }
        None
    }));
    let res = invoke(&fake, &store, &clock, &cfg);
    assert!(matches!(res, SyncResult::AlreadyRunning), "{res:?}");
    let (users, runs, pending, written) = snapshot.borrow_mut().take().expect("stolen");
    assert_eq!(
        *store.runs.borrow(),
        runs,
        "no checkpoint, no failure over the new run"
    );
    assert_eq!(runs[1].invocations, 42);
    assert_eq!(
        *store.pending.borrow(),
        pending,
        "its held removals are kept"
    );
    assert!(pending.contains(&(2, gone.clone())));
    assert_eq!(store.rows_written.get(), written);
    assert!(
        *store.users.borrow() == users,
        "no user written after the loss"
    );
    assert!(store.users.borrow()[&gone].removed_at.is_none());
    assert_eq!(store.lock.borrow().as_ref().unwrap().0, "new-owner");
    // Some users of the new run's tenant were never written by the stopped invocation.
    assert!(
        store
            .users
            .borrow()
            .values()
            .any(|u| u.row.name.as_deref() != Some("Renamed"))
    );
}

#[test]
fn removals_held_for_a_huge_range_are_written_in_bounded_chunks() {
    // 80,000 stored users (30-character ids: 2.6 MB as one JSON list) left the tenant at once.
    let fake = FakeAuth0::with_users(FakeAuth0::generate(100, 0));
    let store = MemoryStore::default();
    let gone: Vec<crate::store::UserRow> = (0..80_000)
        .map(|i| {
            mapping::user_row(
                &serde_json::from_value(serde_json::json!({
                    "user_id": format!("auth0|{i:024x}"),
                    "created_at": crate::time::iso_from_ms(1_500_000_000_000 + i),
                }))
                .unwrap(),
            )
        })
        .collect();
    block_on(store.upsert_users(&gone, "earlier", &[])).unwrap();
    let clock = FakeClock::at(T0);
    let r = ran(invoke(&fake, &store, &clock, &sync_config("test-secret")));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(
        (r.users_seen, r.users_added, r.users_removed),
        (100, 100, 80_000)
    );
    assert!(store.pending.borrow().is_empty());
}

#[test]
fn an_abandoned_runs_held_removals_are_cleared() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(10, 0));
    let store = MemoryStore::default();
    // A run that died before its first checkpoint, holding removals.
    let dead = block_on(store.start_run(
        "2025-01-01T00:00:00.000Z",
        "cron",
        crate::store::RunKind::Full,
        None,
    ))
    .unwrap();
    block_on(store.add_pending_removals(dead, &["auth0|x".into(), "auth0|y".into()])).unwrap();
    let r = ran(invoke(
        &fake,
        &store,
        &FakeClock::at(T0),
        &sync_config("test-secret"),
    ));
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(store.runs.borrow()[0].error.as_deref(), Some(ABANDONED));
    assert!(
        store.pending.borrow().is_empty(),
        "{:?}",
        store.pending.borrow()
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

/// Invocations (main cron, then continuation ticks) until the run ends; checks each stayed
/// within `cfg`'s budget and returns the run and the number of invocations.
fn run_within_budget(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
) -> (RunRecord, usize) {
    let (mut requests, mut queries) = (0, 0);
    let mut trigger = Trigger::Cron;
    for n in 1..=60 {
        let sent_before = fake.log.borrow().len() as u64;
        let r = ran(block_on(run_sync(fake, clock, store, Ok(cfg), trigger)).unwrap());
        let sent = fake.log.borrow().len() as u64 - sent_before;
        assert!(
            sent <= u64::from(cfg.budget.max_requests.unwrap_or(u32::MAX)),
            "invocation {n}: {sent} requests"
        );
        let q = r.d1_queries - queries;
        assert!(
            q <= u64::from(cfg.budget.max_queries.unwrap_or(u32::MAX)),
            "invocation {n}: {q} queries"
        );
        assert_eq!(r.api_requests - requests, sent);
        (requests, queries) = (r.api_requests, r.d1_queries);
        clock.advance(60_000);
        if r.status != RunStatus::Running {
            return (r, n);
        }
        trigger = Trigger::Continue;
    }
    panic!("the run never finished");
}

fn assert_all_stored(fake: &FakeAuth0, store: &MemoryStore) {
    let users = store.users.borrow();
    let truth = fake.users.borrow();
    assert_eq!(
        users.values().filter(|u| u.removed_at.is_none()).count(),
        truth.len()
    );
    for t in truth.iter() {
        let u = &users[t["user_id"].as_str().unwrap()];
        assert!(u.removed_at.is_none());
        assert_eq!(u.row.name.as_deref(), t["name"].as_str());
    }
}

#[test]
fn a_slow_export_job_is_resumed_across_invocations_not_started_again() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 1200));
    // The job takes 40 polls: more than one invocation's requests.
    fake.export_polls.set(40);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, invocations) = run_within_budget(&fake, &store, &clock, &budgeted(25, 45));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(invocations > 2, "{invocations}");
    assert_eq!(
        fake.count("users-exports"),
        1,
        "one job, polled across invocations"
    );
    assert_eq!((r.users_seen, r.users_added), (2500, 2500));
    assert_all_stored(&fake, &store);
}

#[test]
fn a_bulk_milliseconds_writes_are_split_to_fit_the_query_budget() {
    // 4,000 users in one millisecond: eight write chunks, more than one invocation's queries.
    let fake = FakeAuth0::with_users(FakeAuth0::generate(6000, 4000));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, invocations) = run_within_budget(&fake, &store, &clock, &budgeted(45, 13));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(invocations > 2, "{invocations}");
    assert_eq!(
        (
            r.users_seen,
            r.users_added,
            r.users_updated,
            r.users_removed
        ),
        (6000, 6000, 0, 0)
    );
    assert_eq!(fake.count("users-exports"), 1);
    assert_all_stored(&fake, &store);
    // Unchanged, the same tenant writes nothing the second time.
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 13));
    assert_eq!(
        (r.status, r.rows_written, r.users_seen),
        (RunStatus::Succeeded, 0, 6000)
    );
}

#[test]
fn an_organization_with_thousands_of_members_is_read_across_invocations() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(6000, 0));
    let all: Vec<String> = (0..5500).map(|i| format!("auth0|{i:08}")).collect();
    *fake.orgs.borrow_mut() = vec![
        ("org_a_small".into(), all[..3].to_vec()),
        ("org_b_big".into(), all.clone()),
        ("org_c_small".into(), all[10..20].to_vec()),
    ];
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, invocations) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(invocations >= 3, "{invocations}");
    // 55 full pages and the empty one after: each read once, none again after a pause.
    assert_eq!(fake.count("org_b_big/members"), 56);
    assert_eq!((r.memberships_seen, r.memberships_added), (5513, 5513));
    let members = store.memberships.borrow();
    for (org, want) in fake.orgs.borrow().iter() {
        let got = members
            .iter()
            .filter(|((o, _), removed)| o == org && removed.is_none())
            .count();
        assert_eq!(got, want.len(), "{org}");
    }
    drop(members);
    // A member leaves the big organization: the next run, again across invocations, finds it.
    fake.orgs.borrow_mut()[1]
        .1
        .retain(|u| u != "auth0|00004321");
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(
        (r.status, r.memberships_removed, r.memberships_added),
        (RunStatus::Succeeded, 1, 0)
    );
    let key = ("org_b_big".to_string(), "auth0|00004321".to_string());
    assert!(store.memberships.borrow()[&key].is_some());
}

#[test]
fn the_lease_is_renewed_before_each_export_poll_and_each_page_of_members() {
    // A slow export job (25 polls) and an organization of 30 pages, at 40 s a request: each
    // longer than a lease, neither with a block boundary inside.
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1500, 1200));
    fake.export_polls.set(25);
    *fake.orgs.borrow_mut() = vec![(
        "org_big".into(),
        (0..3000).map(|i| format!("auth0|{i:08}")).collect(),
    )];
    let store = Rc::new(MemoryStore::default());
    let clock = Rc::new(FakeClock::at(T0));
    let rival_won = slow_tenant_with_a_rival(&fake, &store, &clock, 40_000);
    let cfg = sync_config("test-secret");
    let mut r = ran(invoke(&fake, &store, &clock, &cfg));
    for _ in 0..10 {
        if r.status != RunStatus::Running {
            break;
        }
        // A slow job pauses the run; the continuation tick polls it on.
        r = ran(block_on(run_sync(
            &fake,
            &*clock,
            &*store,
            Ok(&cfg),
            Trigger::Continue,
        ))
        .unwrap());
    }
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!((r.users_seen, r.memberships_seen), (1500, 3000));
    assert_eq!(fake.count("users-exports"), 1);
    assert_eq!(
        rival_won.get(),
        0,
        "the lock was free while the run still wrote"
    );
}

#[test]
fn an_invocation_that_dies_polling_an_export_leaves_the_job_to_the_next() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2500, 1200));
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    // The Worker is stopped at the job's first poll.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        assert!(
            !req.url.contains("/api/v2/jobs/job_"),
            "the Worker is stopped here"
        );
        None
    }));
    let cfg = sync_config("test-secret");
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Cron))
    }));
    assert!(died.is_err());
    *fake.fault.borrow_mut() = None;
    store.lock.replace(None);
    let r = ran(invoke(&fake, &store, &clock, &cfg));
    assert_eq!(
        (r.id, r.status, r.invocations),
        (1, RunStatus::Succeeded, 2),
        "{:?}",
        r.error
    );
    assert_eq!(
        fake.count("users-exports"),
        1,
        "the saved job was polled, not a new one started"
    );
    assert_all_stored(&fake, &store);
}

/// The active members of `org` in the store.
fn active_members(store: &MemoryStore, org: &str) -> Vec<String> {
    store
        .memberships
        .borrow()
        .iter()
        .filter(|((o, _), removed)| o == org && removed.is_none())
        .map(|((_, u), _)| u.clone())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn an_organization_of_60000_members_converges_with_bounded_cursors_and_exact_removals() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(300, 0));
    let huge: Vec<String> = (0..60_000).map(|i| format!("auth0|{i:024x}")).collect();
    *fake.orgs.borrow_mut() = vec![
        ("org_a_small".into(), huge[..5].to_vec()),
        ("org_b_huge".into(), huge.clone()),
    ];
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, invocations) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert!(invocations > 10, "{invocations}");
    assert_eq!((r.memberships_seen, r.memberships_added), (60_005, 60_005));
    assert_eq!(active_members(&store, "org_b_huge"), sorted(huge.clone()));
    // The ids read so far (2.2 MB as one JSON list) never rode in the cursor.
    let longest = store.longest_cursor.get();
    assert!(longest > 0 && longest <= 64 * 1024, "{longest}");
    assert!(store.longest_held_value.get() <= writes::MAX_JSON_BYTES);
    assert!(store.seen.borrow().is_empty(), "held members are forgotten");

    // Unchanged: no membership is touched.
    let before = store.memberships.borrow().clone();
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(
        (r.status, r.memberships_added, r.memberships_removed),
        (RunStatus::Succeeded, 0, 0)
    );
    assert_eq!(*store.memberships.borrow(), before);

    // Three leave the huge organization and two join it: exactly those change.
    let mut now_members = huge[3..].to_vec();
    now_members.retain(|u| u != &huge[30_000]);
    now_members.extend(["auth0|new1".to_string(), "auth0|new2".to_string()]);
    fake.orgs.borrow_mut()[1].1 = now_members.clone();
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(
        (r.status, r.memberships_added, r.memberships_removed),
        (RunStatus::Succeeded, 2, 4)
    );
    assert_eq!(
        active_members(&store, "org_b_huge"),
        sorted(now_members.clone())
    );
    assert_eq!(
        active_members(&store, "org_a_small"),
        sorted(huge[..5].to_vec())
    );
    assert!(store.longest_cursor.get() <= 64 * 1024);
}

#[test]
fn an_interrupted_member_listing_removes_no_one_and_leaves_nothing_behind() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(100, 0));
    let members: Vec<String> = (0..12_000).map(|i| format!("auth0|{i:08}")).collect();
    *fake.orgs.borrow_mut() = vec![("org_big".into(), members.clone())];
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    // Half the organization leaves; the next run's member listing breaks off past the middle,
    // after some invocations held what they read.
    let kept = members[..6000].to_vec();
    fake.orgs.borrow_mut()[0].1 = kept.clone();
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        (req.url.contains("/members") && req.url.contains("from=5000")).then(|| {
            Ok(crate::http::HttpResponse {
                status: 403,
                headers: vec![],
                body: "{\"statusCode\":403,\"message\":\"nope\"}".into(),
            })
        })
    }));
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_ne!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(r.memberships_removed, 0);
    assert_eq!(active_members(&store, "org_big"), sorted(members.clone()));
    assert!(
        !store.seen.borrow().is_empty(),
        "the broken run held members"
    );
    // The next run forgets the broken run's held members and removes exactly who left.
    *fake.fault.borrow_mut() = None;
    let (r, _) = run_within_budget(&fake, &store, &clock, &budgeted(45, 45));
    assert_eq!(
        (r.status, r.memberships_removed, r.memberships_added),
        (RunStatus::Succeeded, 6000, 0)
    );
    assert_eq!(active_members(&store, "org_big"), sorted(kept));
    assert!(store.seen.borrow().is_empty());
}

#[test]
fn a_cursor_saved_with_member_ids_reads_that_organization_again_and_removes_no_one() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(50, 0));
    let members: Vec<String> = (0..300).map(|i| format!("auth0|{i:08}")).collect();
    *fake.orgs.borrow_mut() = vec![("org_x".into(), members.clone())];
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    assert_eq!(
        ran(invoke(&fake, &store, &clock, &cfg)).status,
        RunStatus::Succeeded
    );
    // A run paused by an earlier version inside org_x, its first 200 members in the cursor.
    let id = block_on(store.start_run(
        "2025-01-01T00:00:00.000Z",
        "cron",
        crate::store::RunKind::Full,
        None,
    ))
    .unwrap();
    let ids = serde_json::to_string(&members[..200]).unwrap();
    let mut paused = store.runs.borrow()[id as usize - 1].clone();
    paused.cursor = Some(format!(
        r#"{{"cursor":{{"phase":"organizations","next":0,"members":{{"org":"org_x","from":"200","ids":{ids}}}}},"deaths":0}}"#
    ));
    block_on(store.save_run(&paused)).unwrap();
    let pages_before = fake.count("org_x/members");
    clock.advance(60_000);
    let r = ran(block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Continue)).unwrap());
    assert_eq!(r.id, id);
    assert_eq!(
        (r.status, r.memberships_removed, r.memberships_seen),
        (RunStatus::Succeeded, 0, 300)
    );
    // Three full pages and the empty one: read from the start, not from "200".
    assert_eq!(fake.count("org_x/members") - pages_before, 4);
    assert_eq!(active_members(&store, "org_x"), members);
}
