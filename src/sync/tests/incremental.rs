//! Incremental runs between full listings, against the in-memory tenant and store: what each
//! kind lists, that only a full listing removes from absence, that a deletion between full
//! listings comes only from an event, and that a full reconcile catches what a push missed.

use super::super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};
use crate::time::iso_from_ms;
use crate::usage::Deletion;
use serde_json::json;

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z
const MIN: u64 = 60_000;
const HOUR: u64 = 60 * MIN;

fn daily() -> SyncConfig {
    let mut cfg = sync_config("test-secret");
    cfg.schedule = schedule::Schedule {
        full_interval_hours: 24,
        overlap_seconds: 300,
        auto_max_requests: 200,
    };
    cfg
}

fn sync(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock, trigger: Trigger) -> RunRecord {
    match block_on(run_sync(fake, clock, store, Ok(&daily()), trigger)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

/// The next `*/15` tick.
fn tick(fake: &FakeAuth0, store: &MemoryStore, clock: &FakeClock) -> RunRecord {
    clock.advance(15 * MIN);
    sync(fake, store, clock, Trigger::Cron)
}

fn user(i: usize) -> serde_json::Value {
    let created = iso_from_ms(T0 - 400 * 24 * HOUR + i as u64 * 1000);
    json!({
        "user_id": format!("auth0|{i}"),
        "email": format!("u{i}@example.com"),
        "name": format!("User {i}"),
        "created_at": created,
        "updated_at": created,
        "identities": [{"connection": "db"}],
    })
}

/// A tenant of `n` users; `read:logs` is granted so the log is followed, and the log holds an
/// event from before the first sync, so the first sync's read leaves a checkpoint: the log is
/// then a deletion signal, and the ticks between full listings are incremental.
fn tenant(n: usize) -> FakeAuth0 {
    let fake = FakeAuth0::with_users((0..n).map(user).collect());
    fake.scopes.borrow_mut().push("read:logs".into());
    fake.log_event(0, "sapi", T0 - HOUR, "mgmt-client", None);
    fake
}

/// Changes a user in the fake tenant now, as Auth0 does: `updated_at` moves.
fn update(fake: &FakeAuth0, clock: &FakeClock, i: usize, field: &str, value: serde_json::Value) {
    let mut users = fake.users.borrow_mut();
    let u = users
        .iter_mut()
        .find(|u| u["user_id"] == format!("auth0|{i}"))
        .unwrap();
    u[field] = value;
    u["updated_at"] = json!(iso_from_ms(clock.now_ms()));
}

fn delete(fake: &FakeAuth0, i: usize) {
    fake.users
        .borrow_mut()
        .retain(|u| u["user_id"] != format!("auth0|{i}"));
}

fn current(store: &MemoryStore, i: usize) -> bool {
    store.users.borrow()[&format!("auth0|{i}")]
        .removed_at
        .is_none()
}

fn name(store: &MemoryStore, i: usize) -> Option<String> {
    store.users.borrow()[&format!("auth0|{i}")].row.name.clone()
}

/// User listing requests so far (pages and counts).
fn user_requests(fake: &FakeAuth0) -> usize {
    fake.count("/api/v2/users?")
}

#[test]
fn between_full_listings_a_tick_lists_only_updated_users_and_removes_no_one() {
    let (fake, store, clock) = (tenant(2500), MemoryStore::default(), FakeClock::at(T0));
    let first = sync(&fake, &store, &clock, Trigger::Cron);
    assert_eq!((first.kind, first.users_seen), (RunKind::Full, 2500));
    assert!(first.listing_proven);

    update(&fake, &clock, 7, "name", json!("Renamed"));
    delete(&fake, 9); // gone with no event: only a full listing may notice
    let (before, orgs_before) = (user_requests(&fake), fake.count("/api/v2/organizations"));
    let run = tick(&fake, &store, &clock);
    assert_eq!(run.kind, RunKind::Incremental);
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        run.updated_since.as_deref(),
        Some(iso_from_ms(T0 - 5 * MIN).as_str()),
        "from the full listing's start, minus the overlap"
    );
    assert_eq!(
        (run.users_seen, run.users_updated, run.users_removed),
        (1, 1, 0)
    );
    // One page that counts itself: no block of 1000, no organizations.
    assert_eq!(user_requests(&fake) - before, 1);
    assert_eq!(fake.count("/api/v2/organizations"), orgs_before);
    assert_eq!(name(&store, 7).as_deref(), Some("Renamed"));
    assert!(
        current(&store, 9),
        "absence in an incremental listing proves nothing"
    );

    // The next tick starts from this one's start: the rename is not read again.
    let again = tick(&fake, &store, &clock);
    assert_eq!(again.kind, RunKind::Incremental);
    assert_eq!(
        again.updated_since,
        Some(iso_from_ms(T0 + 15 * MIN - 5 * MIN))
    );
    assert_eq!((again.users_seen, again.users_updated), (0, 0));

    // A day after the full listing, the next tick is full, and it removes the user at last.
    clock.advance(24 * HOUR);
    let full = sync(&fake, &store, &clock, Trigger::Cron);
    assert_eq!(full.kind, RunKind::Full);
    assert_eq!(full.users_removed, 1);
    assert!(!current(&store, 9));
    assert_eq!(
        store
            .users
            .borrow()
            .values()
            .filter(|u| u.removed_at.is_none())
            .count(),
        2499
    );
}

#[test]
fn a_manual_sync_and_a_zero_interval_list_everything() {
    let (fake, store, clock) = (tenant(30), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    clock.advance(MIN);
    assert_eq!(
        sync(&fake, &store, &clock, Trigger::Manual).kind,
        RunKind::Full
    );
    clock.advance(15 * MIN);
    let mut every = daily();
    every.schedule.full_interval_hours = 0;
    let run = match block_on(run_sync(&fake, &clock, &store, Ok(&every), Trigger::Cron)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    };
    assert_eq!((run.kind, run.users_seen), (RunKind::Full, 30));
}

#[test]
fn an_incremental_run_meets_a_deletion_only_through_the_log() {
    let (fake, store, clock) = (tenant(40), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    // The log read to its end once, so later events are changes.
    clock.advance(10 * MIN);
    delete(&fake, 3);
    fake.log_event(1, "sdu", clock.now_ms(), "mgmt-client", Some("auth0|3"));
    fake.log_event(2, "fdu", clock.now_ms(), "mgmt-client", Some("auth0|4")); // a failure
    let run = tick(&fake, &store, &clock);
    assert_eq!(run.kind, RunKind::Incremental);
    assert_eq!(run.users_removed, 1, "{:?}", run.error);
    assert!(!current(&store, 3));
    assert!(current(&store, 4), "a failed deletion removes no one");
    // Read again (a retried page, a push of the same event): nothing more.
    let next = tick(&fake, &store, &clock);
    assert_eq!(next.users_removed, 0);
    // The next full listing confirms it: no return, no second removal.
    clock.advance(24 * HOUR);
    let full = sync(&fake, &store, &clock, Trigger::Cron);
    assert_eq!(full.kind, RunKind::Full);
    assert_eq!((full.users_removed, full.users_updated), (0, 0));
    assert!(!current(&store, 3));
}

#[test]
fn a_listing_that_lags_a_deletion_does_not_bring_the_user_back() {
    let (fake, store, clock) = (tenant(20), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    // Updated, then deleted a second later; the search index still lists the update.
    clock.advance(5 * MIN);
    update(&fake, &clock, 5, "name", json!("Last name"));
    let deleted_at = iso_from_ms(clock.now_ms() + 1000);
    store.apply_deletions(
        &[Deletion {
            id: "evt_1".into(),
            user_id: "auth0|5".into(),
            at: deleted_at,
        }],
        &iso_from_ms(clock.now_ms() + 2000),
    );
    assert!(!current(&store, 5), "removed at once by the event");
    let run = tick(&fake, &store, &clock);
    assert_eq!(run.kind, RunKind::Incremental);
    assert_eq!(run.users_seen, 1);
    assert!(
        !current(&store, 5),
        "the older listing does not undo the deletion"
    );
    assert_eq!(run.users_updated, 0);
    // Re-created under the same id (a social login after deletion): current again.
    clock.advance(MIN);
    update(&fake, &clock, 5, "name", json!("Back"));
    tick(&fake, &store, &clock);
    assert!(current(&store, 5));
    assert_eq!(name(&store, 5).as_deref(), Some("Back"));
}

#[test]
fn a_full_reconcile_corrects_what_a_missed_push_left_behind() {
    let (fake, store, clock) = (tenant(50), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    // Changes whose pushes were lost, and whose updated_at does not move (an import, a rule
    // writing the profile without a touch): the incremental ticks cannot see them.
    clock.advance(MIN);
    delete(&fake, 1);
    {
        let mut users = fake.users.borrow_mut();
        users
            .iter_mut()
            .find(|u| u["user_id"] == "auth0|2")
            .unwrap()["blocked"] = json!(true);
    }
    for _ in 0..4 {
        let run = tick(&fake, &store, &clock);
        assert_eq!((run.kind, run.users_seen), (RunKind::Incremental, 0));
    }
    assert!(current(&store, 1));
    assert!(!store.users.borrow()["auth0|2"].row.blocked);
    clock.advance(24 * HOUR);
    let full = sync(&fake, &store, &clock, Trigger::Cron);
    assert_eq!(full.kind, RunKind::Full);
    assert_eq!((full.users_removed, full.users_updated), (1, 1));
    assert!(!current(&store, 1));
    assert!(store.users.borrow()["auth0|2"].row.blocked);
}

#[test]
fn an_unproven_incremental_listing_is_not_a_high_water_mark() {
    let (fake, store, clock) = (tenant(30), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    clock.advance(MIN);
    update(&fake, &clock, 3, "name", json!("Three"));
    fake.omit_total.set(true); // no count: the listing cannot be proven
    let unproven = tick(&fake, &store, &clock);
    assert_eq!(unproven.kind, RunKind::Incremental);
    assert_eq!(unproven.status, RunStatus::Partial);
    assert!(!unproven.listing_proven);
    assert_eq!(
        name(&store, 3).as_deref(),
        Some("Three"),
        "what was read is saved"
    );
    fake.omit_total.set(false);
    let next = tick(&fake, &store, &clock);
    assert_eq!(
        next.updated_since.as_deref(),
        Some(iso_from_ms(T0 - 5 * MIN).as_str()),
        "still from the last proven listing"
    );
    assert!(next.listing_proven);
}

#[test]
fn a_paused_incremental_run_continues_incrementally() {
    let (fake, store, clock) = (tenant(3000), MemoryStore::default(), FakeClock::at(T0));
    sync(&fake, &store, &clock, Trigger::Cron);
    clock.advance(MIN);
    for i in 0..1500 {
        update(&fake, &clock, i, "name", json!(format!("N{i}")));
    }
    let mut cfg = daily();
    cfg.budget = Budget {
        max_requests: Some(20),
        max_queries: Some(1000),
    };
    cfg.policy.max_requests = Some(20);
    clock.advance(15 * MIN);
    let mut run = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Cron)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (run.kind, run.status),
        (RunKind::Incremental, RunStatus::Running)
    );
    while run.status == RunStatus::Running {
        clock.advance(MIN);
        run = match block_on(run_sync(&fake, &clock, &store, Ok(&cfg), Trigger::Continue)) {
            Ok(SyncResult::Ran { run, .. }) => *run,
            other => panic!("{other:?}"),
        };
        assert_eq!(run.kind, RunKind::Incremental);
    }
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!((run.users_seen, run.users_updated), (1500, 1500));
    assert!(run.invocations > 1);
    assert_eq!(name(&store, 1499).as_deref(), Some("N1499"));
}

/// A cron run with `cfg`.
fn sync_with(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
) -> RunRecord {
    match block_on(run_sync(fake, clock, store, Ok(cfg), Trigger::Cron)) {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

#[test]
fn with_the_seeds_scopes_the_tick_after_deletions_lists_everything_and_removes_them() {
    // read:users, read:organizations, read:organization_members: no deletion signal.
    let fake = FakeAuth0::with_users((0..300).map(user).collect());
    let (store, clock) = (MemoryStore::default(), FakeClock::at(T0));
    let first = sync(&fake, &store, &clock, Trigger::Cron);
    assert_eq!((first.kind, first.users_seen), (RunKind::Full, 300));
    for i in 0..50 {
        delete(&fake, i);
    }
    update(&fake, &clock, 60, "name", json!("Renamed"));
    let run = tick(&fake, &store, &clock);
    assert_eq!(
        run.kind,
        RunKind::Full,
        "no signal: the tick is a full listing"
    );
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    assert_eq!(
        (
            run.users_seen,
            run.users_added,
            run.users_updated,
            run.users_removed
        ),
        (250, 0, 1, 50)
    );
    assert!((0..50).all(|i| !current(&store, i)));
    assert!(current(&store, 50));
}

#[test]
fn with_the_seeds_scopes_a_costly_full_listing_runs_hourly() {
    let fake = FakeAuth0::with_users((0..300).map(user).collect());
    let (store, clock) = (MemoryStore::default(), FakeClock::at(T0));
    // Any full listing costs more than one request: over the budget.
    let mut costly = daily();
    costly.schedule.auto_max_requests = 1;
    let first = sync_with(&fake, &store, &clock, &costly);
    assert!(first.api_requests > 1);
    delete(&fake, 7);
    let mut kinds = Vec::new();
    for _ in 0..4 {
        clock.advance(15 * MIN);
        let run = sync_with(&fake, &store, &clock, &costly);
        kinds.push((run.kind, run.users_removed));
    }
    assert_eq!(
        kinds,
        [
            (RunKind::Incremental, 0),
            (RunKind::Incremental, 0),
            (RunKind::Incremental, 0),
            (RunKind::Full, 1),
        ],
        "a full listing an hour after the last one"
    );
    assert!(!current(&store, 7));
}
