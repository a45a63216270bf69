//! The log phase in whole runs against the fake tenant and the SQLite-backed usage store: usage
//! equals the tenant's log to the millisecond, across budgets, invocations, dead invocations and
//! runs; a checkpoint lost to retention is a recorded gap; nothing new costs one request; a
//! missing `read:logs` never fails the users.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::store::{RunRecord, RunStatus};
use crate::sync::{SyncConfig, SyncResult, Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::usage_sqlite::UsageRow;
use crate::testing::{Rng, block_on, sync_config};

const T0: u64 = 1_750_000_000_000;

fn tenant() -> FakeAuth0 {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(30, 0));
    // The application scopes too (the fake has no applications): a run's history then holds
    // only what the log part says.
    fake.scopes
        .borrow_mut()
        .extend(["read:logs", "read:clients", "read:connections"].map(String::from));
    fake
}

/// Appends `n` scripted events after those the fake holds: logins, silent auth, refreshes,
/// failures and machine-to-machine tokens, dates not quite in log-id order.
fn script(fake: &FakeAuth0, n: u64, seed: u64) {
    let mut rng = Rng::new(seed);
    let start = fake.logs.borrow().len() as u64;
    let kinds = [
        "s", "s", "s", "ssa", "sertft", "seacft", "f", "fp", "seccft", "sapi",
    ];
    let clients = ["demo_spa", "demo_web", "demo_admin"];
    for i in start + 1..=start + n {
        let kind = *rng.pick(&kinds);
        let user = format!("auth0|{:08}", rng.below(30));
        let user = (kind != "seccft" && !rng.one_in(25)).then_some(user.as_str());
        let client = if kind == "seccft" {
            "demo_m2m"
        } else {
            *rng.pick(&clients)
        };
        // A minute apart, give or take: Auth0 orders by log_id, not by date.
        let ms = T0 - 40 * 86_400_000 + i * 60_000 + rng.below(90_000) as u64;
        fake.log_event(i, kind, ms, client, user);
    }
}

/// The usage the fake's retained events mean, computed the plain way.
fn truth(events: &[Value]) -> Vec<UsageRow> {
    let mut m: BTreeMap<(String, String), UsageRow> = BTreeMap::new();
    let seen = [
        "s", "ssa", "sertft", "seacft", "sepft", "seotpft", "seoobft", "sercft", "sens",
    ];
    for e in events {
        let (Some(u), Some(c), Some(k), Some(d)) = (
            e["user_id"].as_str(),
            e["client_id"].as_str(),
            e["type"].as_str(),
            e["date"].as_str(),
        ) else {
            continue;
        };
        if !seen.contains(&k) {
            continue;
        }
        let row = m
            .entry((u.into(), c.into()))
            .or_insert_with(|| (u.into(), c.into(), None, 0, None, None));
        if k == "s" {
            row.3 += 1;
            row.2 = row.2.take().max(Some(d.to_string()));
        }
        row.4 = row.4.take().max(Some(d.to_string()));
        row.5 = Some(row.5.take().map_or(d.to_string(), |f| f.min(d.to_string())));
    }
    m.into_values().collect()
}

fn invoke(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
    t: Trigger,
) -> Option<RunRecord> {
    match block_on(run_sync(fake, clock, store, Ok(cfg), t)).unwrap() {
        SyncResult::Ran { run, .. } => Some(*run),
        SyncResult::Idle => None,
        SyncResult::AlreadyRunning => panic!("stood down"),
    }
}

/// One run to its end: a cron tick, then continuation ticks a minute apart.
fn run_to_end(
    fake: &FakeAuth0,
    store: &MemoryStore,
    clock: &FakeClock,
    cfg: &SyncConfig,
) -> (RunRecord, u32) {
    // Every invocation keeps within its budgets, the log's pages and batches included.
    let within = |r: &RunRecord, before: (u64, u64)| {
        let (requests, queries) = (r.api_requests - before.0, r.d1_queries - before.1);
        if let Some(max) = cfg.budget.max_requests {
            assert!(requests <= u64::from(max), "{requests} requests");
        }
        if let Some(max) = cfg.budget.max_queries {
            assert!(queries <= u64::from(max), "{queries} queries");
        }
        (r.api_requests, r.d1_queries)
    };
    let mut r = invoke(fake, store, clock, cfg, Trigger::Cron).unwrap();
    let mut before = within(&r, (0, 0));
    let mut invocations = 1;
    while r.status == RunStatus::Running {
        clock.advance(60_000);
        r = invoke(fake, store, clock, cfg, Trigger::Continue).unwrap();
        before = within(&r, before);
        invocations += 1;
        assert!(invocations < 500, "the run never finished");
    }
    (r, invocations)
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

#[test]
fn usage_equals_the_log_and_nothing_new_costs_one_request() {
    let fake = tenant();
    script(&fake, 730, 1);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(r.error, None);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));
    let cursor = block_on(crate::store::usage::UsageStore::log_cursor(&store.usage))
        .unwrap()
        .unwrap();
    assert_eq!(cursor.checkpoint.as_deref(), Some("00000000000000000730"));
    let oldest = fake
        .logs
        .borrow()
        .iter()
        .filter_map(|e| e["date"].as_str().map(str::to_string))
        .min();
    assert_eq!(cursor.tracking_since, oldest);
    // Oldest event, then 8 pages (730 - 1 events), then the empty page.
    assert_eq!(fake.count("/api/v2/logs"), 1 + 8 + 1);

    // Nothing new: one request to the log, one read of the checkpoint, no usage written.
    let (logs, writes) = (fake.count("/api/v2/logs"), store.usage.writes.get());
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(fake.count("/api/v2/logs") - logs, 1);
    assert_eq!(store.usage.writes.get(), writes);

    // New events are added to what was counted, once.
    script(&fake, 120, 2);
    clock.advance(15 * 60_000);
    run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));
}

