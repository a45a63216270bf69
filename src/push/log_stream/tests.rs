//! Log Stream deliveries against the SQLite usage store (the real migrations and D1 SQL): every
//! content format, duplicates and reordering, pushes and polls over the same events, bad items,
//! bodies, secrets, and a fuzz run over garbage.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::json;

use super::*;
use crate::store::usage::{UsagePage, UsageStore};
use crate::testing::usage_sqlite::{SqliteUsage, UsageRow};
use crate::testing::{Rng, block_on, settings};

const NOW: EpochMs = 1_750_000_000_000;
const SECRET: &str = "log-stream-0123456789abcdef";

fn token() -> EventStreamToken {
    EventStreamToken::named(
        &settings(&[("LOG_STREAM_TOKEN", SECRET)]),
        "LOG_STREAM_TOKEN",
    )
    .unwrap()
    .unwrap()
}

fn head(auth: Option<&str>) -> Head<'_> {
    Head {
        method: "POST",
        authorization: auth,
        content_type: Some("application/json"),
        content_length: None,
    }
}

/// One stream item: `{log_id, data}` around a log event of `kind` at `ms` (ms precision).
fn item(id: u32, kind: &str, ms: EpochMs, user: &str, client: &str) -> serde_json::Value {
    let log_id = format!("9002{id:052}");
    json!({
        "log_id": log_id,
        "data": {
            "log_id": log_id, "date": iso_from_ms(ms), "type": kind,
            "client_id": client, "user_id": user, "ip": "203.0.113.1"
        }
    })
}

fn sample() -> Vec<serde_json::Value> {
    vec![
        item(1, "s", NOW - 9_001, "auth0|a", "app1"),
        item(2, "ssa", NOW - 5_003, "auth0|a", "app1"),
        item(3, "s", NOW - 7_007, "auth0|a", "app1"),
        item(4, "sertft", NOW - 1_011, "auth0|b", "app2"),
        item(5, "f", NOW - 100, "auth0|b", "app2"),
        item(6, "seccft", NOW - 50, "", "m2m"),
    ]
}

fn lines(items: &[serde_json::Value]) -> Vec<u8> {
    let mut out = String::new();
    for i in items {
        out.push_str(&i.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn array(items: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(items).unwrap()
}

fn push(db: &SqliteUsage, body: &[u8]) -> Result<Receipt, StreamError> {
    block_on(ingest(Body::Bytes(body), db, NOW))
}

/// What polling writes for these items: the follower's page write (fold, then one batch).
fn poll(db: &SqliteUsage, items: &[serde_json::Value]) {
    let events: Vec<LogEvent> = items
        .iter()
        .map(|v| event(&Fields::of(&v["data"]).unwrap()))
        .collect();
    let b = fold(&events);
    let expected = block_on(db.log_cursor())
        .unwrap()
        .and_then(|c| c.checkpoint);
    let checkpoint = events.last().unwrap().log_id.clone().unwrap();
    let now = iso_from_ms(NOW);
    let w = block_on(db.write_usage_page(&UsagePage {
        expected: expected.as_deref(),
        checkpoint: &checkpoint,
        deltas: &b.items,
        oldest: b.oldest.as_deref(),
        newest: b.newest.as_deref(),
        take: 100,
        gap: None,
        events: &first_uses(&b.deltas, Some(1), false),
        deletions: &b.deletions,
        caught_up: true,
        now: &now,
    }))
    .unwrap();
    assert!(w.applied);
}

fn expected_usage() -> Vec<UsageRow> {
    vec![
        (
            "auth0|a".into(),
            "app1".into(),
            Some(iso_from_ms(NOW - 7_007)),
            2,
            Some(iso_from_ms(NOW - 5_003)),
            Some(iso_from_ms(NOW - 9_001)),
        ),
        (
            "auth0|b".into(),
            "app2".into(),
            None,
            0,
            Some(iso_from_ms(NOW - 1_011)),
            Some(iso_from_ms(NOW - 1_011)),
        ),
    ]
}

#[test]
fn every_content_format_gives_the_same_usage() {
    let items = sample();
    let map: serde_json::Map<String, serde_json::Value> = items
        .iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v.clone()))
        .collect();
    let single: Vec<Vec<u8>> = items.iter().map(|i| i.to_string().into_bytes()).collect();
    for (name, bodies) in [
        ("lines", vec![lines(&items)]),
        ("array", vec![array(&items)]),
        ("object of items", vec![serde_json::to_vec(&map).unwrap()]),
        ("one object each", single),
    ] {
        let db = SqliteUsage::default();
        let mut counted = 0;
        for body in &bodies {
            let r = push(&db, body).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.bad, 0, "{name}");
            counted += r.counted;
        }
        assert_eq!(counted, 4, "{name}");
        assert_eq!(db.usage(), expected_usage(), "{name}");
        assert_eq!(db.seen().len(), 4, "{name}");
        // One first use per pair, in the history; baseline, as polling never caught up.
        let firsts = db.access_events();
        assert_eq!(firsts.len(), 2, "{name}");
        assert!(
            firsts
                .iter()
                .all(|e| e.0 == "app_first_use" && e.3 && e.5.is_none())
        );
    }
}

