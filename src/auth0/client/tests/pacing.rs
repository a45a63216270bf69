//! Pacing from Auth0's rate headers alone, against a deterministic token-bucket tenant.

use super::super::*;
use crate::clock::fake::FakeClock;
use crate::http::TransportError;
use crate::testing::{auth0_config as config, block_on};
use serde_json::Value;
use std::cell::{Cell, RefCell};

/// A tenant whose every request costs one token from a bucket refilled continuously, answering
/// with Auth0's headers: `remaining` the whole tokens left, `reset` the epoch second (rounded up)
/// at which the next whole token is there. An empty bucket answers 429. The bucket is charged on
/// arrival, and the answer comes `latency_ms` later on the clock.
struct BucketTenant<'c> {
    clock: &'c FakeClock,
    latency_ms: u64,
    per_s: f64,
    burst: f64,
    /// Tokens and when they were counted.
    state: RefCell<(f64, EpochMs)>,
    served: Cell<u32>,
    refused: Cell<u32>,
}

impl<'c> BucketTenant<'c> {
    fn new(clock: &'c FakeClock, per_s: f64, burst: u32, latency_ms: u64) -> Self {
        Self {
            clock,
            latency_ms,
            per_s,
            burst: f64::from(burst),
            state: RefCell::new((f64::from(burst), clock.now_ms())),
            served: Cell::new(0),
            refused: Cell::new(0),
        }
    }
}

impl HttpClient for BucketTenant<'_> {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let now = self.clock.now_ms();
        let mut st = self.state.borrow_mut();
        let (tokens, at) = *st;
        let mut tokens = (tokens + (now - at) as f64 / 1000.0 * self.per_s).min(self.burst);
        let ok = tokens >= 1.0;
        if ok {
            tokens -= 1.0;
        }
        *st = (tokens, now);
        let whole = tokens.floor();
        let next_ms = ((whole + 1.0 - tokens) / self.per_s * 1000.0).ceil() as u64;
        let headers = vec![
            ("x-ratelimit-limit".into(), format!("{}", self.burst)),
            ("x-ratelimit-remaining".into(), format!("{whole}")),
            (
                "x-ratelimit-reset".into(),
                format!("{}", (now + next_ms).div_ceil(1000)),
            ),
        ];
        let body = if !ok {
            self.refused.set(self.refused.get() + 1);
            "{}".to_string()
        } else if req.url.ends_with("/oauth/token") {
            r#"{"access_token":"t","expires_in":86400,"scope":"read:users"}"#.to_string()
        } else {
            self.served.set(self.served.get() + 1);
            "{}".to_string()
        };
        self.clock.advance(self.latency_ms);
        Ok(HttpResponse {
            status: if ok { 200 } else { 429 },
            headers,
            body,
        })
    }
}

/// Runs `n` API requests (and the token's) against a `per_s`/`burst` bucket with no configured
/// rate, each answer taking `latency_ms` and the caller working `work_ms` after each; returns the
/// virtual time taken over the bound (requests ÷ rate), and the 429s.
fn run(n: u32, per_s: f64, burst: u32, latency_ms: u64, work_ms: u64) -> (f64, u32) {
    // Off the whole second, as a real run is.
    const START: EpochMs = 1_700_000_000_437;
    let clock = FakeClock::at(START);
    let tenant = BucketTenant::new(&clock, per_s, burst, latency_ms);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&tenant, &clock, &cfg, RetryPolicy::default());
    for _ in 0..n {
        let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
        clock.advance(work_ms);
    }
    assert_eq!(tenant.served.get(), n);
    // The burst is free; the rest comes at the refill rate.
    let bound = (f64::from(n + 1) - f64::from(burst)).max(1.0) / per_s * 1000.0;
    let took = (clock.now_ms() - START) as f64;
    (took / bound, tenant.refused.get())
}

#[test]
fn headers_alone_pace_close_to_the_limit_without_429s() {
    let buckets = [
        (2.0, 2),
        (10.0, 10),
        (16.0, 50),
        (50.0, 16),
        (2.0, 10),
        (0.5, 1),
    ];
    // (latency, work): none; a fast tenant with a little work per page; a slow one.
    for (latency_ms, work_ms) in [(0, 0), (12, 3), (80, 40), (230, 20), (310, 90)] {
        for (per_s, burst) in buckets {
            // A tenant slower than its own limit cannot be paced to it: skip those.
            if (latency_ms + work_ms) as f64 * per_s >= 1000.0 {
                continue;
            }
            let (ratio, refused) = run(300, per_s, burst, latency_ms, work_ms);
            println!(
                "{per_s} rps / burst {burst}, {latency_ms}+{work_ms} ms: {ratio:.3}× the bound, \
                 {refused} 429s"
            );
            assert_eq!(refused, 0, "{per_s}/{burst}");
            assert!(ratio <= 1.15, "{per_s}/{burst}: {ratio:.3}× the bound");
        }
    }
}

fn headers(limit: Option<u64>, remaining: Option<u64>, reset_s: Option<u64>) -> RateHeaders {
    RateHeaders {
        limit,
        remaining,
        reset_at: reset_s.map(|s| s.saturating_mul(1000)),
    }
}