#[test]
fn a_backlog_spread_over_budgeted_invocations_and_dead_ones_counts_each_event_once() {
    let fake = tenant();
    script(&fake, 4_321, 3);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    // Free-plan budgets: the log takes several invocations of the one run.
    let cfg = budgeted(20, 20);
    let (r, invocations) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    // 44 pages at 20 requests an invocation (one write per invocation, at its pause).
    assert!(invocations >= 3, "{invocations}");
    assert!(r.api_requests <= u64::from(invocations) * 20);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));

    // An invocation that dies between reading a page and writing it (the write fails), then
    // runs that start over: the stored checkpoint is where they continue, nothing twice.
    // (3,000 events: the run pauses and writes once, and its second invocation's write fails.)
    script(&fake, 3_000, 4);
    store.usage.fail_write_in.set(2);
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Partial, "{:?}", r.error);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("application usage not updated")
    );
    assert!(
        store.usage.usage() != truth(&fake.logs.borrow()),
        "stopped midway"
    );
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));
}

#[test]
fn a_run_reads_at_most_its_page_cap_and_the_next_run_goes_on() {
    let fake = tenant();
    let pages = u64::from(crate::sync::logs::RUN_PAGE_CAP);
    script(&fake, pages * 100 + 250, 5);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let note = r.error.unwrap();
    assert!(note.contains("read by the next runs"), "{note}");
    assert!(store.usage.usage() != truth(&fake.logs.borrow()));
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.error, None);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));
}

#[test]
fn a_checkpoint_lost_to_retention_restarts_from_the_oldest_event_and_records_the_gap() {
    let fake = tenant();
    script(&fake, 300, 6);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    run_to_end(&fake, &store, &clock, &cfg);
    let newest_read = fake
        .logs
        .borrow()
        .iter()
        .filter_map(|e| e["date"].as_str())
        .max()
        .unwrap()
        .to_string();
    // 300 more happen, and retention drops everything up to the 450th before the next run.
    script(&fake, 300, 7);
    fake.logs_kept_from.set(450);
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let oldest_kept = fake.logs.borrow()[450]["date"]
        .as_str()
        .unwrap()
        .to_string();
    let note = r.error.unwrap();
    assert!(
        note.contains(&format!(
            "usage unknown from {newest_read} to {oldest_kept}"
        )),
        "{note}"
    );
    assert_eq!(
        store.usage.gaps(),
        vec![(Some(r.id), Some(newest_read), oldest_kept)]
    );
    let logs = fake.logs.borrow();
    let read: Vec<Value> = logs[..300].iter().chain(&logs[450..]).cloned().collect();
    assert_eq!(store.usage.usage(), truth(&read));
    let cursor = block_on(crate::store::usage::UsageStore::log_cursor(&store.usage))
        .unwrap()
        .unwrap();
    let oldest = logs[..300].iter().filter_map(|e| e["date"].as_str()).min();
    assert_eq!(
        cursor.tracking_since.as_deref(),
        oldest,
        "tracking began before the gap"
    );
}

#[test]
fn a_refusal_while_older_events_are_still_kept_is_not_taken_for_retention() {
    let fake = tenant();
    script(&fake, 50, 8);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    run_to_end(&fake, &store, &clock, &cfg);
    let before = store.usage.usage();
    script(&fake, 10, 9);
    // Every checkpoint refused, yet the oldest event is still the first one read.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("from=").then(|| {
            Ok(crate::http::HttpResponse {
                status: 400,
                headers: Vec::new(),
                body: r#"{"statusCode":400,"message":"Something else"}"#.into(),
            })
        })
    }));
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Partial, "{:?}", r.error);
    assert!(r.error.unwrap().contains("not restarted"));
    assert_eq!(store.usage.usage(), before, "nothing read twice");
    assert!(store.usage.gaps().is_empty());
    assert_eq!(r.users_seen, 30, "the users were synced");
}