#[test]
fn duplicate_and_reordered_deliveries_count_as_once_in_order() {
    let items = sample();
    let once = SqliteUsage::default();
    push(&once, &lines(&items)).unwrap();
    let messy = SqliteUsage::default();
    let mut reversed = items.clone();
    reversed.reverse();
    push(&messy, &array(&reversed[..3])).unwrap();
    push(&messy, &lines(&items)).unwrap();
    push(&messy, &array(&reversed)).unwrap();
    let again = push(&messy, &lines(&[items[0].clone(), items[0].clone()])).unwrap();
    assert_eq!((again.events, again.counted), (2, 0));
    assert_eq!(messy.usage(), once.usage());
    assert_eq!(messy.usage(), expected_usage());
}

#[test]
fn a_push_then_a_poll_over_the_same_events_counts_each_once() {
    let items = sample();
    let db = SqliteUsage::default();
    push(&db, &array(&items[..4])).unwrap();
    // The stream went down after item 4: polling reads everything, counts only 5 and 6.
    poll(&db, &items);
    assert_eq!(db.usage(), expected_usage());
    let later = vec![item(7, "s", NOW - 1, "auth0|b", "app2")];
    poll(&db, &later);
    assert_eq!(db.usage()[1].3, 1);
    assert_eq!(db.usage()[1].2, Some(iso_from_ms(NOW - 1)));
}

#[test]
fn a_poll_then_a_push_of_the_same_events_counts_each_once() {
    let items = sample();
    let db = SqliteUsage::default();
    poll(&db, &items[..3]);
    let r = push(&db, &lines(&items)).unwrap();
    assert_eq!(r.counted, 1);
    assert_eq!(db.usage(), expected_usage());
    // After polling caught up, a pushed first use is a change, not the baseline.
    let fresh = push(&db, &array(&[item(8, "s", NOW, "auth0|c", "app1")])).unwrap();
    assert_eq!(fresh.counted, 1);
    let last = db.access_events().pop().unwrap();
    assert_eq!((last.1.as_deref(), last.3), (Some("auth0|c"), false));
}

#[test]
fn bad_items_are_counted_and_the_good_ones_applied() {
    let items = sample();
    let mut mixed = vec![
        json!(42),
        json!({"log_id": "x"}),
        json!({"data": {"type": "s"}}),
        json!({"log_id": 7, "data": "text"}),
    ];
    mixed.extend(items.iter().cloned());
    let db = SqliteUsage::default();
    let r = push(&db, &array(&mixed)).unwrap();
    assert_eq!((r.events, r.bad, r.counted), (6, 4, 4));
    let mut body = lines(&items);
    body.extend_from_slice(b"{not json\n[1,2]\n");
    let r = push(&db, &body).unwrap();
    assert_eq!((r.events, r.bad, r.counted), (6, 2, 0));
    assert_eq!(db.usage(), expected_usage());
    // The line says counts, never an item.
    assert!(!r.log_line().contains("auth0|"));
}

