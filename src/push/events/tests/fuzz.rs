//! Thousands of hostile deliveries: random methods, tokens, content types and lengths, and
//! bodies from junk bytes to near-valid events with fields of every wrong type. Every answer is
//! a 2xx receipt or a 4xx with a message; never a panic, never a 5xx.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::super::tests::{NOW, TOKEN, token};
use super::super::*;
use crate::testing::push_sqlite::SqliteStore;
use crate::testing::{Rng, block_on};

const METHODS: &[&str] = &["POST", "POST", "POST", "GET", "PUT", "HEAD", "", "post"];
const AUTHS: &[Option<&str>] = &[
    Some("Bearer push-token-0123456789abcdef"),
    Some("Bearer push-token-0123456789abcdef"),
    Some("bearer push-token-0123456789abcdef"),
    Some("Bearer push-token-0123456789abcdeF"),
    Some("Bearer "),
    Some("Basic Zm9vOmJhcg=="),
    Some("Bearer v-token"),
    Some("\u{0}"),
    Some("Bearer 🦀"),
    None,
];
const TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json"),
    Some("application/cloudevents+json; charset=utf-8"),
    None,
    Some("text/plain"),
    Some("é/ü"),
    Some(""),
    Some(";;;"),
];
const LENGTHS: &[Option<&str>] = &[
    None,
    None,
    Some("12"),
    Some("-1"),
    Some("1048577"),
    Some("99999999999999999999999"),
    Some("x"),
];
const KINDS: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deleted",
    "organization.member.added",
    "organization.member.deleted",
    "com.auth0.user.updated",
    "com.auth0.",
    "user.",
    "",
    "organization.created",
];

/// A JSON value of a random type, sometimes a plausible one.
fn value(rng: &mut Rng, depth: u32) -> serde_json::Value {
    use serde_json::json;
    match rng.below(if depth > 2 { 8 } else { 10 }) {
        0 => json!(null),
        1 => json!(rng.one_in(2)),
        2 => json!(rng.next_u64() as f64 / 3.0),
        3 => json!(-1),
        4 => {
            let n = rng.below(20);
            json!(String::from_utf8_lossy(&rng.bytes(n)))
        }
        5 => json!("2025-06-01T10:00:00.000Z"),
        6 => json!("2025-06-01T10:00:00Z"),
        7 => json!("auth0|1"),
        8 => json!([value(rng, depth + 1), value(rng, depth + 1)]),
        _ => {
            let mut m = serde_json::Map::new();
            for k in [
                "user_id",
                "id",
                "created_at",
                "updated_at",
                "deleted_at",
                "user",
                "organization",
                "identities",
                "email",
                "blocked",
                "logins_count",
            ] {
                if rng.one_in(2) {
                    m.insert(k.into(), value(rng, depth + 1));
                }
            }
            serde_json::Value::Object(m)
        }
    }
}

fn body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(6) {
        0 => {
            let n = rng.below(200);
            rng.bytes(n)
        }
        1 => value(rng, 0).to_string().into_bytes(),
        _ => {
            let mut e = serde_json::json!({
                "id": if rng.one_in(4) { value(rng, 2) } else { format!("evt_{}", rng.below(30)).into() },
                "type": if rng.one_in(5) { value(rng, 2) } else { (*rng.pick(KINDS)).into() },
                "time": value(rng, 2),
                "data": {"object": value(rng, 0)},
            });
            let spec = if rng.one_in(2) {
                "specversion"
            } else {
                "spec_version"
            };
            e[spec] = if rng.one_in(6) {
                value(rng, 2)
            } else {
                "1.0".into()
            };
            if rng.one_in(10) {
                e["a0purpose"] = value(rng, 2);
            }
            let mut text = e.to_string().into_bytes();
            if rng.one_in(8) && !text.is_empty() {
                // Break it: truncate, or splice in junk.
                let at = rng.below(text.len());
                text.truncate(at);
                let n = rng.below(5);
                text.extend(rng.bytes(n));
            }
            text
        }
    }
}

fn run_case(seed: u64, store: &SqliteStore, t: &EventStreamToken) -> u16 {
    let mut rng = Rng::new(seed);
    let head = Head {
        method: rng.pick::<&str>(METHODS),
        authorization: *rng.pick(AUTHS),
        content_type: *rng.pick(TYPES),
        content_length: *rng.pick(LENGTHS),
    };
    let bytes = body(&mut rng);
    let body = match rng.below(20) {
        0 => Body::TooLarge,
        1 => Body::Unreadable,
        _ => Body::Bytes(&bytes),
    };
    let configured = if rng.one_in(10) {
        Ok(None)
    } else {
        Ok(Some(t))
    };
    let result = block_on(receive(&head, body, configured, store, NOW));
    let r = crate::api::push::response(&result);
    let shown = format!("{head:?} {:?}", String::from_utf8_lossy(&bytes));
    assert!(
        matches!(r.status, 200 | 400 | 401 | 403 | 405 | 413 | 415),
        "{} for {shown}: {}",
        r.status,
        r.body
    );
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    if r.status == 200 {
        assert!(v["status"].is_string(), "{shown}");
        // Only a real token gets past the door.
        let auth = head.authorization.unwrap_or_default().trim();
        assert!(
            auth.len() > 7 && t.matches(auth.get(7..).unwrap_or_default().trim()),
            "{shown}"
        );
    } else {
        assert!(
            !v["error"].as_str().unwrap_or_default().is_empty(),
            "{shown}"
        );
    }
    assert!(!r.body.contains(TOKEN), "{shown}");
    r.status
}

#[test]
fn thousands_of_hostile_deliveries_get_a_receipt_or_a_4xx_and_never_panic() {
    const CASES: u64 = 5000;
    let store = SqliteStore::default();
    store.add_org("org_1");
    let t = token();
    let mut failed = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for seed in 0..CASES {
        match catch_unwind(AssertUnwindSafe(|| run_case(seed, &store, &t))) {
            Ok(s) => *statuses.entry(s).or_default() += 1,
            Err(_) => failed.push(seed),
        }
    }
    assert!(failed.is_empty(), "failed seeds: {failed:?}");
    for s in [200, 400, 401, 403, 405, 413, 415] {
        assert!(
            statuses.get(&s).is_some_and(|n| *n > 5),
            "{s}: {statuses:?}"
        );
    }
}
