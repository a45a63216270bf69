//! The JSON shapes, field for field as issue 22 writes them.

use serde_json::json;

use super::*;
use crate::mau::coverage::{LogFacts, coverage};
use crate::mau::forecast::forecast;
use crate::mau::ledger::{ActivityEvent, Ledger, fold, summarize};
use crate::time::ms_from_iso;

struct Known;

impl Names for Known {
    fn application(&self, client_id: &str) -> Option<String> {
        (client_id == "web").then(|| "Web".to_string())
    }
    fn organization(&self, _: &str) -> Option<String> {
        None
    }
}

fn ledger() -> Ledger {
    let e = |id: &str, user: &str, client: &str, org: Option<&str>| ActivityEvent {
        log_id: Some(id.into()),
        kind: Some("s".into()),
        date: Some(format!("2026-02-0{id}T10:00:00Z")),
        user_id: Some(user.into()),
        email: Some(format!("{user}@corp.com")),
        client_id: Some(client.into()),
        connection: Some("db".into()),
        organization_id: org.map(str::to_string),
    };
    let mut l = Ledger::default();
    l.apply(&fold(&[
        e("1", "a", "web", Some("org_1")),
        e("2", "b", "web", None),
        e("3", "a", "cli", None),
    ]));
    l
}

#[test]
fn api_mau_has_the_issues_fields() {
    let l = ledger();
    let feb = Month::parse("2026-02").unwrap();
    let now = ms_from_iso("2026-02-08T00:00:00Z").unwrap();
    let facts = LogFacts {
        tracking_since: Some("2026-01-01T00:00:00Z".into()),
        since_tenant_start: false,
        followed_to: Some("2026-02-07T23:45:00Z".into()),
        gaps: vec![],
    };
    let response = MauResponse {
        months: vec![month_json(
            "t",
            &summarize(feb, l.rows()),
            &coverage(feb, &facts, now),
            0,
            &Known,
        )],
        forecast: Some(ForecastJson::new(
            "t",
            &forecast(feb, 2, now, &[], Some(10)),
        )),
        three_month_average: None,
        auth0_stats: Some(Auth0Stats {
            active_users_30d: None,
            ledger_active_30d: 2,
            checked_at: None,
        }),
    };
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({
            "months": [{
                "tenant": "t", "month": "2026-02", "mau": 2, "exact": true,
                "counted_from": "2026-02-01T00:00:00.000Z", "counted_to": "2026-02-07T23:45:00.000Z", "reason": null,
                "test_accounts": 0,
                "by_application": [{"client_id": "web", "name": "Web", "mau": 2}, {"client_id": "cli", "name": null, "mau": 1}],
                "by_connection": [{"connection": "db", "mau": 2}],
                "by_organization": [{"org_id": "org_1", "name": null, "mau": 1}]
            }],
            "forecast": {"tenant": "t", "month": "2026-02", "so_far": 2, "projected": 8, "quota": 10, "ratio": 0.8, "method": "linear_run_rate"},
            "three_month_average": null,
            "auth0_stats": {"active_users_30d": null, "ledger_active_30d": 2, "checked_at": null}
        })
    );
}

#[test]
fn api_mau_users_has_the_issues_fields() {
    let l = ledger();
    let page = UsersResponse {
        users: l.rows().take(1).map(|r| UserJson::new("t", r)).collect(),
        next_cursor: Some("a".into()),
    };
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        json!({"users": [{
            "tenant": "t", "user_id": "a", "email": "a@corp.com",
            "first_active": "2026-02-01T10:00:00.000Z", "last_active": "2026-02-03T10:00:00.000Z",
            "events": 2, "applications": ["cli", "web"]
        }], "next_cursor": "a"})
    );
}
