//! Due alerts once per key, the digest's Monday, the retry schedule, and bodies without secrets.

use super::*;
use crate::mau::forecast::forecast;
use crate::time::ms_from_iso;

fn at(date: &str) -> EpochMs {
    ms_from_iso(date).unwrap()
}

fn feb() -> Month {
    Month::parse("2026-02").unwrap()
}

/// A tenant in February 2026 with `so_far` users on the 8th (run-rate ×4) and this quota.
fn tenant(name: &str, so_far: u64, quota: Option<u64>) -> TenantFacts {
    TenantFacts {
        tenant: name.into(),
        month: feb(),
        mau: so_far,
        quota,
        forecast: Some(forecast(
            feb(),
            so_far,
            at("2026-02-08T00:00:00Z"),
            &[],
            quota,
        )),
        failed: None,
    }
}

fn keys(alerts: &[Alert]) -> Vec<String> {
    alerts.iter().map(Alert::key).collect()
}

/// Runs ticks, recording every due key as the store would before sending.
fn tick(now: EpochMs, tenants: &[TenantFacts], recorded: &mut BTreeSet<String>) -> Vec<String> {
    let due = keys(&due(now, tenants, Some(&digest()), recorded));
    recorded.extend(due.iter().cloned());
    due
}

fn digest() -> Digest {
    Digest {
        tenants: vec![DigestTenant {
            tenant: "prod.eu.auth0.com".into(),
            mau_so_far: 70,
            projected: 280,
            method: Method::LinearRunRate,
            quota: Some(300),
        }],
        seats: 1200,
        newly_inactive_seats: 14,
        access_changes: 3,
        examples: vec![ChangeExample {
            user: "ann@corp.com".into(),
            what: "added to Admin app".into(),
        }],
    }
}

#[test]
fn forecast_thresholds_fire_once_per_tenant_month_and_threshold() {
    let now = at("2026-02-08T00:00:00Z");
    let mut recorded = BTreeSet::new();
    // 50 × 4 = 200 of 300: below 80 %.
    assert!(tick(now, &[tenant("a", 50, Some(300))], &mut recorded).is_empty());
    // 60 × 4 = 240 = 80 % exactly.
    assert_eq!(
        tick(now, &[tenant("a", 60, Some(300))], &mut recorded),
        ["forecast:a:2026-02:80"]
    );
    assert!(
        tick(now, &[tenant("a", 61, Some(300))], &mut recorded).is_empty(),
        "once"
    );
    // 75 × 4 = 300: 100 %; another tenant jumps past both at once.
    assert_eq!(
        tick(
            now,
            &[tenant("a", 75, Some(300)), tenant("b", 90, Some(100))],
            &mut recorded
        ),
        [
            "forecast:a:2026-02:100",
            "forecast:b:2026-02:80",
            "forecast:b:2026-02:100"
        ]
    );
    // Without a quota, nothing.
    assert!(tick(now, &[tenant("c", 10_000, None)], &mut recorded).is_empty());
    // Next month, again.
    let mut march = tenant("a", 75, Some(300));
    march.month = feb().next();
    march.forecast = Some(forecast(
        march.month,
        75,
        at("2026-03-08T00:00:00Z"),
        &[],
        Some(300),
    ));
    march.mau = 0;
    assert_eq!(
        tick(at("2026-03-08T00:00:00Z"), &[march], &mut recorded),
        ["forecast:a:2026-03:80", "forecast:a:2026-03:100"]
    );
}

#[test]
fn actual_mau_and_failure_streaks_fire_once() {
    let now = at("2026-02-08T00:00:00Z");
    let mut recorded = BTreeSet::new();
    let mut t = tenant("a", 99, Some(100));
    t.forecast = None;
    assert!(tick(now, std::slice::from_ref(&t), &mut recorded).is_empty());
    t.mau = 100;
    assert_eq!(
        tick(now, std::slice::from_ref(&t), &mut recorded),
        ["over_quota:a:2026-02:100"]
    );
    t.mau = 130;
    assert!(tick(now, std::slice::from_ref(&t), &mut recorded).is_empty());
    t.failed = Some(FailStreak {
        count: 2,
        first_run_id: 41,
    });
    assert!(tick(now, std::slice::from_ref(&t), &mut recorded).is_empty());
    t.failed = Some(FailStreak {
        count: 3,
        first_run_id: 41,
    });
    assert_eq!(
        tick(now, std::slice::from_ref(&t), &mut recorded),
        ["sync_failing:a:41"]
    );
    t.failed = Some(FailStreak {
        count: 4,
        first_run_id: 41,
    });
    assert!(tick(now, std::slice::from_ref(&t), &mut recorded).is_empty());
    t.failed = Some(FailStreak {
        count: 3,
        first_run_id: 57,
    });
    assert_eq!(
        tick(now, std::slice::from_ref(&t), &mut recorded),
        ["sync_failing:a:57"],
        "a new streak"
    );
}