#[test]
fn the_rate_is_a_lower_bound_learnt_from_successive_answers() {
    let t0 = 1_700_000_000_000;
    let e = RateEstimate::default().observe(headers(Some(10), Some(9), Some(1_700_000_001)), t0);
    assert_eq!(e.per_second(), None, "one answer tells nothing");
    // Ten answers over 2 s, the bucket still at 8 after them: 10 + 8 − 9 − 1 = 8 tokens refilled
    // at least, over 2 s plus the slack.
    let mut e = e;
    for i in 1..=10 {
        e = e.observe(headers(Some(10), Some(8), None), t0 + i * 200);
    }
    let r = e.per_second().unwrap();
    assert!((3.9..=4.0).contains(&r), "{r}");
    // An empty bucket waits for one token at that rate from the last answer, unless the reset
    // comes first; with tokens left it does not wait.
    let empty = headers(Some(10), Some(0), Some(1_700_000_003));
    let now = t0 + 2000;
    assert!(
        (250..=260).contains(&e.wait(empty, now, 60_000)),
        "{}",
        e.wait(empty, now, 60_000)
    );
    let soon = headers(Some(10), Some(0), None);
    assert_eq!(
        e.wait(
            RateHeaders {
                reset_at: Some(now + 100),
                ..soon
            },
            now,
            60_000
        ),
        100
    );
    assert_eq!(e.wait(headers(Some(10), Some(1), None), now, 60_000), 0);
    // A worse window never lowers the best bound.
    let later = e.observe(headers(Some(10), Some(0), None), t0 + 60_000);
    assert_eq!(later.per_second(), e.per_second());
}

#[test]
fn junk_headers_fall_back_safely() {
    let t0 = 1_700_000_000_000;
    let junk = [
        headers(Some(0), Some(0), Some(1_700_000_001)),
        headers(Some(2), Some(u64::MAX), Some(u64::MAX)),
        headers(Some(u64::MAX), Some(0), Some(0)),
        headers(None, Some(0), Some(u64::MAX / 1000)),
        headers(Some(5), Some(0), Some(1_600_000_000)),
        headers(None, None, None),
    ];
    let mut e = RateEstimate::default();
    for (i, h) in junk.iter().cycle().take(60).enumerate() {
        let now = t0 + i as u64 * 7;
        e = e.observe(*h, now);
        if let Some(r) = e.per_second() {
            assert!(r.is_finite() && r > 0.0 && r <= 10_000.0, "{r}");
        }
        for h2 in junk {
            // Never forever, never beyond the cap.
            assert!(e.wait(h2, now, 60_000) <= 60_000);
        }
    }
    // A clock that goes back, and answers at the same instant: no division by zero.
    let e = RateEstimate::default()
        .observe(headers(Some(2), Some(1), None), t0)
        .observe(headers(Some(2), Some(0), None), t0 - 5000)
        .observe(headers(Some(2), Some(0), None), t0 - 5000);
    assert!(e.per_second().is_none_or(|r| r.is_finite()));
    // A reset far ahead and no rate learnt: the longest wait, not forever.
    let far = headers(Some(2), Some(0), Some(u64::MAX));
    assert_eq!(RateEstimate::default().wait(far, t0, 60_000), 60_000);
    // A reset in the past and no rate learnt: nothing to wait for (a 429 would back off).
    let past = headers(Some(2), Some(0), Some(1_600_000_000));
    assert_eq!(RateEstimate::default().wait(past, t0, 60_000), 0);
}

#[test]
fn a_429_still_backs_off_and_forgets_the_learnt_rate() {
    const START: EpochMs = 1_700_000_000_437;
    let clock = FakeClock::at(START);
    // Learn a rate at 10 rps, then the tenant drops to 2 rps under the client's feet.
    let tenant = BucketTenant::new(&clock, 10.0, 10, 0);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&tenant, &clock, &cfg, RetryPolicy::default());
    for _ in 0..60 {
        let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    }
    assert!(c.estimate.per_second().is_some_and(|r| r > 8.0));
    let slow = BucketTenant::new(&clock, 2.0, 2, 0);
    *slow.state.borrow_mut() = (0.0, clock.now_ms());
    c.http = &slow;
    for _ in 0..40 {
        let _: Value = block_on(c.get("/api/v2/users?search_engine=v3", any_json)).unwrap();
    }
    assert!(slow.refused.get() >= 1, "the first request meets a 429");
    assert_eq!(c.stats.rate_limited, slow.refused.get());
    assert!(
        slow.refused.get() <= 3,
        "then the rate is learnt again: {}",
        slow.refused.get()
    );
}

#[test]
fn answers_from_another_bucket_teach_nothing() {
    let t0 = 1_700_000_000_000;
    // The token endpoint's bucket (limit 30, nearly empty), then the API's (limit 50, full): no
    // rate of 40 tokens in 100 ms.
    let e = RateEstimate::default()
        .observe(headers(Some(30), Some(2), None), t0)
        .observe(headers(Some(50), Some(42), None), t0 + 100)
        .observe(headers(Some(50), Some(41), None), t0 + 150);
    assert_eq!(e.per_second(), None);
}
