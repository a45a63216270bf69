//! Every route, signed in and not, with malformed percent-encoding, invalid UTF-8, huge values,
//! junk cookies and Access assertions, repeated and conflicting parameters and odd methods:
//! every answer is a 4xx with a message, or the normal answer to a valid request; never a 5xx,
//! never a panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::super::*;
use crate::auth::access::{Identity, parse_jwt};
use crate::auth::origin::RequestSite;
use crate::auth::session::{SessionKey, SessionSigner, issue};
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::config::ViewerToken;
use crate::sync::{Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{Rng, block_on, sync_config};

const NOW: u64 = 1_750_000_000_000;
const TOKEN: &str = "v-token-0123456789";

/// Paths of every route, plus near misses.
const PATHS: &[&str] = &[
    "/",
    "/runs",
    "/login",
    "/logout",
    "/healthz",
    "/users.csv",
    "/api/users",
    "/api/users/auth0%7C00000003",
    "/api/users/sms|+15550100",
    "/api/users/sms%7C%2B15550100",
    "/api/summary",
    "/api/organizations",
    "/api/organizations/org_a/members",
    "/api/organizations/org_%2B1/members",
    "/api/sync-runs",
    "/api/sync",
    "/api/auth0/events",
    "/api/auth0/events/",
    "/api/auth0/event",
    "/api/trends",
    "/api/trends/",
    "/api/users/",
    "/api/organizations//members",
    "/api/organizations/org_a/members/x",
    "/api",
    "/nope",
    "",
    "//",
    "/../etc/passwd",
    "/api/users/%2e%2e",
    "/changes",
    "/changes.csv",
    "/api/changes",
    "/api/changes/",
    "/api/changes/1",
    "/api/applications",
    "/api/applications/spa",
    "/api/applications/spa/users",
    "/api/applications/a%7Cb%2B1/users",
    "/api/applications//users",
    "/api/applications/spa/users/x",
    "/applications",
    "/applications/spa",
    "/applications.csv",
    "/applications/spa/users.csv",
    "/applications//users.csv",
    "/users/auth0%7C00000003",
    "/users/sms|+15550100",
    "/users/",
    "/users//x",
];

/// Fragments that break percent-decoding or UTF-8 in every way we know.
const JUNK: &[&str] = &[
    "%",
    "%%",
    "%Z",
    "%zz",
    "%4",
    "%é",
    "%4é",
    "%€",
    "%FF",
    "%C3",
    "%C3%28",
    "%ED%A0%80",
    "%C0%AF",
    "%00",
    "+",
    "%2B",
    "|",
    "%7C",
    "%2F",
    "é",
    "\u{0}",
    "\u{FFFD}",
    "🦀",
    "&",
    "=",
    "==",
    "&&",
    "?",
    "#",
    ";",
    "\"",
    "<script>",
    "'--",
    "../",
    " ",
    "\t",
    "\r\n",
    "-1",
    "0",
    "1e9",
    "99999999999999999999999",
    "18446744073709551616",
    "true",
    "all",
    "desc",
    "email:desc",
    "last_login:sideways",
];

const PARAMS: &[&str] = &[
    "limit",
    "cursor",
    "status",
    "connection",
    "organization",
    "inactive_days",
    "never_logged_in",
    "q",
    "sort",
    "activity",
    "last_login_days",
    "days",
    "by",
    "token",
    "since",
    "until",
    "type",
    "user_id",
    "client_id",
    "x",
    "",
];

const GOOD_VALUES: &[&str] = &[
    "5",
    "active_30d",
    "inactive_90d",
    "never",
    "1000",
    "all",
    "removed",
    "active",
    "blocked",
    "30",
    "true",
    "false",
    "user",
    "email:desc",
    "last_login",
    "created_at:asc",
    "user_id:desc",
    "org_a",
    "Username-Password-Authentication",
    "2026-01-01",
    "2025-06-01T00:00:00Z",
    "2025-06-01T00:00:00.123Z",
    "2025-13-01",
    "user_blocked",
    "baseline",
    "auth0|00000003",
    "30-60",
    "365-",
    "0-30",
    "60-30",
    "90",
    "1096",
    "0",
    "connection",
    "organization",
    "application",
];

const METHODS: &[&str] = &[
    "GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
    "CONNECT", "get", "", "GET ", "PÖST",
];

fn junk_text(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(6) {
        match rng.below(4) {
            0 => s.push_str(rng.pick::<&str>(JUNK)),
            1 => s.push_str(rng.pick::<&str>(GOOD_VALUES)),
            2 => {
                let len = rng.below(12);
                s.push_str(&String::from_utf8_lossy(&rng.bytes(len)));
            }
            _ => s.push(char::from(b'a' + (rng.below(26) as u8))),
        }
    }
    if rng.one_in(40) {
        // Huge: far beyond any limit a real value has.
        s.push_str(&"%41".repeat(rng.below(40_000)));
    }
    s
}

fn value(rng: &mut Rng) -> String {
    if rng.one_in(2) {
        (*rng.pick(GOOD_VALUES)).to_string()
    } else {
        junk_text(rng)
    }
}

fn query(rng: &mut Rng, cursor: &str) -> String {
    let mut parts = Vec::new();
    for _ in 0..rng.below(5) {
        let name = if rng.one_in(8) {
            junk_text(rng)
        } else {
            (*rng.pick(PARAMS)).to_string()
        };
        let v = if name == "cursor" && rng.one_in(2) {
            cursor.to_string()
        } else {
            value(rng)
        };
        parts.push(match rng.below(8) {
            0 => name.clone(),
            1 => format!("{name}="),
            _ => format!("{name}={v}"),
        });
        // The same parameter again, with the same or another value.
        if rng.one_in(5) {
            let again = parts.last().cloned().unwrap_or_default();
            parts.push(if rng.one_in(2) {
                again
            } else {
                format!("{name}={}", value(rng))
            });
        }
    }
    parts.join(if rng.one_in(10) { "&&" } else { "&" })
}

fn path(rng: &mut Rng) -> String {
    let mut p = (*rng.pick(PATHS)).to_string();
    match rng.below(6) {
        0 => p.push('/'),
        1 => p = format!("/api/users/{}", junk_text(rng)),
        2 => p = format!("/api/organizations/{}/members", junk_text(rng)),
        3 => p.push_str(&junk_text(rng)),
        4 if rng.one_in(2) => {
            p = match rng.below(3) {
                0 => format!("/api/applications/{}/users", junk_text(rng)),
                1 => format!("/applications/{}", junk_text(rng)),
                2 if rng.one_in(2) => format!("/users/{}", junk_text(rng)),
                _ => format!("/applications/{}/users.csv", junk_text(rng)),
            }
        }
        _ => {}
    }
    p
}

/// The credentials a case presents, and whether they sign it in.
struct Creds {
    authorization: Option<String>,
    cookie: Option<String>,
    access: AccessOutcome,
    signed_in: bool,
}

fn creds(rng: &mut Rng, key: &SessionKey) -> Creds {
    let mut signed_in = false;
    let authorization = match rng.below(8) {
        0 | 1 => {
            signed_in = true;
            Some(format!("Bearer {TOKEN}"))
        }
        2 => Some("Bearer wrong".to_string()),
        3 => Some(format!("Basic {}", junk_text(rng))),
        4 => Some(junk_text(rng)),
        5 => Some(format!("Bearer {TOKEN}{}", junk_text(rng)))
            .filter(|s| s.trim() != format!("Bearer {TOKEN}")),
        _ => None,
    };
    let valid = issue(key, NOW);
    let cookie = match rng.below(9) {
        0 | 1 => {
            signed_in |= authorization.is_none();
            Some(format!("x=1; __Host-als_session={valid}"))
        }
        2 => Some(format!("__Host-als_session={}", junk_text(rng))),
        3 => Some(format!(
            "__Host-als_session=v2.{}.{}",
            junk_text(rng),
            junk_text(rng)
        )),
        4 => Some("__Host-als_session=v2.99999999999999999999999.AAAA".to_string()),
        5 => Some(format!("__Host-als_session=\"{}", junk_text(rng))),
        6 => Some(junk_text(rng)),
        // An expired session: issued nine hours ago.
        7 => Some(format!(
            "__Host-als_session={}",
            issue(key, NOW - 9 * 3_600_000)
        )),
        _ => None,
    };
    let access = match rng.below(6) {
        0 => AccessOutcome::Absent,
        1 => {
            // A junk assertion: the parser refuses it, and the API refuses the request.
            let jwt = match rng.below(3) {
                0 => junk_text(rng),
                1 => format!("{}.{}.{}", junk_text(rng), junk_text(rng), junk_text(rng)),
                _ => "eyJhbGciOiJub25lIn0.e30.".to_string(),
            };
            let why = match parse_jwt(&jwt) {
                Err(e) => e.to_string(),
                Ok(_) => "bad signature".to_string(),
            };
            signed_in = false;
            AccessOutcome::Rejected(why)
        }
        2 => {
            signed_in = true;
            AccessOutcome::Verified(Identity {
                email: Some(junk_text(rng)),
                subject: None,
            })
        }
        _ => AccessOutcome::Off,
    };
    Creds {
        authorization,
        cookie,
        access,
        signed_in,
    }
}

/// A tenant with ids that need encoding, organizations, and a few syncs in the history.
fn store() -> MemoryStore {
    let ids = ["sms|+15550100", "email|a+b@x.io", "oidc|ü/é"];
    let mut users = FakeAuth0::generate(40, 0);
    for (u, id) in users.iter_mut().zip(ids) {
        u["user_id"] = id.into();
    }
    users[5]["name"] = "<script>alert(1)</script>".into();
    let fake = FakeAuth0::with_users(users);
    *fake.orgs.borrow_mut() = vec![
        (
            "org_a".into(),
            vec!["sms|+15550100".into(), "auth0|00000007".into()],
        ),
        ("org_+1".into(), vec!["oidc|ü/é".into()]),
    ];
    fake.scopes
        .borrow_mut()
        .extend(["read:clients", "read:connections"].map(String::from));
    *fake.apps.borrow_mut() = crate::auth0::fake::FakeApps {
        clients: vec![
            serde_json::json!({"client_id": "spa", "name": "<b>Portal</b>", "app_type": "spa"}),
            serde_json::json!({"client_id": "a|b+1", "name": "=cmd", "app_type": "native"}),
        ],
        connections: vec![crate::auth0::fake::FakeConnection {
            id: "con_1".into(),
            name: "Username-Password-Authentication".into(),
            clients: vec!["spa".into(), "a|b+1".into()],
        }],
        ..Default::default()
    };
    let store = MemoryStore::default();
    for i in 0..2 {
        // A change for the history to show after the baseline.
        fake.users.borrow_mut()[3]["blocked"] = (i == 1).into();
        block_on(run_sync(
            &fake,
            &FakeClock::at(NOW),
            &store,
            Ok(&sync_config("test-secret")),
            Trigger::Cron,
        ))
        .unwrap();
    }
    store
}

/// Where a request says it came from: same-site, cross-site, junk, or nothing (a script).
fn site(rng: &mut Rng) -> RequestSite<'static> {
    const OWN: &str = "https://viewer.example";
    let origins = [
        None,
        Some(OWN),
        Some("https://evil.example"),
        Some("null"),
        Some("\u{0}é%"),
    ];
    let fetch_sites = [
        None,
        Some("same-origin"),
        Some("cross-site"),
        Some("none"),
        Some("??"),
    ];
    RequestSite {
        own_origin: OWN,
        origin: *rng.pick(&origins),
        sec_fetch_site: *rng.pick(&fetch_sites),
    }
}

