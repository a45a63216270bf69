//! `read:stats` against the fake tenant: with the scope, without it (a typed "not enabled"),
//! and junk answers (typed errors, never a panic).

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};

use super::*;
use crate::auth0::RetryPolicy;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::http::{HttpResponse, TransportError};
use crate::testing::{Rng, auth0_config as config, block_on};

/// 2026-11-03T00:00:00Z.
const NOV3: EpochMs = 1_793_664_000_000;
const DAY: EpochMs = 86_400_000;

fn tenant(scope: bool) -> FakeAuth0 {
    let fake = FakeAuth0::with_users(Vec::new());
    if scope {
        fake.scopes.borrow_mut().push(SCOPE.into());
    }
    fake.active_users.set(1234);
    *fake.daily_stats.borrow_mut() = (1..=5)
        .map(|d| {
            json!({"date": format!("2026-11-0{d}T00:00:00.000Z"), "logins": d * 10,
                   "signups": d, "leaked_passwords": 0, "updated_at": "2026-11-06T00:00:00.000Z"})
        })
        .collect();
    fake
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    }
}

#[test]
fn days_are_written_as_auth0_wants_them() {
    assert_eq!(day(NOV3), "20261103");
    assert_eq!(
        daily_path(NOV3, NOV3 + 2 * DAY - 1),
        "/api/v2/stats/daily?from=20261103&to=20261104"
    );
}

#[test]
fn with_the_scope_both_figures_are_read() {
    let fake = tenant(true);
    let clock = FakeClock::at(NOV3);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    assert_eq!(block_on(active_users(&mut c)), Ok(1234));
    let days = block_on(daily(&mut c, NOV3 - DAY, NOV3 + DAY)).unwrap();
    assert_eq!(
        days.iter()
            .map(|d| (&d.date[..10], d.logins, d.signups))
            .collect::<Vec<_>>(),
        vec![
            ("2026-11-02", Some(20), Some(2)),
            ("2026-11-03", Some(30), Some(3)),
            ("2026-11-04", Some(40), Some(4)),
        ]
    );
    assert_eq!(days[0].leaked_passwords, Some(0));
}

#[test]
fn without_the_scope_it_is_not_enabled() {
    let fake = tenant(false);
    let clock = FakeClock::at(NOV3);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
    let e = block_on(active_users(&mut c)).unwrap_err();
    assert_eq!(e, StatsError::NotEnabled);
    assert_eq!(e.to_string(), "not enabled: grant read:stats");
    assert_eq!(
        block_on(daily(&mut c, NOV3, NOV3)).unwrap_err(),
        StatsError::NotEnabled
    );
    // Another scope missing is not this one.
    assert!(matches!(
        StatsError::from(Auth0Error::MissingScope {
            scope: "read:logs".into()
        }),
        StatsError::Auth0(_)
    ));
}

#[test]
fn counts_are_read_leniently() {
    for (v, want) in [
        (json!(7), Some(7)),
        (json!(7.0), Some(7)),
        (json!(7.5), None),
        (json!(-1), None),
        (json!("7"), None),
        (json!(1e300), None),
        (Value::Null, None),
    ] {
        assert_eq!(read_active(&v).ok(), want, "{v}");
    }
    let days = read_daily(&json!([
        {"date": "2026-11-01", "logins": "3", "signups": -1},
        {"logins": 3},
        5,
        {"date": 7}
    ]))
    .unwrap();
    assert_eq!(
        days,
        vec![DailyStats {
            date: "2026-11-01".into(),
            ..DailyStats::default()
        }]
    );
}

#[test]
fn junk_answers_end_in_figures_or_typed_errors() {
    for seed in 0..300u64 {
        let mut rng = Rng::new(seed);
        let fake = tenant(true);
        let status = *rng.pick(&[200u16, 200, 200, 400, 403, 404, 429, 500]);
        let body = match rng.below(5) {
            0 => {
                let n = rng.below(40);
                String::from_utf8_lossy(&rng.bytes(n)).to_string()
            }
            1 => json!({"statusCode": status, "errorCode": "insufficient_scope",
                        "message": "Insufficient scope, expected any of: read:stats"})
            .to_string(),
            2 => json!(rng.next_u64() as f64 * -1.5).to_string(),
            3 => json!([{"date": rng.next_u64(), "logins": {"a": 1}}, null, "x"]).to_string(),
            _ => json!({"date": "2026-11-01", "logins": 3}).to_string(),
        };
        *fake.fault.borrow_mut() = Some(Box::new(move |_, req| {
            req.url
                .contains("/api/v2/stats/")
                .then(|| -> Result<HttpResponse, TransportError> {
                    Ok(HttpResponse {
                        status,
                        headers: vec![("retry-after".into(), "0".into())],
                        body: body.clone(),
                    })
                })
        }));
        let clock = FakeClock::at(NOV3);
        let cfg = config("test-secret");
        let run = catch_unwind(AssertUnwindSafe(|| {
            let mut c = Auth0Client::new(&fake, &clock, &cfg, policy());
            let a = block_on(active_users(&mut c));
            let d = block_on(daily(&mut c, NOV3, NOV3));
            (a, d)
        }));
        let (a, d) = run.unwrap_or_else(|_| panic!("seed {seed} panicked"));
        if status != 200 {
            assert!(a.is_err() && d.is_err(), "seed {seed}: {a:?} {d:?}");
        }
    }
}
