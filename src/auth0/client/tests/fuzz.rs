//! Auth0 answering garbage: junk bodies, missing fields, wrong types, huge numbers and junk
//! headers end in typed errors or parsed pages, never a panic or an endless wait.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};

use super::super::*;
use crate::auth0::applications::{
    Auth0Application, Auth0Connection, ClientsPage, ConnectionClientsPage, ConnectionsPage,
    OrgConnectionsPage,
};
use crate::auth0::types::{
    ApiErrorBody, Auth0Member, Auth0Organization, Auth0User, ExportJob, Identity, MembersPage,
    OAuthError, OrganizationsPage, TokenResponse, UsersPage,
};
use crate::clock::fake::FakeClock;
use crate::http::TransportError;
use crate::testing::{Rng, auth0_config as config, block_on};

const NOW: EpochMs = 1_700_000_000_000;

/// Header values a broken proxy or a confused server could send.
const JUNK_NUMBERS: &[&str] = &[
    "",
    " ",
    "0",
    "3",
    " 7 ",
    "2.5",
    "-1",
    "-0",
    "+3",
    "1e9",
    "1e400",
    "inf",
    "NaN",
    ".",
    "1.2.3",
    "abc",
    "٣",
    "\u{0}",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "1700000010",
    "4102444800",
];

const JUNK_STRINGS: &[&str] = &[
    "",
    "auth0|1",
    "sms|+15550100",
    "<script>",
    "\u{0}",
    "\u{FFFD}",
    "é",
    "2023-01-25T17:48:14.784Z",
    "2023-13-45T99:99:99.999Z",
    "true",
    "false",
    "12",
    "-1",
    "Insufficient scope, expected any of: read:users",
    "expected any of:",
];

fn junk_number(rng: &mut Rng) -> Value {
    let n: Value = match rng.below(10) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(1.5),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(f64::MAX),
        6 => json!(1e-300),
        // Larger than u64: serde_json reads it as a float.
        7 => serde_json::from_str("123456789012345678901234567890").unwrap_or(Value::Null),
        _ => json!(rng.next_u64() % 10_000),
    };
    n
}

