//! The client against a scripted tenant: tokens, retries, pacing and error messages.

use super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::testing::{auth0_config as config, block_on};
use serde_json::Value;

fn status(
    code: u16,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<HttpResponse, crate::http::TransportError> {
    Ok(HttpResponse {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        body: body.into(),
    })
}

#[test]
fn one_token_serves_the_whole_run_and_records_scopes() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(5, 0));
    let clock = FakeClock::at(1_700_000_000_000);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    for _ in 0..3 {
        let _: Value = block_on(c.get(
            "/api/v2/users?search_engine=v3&per_page=10&page=0",
            any_json,
        ))
        .unwrap();
    }
    assert_eq!(fake.count("/oauth/token"), 1);
    assert_eq!(c.granted_scopes().unwrap().len(), 3);
    assert_eq!(c.stats.requests, 4);
    let token_req = fake.log.borrow()[0].clone();
    assert_eq!(token_req, "Post https://tenant.us.auth0.com/oauth/token");
}

#[test]
fn wrong_secret_fails_fast_with_the_401_checklist() {
    let fake = FakeAuth0::with_users(Vec::new());
    let clock = FakeClock::at(0);
    let cfg = config("wrong");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users", any_json)).unwrap_err();
    assert_eq!(
        e,
        Auth0Error::InvalidCredentials {
            code: "access_denied".into()
        }
    );
    let msg = e.to_string();
    for must in ["401", "AUTH0_CLIENT_SECRET", "https://", "enabled"] {
        assert!(msg.contains(must), "{msg}");
    }
    assert_eq!(c.stats.requests, 1, "credentials errors are not retried");
    assert!(!msg.contains("wrong"));
}

#[test]
fn missing_scope_is_named() {
    let fake = FakeAuth0::with_users(Vec::new());
    fake.scopes.borrow_mut().retain(|s| s != "read:users");
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap_err();
    assert_eq!(e.missing_scope(), Some("read:users"));
    assert!(e.to_string().contains("grant read:users"), "{e}");
}

#[test]
fn a_429_waits_for_retry_after_or_the_reset_and_is_counted() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1, 0));
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| match n {
        2 => Some(status(429, "{}", &[("retry-after", "3")])),
        3 => Some(status(
            429,
            "{}",
            &[
                ("x-ratelimit-reset", "1700000010"),
                ("x-ratelimit-remaining", "0"),
            ],
        )),
        _ => None,
    }));
    let clock = FakeClock::at(1_700_000_000_000);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    assert_eq!(c.stats.rate_limited, 2);
    let sleeps = clock.sleeps.borrow().clone();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    assert!((3000..3400).contains(&sleeps[0]), "{sleeps:?}");
    // The reset was 10 s ahead of the clock, minus the first wait.
    assert!((6600..8000).contains(&sleeps[1]), "{sleeps:?}");
}

#[test]
fn endless_429s_stop_with_a_clear_error() {
    let fake = FakeAuth0::with_users(Vec::new());
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| (n > 1).then(|| status(429, "{}", &[]))));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users", any_json)).unwrap_err();
    assert!(matches!(e, Auth0Error::RateLimited { retries: 9 }), "{e:?}");
    assert!(e.to_string().contains("429"));
    assert_eq!(c.stats.requests, 10);
}

#[test]
fn server_errors_and_truncated_bodies_are_retried_with_growing_waits() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(2, 0));
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| match n {
        2 => Some(status(503, "{}", &[])),
        3 => Some(status(200, "{\"users\": [{\"user_", &[])),
        4 => Some(Err(crate::http::TransportError("timeout".into()))),
        _ => None,
    }));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let v: Value = block_on(c.get("/api/v2/users?search_engine=v3&per_page=5", any_json)).unwrap();
    assert_eq!(v["users"].as_array().unwrap().len(), 2);
    let sleeps = clock.sleeps.borrow().clone();
    assert_eq!(sleeps.len(), 3);
    assert!(sleeps[0] < sleeps[1] && sleeps[1] < sleeps[2], "{sleeps:?}");
    assert_eq!(c.stats.retries, 3);
}

