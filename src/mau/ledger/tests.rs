//! The ledger against a reference written the plain way (distinct users per month from the
//! distinct events), over random batchings and orders with duplicates; month boundaries; bad
//! inputs; and the merge rule's laws.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::testing::Rng;
use crate::time::ms_from_iso;

const KINDS: &[&str] = &[
    "s", "ssa", "sertft", "seacft", "sepft", "seotpft", "seoobft", "sercft", "sens", "f", "fp",
    "fu", "seccft", "sdu",
];

fn ev(id: &str, kind: &str, date: &str, user: Option<&str>, client: &str) -> ActivityEvent {
    ActivityEvent {
        log_id: Some(id.into()),
        kind: Some(kind.into()),
        date: Some(date.into()),
        user_id: user.map(str::to_string),
        email: user.map(|u| format!("{u}@corp.test")),
        client_id: Some(client.into()),
        connection: Some("Username-Password-Authentication".into()),
        organization_id: None,
    }
}

fn random_log(rng: &mut Rng, n: usize) -> Vec<ActivityEvent> {
    // Two months and their boundary, so that the month split is exercised.
    let start = ms_from_iso("2026-01-20T00:00:00.000Z").unwrap();
    (0..n)
        .map(|i| {
            let ms = start + (rng.next_u64() % (25 * 86_400_000));
            let user = (!rng.one_in(15)).then(|| format!("auth0|u{}", rng.below(12)));
            ActivityEvent {
                log_id: (!rng.one_in(40)).then(|| format!("{i:06}")),
                kind: Some((*rng.pick(KINDS)).to_string()),
                date: Some(if rng.one_in(30) {
                    "not a date".into()
                } else {
                    iso_from_ms(ms)
                }),
                // Emails vary per event: which one is kept must not depend on order.
                email: rng.one_in(2).then(|| {
                    format!(
                        "{}{}@corp.test",
                        user.clone().unwrap_or_default(),
                        rng.below(3)
                    )
                }),
                user_id: user,
                client_id: rng
                    .one_in(8)
                    .then(|| format!("app{}", rng.below(4)))
                    .or(Some("app0".into())),
                connection: (!rng.one_in(5))
                    .then(|| (*rng.pick(&["db", "google-oauth2", "okta"])).to_string()),
                organization_id: rng.one_in(3).then(|| format!("org_{}", rng.below(3))),
            }
        })
        .collect()
}

/// Distinct users by month, by (month, application), and the number of counted events.
type Reference = (
    BTreeMap<Month, BTreeSet<String>>,
    BTreeMap<(Month, String), BTreeSet<String>>,
    u64,
);

/// Distinct users per month and per (month, application), from the distinct valid events.
fn reference(events: &[ActivityEvent]) -> Reference {
    let mut distinct: BTreeMap<&str, &ActivityEvent> = BTreeMap::new();
    for e in events {
        if let Some(id) = e.log_id.as_deref() {
            distinct.entry(id).or_insert(e);
        }
    }
    let (mut users, mut apps, mut counted) = (BTreeMap::new(), BTreeMap::new(), 0);
    for e in distinct.values() {
        let (Some(kind), Some(user), Some(date)) = (&e.kind, &e.user_id, &e.date) else {
            continue;
        };
        if !super::super::active::ACTIVE_TYPES.contains(&kind.as_str()) {
            continue;
        }
        let Some(month) = Month::of_date(date) else {
            continue;
        };
        counted += 1;
        users
            .entry(month)
            .or_insert_with(BTreeSet::new)
            .insert(user.clone());
        if let Some(c) = &e.client_id {
            apps.entry((month, c.clone()))
                .or_insert_with(BTreeSet::new)
                .insert(user.clone());
        }
    }
    (users, apps, counted)
}

fn ledger_in_batches(rng: &mut Rng, events: &[ActivityEvent]) -> Ledger {
    let mut ledger = Ledger::default();
    let mut rest = events.to_vec();
    while !rest.is_empty() {
        let take = 1 + rng.below(rest.len().min(20));
        let batch: Vec<_> = rest.drain(..take).collect();
        ledger.apply(&fold(&batch));
    }
    ledger
}

#[test]
fn any_batching_and_order_with_duplicates_gives_the_same_ledger() {
    for seed in 0..150 {
        let mut rng = Rng::new(seed);
        let log = random_log(&mut rng, 120);
        let mut one = Ledger::default();
        let counted = one.apply(&fold(&log));

        // The same events, some twice (a poll and a push), shuffled and split at random.
        let mut again = log.clone();
        for _ in 0..40 {
            let dup = again[rng.below(log.len())].clone();
            again.push(dup);
        }
        for i in (1..again.len()).rev() {
            again.swap(i, rng.below(i + 1));
        }
        let other = ledger_in_batches(&mut rng, &again);
        assert_eq!(one, other, "seed {seed}");

        let (users, apps, expected_counted) = reference(&log);
        assert_eq!(counted, expected_counted, "seed {seed}");
        for (month, set) in &users {
            let summary = summarize(*month, one.rows());
            assert_eq!(summary.mau, set.len() as u64, "seed {seed} {month}");
            for kc in &summary.by_application {
                assert_eq!(
                    Some(kc.mau),
                    apps.get(&(*month, kc.key.clone())).map(|s| s.len() as u64),
                    "seed {seed}"
                );
            }
            let events: u64 = one.month(*month).map(|r| r.events).sum();
            assert!(events >= summary.mau);
        }
        let total: u64 = one.rows().map(|r| r.events).sum();
        assert_eq!(
            total, expected_counted,
            "seed {seed}: one row per user and month, counts kept"
        );
    }
}