#[test]
fn malformed_and_oversized_bodies_are_4xx_with_a_message() {
    let db = SqliteUsage::default();
    for body in [
        &b""[..],
        b"   ",
        b"42",
        b"\"text\"",
        b"null",
        b"[1, 2",
        b"{\"log_id\": ",
        b"[]",
        b"{}",
        b"[1, 2, 3]",
        b"\xff\xfe{}",
        b"<xml/>",
    ] {
        let e = push(&db, body).unwrap_err();
        assert_eq!(e.status(), 400, "{body:?}");
        assert!(e.to_string().starts_with("malformed"), "{e}");
    }
    let e = block_on(ingest(Body::TooLarge, &db, NOW)).unwrap_err();
    assert_eq!(
        (e.status(), e.to_string()),
        (413, "the body is over 1048576 bytes".into())
    );
    let mut h = head(Some(SECRET));
    h.content_length = Some("1048577");
    assert_eq!(admit(&h, Ok(Some(&token()))), Err(StreamError::TooLarge));
    assert_eq!(
        block_on(ingest(Body::Unreadable, &db, NOW))
            .unwrap_err()
            .status(),
        400
    );
    assert!(db.usage().is_empty());
}

#[test]
fn the_secret_is_the_whole_header_or_a_bearer_token_and_unset_closes_the_route() {
    let t = token();
    assert_eq!(admit(&head(Some(SECRET)), Ok(Some(&t))), Ok(()));
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(admit(&head(Some(&bearer)), Ok(Some(&t))), Ok(()));
    for wrong in [
        None,
        Some(""),
        Some("Bearer "),
        Some("log-stream-0123456789abcdeF"),
        Some("log-stream-0123456789abcde"),
        Some("Basic log-stream-0123456789abcdef"),
    ] {
        let e = admit(&head(wrong), Ok(Some(&t))).unwrap_err();
        assert_eq!(e, StreamError::Unauthorized, "{wrong:?}");
        assert_eq!(e.status(), 401);
        assert!(!e.to_string().contains(SECRET));
    }
    let closed = admit(&head(Some(SECRET)), Ok(None)).unwrap_err();
    assert_eq!(closed.status(), 403);
    assert!(closed.to_string().contains("LOG_STREAM_TOKEN is not set"));
    let short = EventStreamToken::named(
        &settings(&[("LOG_STREAM_TOKEN", "short")]),
        "LOG_STREAM_TOKEN",
    )
    .unwrap_err();
    assert_eq!(short.setting, "LOG_STREAM_TOKEN");
    let e = admit(&head(Some("short")), Err(&short)).unwrap_err();
    assert_eq!(e.status(), 403);
    let mut get = head(Some(SECRET));
    get.method = "GET";
    assert_eq!(admit(&get, Ok(Some(&t))).unwrap_err().status(), 405);
    // The config reads it, and never shows it.
    let c = crate::config::Config::from_settings(&settings(&[("LOG_STREAM_TOKEN", SECRET)]));
    assert!(c.log_stream_token.clone().unwrap().unwrap().matches(SECRET));
    assert!(!format!("{c:?}").contains(SECRET));
}

