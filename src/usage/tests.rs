//! The fold against a reference written the plain way, over random batches with duplicates,
//! foreign types, missing fields and every order and split.

use std::collections::BTreeMap;

use super::*;
use crate::testing::Rng;

fn event(id: u64, kind: &str, ms: u64, client: Option<&str>, user: Option<&str>) -> LogEvent {
    LogEvent {
        log_id: Some(format!("{id:08}")),
        date: Some(iso_from_ms(ms)),
        kind: Some(kind.into()),
        client_id: client.map(str::to_string),
        user_id: user.map(str::to_string),
        ..LogEvent::default()
    }
}

/// A pair's usage: logins, last login, last seen, first used.
type Usage = (u64, Option<String>, Option<String>, Option<String>);
/// Usage by (user, client).
type ByPair = BTreeMap<(String, String), Usage>;

/// The usage a log means, computed per pair from the distinct events, without merging.
fn reference(events: &[LogEvent]) -> ByPair {
    let mut distinct: BTreeMap<String, &LogEvent> = BTreeMap::new();
    for e in events {
        if let Some(id) = &e.log_id {
            distinct.entry(id.clone()).or_insert(e);
        }
    }
    let mut out = BTreeMap::new();
    for e in distinct.values() {
        let (Some(u), Some(c), Some(k), Some(d)) = (&e.user_id, &e.client_id, &e.kind, &e.date)
        else {
            continue;
        };
        let Some(d) = normal_date(d) else { continue };
        if u.is_empty() || c.is_empty() || !SEEN_TYPES.contains(&k.as_str()) {
            continue;
        }
        let entry = out
            .entry((u.clone(), c.clone()))
            .or_insert((0, None, None, None));
        if k == "s" {
            entry.0 += 1;
            if entry.1.as_ref().is_none_or(|l| d > *l) {
                entry.1 = Some(d.clone());
            }
        }
        if entry.2.as_ref().is_none_or(|l| d > *l) {
            entry.2 = Some(d.clone());
        }
        if entry.3.as_ref().is_none_or(|f| d < *f) {
            entry.3 = Some(d.clone());
        }
    }
    out
}

fn as_map(deltas: &[UsageDelta]) -> ByPair {
    deltas
        .iter()
        .map(|d| {
            (
                (d.user_id.clone(), d.client_id.clone()),
                (
                    d.logins,
                    d.last_login.clone(),
                    d.last_seen.clone(),
                    d.first_used.clone(),
                ),
            )
        })
        .collect()
}

fn random_log(rng: &mut Rng, n: usize) -> Vec<LogEvent> {
    let kinds = [
        "s", "s", "ssa", "sertft", "seacft", "f", "fp", "seccft", "sdu", "w", "sens",
    ];
    let clients = [
        Some("demo_spa"),
        Some("demo_web"),
        Some("m2m"),
        None,
        Some(""),
    ];
    let users = [
        Some("auth0|a"),
        Some("auth0|b"),
        Some("google-oauth2|c"),
        None,
    ];
    (0..n)
        .map(|i| {
            let kind = *rng.pick(&kinds);
            let mut e = event(
                i as u64,
                kind,
                1_700_000_000_000 + rng.below(10_000_000) as u64,
                *rng.pick(&clients),
                *rng.pick(&users),
            );
            if rng.one_in(20) {
                e.date = Some(
                    rng.pick(&["junk", "2025-02-30", "2025-01-01T00:00:00Z"])
                        .to_string(),
                );
            }
            if rng.one_in(30) {
                e.log_id = None;
            }
            e
        })
        .collect()
}