fn junk_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 2 { 4 } else { 6 }) {
        0 => Value::Null,
        1 => json!(rng.one_in(2)),
        2 => junk_number(rng),
        3 => json!(*rng.pick(JUNK_STRINGS)),
        4 => Value::Array(
            (0..rng.below(3))
                .map(|_| junk_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(3) {
                m.insert(
                    (*rng.pick(&["id", "users", "x", "next"])).into(),
                    junk_value(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

/// A field that is absent, right, or of any type.
fn field(rng: &mut Rng, obj: &mut serde_json::Map<String, Value>, name: &str, good: Value) {
    match rng.below(4) {
        0 => {}
        1 => {
            obj.insert(name.into(), junk_value(rng, 0));
        }
        _ => {
            obj.insert(name.into(), good);
        }
    }
}

fn junk_user(rng: &mut Rng, i: usize) -> Value {
    let mut u = serde_json::Map::new();
    field(rng, &mut u, "user_id", json!(format!("auth0|{i}")));
    field(rng, &mut u, "email", json!("a@x.io"));
    field(rng, &mut u, "email_verified", json!(true));
    field(rng, &mut u, "name", json!("Ann"));
    field(rng, &mut u, "created_at", json!("2023-01-25T17:48:14.784Z"));
    field(
        rng,
        &mut u,
        "updated_at",
        json!({"$date": "2023-01-25T17:48:14.784Z"}),
    );
    field(rng, &mut u, "last_login", json!("2024-01-25T17:48:14.784Z"));
    field(rng, &mut u, "logins_count", json!(3));
    field(rng, &mut u, "blocked", json!(false));
    field(
        rng,
        &mut u,
        "identities",
        json!([{"connection": "google-oauth2"}]),
    );
    Value::Object(u)
}

/// A body: well-formed pages with junk inside, or text that is not what was asked for at all.
fn junk_body(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => String::new(),
        1 => {
            let len = rng.below(64);
            String::from_utf8_lossy(&rng.bytes(len)).into_owned()
        }
        2 => "[".repeat(10_000),
        3 => "{\"users\": [{\"user_".into(),
        4 => junk_value(rng, 0).to_string(),
        5 => json!({"access_token": junk_value(rng, 1), "expires_in": junk_value(rng, 1),
                    "scope": junk_value(rng, 1)})
        .to_string(),
        6 => json!({"access_token": "t", "expires_in": junk_number(rng), "scope": "read:users"})
            .to_string(),
        7 => json!({"errorCode": junk_value(rng, 1), "message": junk_value(rng, 1),
                    "error": junk_value(rng, 1), "error_description": junk_value(rng, 1)})
        .to_string(),
        8 => json!({"organizations": junk_value(rng, 1), "members": junk_value(rng, 1),
                    "next": junk_value(rng, 1)})
        .to_string(),
        9 => json!({"id": junk_value(rng, 1), "status": junk_value(rng, 1),
                    "location": junk_value(rng, 1)})
        .to_string(),
        _ => {
            let users: Vec<Value> = (0..rng.below(4)).map(|i| junk_user(rng, i)).collect();
            let mut page = json!({"users": users});
            let total = junk_number(rng);
            field(rng, page.as_object_mut().unwrap(), "total", total);
            page.to_string()
        }
    }
}

/// Answers every request with something random; a fixed share are valid tokens, so the junk
/// reaches the API calls too.
struct JunkAuth0 {
    rng: RefCell<Rng>,
}

impl HttpClient for JunkAuth0 {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut rng = self.rng.borrow_mut();
        if rng.one_in(12) {
            return Err(TransportError("timeout".into()));
        }
        let mut headers = Vec::new();
        for name in [
            "retry-after",
            "x-ratelimit-reset",
            "x-ratelimit-remaining",
            "x-ratelimit-limit",
        ] {
            if rng.one_in(3) {
                headers.push((name.to_string(), (*rng.pick(JUNK_NUMBERS)).to_string()));
            }
        }
        let token = req.url.ends_with("/oauth/token");
        if token && rng.one_in(2) {
            let body = json!({"access_token": "t", "expires_in": 86400, "scope": "read:users"});
            return Ok(HttpResponse {
                status: 200,
                headers,
                body: body.to_string(),
            });
        }
        let status = *rng.pick(&[
            200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 429, 429, 500, 503, 0, 999,
        ]);
        Ok(HttpResponse {
            status,
            headers,
            body: junk_body(&mut rng),
        })
    }
}

/// One case: a fresh client against a junk tenant makes one call, of a kind picked by the seed.
/// Returns how it ended: `ok` or the error's kind.
fn run_case(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let call = rng.below(7);
    let http = JunkAuth0 {
        rng: RefCell::new(Rng::new(seed ^ 0x5EED)),
    };
    let clock = FakeClock::at(NOW);
    let cfg = config("test-secret");
    let policy = RetryPolicy {
        pace: rng.one_in(3).then_some((2.0, 2)),
        ..RetryPolicy::default()
    };
    let max_wait = policy.max_wait_ms;
    let mut c = Auth0Client::new(&http, &clock, &cfg, policy);
    let outcome: Result<(), Auth0Error> = block_on(async {
        match call {
            0 => c.connect().await.map(|_| ()),
            1 => c
                .get("/api/v2/users?page=0", UsersPage::from_value)
                .await
                .map(|_| ()),
            2 => c
                .get("/api/v2/organizations", OrganizationsPage::from_value)
                .await
                .map(|_| ()),
            3 => c
                .get("/api/v2/organizations/o/members", MembersPage::from_value)
                .await
                .map(|_| ()),
            4 => c
                .post(
                    "/api/v2/jobs/users-exports",
                    &json!({}),
                    ExportJob::from_value,
                )
                .await
                .map(|_| ()),
            5 => {
                let mut body: Vec<u8> = Vec::new();
                c.download_gzip_into("https://files.example/x.gz", &mut body)
                    .await
            }
            _ => {
                // Several calls on one client: token reuse and renewal under junk.
                for _ in 0..3 {
                    c.get("/api/v2/users", any_json).await?;
                }
                Ok(())
            }
        }
    });
    let sleeps = clock.sleeps.borrow();
    assert!(sleeps.iter().all(|&w| w <= max_wait), "{sleeps:?}");
    // 5 attempts and 8 429s per request, a token and one fresh token, with room to spare.
    assert!(c.stats.requests <= 60, "{:?}", c.stats);
    match outcome {
        Ok(()) => "ok".into(),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            let kind = format!("{e:?}");
            kind.split([' ', '{', '(']).next().unwrap_or("").to_string()
        }
    }
}

#[test]
fn thousands_of_junk_answers_end_in_typed_results_without_a_panic() {
    const CASES: u64 = 3000;
    let mut failed = Vec::new();
    for seed in 0..CASES {
        if catch_unwind(AssertUnwindSafe(|| run_case(seed))).is_err() {
            failed.push(seed);
        }
    }
    assert!(
        failed.is_empty(),
        "cases that panicked (replay with run_case(seed)): {failed:?}"
    );
}

#[test]
fn users_of_any_shape_parse_or_fail_as_a_whole_without_a_panic() {
    let mut rng = Rng::new(9);
    let mut parsed = 0;
    for i in 0..5000 {
        let user = junk_user(&mut rng, i);
        if let Ok(u) = Auth0User::from_value(&user) {
            parsed += 1;
            assert!(u.logins_count.is_none_or(|n| n >= 0), "{user}");
        }
    }
    // Only a missing or non-text user_id, or a date of the wrong type, refuses a user.
    assert!(parsed > 500, "{parsed}");
}

#[test]
fn loosely_typed_user_fields_are_read_not_refused() {
    let u = Auth0User::from_value(&json!({
        "user_id": "samlp|acme|1",
        "email_verified": "true",
        "blocked": "false",
        "logins_count": "12",
    }))
    .unwrap();
    assert_eq!(
        (u.email_verified, u.blocked, u.logins_count),
        (Some(true), Some(false), Some(12))
    );
    let u = Auth0User::from_value(&json!({
        "user_id": "auth0|2",
        "email_verified": {"x": 1},
        "blocked": 1,
        "logins_count": 1e300,
    }))
    .unwrap();
    assert_eq!(
        (u.email_verified, u.blocked, u.logins_count),
        (None, Some(true), Some(i64::MAX))
    );
    let u = Auth0User::from_value(&json!({"user_id": "a", "logins_count": -5, "blocked": null}))
        .unwrap();
    assert_eq!((u.logins_count, u.blocked), (Some(0), None));
    assert!(Auth0User::from_value(&json!({"user_id": 5})).is_err());
}

#[test]
fn header_numbers_saturate_and_refuse_what_is_not_a_number() {
    for (raw, want) in [
        ("3", Some(3)),
        (" 7 ", Some(7)),
        ("2.5", Some(3)),
        ("0", Some(0)),
        ("18446744073709551615", Some(u64::MAX)),
        ("99999999999999999999999999999999", Some(u64::MAX)),
        ("-1", None),
        ("-0", None),
        ("+3", None),
        ("1e9", None),
        ("inf", None),
        ("NaN", None),
        ("", None),
        (".", None),
        ("1.2.3", None),
        ("٣", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ] {
        assert_eq!(header_number(raw), want, "{raw:?}");
    }
}

#[test]
fn token_lifetimes_are_clamped() {
    let day = 86_400_000;
    for (expires_in, want) in [
        (None, day),
        (Some(3600.0), 3_600_000),
        (Some(3600.9), 3_600_000),
        (Some(0.0), 120_000),
        (Some(-5.0), 120_000),
        (Some(f64::NAN), day),
        (Some(f64::INFINITY), day),
        (Some(1e300), 30 * day),
    ] {
        assert_eq!(token_lifetime_ms(expires_in), want, "{expires_in:?}");
    }
}

fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        body: body.into(),
    }
}

/// Plays a fixed list of answers, then repeats the last.
struct Script(RefCell<Vec<HttpResponse>>);

impl HttpClient for Script {
    async fn send(&self, _: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut answers = self.0.borrow_mut();
        let next = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        };
        Ok(next)
    }
}

const TOKEN: &str = r#"{"access_token":"t","expires_in":86400,"scope":"read:users"}"#;

#[test]
fn a_huge_retry_after_waits_the_longest_wait_and_counts_as_a_retry() {
    let http = Script(RefCell::new(vec![
        answer(200, TOKEN, &[]),
        answer(429, "{}", &[("retry-after", "99999999999999999999999")]),
        answer(
            429,
            "{}",
            &[
                ("x-ratelimit-reset", "18446744073709551615"),
                ("x-ratelimit-remaining", "0"),
            ],
        ),
        answer(200, "[]", &[]),
    ]));
    let clock = FakeClock::at(NOW);
    let cfg = config("s");
    let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
    let _: Value = block_on(c.get("/api/v2/users", any_json)).unwrap();
    assert_eq!(*clock.sleeps.borrow(), [60_000, 60_000]);
    assert_eq!((c.stats.rate_limited, c.stats.retries), (2, 2));
    // Forever-429s with a huge Retry-After stop at the 429 budget, after bounded waits.
    let http = Script(RefCell::new(vec![
        answer(200, TOKEN, &[]),
        answer(429, "{}", &[("retry-after", "4102444800")]),
    ]));
    let clock = FakeClock::at(NOW);
    let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users", any_json)).unwrap_err();
    assert_eq!(e, Auth0Error::RateLimited { retries: 9 });
    assert_eq!(clock.sleeps.borrow().iter().sum::<u64>(), 8 * 60_000);
}

#[test]
fn odd_token_lifetimes_neither_overflow_nor_refetch_per_request() {
    for expires_in in [
        "-5",
        "0",
        "0.5",
        "\"7200\"",
        "1e308",
        "18446744073709551616",
        "null",
        "[1]",
        "\"x\"",
    ] {
        let body = format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#);
        let http = Script(RefCell::new(vec![
            answer(200, &body, &[]),
            answer(200, "{}", &[]),
        ]));
        let clock = FakeClock::at(NOW);
        let cfg = config("s");
        let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
        for _ in 0..3 {
            let _: Value = block_on(c.get("/api/v2/users", any_json)).unwrap();
        }
        // One token, three calls: the token is not fetched again for each.
        assert_eq!(c.stats.requests, 4, "{expires_in}");
    }
}

#[test]
fn error_bodies_of_the_wrong_shape_still_give_typed_errors() {
    let cfg = config("s");
    let run = |answers: Vec<HttpResponse>| {
        let http = Script(RefCell::new(answers));
        let clock = FakeClock::at(NOW);
        let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
        block_on(c.get("/api/v2/users", any_json)).unwrap_err()
    };
    assert_eq!(
        run(vec![answer(401, "<html>", &[])]),
        Auth0Error::InvalidCredentials {
            code: "access_denied".into()
        }
    );
    assert!(matches!(
        run(vec![answer(403, r#"{"error": 5}"#, &[])]),
        Auth0Error::NotAuthorizedForApi { .. }
    ));
    let e = run(vec![
        answer(200, TOKEN, &[]),
        answer(403, r#"{"errorCode": [1], "message": {}}"#, &[]),
    ]);
    assert!(matches!(e, Auth0Error::Forbidden { .. }), "{e:?}");
    assert!(!e.to_string().ends_with(": "), "{e}");
    let e = run(vec![
        answer(200, TOKEN, &[]),
        answer(200, "{\"users\": [", &[]),
    ]);
    assert!(
        matches!(e, Auth0Error::Unavailable { attempts: 5, .. }),
        "{e:?}"
    );
    let e = run(vec![
        answer(200, TOKEN, &[]),
        answer(418, "\u{0}\u{FFFD}", &[]),
    ]);
    assert!(
        matches!(e, Auth0Error::Rejected { status: 418, .. }),
        "{e:?}"
    );
}

/// Every reader of an Auth0 answer, on one parsed body: whether each took it.
fn read_all(v: &Value) -> [bool; 15] {
    [
        UsersPage::from_value(v).is_ok(),
        Auth0User::from_value(v).is_ok(),
        Identity::from_value(v).is_ok(),
        TokenResponse::from_value(v).is_ok(),
        Auth0Organization::from_value(v).is_ok(),
        OrganizationsPage::from_value(v).is_ok(),
        Auth0Member::from_value(v).is_ok(),
        MembersPage::from_value(v).is_ok(),
        ExportJob::from_value(v).is_ok(),
        Auth0Application::from_value(v).is_ok(),
        Auth0Connection::from_value(v).is_ok(),
        ClientsPage::from_value(v).is_ok(),
        ConnectionsPage::from_value(v).is_ok(),
        ConnectionClientsPage::from_value(v).is_ok(),
        OrgConnectionsPage::from_value(v).is_ok(),
    ]
}

/// Good bodies of every kind, to be cut short and mangled.
fn good_bodies() -> Vec<String> {
    [
        json!({"users": [{"user_id": "auth0|1", "email": "a@x.io", "created_at": {"$date": "2023-01-25T17:48:14.784Z"},
                          "identities": [{"connection": "auth0"}], "logins_count": "5"}], "total": 1}),
        json!({"access_token": "t", "expires_in": 86400, "scope": "read:users"}),
        json!({"organizations": [{"id": "org_1", "name": "acme", "display_name": "Acme"}], "next": "n"}),
        json!({"members": [{"user_id": "auth0|1"}], "next": "n"}),
        json!({"id": "job_1", "status": "completed", "location": "https://x"}),
        json!({"clients": [{"client_id": "c", "name": "App", "is_first_party": true}], "total": 1}),
        json!({"connections": [{"id": "con_1", "name": "db", "strategy": "auth0"}], "next": "n"}),
        json!({"clients": [{"client_id": "c"}], "next": "n"}),
        json!({"enabled_connections": [{"connection_id": "con_1"}], "total": 1}),
        json!({"errorCode": "insufficient_scope", "message": "Insufficient scope, expected any of: read:users"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect()
}

#[test]
fn every_reader_answers_any_body_with_a_value_or_an_error_never_a_panic() {
    let mut texts = good_bodies();
    // Each good body is accepted by some reader: the readers are not refusing everything.
    for t in &texts[..9] {
        let v = crate::fields::parse(t).unwrap();
        assert!(read_all(&v).iter().any(|ok| *ok), "{t}");
    }
    // Cut short at every byte, and with junk spliced in.
    let mut rng = Rng::new(23);
    for t in good_bodies() {
        for cut in 0..t.len() {
            texts.push(t[..cut].to_string());
            let n = rng.below(4);
            let mut mangled = t.as_bytes()[..cut].to_vec();
            mangled.extend(rng.bytes(n));
            mangled.extend_from_slice(&t.as_bytes()[cut..]);
            texts.push(String::from_utf8_lossy(&mangled).into_owned());
        }
    }
    // Nesting past the parser's limit, huge and tiny numbers, every JSON type at the top.
    texts.extend([
        "[".repeat(100_000),
        format!("{}{}", "{\"users\":[".repeat(200), "]}".repeat(200)),
        format!("{}1{}", "[".repeat(127), "]".repeat(127)),
        "1e400".into(),
        "-1e400".into(),
        "123456789012345678901234567890".into(),
        r#"{"users": [], "total": 123456789012345678901234567890}"#.into(),
        r#"{"users": [{"user_id": "a", "logins_count": 1e308}], "total": -0}"#.into(),
        r#"{"users": [{"user_id": "a", "logins_count": "1e400"}]}"#.into(),
        r#"{"access_token": "t", "expires_in": "1e400"}"#.into(),
        "null".into(),
        "true".into(),
        "\"users\"".into(),
        "[]".into(),
        "{}".into(),
    ]);
    for _ in 0..3000 {
        texts.push(junk_body(&mut rng));
    }
    let mut parsed = 0;
    for text in &texts {
        // Error bodies are read from any text.
        let _ = (OAuthError::read(text), ApiErrorBody::read(text));
        if let Ok(v) = crate::fields::parse(text) {
            parsed += 1;
            read_all(&v);
            // A junk value under every key any reader looks for, and as every list's items.
            for key in [
                "users",
                "organizations",
                "members",
                "clients",
                "connections",
                "enabled_connections",
                "total",
                "next",
                "id",
                "user_id",
                "client_id",
            ] {
                read_all(&json!({ key: v.clone() }));
                read_all(&json!({ key: [v.clone()] }));
            }
        }
    }
    assert!(parsed > 1000, "{parsed}");
    // Deeper than any JSON text reaches the readers (the parser stops at 128): still no panic.
    let mut deep = json!({"users": [], "user_id": "a"});
    for _ in 0..300 {
        deep = json!({"users": [deep], "identities": [{"connection": "x"}], "user_id": "a"});
    }
    let took = read_all(&deep);
    // The readers look one level down, never further: the page and the user both read.
    assert!(took[0] && took[1], "{took:?}");
}

#[test]
fn a_page_of_the_wrong_shape_is_retried_then_named() {
    let http = Script(RefCell::new(vec![
        answer(200, TOKEN, &[]),
        answer(
            200,
            r#"{"users": [{"user_id": "a"}, {"email": "b@x.io"}]}"#,
            &[],
        ),
    ]));
    let clock = FakeClock::at(NOW);
    let cfg = config("s");
    let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
    let e = block_on(c.get("/api/v2/users", UsersPage::from_value)).unwrap_err();
    assert_eq!(
        e,
        Auth0Error::Unavailable {
            last: "unexpected JSON (field `users[1].user_id`: expected a string)".into(),
            attempts: 5
        }
    );
    // The same body read as any JSON is fine: the shape, not the text, was refused.
    let http = Script(RefCell::new(vec![
        answer(200, TOKEN, &[]),
        answer(200, r#"{"users": [{"email": "b@x.io"}]}"#, &[]),
    ]));
    let mut c = Auth0Client::new(&http, &clock, &cfg, RetryPolicy::default());
    assert!(block_on(c.get("/api/v2/users", any_json)).is_ok());
}
