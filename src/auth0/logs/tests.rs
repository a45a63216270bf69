//! The log client against the fake tenant, and Auth0 answering junk: bodies, items and `Link`
//! headers end in events or typed errors, never a panic.

use serde_json::{Value, json};

use super::*;
use crate::auth0::RetryPolicy;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::http::{HttpResponse, TransportError};
use crate::testing::{Rng, auth0_config as config, block_on};

const T0: u64 = 1_750_000_000_000;

fn tenant(events: u64) -> FakeAuth0 {
    let fake = FakeAuth0::with_users(Vec::new());
    fake.scopes.borrow_mut().push("read:logs".into());
    for n in 1..=events {
        fake.log_event(n, "s", T0 + n * 1000, "demo_spa", Some("auth0|u1"));
    }
    fake
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    }
}

#[test]
fn link_headers_name_their_next_url() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            r#"<https://t/api/v2/logs?from=5&take=100>; rel="next""#,
            Some("https://t/api/v2/logs?from=5&take=100"),
        ),
        (r#"<a>; rel="prev", <b?x=1,2>; rel="next""#, Some("b?x=1,2")),
        (r#"<a>; title="x, y"; rel=next"#, Some("a")),
        (r#"<a>; rel="first last""#, None),
        (r#"<a>; rel="last next""#, Some("a")),
        ("", None),
        ("   ", None),
    ];
    for (header, want) in cases {
        assert_eq!(next_link(header).unwrap(), *want, "{header}");
    }
    for junk in ["a", "<a", "https://x; rel=next", "<a>; rel=prev, junk"] {
        assert!(
            matches!(next_link(junk), Err(LogError::BadLink { .. })),
            "{junk}"
        );
    }
    assert_eq!(
        from_of("https://h/api/v2/logs?take=100&from=90%2B1").unwrap(),
        "90+1"
    );
    assert!(from_of("https://h/api/v2/logs?take=100").is_err());
    assert!(from_of("https://h/api/v2/logs?from=").is_err());
    assert!(from_of("https://h/api/v2/logs?from=%FF").is_err());
}

#[test]
fn pages_follow_the_checkpoint_until_an_empty_page_links_to_itself() {
    let fake = tenant(250);
    let clock = FakeClock::at(T0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    let oldest = block_on(read_oldest(&mut c)).unwrap().unwrap();
    assert_eq!(oldest.log_id.as_deref(), Some("00000000000000000001"));
    assert!(
        fake.log
            .borrow()
            .last()
            .unwrap()
            .contains("sort=date%3A1&per_page=1")
    );
    let mut from = oldest.log_id.unwrap();
    let mut read = vec![from.clone()];
    loop {
        let page = block_on(read_page(&mut c, &from, TAKE)).unwrap();
        if page.events.is_empty() {
            assert_eq!(page.next_from, from, "nothing new keeps the checkpoint");
            break;
        }
        read.extend(page.events.iter().map(|e| e.log_id.clone().unwrap()));
        from = page.next_from;
    }
    let want: Vec<String> = (1..=250).map(|n| format!("{n:020}")).collect();
    assert_eq!(read, want);
    // Token, oldest, three pages and the empty one.
    assert_eq!(c.stats.requests, 6);
    // Nothing beyond the five fields is parsed.
    let page = block_on(read_page(&mut c, "00000000000000000249", TAKE)).unwrap();
    let shown = format!("{page:?}");
    assert!(
        !shown.contains("203.0.113.9") && !shown.contains("Mozilla"),
        "{shown}"
    );
}

#[test]
fn refusals_are_typed_page_size_expiry_and_scope() {
    let fake = tenant(10);
    let clock = FakeClock::at(T0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    fake.logs_take_max.set(50);
    assert!(matches!(
        block_on(read_page(&mut c, "00000000000000000001", 100)),
        Err(LogError::PageSize { .. })
    ));
    assert_eq!(
        block_on(read_page(&mut c, "00000000000000000001", 50))
            .unwrap()
            .events
            .len(),
        9
    );
    fake.logs_kept_from.set(5);
    let e = block_on(read_page(&mut c, "00000000000000000002", 50)).unwrap_err();
    assert!(matches!(e, LogError::CheckpointRefused { .. }), "{e:?}");
    assert!(e.to_string().contains("retention"));
    let oldest = block_on(read_oldest(&mut c)).unwrap().unwrap();
    assert_eq!(oldest.log_id.as_deref(), Some("00000000000000000006"));
    fake.scopes.borrow_mut().retain(|s| s != "read:logs");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    let e = block_on(read_page(&mut c, "00000000000000000006", 50)).unwrap_err();
    assert!(
        matches!(&e, LogError::Auth0(a) if a.missing_scope() == Some("read:logs")),
        "{e:?}"
    );
    fake.logs.borrow_mut().clear();
    fake.logs_kept_from.set(0);
    fake.scopes.borrow_mut().push("read:logs".into());
    assert_eq!(block_on(read_oldest(&mut c)).unwrap(), None, "an empty log");
}

#[test]
fn events_are_read_leniently_and_the_checkpoint_itself_is_dropped() {
    let fake = tenant(0);
    let body = json!([
        {"log_id": "1", "type": "s", "date": "2025-01-01T00:00:00.000Z", "client_id": "c", "user_id": "u"},
        {"log_id": "2", "type": 7, "date": null, "client_id": ["x"], "user_id": {"a": 1}},
        "not an event",
        12,
        {"log_id": "3"},
    ])
    .to_string();
    *fake.fault.borrow_mut() = Some(Box::new(move |_, req| {
        req.url.contains("/api/v2/logs").then(|| {
            Ok(HttpResponse {
                status: 200,
                headers: vec![(
                    "link".into(),
                    "<https://x/api/v2/logs?from=3&take=100>; rel=\"next\"".into(),
                )],
                body: body.clone(),
            })
        })
    }));
    let clock = FakeClock::at(T0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    let page = block_on(read_page(&mut c, "1", TAKE)).unwrap();
    assert_eq!(page.unreadable, 2);
    assert_eq!(page.next_from, "3");
    assert_eq!(
        page.events,
        vec![
            LogEvent {
                log_id: Some("2".into()),
                ..LogEvent::default()
            },
            LogEvent {
                log_id: Some("3".into()),
                ..LogEvent::default()
            },
        ]
    );
}

#[test]
fn a_page_that_would_not_move_the_checkpoint_is_refused() {
    let fake = tenant(0);
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/logs").then(|| {
            Ok(HttpResponse {
                status: 200,
                headers: vec![(
                    "link".into(),
                    "<https://x/api/v2/logs?from=9&take=100>; rel=\"next\"".into(),
                )],
                body: json!([{"log_id": "10", "type": "s"}]).to_string(),
            })
        })
    }));
    let clock = FakeClock::at(T0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    assert!(matches!(
        block_on(read_page(&mut c, "9", TAKE)),
        Err(LogError::BadLink { .. })
    ));
    // Without a Link, the last event's id is the next checkpoint.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/logs").then(|| {
            Ok(HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: json!([{"log_id": "10"}, {"log_id": "11"}]).to_string(),
            })
        })
    }));
    assert_eq!(
        block_on(read_page(&mut c, "9", TAKE)).unwrap().next_from,
        "11"
    );
}

