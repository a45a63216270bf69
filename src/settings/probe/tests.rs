//! The checklist against the fake tenant: all granted, 401, missing scopes, 429.

use super::*;
use crate::auth0::RetryPolicy;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::http::{HttpResponse, TransportError};
use crate::testing::{auth0_config as config, block_on};

const ALL: [&str; 7] = [
    "read:users",
    "read:organizations",
    "read:organization_members",
    "read:clients",
    "read:connections",
    "read:logs",
    "read:stats",
];

/// A tenant with users, one organization with a member, and the given scopes.
fn tenant(scopes: &[&str]) -> FakeAuth0 {
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3, 0));
    *fake.orgs.borrow_mut() = vec![("org_1".into(), vec!["auth0|00000000".into()])];
    *fake.scopes.borrow_mut() = scopes.iter().map(|s| (*s).to_string()).collect();
    fake
}

fn run(fake: &FakeAuth0, secret: &'static str) -> ProbeReport {
    let clock = FakeClock::at(1_700_000_000_000);
    let cfg = config(secret);
    let policy = RetryPolicy {
        max_429_per_request: 2,
        ..RetryPolicy::default()
    };
    let mut c = Auth0Client::new(fake, &clock, &cfg, policy);
    block_on(probe(&mut c))
}

fn row<'a>(r: &'a ProbeReport, scope: &str) -> &'a ScopeCheck {
    r.scopes.iter().find(|s| s.scope == scope).unwrap()
}

fn without(scope: &str) -> Vec<&'static str> {
    ALL.into_iter().filter(|s| *s != scope).collect()
}

#[test]
fn all_granted_passes_with_one_request_per_scope() {
    let fake = tenant(&ALL);
    let r = run(&fake, "test-secret");
    assert!(r.passed && r.token, "{r:?}");
    assert_eq!(r.scopes.len(), 7);
    for s in &r.scopes {
        assert_eq!(s.state, ScopeState::Granted, "{s:?}");
        assert_eq!(s.message, None);
    }
    assert_eq!(fake.count("/oauth/token"), 1);
    // The token and one request per scope, members probed on the listed organization.
    assert_eq!(fake.log.borrow().len(), 8, "{:?}", fake.log.borrow());
    assert_eq!(fake.count("/organizations/org_1/members?take=1"), 1);
    assert_eq!(fake.count("per_page=1"), 3);
    assert!(r.message.starts_with("Connected"));
}

#[test]
fn wrong_secret_gives_the_401_checklist_and_probes_nothing() {
    let fake = tenant(&ALL);
    let r = run(&fake, "wrong");
    assert!(!r.passed && !r.token);
    for must in ["401", "client id", "secret", "https://", "disabled"] {
        assert!(r.message.contains(must), "{must}: {}", r.message);
    }
    assert!(r.scopes.iter().all(|s| s.state == ScopeState::Unknown));
    assert_eq!(fake.log.borrow().len(), 1);
    assert!(r.detail.is_some());
}

#[test]
fn a_missing_required_scope_fails_and_says_where_to_grant_it() {
    let fake = tenant(&without("read:organization_members"));
    let r = run(&fake, "test-secret");
    assert!(!r.passed && r.token);
    let m = row(&r, "read:organization_members");
    assert_eq!(m.state, ScopeState::Missing);
    let msg = m.message.as_deref().unwrap();
    for must in [
        "read:organization_members",
        "Auth0 Management API",
        "Machine to Machine Applications",
        "scopes",
    ] {
        assert!(msg.contains(must), "{must}: {msg}");
    }
    assert!(
        r.message.contains("read:organization_members"),
        "{}",
        r.message
    );
    assert_eq!(row(&r, "read:users").state, ScopeState::Granted);
}

#[test]
fn without_organizations_members_are_judged_from_the_token_scopes() {
    for (scopes, want) in [
        (ALL.to_vec(), ScopeState::Granted),
        (without("read:organization_members"), ScopeState::Missing),
    ] {
        let fake = tenant(&scopes);
        fake.orgs.borrow_mut().clear();
        let r = run(&fake, "test-secret");
        assert_eq!(row(&r, "read:organization_members").state, want);
        assert_eq!(r.passed, want == ScopeState::Granted);
        assert_eq!(fake.count("/members"), 0);
    }
}

#[test]
fn a_missing_optional_scope_still_passes() {
    let fake = tenant(&without("read:logs"));
    let r = run(&fake, "test-secret");
    assert!(r.passed, "{r:?}");
    let l = row(&r, "read:logs");
    assert!(!l.required);
    assert_eq!(l.state, ScopeState::Missing);
    assert!(l.message.as_deref().unwrap().contains("Grant read:logs"));
    assert_eq!(row(&r, "read:stats").state, ScopeState::Granted);
}

fn too_many() -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse {
        status: 429,
        headers: vec![("retry-after".into(), "1".into())],
        body: r#"{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}"#.into(),
    })
}

#[test]
fn rate_limited_scopes_are_unknown_and_say_it_will_retry() {
    // 429 on every users listing: a required scope is unknown, so the tenant does not pass yet.
    let fake = tenant(&ALL);
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/users").then(too_many)
    }));
    let r = run(&fake, "test-secret");
    assert!(!r.passed && r.token);
    let u = row(&r, "read:users");
    assert_eq!(u.state, ScopeState::Unknown);
    assert!(u.message.as_deref().unwrap().contains("it will retry"));
    assert!(r.message.contains("429") && r.message.contains("it will retry"));
    // The client retried before giving up; the other scopes were still probed.
    assert!(fake.count("/api/v2/users") > 1);
    assert_eq!(row(&r, "read:clients").state, ScopeState::Granted);

    // A 429 that clears is retried and counts as granted.
    let fake = tenant(&ALL);
    *fake.fault.borrow_mut() = Some(Box::new(|n, req| {
        (n == 2 && req.url.contains("/api/v2/users")).then(too_many)
    }));
    let r = run(&fake, "test-secret");
    assert!(r.passed, "{r:?}");
}

#[test]
fn a_failed_token_request_on_429_says_it_will_retry() {
    let fake = tenant(&ALL);
    *fake.fault.borrow_mut() = Some(Box::new(|_, _| Some(too_many())));
    let r = run(&fake, "test-secret");
    assert!(!r.passed && !r.token);
    assert!(r.message.contains("it will retry"), "{}", r.message);
}

#[test]
fn json_shape_keeps_auth0_details_out() {
    let fake = tenant(&without("read:stats"));
    *fake.fault.borrow_mut() = Some(Box::new(|_, req| {
        req.url.contains("/api/v2/connections").then(|| {
            Ok(HttpResponse {
                status: 400,
                headers: Vec::new(),
                body: r#"{"statusCode":400,"message":"internal-detail-xyz"}"#.into(),
            })
        })
    }));
    let r = run(&fake, "test-secret");
    let c = row(&r, "read:connections");
    assert_eq!(c.state, ScopeState::Unknown);
    assert!(c.detail.as_deref().unwrap().contains("internal-detail-xyz"));
    let json = serde_json::to_value(&r).unwrap();
    assert!(!json.to_string().contains("internal-detail-xyz"), "{json}");
    assert_eq!(json["passed"], true);
    assert_eq!(json["token"], true);
    assert_eq!(json["scopes"][6]["scope"], "read:stats");
    assert_eq!(json["scopes"][6]["state"], "missing");
    assert_eq!(json["scopes"][6]["required"], false);
    assert_eq!(json["scopes"][0]["state"], "granted");
    assert!(json["scopes"][0].get("detail").is_none());
}