#[test]
fn folding_matches_the_reference_in_any_order_split_and_with_duplicates() {
    for seed in 0..300 {
        let mut rng = Rng::new(seed);
        let n = rng.below(80);
        let mut log = random_log(&mut rng, n);
        let want = reference(&log);
        // Duplicates (a retried delivery) and a shuffled order.
        for _ in 0..rng.below(20) {
            if !log.is_empty() {
                let dup = log[rng.below(log.len())].clone();
                log.push(dup);
            }
        }
        for i in (1..log.len()).rev() {
            log.swap(i, rng.below(i + 1));
        }
        let whole = fold(&log);
        assert_eq!(as_map(&whole.deltas), want, "seed {seed}");
        // Any split into batches, merged, gives the same, once duplicates across batches are
        // kept out (the checkpoint's job when polling).
        let mut distinct = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for e in &log {
            if e.log_id.as_ref().is_none_or(|id| ids.insert(id.clone())) {
                distinct.push(e.clone());
            }
        }
        let mut merged: BTreeMap<(String, String), UsageDelta> = BTreeMap::new();
        let mut rest = distinct.as_slice();
        while !rest.is_empty() {
            let (batch, tail) = rest.split_at(1 + rng.below(rest.len()));
            for d in fold(batch).deltas {
                merged
                    .entry((d.user_id.clone(), d.client_id.clone()))
                    .and_modify(|m| m.merge(&d))
                    .or_insert(d);
            }
            rest = tail;
        }
        let merged: Vec<UsageDelta> = merged.into_values().collect();
        assert_eq!(as_map(&merged), want, "seed {seed}: split");
    }
}

#[test]
fn a_batch_counts_logins_and_sightings_apart_and_skips_what_is_not_use() {
    let log = vec![
        event(1, "s", 1_000, Some("app"), Some("u")),
        event(1, "s", 1_000, Some("app"), Some("u")), // the same event again
        event(2, "ssa", 5_000, Some("app"), Some("u")),
        event(3, "s", 3_000, Some("app"), Some("u")),
        event(4, "f", 9_000, Some("app"), Some("u")),
        event(5, "seccft", 9_000, Some("app"), None),
        event(6, "sertft", 500, Some("other"), Some("u")),
    ];
    let b = fold(&log);
    assert_eq!((b.events, b.counted), (6, 4));
    assert_eq!(b.oldest.as_deref(), Some("1970-01-01T00:00:00.500Z"));
    assert_eq!(b.newest.as_deref(), Some("1970-01-01T00:00:09.000Z"));
    assert_eq!(
        b.deltas,
        vec![
            UsageDelta {
                log_id: None,
                user_id: "u".into(),
                client_id: "app".into(),
                logins: 2,
                last_login: Some("1970-01-01T00:00:03.000Z".into()),
                last_seen: Some("1970-01-01T00:00:05.000Z".into()),
                first_used: Some("1970-01-01T00:00:01.000Z".into()),
            },
            UsageDelta {
                log_id: None,
                user_id: "u".into(),
                client_id: "other".into(),
                logins: 0,
                last_login: None,
                last_seen: Some("1970-01-01T00:00:00.500Z".into()),
                first_used: Some("1970-01-01T00:00:00.500Z".into()),
            },
        ]
    );
    // The items are the counted events one by one, with their ids.
    let mut ids: Vec<&str> = b.items.iter().filter_map(|d| d.log_id.as_deref()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["00000001", "00000002", "00000003", "00000006"]);
    assert_eq!(b.items.iter().map(|d| d.logins).sum::<u64>(), 2);
    // Dates without milliseconds are stored in the one shape, so they compare as text.
    assert_eq!(
        normal_date("2025-01-01T00:00:00Z").as_deref(),
        Some("2025-01-01T00:00:00.000Z")
    );
    assert_eq!(normal_date("junk"), None);
}

#[test]
fn items_come_ordered_by_user_and_application_for_the_stores_chunks() {
    let events = [
        event(1, "s", 1_000, Some("web"), Some("u2")),
        event(2, "ssa", 2_000, Some("spa"), Some("u1")),
        event(3, "s", 3_000, Some("web"), Some("u1")),
        event(4, "s", 4_000, Some("web"), Some("u2")),
    ];
    let b = fold(&events);
    let order: Vec<(&str, &str, &str)> = b
        .items
        .iter()
        .map(|d| {
            (
                d.user_id.as_str(),
                d.client_id.as_str(),
                d.log_id.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("u1", "spa", "00000002"),
            ("u1", "web", "00000003"),
            ("u2", "web", "00000001"),
            ("u2", "web", "00000004"),
        ]
    );
}
