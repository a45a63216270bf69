//! Runs that D1's daily limit refuses: `paused` until the next 00:00 UTC, then continued where
//! they stopped, with nothing lost.

use super::super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};

/// 2025-06-15T15:06:40Z.
const T0: u64 = 1_750_000_000_000;

/// D1's refusal as the binding reports it (text from Cloudflare's changelog, see
/// `store::daily_limit`).
const WRITE_LIMIT: &str = "D1_ERROR: Your account has exceeded D1's free tier daily row write \
     limit. Upgrade to a paid plan or wait until tomorrow (midnight UTC) to continue.";

fn sync(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    trigger: Trigger,
) -> Result<SyncResult, StoreError> {
    block_on(run_sync(
        fake,
        clock,
        store,
        Ok(&sync_config("test-secret")),
        trigger,
    ))
}

fn ran(result: Result<SyncResult, StoreError>) -> RunRecord {
    match result {
        Ok(SyncResult::Ran { run, .. }) => *run,
        other => panic!("{other:?}"),
    }
}

/// A tenant of 3,000 users (three blocks) synced once; then five users of the first block are
/// deleted and one user of each block renamed.
fn synced_then_changed(store: &MemoryStore, clock: &FakeClock) -> FakeAuth0 {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3000, 0));
    let first = ran(sync(&fake, store, clock, Trigger::Cron));
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.error);
    let mut users = fake.users.borrow_mut();
    users.drain(10..15);
    for i in [100, 1100, 2100] {
        users[i]["name"] = format!("Renamed {i}").into();
    }
    drop(users);
    fake
}

#[test]
fn the_daily_write_limit_pauses_the_run_until_midnight_utc_and_it_resumes_losing_nothing() {
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let fake = synced_then_changed(&store, &clock);
    // The second block's write is refused.
    *store.fail_upsert_detail.borrow_mut() = Some(WRITE_LIMIT.into());
    store.fail_upsert_in.set(2);
    let paused = ran(sync(&fake, &store, &clock, Trigger::Manual));
    assert_eq!(paused.status, RunStatus::Paused, "{:?}", paused.error);
    let message = paused.error.clone().unwrap_or_default();
    for part in [
        "daily limit of 100,000 rows written",
        "2025-06-16T00:00:00.000Z",
        "continues where it stopped",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(
        !message.contains("D1_ERROR"),
        "D1's own text stays in the logs"
    );
    assert!(paused.cursor.is_some());
    assert_eq!(
        paused.finished_at.as_deref(),
        Some(iso_from_ms(T0).as_str())
    );
    // The counts are those of the first block, the one written; its deletions are held.
    assert!(
        (900..1000).contains(&paused.users_seen),
        "{}",
        paused.users_seen
    );
    assert_eq!((paused.users_updated, paused.users_removed), (1, 0));
    assert_eq!(store.pending.borrow().len(), 5);
    let stored = store.runs.borrow().clone();
    assert_eq!(stored.last(), Some(&paused), "the pause is in the history");

    // Before the reset nothing runs, whatever the trigger, and nothing is written.
    let rows = store.rows_written.get();
    for (after_ms, trigger) in [
        (60_000, Trigger::Continue),
        (600_000, Trigger::Cron),
        (3_600_000, Trigger::Manual),
        (4 * 3_600_000, Trigger::Continue),
    ] {
        clock.advance(after_ms);
        match sync(&fake, &store, &clock, trigger) {
            Ok(SyncResult::Idle) => assert_eq!(trigger, Trigger::Continue),
            Ok(SyncResult::Ran { run, .. }) => {
                assert_ne!(trigger, Trigger::Continue, "a continuation tick only reads");
                assert_eq!(*run, paused, "{trigger:?} shows the paused run as it is");
            }
            other => panic!("{trigger:?}: {other:?}"),
        }
        assert_eq!(
            *store.runs.borrow(),
            stored,
            "{trigger:?} wrote to the history"
        );
        assert_eq!(store.rows_written.get(), rows);
        assert_eq!(store.pending.borrow().len(), 5);
    }
    assert!(
        fake.count("/api/v2/users") > 0 && store.lock.borrow().is_none(),
        "the lock is free"
    );

    // The first continuation tick after 00:00 UTC goes on from the refused block.
    let midnight = crate::time::ms_from_iso("2025-06-16T00:00:00.000Z").unwrap_or_default();
    clock.advance(midnight - clock.now_ms());
    let requests = fake.count("/api/v2/users");
    let done = ran(sync(&fake, &store, &clock, Trigger::Continue));
    assert_eq!(done.id, paused.id);
    assert_eq!(done.status, RunStatus::Succeeded, "{:?}", done.error);
    assert_eq!(done.invocations, 2);
    assert_eq!(
        (done.users_seen, done.users_updated, done.users_removed),
        (2995, 3, 5)
    );
    // Only the blocks from the refused one on were read again (20 pages, counts and a token).
    assert!(
        fake.count("/api/v2/users") - requests <= 2 * BLOCK_REQUESTS as usize,
        "{}",
        fake.count("/api/v2/users") - requests
    );
    assert!(store.pending.borrow().is_empty());
    let users = store.users.borrow();
    let active = users.values().filter(|u| u.removed_at.is_none()).count();
    assert_eq!(active, 2995);
    for u in fake.users.borrow().iter() {
        let id = u["user_id"].as_str().unwrap_or_default();
        assert_eq!(
            users.get(id).map(|s| s.row.name.clone()),
            Some(u["name"].as_str().map(String::from)),
            "{id}"
        );
    }
}

#[test]
fn another_database_failure_still_fails_the_run() {
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let fake = synced_then_changed(&store, &clock);
    *store.fail_upsert_detail.borrow_mut() =
        Some("D1 DB is overloaded. Too many requests queued.".into());
    store.fail_upsert_in.set(2);
    let failed = ran(sync(&fake, &store, &clock, Trigger::Manual));
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(
        store.pending.borrow().is_empty(),
        "held removals die with it"
    );
    clock.advance(60_000);
    assert!(matches!(
        sync(&fake, &store, &clock, Trigger::Continue),
        Ok(SyncResult::Idle)
    ));
}