#[test]
fn persistent_server_errors_give_up_after_the_attempt_budget() {
    let fake = FakeAuth0::with_users(Vec::new());
    *fake.fault.borrow_mut() = Some(Box::new(|n, _| (n > 1).then(|| status(500, "oops", &[]))));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users", any_json)).unwrap_err();
    assert_eq!(
        e,
        Auth0Error::Unavailable {
            last: "HTTP 500".into(),
            attempts: 5
        }
    );
}

#[test]
fn an_expired_token_is_replaced_once() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1, 0));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    fake.valid_tokens.borrow_mut().clear();
    let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    assert_eq!(fake.count("/oauth/token"), 2);
    // Revoked for good: the fresh token is refused too, and the error says so.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        (!req.url.ends_with("/oauth/token"))
            .then(|| status(401, "{\"message\":\"Invalid token\"}", &[]))
    }));
    let e = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap_err();
    assert!(matches!(e, Auth0Error::TokenRejected { .. }), "{e:?}");
    assert_eq!(fake.count("/oauth/token"), 3);
}

#[test]
fn pacing_waits_for_the_reset_when_the_bucket_is_empty() {
    let h = HttpResponse {
        status: 200,
        headers: vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), "1700000002".into()),
        ],
        body: String::new(),
    };
    let r = RateHeaders::read(&h);
    assert_eq!(pacing_wait(r, 1_700_000_000_500, 60_000), 1500);
    assert_eq!(pacing_wait(r, 1_700_000_003_000, 60_000), 0);
    let some_left = RateHeaders {
        remaining: Some(3),
        ..r
    };
    assert_eq!(pacing_wait(some_left, 0, 60_000), 0);
    assert_eq!(pacing_wait(r, 0, 60_000), 60_000, "capped");
}

#[test]
fn the_client_bucket_spaces_requests_after_the_burst() {
    let mut b = Bucket::new(2.0, 2, 0);
    let waits: Vec<u64> = (0..5).map(|_| b.take(0, 60_000)).collect();
    assert_eq!(waits, [0, 0, 500, 1000, 1500]);
    // A rate of zero would wait forever; the policy's longest wait caps it.
    let mut stuck = Bucket::new(0.0, 1, 0);
    assert_eq!([stuck.take(0, 60_000), stuck.take(0, 60_000)], [0, 60_000]);
}

#[test]
fn scope_is_read_from_auth0s_message() {
    assert_eq!(
        scope_from_message("Insufficient scope, expected any of: read:organization_members"),
        "read:organization_members"
    );
    assert!(scope_from_message("nope").contains("nope"));
}

#[test]
fn downloads_never_carry_the_bearer_token() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3, 0));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    block_on(c.connect()).unwrap();
    let mut body = Vec::new();
    block_on(c.download_gzip_into("https://files.example/job_x.json.gz", &mut body)).unwrap();
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 3);
    assert!(fake.download_auth.borrow().is_empty());
}

#[test]
fn the_request_budget_is_honoured() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1, 0));
    let clock = FakeClock::at(0);
    let cfg = config("test-secret");
    let policy = RetryPolicy {
        max_requests: Some(2),
        ..RetryPolicy::default()
    };
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy);
    let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    assert_eq!(
        block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap_err(),
        Auth0Error::BudgetSpent
    );
}

#[test]
fn a_configured_rate_paces_finer_than_the_whole_second_reset_header() {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(1, 0));
    // Every answer says the bucket is empty until the next whole second.
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        (!req.url.ends_with("/oauth/token")).then(|| {
            status(
                200,
                "{\"users\":[],\"total\":0}",
                &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1700000001"),
                ],
            )
        })
    }));
    let clock = FakeClock::at(1_700_000_000_000);
    let cfg = config("test-secret");
    let policy = RetryPolicy {
        pace: Some((2.0, 2)),
        ..RetryPolicy::default()
    };
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy);
    for _ in 0..4 {
        let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    }
    // Token and first request use the burst; then one every 500 ms, not one per second.
    assert_eq!(*clock.sleeps.borrow(), [500, 500, 500]);
}

mod fuzz;
mod pacing;