#[test]
fn a_pushed_deletion_removes_the_user_once_and_polling_it_again_changes_nothing() {
    let db = SqliteUsage::default();
    let rows: Vec<_> = [
        ("auth0|a", "2025-01-01T00:00:00.000Z".to_string()),
        ("auth0|b", iso_from_ms(NOW)),
    ]
    .iter()
    .map(|(id, updated)| {
        crate::sync::mapping::user_row(
            &serde_json::from_value(json!({"user_id": id,
                    "created_at": "2025-01-01T00:00:00.000Z", "updated_at": updated}))
            .unwrap(),
        )
    })
    .collect();
    db.conn
        .borrow()
        .execute(
            crate::store::users::UPSERT_USERS,
            [serde_json::to_string(&rows).unwrap(), "t0".into()],
        )
        .unwrap();
    let deletions = [
        item(1, "sdu", NOW - 1_000, "auth0|a", "mgmt"),
        item(2, "sdu", NOW - 1_000, "auth0|b", "mgmt"), // updated after: a newer incarnation
        item(3, "fdu", NOW - 900, "auth0|a", "mgmt"),   // a failed deletion
        item(4, "s", NOW - 800, "auth0|a", "app1"),
    ];
    let r = push(&db, &lines(&deletions)).unwrap();
    assert_eq!((r.events, r.removed, r.counted), (4, 1, 1));
    assert_eq!(r.tally().removed, 1);
    let removed = || -> Vec<(String, Option<String>)> {
        let conn = db.conn.borrow();
        let mut st = conn
            .prepare("SELECT user_id, removed_at FROM users ORDER BY user_id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        removed(),
        [
            ("auth0|a".to_string(), Some(iso_from_ms(NOW))),
            ("auth0|b".to_string(), None)
        ]
    );
    // Auth0 delivers again, and polling reads the same events: nothing more.
    assert_eq!(push(&db, &array(&deletions)).unwrap().removed, 0);
    poll(&db, &deletions);
    assert_eq!(removed()[0].1, Some(iso_from_ms(NOW)));
}

#[test]
fn fuzzed_deliveries_get_a_2xx_or_a_4xx_and_never_panic() {
    const AUTHS: &[Option<&str>] = &[
        Some(SECRET),
        Some(SECRET),
        Some("Bearer log-stream-0123456789abcdef"),
        Some("bearer  log-stream-0123456789abcdef "),
        Some("Bearer"),
        Some("\u{0}"),
        Some("🦀 🦀"),
        None,
    ];
    const LENGTHS: &[Option<&str>] = &[None, None, Some("1048577"), Some("-1"), Some("x")];
    const METHODS: &[&str] = &["POST", "POST", "GET", ""];
    let t = token();
    let db = SqliteUsage::default();
    let mut good = sample();
    good.push(item(7, "sdu", NOW - 10, "auth0|a", "mgmt"));
    let mut statuses = std::collections::BTreeSet::new();
    for seed in 0..2_000u64 {
        let mut rng = Rng::new(seed);
        let h = Head {
            method: METHODS[rng.below(METHODS.len())],
            authorization: *rng.pick(AUTHS),
            content_type: None,
            content_length: *rng.pick(LENGTHS),
        };
        let body: Vec<u8> = match rng.below(5) {
            0 => {
                let len = rng.below(64);
                rng.bytes(len)
            }
            1 => {
                // A good body cut short or with a byte changed.
                let mut b = lines(&good);
                let cut = rng.below(b.len());
                b.truncate(cut);
                b
            }
            2 => {
                let mut b = array(&good);
                let at = rng.below(b.len());
                b[at] = rng.bytes(1)[0];
                b
            }
            3 => {
                let kind = rng.pick(&[json!([1]), json!("sdu"), json!("s")]).clone();
                let user = rng
                    .pick(&[json!({}), json!(""), json!(7), json!("auth0|a")])
                    .clone();
                let v = json!([{"log_id": rng.next_u64(), "data": {"date": rng.next_u64(),
                    "type": kind, "user_id": user, "client_id": null}}, "x", null,
                    {"log_id": "d", "data": {"type": "sdu", "date": "yesterday",
                    "user_id": "auth0|a"}}]);
                serde_json::to_vec(&v).unwrap()
            }
            _ => lines(&good[..rng.below(good.len()) + 1]),
        };
        let status = catch_unwind(AssertUnwindSafe(|| match admit(&h, Ok(Some(&t))) {
            Err(e) => e.status(),
            Ok(()) => match push(&db, &body) {
                Ok(_) => 200,
                Err(e) => e.status(),
            },
        }))
        .unwrap_or_else(|_| panic!("seed {seed} panicked"));
        assert!(
            status == 200 || (400..500).contains(&status),
            "seed {seed}: {status}"
        );
        statuses.insert(status);
    }
    // The run reached each outcome.
    assert!(
        statuses.is_superset(&[200, 400, 401, 405, 413].into()),
        "{statuses:?}"
    );
}