/// How a case ended, for the tally.
fn run_case(seed: u64, store: &MemoryStore, token: Option<&ViewerToken>) -> u16 {
    let mut rng = Rng::new(seed);
    let signer_token =
        ViewerToken::from_settings(&|n: &str| (n == "VIEWER_TOKEN").then(|| TOKEN.to_string()))
            .ok()
            .flatten();
    // The memory store's session epoch starts at 0, as D1's does.
    let key = match &signer_token {
        Some(t) => SessionSigner::new(t, None).key(0),
        None => return 0,
    };
    let cursor =
        params::encode_cursor(r#"{"s":"user_id:asc","k":"auth0|00000009","u":"auth0|00000009"}"#);
    let method = *rng.pick(METHODS);
    let path = path(&mut rng);
    let query = query(&mut rng, &cursor);
    let body = if rng.one_in(2) {
        query_body(&mut rng, &cursor)
    } else {
        String::new()
    };
    let c = creds(&mut rng, &key);
    let req = ApiRequest {
        schedule: Default::default(),
        method,
        path: &path,
        query: &query,
        authorization: c.authorization.as_deref(),
        cookie: c.cookie.as_deref(),
        body: &body,
        now_ms: NOW,
        site: site(&mut rng),
    };
    let auth = ViewerAuth {
        token,
        token_problem: None,
        session_secret: None,
        access: c.access.clone(),
    };
    let shown = format!(
        "{method} {path:?} ?{query:?} body {body:?} authorization {:?} cookie {:?} access {:?}",
        c.authorization, c.cookie, c.access
    );
    let r = match block_on(handle(&req, store, &auth)) {
        Handled::Respond(r) => r,
        Handled::RunSync => {
            assert!(c.signed_in && method == "POST", "{shown}");
            return 200;
        }
        Handled::Auth0LogStream => {
            // Its own secret is checked by `push::log_stream` (fuzzed there).
            assert!(
                path.trim_end_matches('/') == crate::push::log_stream::ROUTE,
                "{shown}"
            );
            return 200;
        }
        Handled::Auth0Events => {
            // Not a viewer route: its own token is checked by `push::events` (fuzzed there).
            assert!(
                path.trim_end_matches('/') == crate::push::events::ROUTE,
                "{shown}"
            );
            return 200;
        }
        Handled::Csv(q) => {
            assert!(c.signed_in, "{shown}");
            let csv = block_on(csv_export(store, &q)).unwrap();
            assert!(csv.starts_with(&crate::render::csv::header()), "{shown}");
            return 200;
        }
        Handled::AppUsersCsv(q) => {
            assert!(c.signed_in, "{shown}");
            let csv = block_on(super::super::applications::users_csv_export(store, &q)).unwrap();
            assert!(
                csv.starts_with(&crate::render::applications::users_csv_header()),
                "{shown}"
            );
            return 200;
        }
        Handled::ChangesCsv(q) => {
            assert!(c.signed_in, "{shown}");
            let csv = block_on(changes::csv_export(store, &q)).unwrap();
            assert!(
                csv.starts_with(&crate::render::changes::csv_header()),
                "{shown}"
            );
            return 200;
        }
    };
    let body: String = r.body.chars().take(300).collect();
    if r.status >= 500 {
        // The only 5xx: VIEWER_TOKEN is not set, and the message says how to fix that.
        assert!(
            token.is_none()
                && r.status == 503
                && r.body.contains("wrangler secret put VIEWER_TOKEN"),
            "{} for {shown}: {body}",
            r.status,
        );
    }
    assert!(
        matches!(r.status, 200 | 303 | 400 | 401 | 403 | 404 | 405 | 503),
        "{} for {shown}",
        r.status
    );
    if r.status >= 400 {
        if r.content_type == JSON {
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            let msg = v["error"].as_str().unwrap_or_default();
            assert!(!msg.is_empty(), "{shown}: {body}");
        } else {
            // Pages show the message in their error box.
            assert!(r.body.contains("<div class=\"error\""), "{shown}: {body}");
        }
    }
    // Trends answer with their shape, or name the bad parameter.
    if matches!(path.as_str(), "/api/trends" | "/api/trends/")
        && c.signed_in
        && token.is_some()
        && get_like(method)
    {
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        if r.status == 200 {
            assert!(
                v["tenant"].is_array() && v["logins_per_week"].is_array(),
                "{shown}"
            );
        } else {
            let msg = v["error"].as_str().unwrap_or_default();
            assert!(
                msg.contains("`days`") || msg.contains("`by`") || msg.contains("`query`"),
                "{shown}: {body}"
            );
        }
    }
    if r.status == 303 {
        assert!(r.headers.iter().any(|(k, _)| *k == "location"), "{shown}");
    }
    if (200..300).contains(&r.status) && !c.signed_in {
        // Without credentials only the open routes answer.
        let open = ["/healthz", "/healthz/", "/login", "/login/"];
        assert!(open.contains(&path.as_str()), "{shown}: {body}");
    }
    r.status
}

fn get_like(method: &str) -> bool {
    matches!(method, "GET" | "HEAD")
}

fn query_body(rng: &mut Rng, cursor: &str) -> String {
    match rng.below(3) {
        0 => format!("token={TOKEN}{}", junk_text(rng)),
        1 => format!("token={}", junk_text(rng)),
        _ => query(rng, cursor),
    }
}

#[test]
fn thousands_of_hostile_requests_get_4xx_with_a_message_and_never_panic() {
    const CASES: u64 = 6000;
    let store = store();
    let v = crate::testing::viewer_token(TOKEN);
    let mut failed = Vec::new();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for seed in 0..CASES {
        // One case in ten against a deployment without VIEWER_TOKEN.
        let token = (seed % 10 != 0).then_some(&v);
        match catch_unwind(AssertUnwindSafe(|| run_case(seed, &store, token))) {
            Ok(status) => *statuses.entry(status).or_default() += 1,
            Err(_) => failed.push(seed),
        }
    }
    assert!(
        failed.is_empty(),
        "cases that failed (replay with run_case(seed, …)): {failed:?}"
    );
    // The cases reach valid answers as well as every refusal.
    for status in [200, 303, 400, 401, 403, 404, 405, 503] {
        assert!(
            statuses.get(&status).is_some_and(|n| *n > 10),
            "{status}: {statuses:?}"
        );
    }
}