#[test]
fn the_digest_is_due_on_mondays_from_eight_utc_once() {
    // 2026-12-07 is a Monday.
    assert_eq!(digest_day(at("2026-12-07T07:59:59.999Z")), None);
    assert_eq!(
        digest_day(at("2026-12-07T08:00:00.000Z")).as_deref(),
        Some("2026-12-07")
    );
    assert_eq!(
        digest_day(at("2026-12-07T23:59:59.999Z")).as_deref(),
        Some("2026-12-07")
    );
    for day in [
        "2026-12-06",
        "2026-12-08",
        "2026-12-09",
        "2026-12-10",
        "2026-12-11",
        "2026-12-12",
    ] {
        assert_eq!(digest_day(at(&format!("{day}T12:00:00Z"))), None, "{day}");
    }
    let mut recorded = BTreeSet::new();
    assert_eq!(
        tick(at("2026-12-07T08:15:00Z"), &[], &mut recorded),
        ["digest:2026-12-07"]
    );
    assert!(tick(at("2026-12-07T08:30:00Z"), &[], &mut recorded).is_empty());
    assert_eq!(
        tick(at("2026-12-14T09:00:00Z"), &[], &mut recorded),
        ["digest:2026-12-14"]
    );
}

#[test]
fn failed_deliveries_are_retried_on_later_ticks_for_a_day_then_failed() {
    let t0 = at("2026-02-08T00:00:00Z");
    let d = Delivery::new(t0);
    assert_eq!(next_step(&d, t0), Step::Send);
    let d = after_attempt(&d, false, t0);
    assert_eq!((d.state, d.attempts), (State::Pending, 1));
    assert_eq!(next_step(&d, t0 + 60_000), Step::Wait, "not at once again");
    assert_eq!(next_step(&d, t0 + 15 * 60_000), Step::Send, "the next tick");
    let sent = after_attempt(&d, true, t0 + 15 * 60_000);
    assert_eq!(
        (sent.state, next_step(&sent, t0 + DAY_MS * 2)),
        (State::Sent, Step::Wait)
    );
    assert_eq!(next_step(&d, t0 + DAY_MS - 1), Step::Send);
    assert_eq!(next_step(&d, t0 + DAY_MS), Step::GiveUp);
    let late = after_attempt(&d, false, t0 + DAY_MS);
    assert_eq!(late.state, State::Failed);
    assert_eq!(next_step(&late, t0 + DAY_MS * 2), Step::Wait);
}

fn every_alert() -> Vec<Alert> {
    let now = at("2026-12-07T09:00:00Z");
    let month = Month::of_ms(now).unwrap();
    let mut t = tenant("prod.eu.auth0.com", 90, Some(100));
    t.month = month;
    t.forecast = Some(forecast(month, 90, now, &[], Some(100)));
    t.mau = 100;
    t.failed = Some(FailStreak {
        count: 3,
        first_run_id: 7,
    });
    let alerts = due(now, &[t], Some(&digest()), &BTreeSet::new());
    assert_eq!(alerts.len(), 5, "{:?}", keys(&alerts));
    alerts
}

#[test]
fn bodies_are_slack_text_or_structured_json() {
    assert_eq!(Format::parse(None), Format::Slack);
    assert_eq!(Format::parse(Some("slack")), Format::Slack);
    assert_eq!(Format::parse(Some(" JSON ")), Format::Json);
    for alert in every_alert() {
        let slack = body(&alert, Format::Slack, Some("https://licenses.corp.com/"));
        let obj = slack.as_object().unwrap();
        assert_eq!(obj.len(), 1);
        assert!(
            obj["text"]
                .as_str()
                .unwrap()
                .contains("https://licenses.corp.com/")
        );
        let structured = body(&alert, Format::Json, None);
        assert_eq!(structured["key"], alert.key());
        assert!(structured["alert"]["kind"].is_string());
    }
    let text = text(&every_alert()[0], None);
    assert!(
        text.contains("past 80 %") && text.contains("linear run-rate"),
        "{text}"
    );
}

/// Every key in a JSON value, at any depth.
fn field_names(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                field_names(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

#[test]
fn no_body_can_carry_a_secret() {
    // The alert types hold names, counts, months and links only: every field any body can have
    // is in this list, and none is a credential. A field added to a type shows up here.
    let allowed: BTreeSet<&str> = [
        "text",
        "key",
        "alert",
        "kind",
        "tenant",
        "month",
        "threshold_percent",
        "projected",
        "so_far",
        "quota",
        "method",
        "mau",
        "failures",
        "since_run",
        "week_of",
        "tenants",
        "mau_so_far",
        "seats",
        "newly_inactive_seats",
        "access_changes",
        "examples",
        "user",
        "what",
    ]
    .into();
    // Secrets a deployment holds (as `testing::auth0_config` and the viewer token carry them).
    let config = crate::testing::auth0_config("client-secret-value-0123456789");
    let secrets = [
        config.client_secret.expose().to_string(),
        crate::testing::viewer_token("viewer-token-value-0123456789")
            .expose()
            .to_string(),
    ];
    for alert in every_alert() {
        for format in [Format::Slack, Format::Json] {
            let body = body(&alert, format, Some("https://licenses.corp.com"));
            let mut names = BTreeSet::new();
            field_names(&body, &mut names);
            for name in &names {
                assert!(
                    allowed.contains(name.as_str()),
                    "unexpected field `{name}` in {body}"
                );
            }
            let text = body.to_string().to_lowercase();
            for word in ["token", "secret", "password", "authorization", "bearer"] {
                assert!(!text.contains(word), "`{word}` in {text}");
            }
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()));
            }
        }
    }
}