#[test]
fn without_read_logs_the_users_sync_and_the_history_names_the_scope() {
    let fake = tenant();
    script(&fake, 20, 10);
    fake.scopes.borrow_mut().retain(|s| s != "read:logs");
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.users_seen, 30);
    assert!(
        r.error
            .unwrap()
            .starts_with("application usage not enabled: grant read:logs")
    );
    assert_eq!(
        fake.count("/api/v2/logs"),
        0,
        "the token says so: not even asked"
    );
    // A token that claims the scope, but a 403 from the log: the same.
    fake.scopes.borrow_mut().push("read:logs".into());
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/logs").then(|| {
            Ok(crate::http::HttpResponse {
                status: 403,
                headers: Vec::new(),
                body: r#"{"statusCode":403,"message":"Insufficient scope, expected any of: read:logs","errorCode":"insufficient_scope"}"#.into(),
            })
        })
    }));
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded);
    assert!(r.error.unwrap().contains("not enabled: grant read:logs"));
    assert!(store.usage.usage().is_empty());
}

/// Log pages asked for at take=100 (other listings page at 100 too).
fn log_pages_of_100(fake: &FakeAuth0) -> usize {
    fake.log
        .borrow()
        .iter()
        .filter(|l| l.contains("/api/v2/logs") && l.contains("&take=100"))
        .count()
}

#[test]
fn a_refused_page_size_falls_back_to_50_once_and_is_remembered() {
    let fake = tenant();
    fake.logs_take_max.set(50);
    script(&fake, 260, 11);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    assert_eq!(store.usage.usage(), truth(&fake.logs.borrow()));
    let log = fake.log.borrow().join("\n");
    assert_eq!(log_pages_of_100(&fake), 1, "{log}");
    clock.advance(15 * 60_000);
    let before = fake.count("/api/v2/logs");
    run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(
        fake.count("/api/v2/logs") - before,
        1,
        "idle: one request at take=50"
    );
    assert_eq!(log_pages_of_100(&fake), 1);
}

#[test]
fn an_empty_log_and_an_idle_continuation_tick_cost_nothing_more() {
    let fake = tenant();
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!((r.status, r.error), (RunStatus::Succeeded, None));
    assert_eq!(fake.count("/api/v2/logs"), 1, "the oldest event: none");
    let before = fake.log.borrow().len();
    assert!(invoke(&fake, &store, &clock, &cfg, Trigger::Continue).is_none());
    assert_eq!(
        fake.log.borrow().len(),
        before,
        "the minute tick asks Auth0 nothing"
    );
}

#[test]
fn first_uses_are_the_baseline_for_the_backlog_then_one_change_per_pair() {
    let fake = tenant();
    script(&fake, 400, 12);
    let store = MemoryStore::default();
    let clock = FakeClock::at(T0);
    let cfg = sync_config("test-secret");
    run_to_end(&fake, &store, &clock, &cfg);
    let pairs = truth(&fake.logs.borrow());
    let events = store.usage.access_events();
    assert_eq!(events.len(), pairs.len(), "one per pair");
    assert!(
        events.iter().all(|e| e.0 == "app_first_use" && e.3),
        "the backlog is the baseline"
    );
    for (e, p) in events.iter().zip(&pairs) {
        assert_eq!(
            (e.1.as_deref(), e.2.as_deref()),
            (Some(p.0.as_str()), Some(p.1.as_str()))
        );
    }

    // A new pair after the log was caught up: one change, at the event's date, by this run.
    let n = fake.logs.borrow().len() as u64;
    fake.log_event(n + 1, "s", T0 + 1_000, "demo_new", Some("auth0|00000001"));
    fake.log_event(n + 2, "ssa", T0 + 2_000, "demo_new", Some("auth0|00000001"));
    fake.log_event(n + 3, "s", T0 + 3_000, "demo_spa", Some("auth0|00000002"));
    clock.advance(15 * 60_000);
    let (r, _) = run_to_end(&fake, &store, &clock, &cfg);
    let events = store.usage.access_events();
    let new: Vec<_> = events.iter().filter(|e| !e.3).collect();
    let at = crate::time::iso_from_ms(T0 + 1_000);
    let added_pairs = truth(&fake.logs.borrow()).len() - pairs.len();
    assert_eq!(new.len(), added_pairs);
    assert!(new.iter().any(|e| e.1.as_deref() == Some("auth0|00000001")
        && e.2.as_deref() == Some("demo_new")
        && e.4 == at
        && e.5 == Some(r.id)));
    // Runs again, and the memory history mirrors the SQL one.
    clock.advance(15 * 60_000);
    run_to_end(&fake, &store, &clock, &cfg);
    assert_eq!(store.usage.access_events(), events, "nothing twice");
    // The user sync's own history (its baseline) sits beside the first uses.
    let first_uses = store
        .access_events
        .borrow()
        .iter()
        .filter(|e| e.kind == crate::changes::EventType::AppFirstUse)
        .count();
    assert_eq!(first_uses, events.len());
}