fn junk_item(rng: &mut Rng) -> Value {
    let text = |rng: &mut Rng| -> Value {
        match rng.below(6) {
            0 => Value::Null,
            1 => json!(rng.next_u64()),
            2 => json!(["a"]),
            3 => json!({"$date": "x"}),
            4 => {
                let n = rng.below(12);
                json!(String::from_utf8_lossy(&rng.bytes(n)).to_string())
            }
            _ => json!(format!("{}", rng.below(1000))),
        }
    };
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(rng.next_u64()),
        2 => json!([text(rng)]),
        _ => {
            let mut o = serde_json::Map::new();
            for k in [
                "log_id",
                "date",
                "type",
                "client_id",
                "user_id",
                "connection",
                "connection_id",
                "organization_id",
                "user_name",
                "ip",
                "details",
            ] {
                if !rng.one_in(3) {
                    o.insert(k.into(), text(rng));
                }
            }
            Value::Object(o)
        }
    }
}

#[test]
fn junk_bodies_and_links_end_in_pages_or_typed_errors() {
    let links = [
        "",
        "<",
        ">",
        "<>; rel=next",
        "<https://x/?from=>; rel=next",
        "<https://x/?from=%FF>; rel=next",
        "<https://x/?from=7>; rel=\"next",
        "<https://x/?from=7>; rel=next",
        "<https://x/?from=1>; rel=next",
        "<https://x/?take=1>; rel=next",
        "\u{0}",
        "<é>; rel=nèxt",
    ];
    for seed in 0..600u64 {
        let mut rng = Rng::new(seed);
        let fake = tenant(0);
        let status = *rng.pick(&[200u16, 200, 200, 400, 403, 404, 500]);
        let body = match rng.below(5) {
            0 => {
                let n = rng.below(40);
                String::from_utf8_lossy(&rng.bytes(n)).to_string()
            }
            1 => json!({"statusCode": status, "message": "take", "errorCode": "x"}).to_string(),
            _ => Value::Array((0..rng.below(6)).map(|_| junk_item(&mut rng)).collect()).to_string(),
        };
        let link = rng.pick(&links).to_string();
        *fake.fault.borrow_mut() = Some(Box::new(move |_, req| {
            req.url
                .contains("/api/v2/logs")
                .then(|| -> Result<HttpResponse, TransportError> {
                    Ok(HttpResponse {
                        status,
                        headers: vec![("link".into(), link.clone())],
                        body: body.clone(),
                    })
                })
        }));
        let clock = FakeClock::at(T0);
        let cfg = config("test-secret");
        let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
        match block_on(read_page(&mut c, "1", TAKE)) {
            Ok(page) => {
                assert!(
                    page.events.is_empty() || page.next_from != "1",
                    "seed {seed}"
                );
                assert!(page.events.iter().all(|e| e.log_id.as_deref() != Some("1")));
            }
            Err(e) => assert!(!e.to_string().is_empty(), "seed {seed}"),
        }
        let _ = block_on(read_oldest(&mut c));
    }
}