#[test]
fn month_boundaries_are_utc_to_the_millisecond() {
    let log = [
        ev("1", "s", "2026-01-31T23:59:59.999Z", Some("a"), "app"),
        ev("2", "ssa", "2026-02-01T00:00:00.000Z", Some("b"), "app"),
        ev("3", "sertft", "2026-02-28T23:59:59.999Z", Some("a"), "app"),
        ev("4", "s", "2026-03-01T00:00:00.000Z", Some("c"), "app"),
    ];
    let mut ledger = Ledger::default();
    ledger.apply(&fold(&log));
    let jan = Month::parse("2026-01").unwrap();
    let feb = jan.next();
    let users = |m: Month| {
        ledger
            .month(m)
            .map(|r| r.user_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(users(jan), ["a"]);
    assert_eq!(users(feb), ["a", "b"]);
    assert_eq!(users(feb.next()), ["c"]);
    let a_feb = ledger.month(feb).next().unwrap();
    assert_eq!(a_feb.first_active, "2026-02-28T23:59:59.999Z");
    assert_eq!(new_users_by_day(feb, ledger.rows())[0], 1);
    assert_eq!(new_users_by_day(feb, ledger.rows())[27], 1);
}

#[test]
fn failures_client_credentials_and_bad_inputs_are_skipped_and_counted() {
    let mut no_id = ev("x", "s", "2026-01-02T00:00:00Z", Some("a"), "app");
    no_id.log_id = None;
    let log = [
        ev("1", "f", "2026-01-02T00:00:00Z", Some("a"), "app"),
        ev("2", "seccft", "2026-01-02T00:00:00Z", None, "m2m"),
        ev("3", "s", "2026-01-02T00:00:00Z", None, "app"),
        ev("4", "s", "yesterday", Some("a"), "app"),
        ev("5", "s", "2026-02-30T00:00:00Z", Some("a"), "app"),
        ev("6", "s", "2026-01-02T00:00:00Z", Some("  "), "app"),
        no_id,
        ev("7", "s", "2026-01-02T10:00:00+01:00", Some("a"), "app"),
    ];
    let out = fold(&log);
    assert!(out.items.is_empty());
    assert_eq!(out.ignored, 2);
    assert_eq!(
        out.skipped,
        Skipped {
            no_id: 1,
            no_user: 2,
            bad_date: 3
        }
    );
}

#[test]
fn a_month_row_keeps_first_last_count_apps_and_newest_email() {
    let mut log = vec![
        ev("1", "s", "2026-01-05T10:00:00.000Z", Some("a"), "web"),
        ev(
            "2",
            "sertft",
            "2026-01-09T10:00:00.000Z",
            Some("a"),
            "mobile",
        ),
        ev("3", "ssa", "2026-01-07T10:00:00.000Z", Some("a"), "web"),
    ];
    log[0].email = Some("old@corp.test".into());
    log[1].email = Some("new@corp.test".into());
    log[2].email = None;
    log[1].organization_id = Some("org_1".into());
    let mut ledger = Ledger::default();
    assert_eq!(ledger.apply(&fold(&log)), 3);
    assert_eq!(
        ledger.apply(&fold(&log[1..2])),
        0,
        "a pushed copy of a polled event"
    );
    let rows: Vec<_> = ledger.rows().collect();
    assert_eq!(rows.len(), 1);
    let row = rows[0];
    assert_eq!(
        (row.first_active.as_str(), row.last_active.as_str()),
        ("2026-01-05T10:00:00.000Z", "2026-01-09T10:00:00.000Z")
    );
    assert_eq!(row.events, 3);
    assert_eq!(row.email.as_deref(), Some("new@corp.test"));
    assert_eq!(
        row.applications.iter().collect::<Vec<_>>(),
        ["mobile", "web"]
    );
    let summary = summarize(row.month, ledger.rows());
    assert_eq!(
        summary.by_organization,
        [KeyCount {
            key: "org_1".into(),
            mau: 1
        }]
    );
    assert_eq!(
        summary.by_connection,
        [KeyCount {
            key: "Username-Password-Authentication".into(),
            mau: 1
        }]
    );
}

#[test]
fn merge_is_commutative_and_associative() {
    for seed in 0..100 {
        let mut rng = Rng::new(1000 + seed);
        let mut log = random_log(&mut rng, 60);
        for e in &mut log {
            e.user_id = Some("same".into());
            e.kind = Some("s".into());
            e.date = e
                .date
                .take()
                .filter(|d| ms_from_iso(d).is_some())
                .or(Some("2026-01-25T00:00:00Z".into()));
        }
        let items: Vec<UserMonth> = fold(&log)
            .items
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| r.month == Month::parse("2026-01").unwrap())
            .collect();
        if items.len() < 3 {
            continue;
        }
        let (a, b, c) = (&items[0], &items[1], &items[2]);
        assert_eq!(merge(a, b), merge(b, a), "seed {seed}");
        assert_eq!(
            merge(&merge(a, b), c),
            merge(a, &merge(b, c)),
            "seed {seed}"
        );
    }
}
