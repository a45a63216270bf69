//! Routing, viewer authentication and paging against the in-memory store.

use super::*;
use crate::auth::origin::RequestSite;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::config::ViewerToken;
use crate::sync::{Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};

const NOW: u64 = 1_750_000_000_000;

fn viewer() -> ViewerToken {
    crate::testing::viewer_token("v-token-0123456789")
}

fn get(
    store: &MemoryStore,
    path_query: &str,
    auth: Option<&str>,
    v: Option<&ViewerToken>,
) -> ApiResponse {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let req = ApiRequest {
        schedule: Default::default(),
        method: "GET",
        path,
        query,
        authorization: auth,
        cookie: None,
        body: "",
        now_ms: NOW,
        site: RequestSite::default(),
    };
    let viewer_auth = ViewerAuth {
        token: v,
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    match block_on(handle(&req, store, &viewer_auth)) {
        Handled::Respond(r) => r,
        other => panic!("GET {path_query}: {other:?}"),
    }
}

/// Runs one sync of `fake` into `store`.
fn sync_into(store: &MemoryStore, fake: &FakeAuth0) {
    let cfg = sync_config("test-secret");
    block_on(run_sync(
        fake,
        &FakeClock::at(NOW),
        store,
        Ok(&cfg),
        Trigger::Cron,
    ))
    .unwrap();
}

fn synced_store(n: usize) -> MemoryStore {
    let store = MemoryStore::default();
    let fake = FakeAuth0::with_users(FakeAuth0::generate(n, 0));
    sync_into(&store, &fake);
    store
}

#[test]
fn health_is_open_and_everything_else_needs_the_viewer_token() {
    let store = MemoryStore::default();
    let v = viewer();
    assert_eq!(get(&store, "/healthz", None, None).status, 200);
    for path in ["/api/users", "/api/sync-runs"] {
        assert_eq!(get(&store, path, None, Some(&v)).status, 401);
        assert_eq!(
            get(&store, path, Some("Bearer wrong"), Some(&v)).status,
            401
        );
        assert_eq!(
            get(&store, path, Some("Bearer v-token-0123456789"), Some(&v)).status,
            200
        );
        // No VIEWER_TOKEN configured: closed to everyone, with the fix in the message.
        let closed = get(&store, path, Some("Bearer "), None);
        assert_eq!(closed.status, 503);
        assert!(closed.body.contains("wrangler secret put VIEWER_TOKEN"));
    }
    let post = ApiRequest {
        schedule: Default::default(),
        method: "POST",
        path: "/api/sync",
        query: "",
        authorization: Some("Bearer v-token-0123456789"),
        cookie: None,
        body: "",
        now_ms: NOW,
        site: RequestSite::default(),
    };
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    assert!(matches!(
        block_on(handle(&post, &store, &auth)),
        Handled::RunSync
    ));
    let anon = ApiRequest {
        authorization: None,
        ..post
    };
    assert!(
        matches!(block_on(handle(&anon, &store, &auth)), Handled::Respond(r) if r.status == 401)
    );
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    let store = MemoryStore::default();
    let v = viewer();
    let r = get(&store, "/nope", Some("Bearer v-token-0123456789"), Some(&v));
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, "{\"error\":\"not found\"}")
    );
    let r = get(
        &store,
        "/api/sync",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    );
    assert_eq!(r.status, 405);
    let r = get(
        &store,
        "/api/users?limit=5000",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("`limit`"), "{}", r.body);
}

#[test]
fn users_page_through_with_a_cursor_and_nulls_for_absent_values() {
    let store = synced_store(250);
    let v = viewer();
    let mut seen = Vec::new();
    let mut path = "/api/users?limit=100".to_string();
    loop {
        let r = get(&store, &path, Some("Bearer v-token-0123456789"), Some(&v));
        assert_eq!(r.status, 200);
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        for u in body["users"].as_array().unwrap() {
            assert!(u["last_login"].is_null() && u["removed_at"].is_null());
            assert!(u["blocked"].is_boolean());
            seen.push(u["user_id"].as_str().unwrap().to_string());
        }
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/users?limit=100&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 250);
}

#[test]
fn runs_are_listed_newest_first() {
    let store = synced_store(3);
    let fake = FakeAuth0::with_users(FakeAuth0::generate(3, 0));
    let cfg = sync_config("test-secret");
    block_on(run_sync(
        &fake,
        &FakeClock::at(1_750_000_100_000),
        &store,
        Ok(&cfg),
        Trigger::Manual,
    ))
    .unwrap();
    let v = viewer();
    let r = get(
        &store,
        "/api/sync-runs",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    );
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let ids: Vec<i64> = body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 1]);
    assert_eq!(body["runs"][0]["status"], "succeeded");
    assert_eq!(body["runs"][0]["trigger"], "manual");
}

fn body(r: &ApiResponse) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

fn store_with_orgs() -> MemoryStore {
    let store = MemoryStore::default();
    let fake = FakeAuth0::with_users(FakeAuth0::generate(300, 0));
    *fake.orgs.borrow_mut() = vec![
        (
            "org_big".into(),
            (0..250).map(|i| format!("auth0|{i:08}")).collect(),
        ),
        ("org_small".into(), vec!["auth0|00000007".into()]),
    ];
    sync_into(&store, &fake);
    store
}

#[test]
fn organizations_members_and_the_users_organization_filter() {
    let store = store_with_orgs();
    let v = viewer();
    let auth = Some("Bearer v-token-0123456789");
    let orgs = body(&get(&store, "/api/organizations", auth, Some(&v)));
    let counts: Vec<(String, i64)> = orgs["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["member_count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("org_big".to_string(), 250), ("org_small".to_string(), 1)]
    );
    let first = body(&get(
        &store,
        "/api/organizations/org_big/members?limit=200",
        auth,
        Some(&v),
    ));
    assert_eq!(first["members"].as_array().unwrap().len(), 200);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = body(&get(
        &store,
        &format!("/api/organizations/org_big/members?limit=200&cursor={cursor}"),
        auth,
        Some(&v),
    ));
    assert_eq!(rest["members"].as_array().unwrap().len(), 50);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        get(
            &store,
            "/api/organizations/org_nope/members",
            auth,
            Some(&v)
        )
        .status,
        404
    );
    let u = body(&get(
        &store,
        "/api/users?organization=org_small",
        auth,
        Some(&v),
    ));
    let users = u["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    let mut orgs_of: Vec<&str> = users[0]["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    orgs_of.sort();
    assert_eq!(orgs_of, ["org_big", "org_small"]);
}

#[test]
fn sorted_pages_with_filters_cover_each_match_once() {
    let store = synced_store(450);
    let v = viewer();
    let auth = Some("Bearer v-token-0123456789");
    let mut seen = Vec::new();
    let mut path = "/api/users?limit=70&sort=email:desc&q=USER1".to_string();
    loop {
        let b = body(&get(&store, &path, auth, Some(&v)));
        seen.extend(
            b["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_string()),
        );
        match b["next_cursor"].as_str() {
            Some(c) => path = format!("/api/users?limit=70&sort=email:desc&q=USER1&cursor={c}"),
            None => break,
        }
    }
    // user1, user10-19, user100-199: 111 matches, served in descending email order.
    assert_eq!(seen.len(), 111);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted);
}

fn request<'a>(
    method: &'a str,
    path_query: &'a str,
    cookie: Option<&'a str>,
    body: &'a str,
) -> ApiRequest<'a> {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    ApiRequest {
        schedule: Default::default(),
        method,
        path,
        query,
        authorization: None,
        cookie,
        body,
        now_ms: NOW,
        site: RequestSite::default(),
    }
}

fn respond(store: &MemoryStore, req: &ApiRequest<'_>, auth: &ViewerAuth<'_>) -> ApiResponse {
    match block_on(handle(req, store, auth)) {
        Handled::Respond(r) => r,
        other => panic!("{other:?}"),
    }
}

/// A tenant whose names and emails are hostile, as social logins allow.
fn hostile_store() -> MemoryStore {
    let mut users = FakeAuth0::generate(3, 0);
    let hostile = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "=HYPERLINK(\"http://x\")",
    ];
    for (u, name) in users.iter_mut().zip(hostile) {
        u["name"] = name.into();
        u["email"] = format!("{name}@evil.example").into();
    }
    let store = MemoryStore::default();
    let fake = FakeAuth0::with_users(users);
    sync_into(&store, &fake);
    store
}

#[test]
fn a_browser_logs_in_with_the_token_and_its_cookie_opens_pages_and_json() {
    let store = hostile_store();
    let v = viewer();
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    // Without a session, pages send the browser to the form.
    let r = respond(&store, &request("GET", "/", None, ""), &auth);
    assert_eq!((r.status, r.headers[0].1.as_str()), (303, "/login"));
    assert_eq!(
        respond(&store, &request("GET", "/login", None, ""), &auth).status,
        200
    );
    let wrong = respond(
        &store,
        &request("POST", "/login", None, "token=nope"),
        &auth,
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not the viewer token"));
    let ok = respond(
        &store,
        &request("POST", "/login", None, "token=v-token-0123456789"),
        &auth,
    );
    assert_eq!(ok.status, 303);
    let set_cookie = &ok
        .headers
        .iter()
        .find(|(k, _)| *k == "set-cookie")
        .unwrap()
        .1;
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let page = respond(&store, &request("GET", "/", Some(&cookie), ""), &auth);
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, HTML);
    assert_eq!(
        respond(
            &store,
            &request("GET", "/api/users", Some(&cookie), ""),
            &auth
        )
        .status,
        200
    );
    let forged = format!("{cookie}x");
    assert_eq!(
        respond(
            &store,
            &request("GET", "/api/users", Some(&forged), ""),
            &auth
        )
        .status,
        401
    );
    let out = respond(
        &store,
        &request("POST", "/logout", Some(&cookie), ""),
        &auth,
    );
    assert!(
        out.headers
            .iter()
            .any(|(k, v)| *k == "set-cookie" && v.contains("Max-Age=0"))
    );
}

#[test]
fn hostile_names_are_inert_in_html_and_csv_and_exact_in_json() {
    let store = hostile_store();
    let v = viewer();
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    let mut req = request("GET", "/", None, "");
    req.authorization = Some("Bearer v-token-0123456789");
    let page = respond(&store, &req, &auth).body;
    assert!(!page.contains("<script>alert"), "raw script in page");
    assert!(!page.contains("<img src=x"), "raw img in page");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    let json = get(
        &store,
        "/api/users",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    );
    let names: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&json.body).unwrap()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_string())
            .collect();
    assert!(names.contains(&"=HYPERLINK(\"http://x\")".to_string()));
    let csv = block_on(csv_export(
        &store,
        &UsersQuery {
            limit: 100,
            ..UsersQuery::default()
        },
    ))
    .unwrap();
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    assert_eq!(csv.matches("\r\n").count(), 4, "header and three users");
}

#[test]
fn cloudflare_access_identities_are_trusted_and_bad_assertions_refused() {
    let store = MemoryStore::default();
    let identity = crate::auth::access::Identity {
        email: Some("ann@corp.example".into()),
        subject: None,
    };
    let ok = ViewerAuth {
        token: None,
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Verified(identity),
    };
    let page = respond(&store, &request("GET", "/", None, ""), &ok);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ann@corp.example"));
    let bad = ViewerAuth {
        token: None,
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Rejected("expired".into()),
    };
    let r = respond(&store, &request("GET", "/api/users", None, ""), &bad);
    assert_eq!(r.status, 403);
    // Configured Access with no assertion and no token: refused, not open.
    let absent = ViewerAuth {
        token: None,
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Absent,
    };
    assert_eq!(
        respond(&store, &request("GET", "/api/users", None, ""), &absent).status,
        401
    );
    assert_eq!(
        respond(&store, &request("GET", "/healthz", None, ""), &absent).status,
        200
    );
}

#[test]
fn summary_counts_seats_and_one_user_can_be_read_by_id() {
    let store = synced_store(40);
    let v = viewer();
    let s = body(&get(
        &store,
        "/api/summary",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    ));
    assert_eq!(s["counts"]["current"], 40);
    assert_eq!(s["counts"]["never_logged_in"], 40);
    assert_eq!(s["counts"]["inactive_90"], 40);
    assert_eq!(s["last_sync"]["status"], "succeeded");
    assert_eq!(s["by_connection"][0]["users"], 40);
    let u = body(&get(
        &store,
        "/api/users/auth0%7C00000007",
        Some("Bearer v-token-0123456789"),
        Some(&v),
    ));
    assert_eq!(u["user"]["email"], "user7@example.com");
    assert_eq!(
        get(
            &store,
            "/api/users/nobody",
            Some("Bearer v-token-0123456789"),
            Some(&v)
        )
        .status,
        404
    );
}

#[test]
fn pages_carry_a_strict_policy_allowing_only_the_hashed_style() {
    let csp = content_security_policy(HTML);
    assert!(csp.contains("script-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let hash = pages::style_hash();
    assert!(hash.starts_with("sha256-") && csp.contains(hash));
    assert_eq!(hash.len(), "sha256-".len() + 44);
    assert!(content_security_policy(JSON).starts_with("default-src 'none'"));
}

fn session_cookie(response: &ApiResponse) -> String {
    let set_cookie = &response
        .headers
        .iter()
        .find(|(k, _)| *k == "set-cookie")
        .expect("a set-cookie header")
        .1;
    set_cookie.split(';').next().unwrap().to_string()
}

fn login(store: &MemoryStore, auth: &ViewerAuth<'_>) -> String {
    let ok = respond(
        store,
        &request("POST", "/login", None, "token=v-token-0123456789"),
        auth,
    );
    assert_eq!(ok.status, 303, "{}", ok.body);
    session_cookie(&ok)
}

fn config(pairs: &[(&str, &str)]) -> crate::config::ViewerConfig {
    crate::config::ViewerConfig::from_settings(&crate::testing::settings(pairs))
}

#[test]
fn the_session_cookie_uses_the_host_prefix() {
    let store = MemoryStore::default();
    let v = viewer();
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    let cookie = login(&store, &auth);
    assert!(cookie.starts_with("__Host-als_session=v2."), "{cookie}");
}

#[test]
fn removing_or_changing_the_token_ends_sessions_even_with_a_session_secret() {
    let store = synced_store(3);
    let with_token = config(&[
        ("VIEWER_TOKEN", "v-token-0123456789"),
        ("SESSION_SECRET", "sess"),
    ]);
    let auth = ViewerAuth::new(&with_token, AccessOutcome::Off);
    let cookie = login(&store, &auth);
    let users = |auth: &ViewerAuth<'_>| {
        respond(
            &store,
            &request("GET", "/api/users", Some(&cookie), ""),
            auth,
        )
    };
    assert_eq!(users(&auth).status, 200);
    // VIEWER_TOKEN removed, SESSION_SECRET kept: closed, and the page says why.
    let removed = config(&[("SESSION_SECRET", "sess")]);
    let r = users(&ViewerAuth::new(&removed, AccessOutcome::Off));
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("VIEWER_TOKEN is not set"), "{}", r.body);
    // VIEWER_TOKEN changed, SESSION_SECRET kept.
    let changed = config(&[
        ("VIEWER_TOKEN", "new-token-0123456789"),
        ("SESSION_SECRET", "sess"),
    ]);
    assert_eq!(
        users(&ViewerAuth::new(&changed, AccessOutcome::Off)).status,
        401
    );
    // Back to the old token: the session is valid again (it was never stored anywhere).
    assert_eq!(users(&auth).status, 200);
}

#[test]
fn sign_out_everywhere_ends_every_session_and_needs_a_viewer() {
    let store = synced_store(3);
    let cfg = config(&[("VIEWER_TOKEN", "v-token-0123456789")]);
    let auth = ViewerAuth::new(&cfg, AccessOutcome::Off);
    let mine = login(&store, &auth);
    let stolen = login(&store, &auth);
    let status = |cookie: &str| {
        respond(
            &store,
            &request("GET", "/api/summary", Some(cookie), ""),
            &auth,
        )
        .status
    };
    assert_eq!((status(&mine), status(&stolen)), (200, 200));
    // A plain logout clears this browser's cookie only: the stolen copy still works.
    let out = respond(&store, &request("POST", "/logout", Some(&mine), ""), &auth);
    assert_eq!(out.status, 303);
    assert_eq!(status(&stolen), 200);
    // Nobody signed in cannot sign everyone out.
    let anon = respond(
        &store,
        &request("POST", "/logout?everywhere=1", None, ""),
        &auth,
    );
    assert_eq!(anon.status, 401);
    assert_eq!(store.session_epoch.get(), 0);
    assert_eq!(status(&stolen), 200);
    // A signed-in viewer can, and then no earlier cookie opens anything.
    let all = respond(
        &store,
        &request("POST", "/logout?everywhere=1", Some(&mine), ""),
        &auth,
    );
    assert_eq!(all.status, 303);
    assert_eq!(all.headers[0], ("location", "/login".to_string()));
    assert!(
        all.headers
            .iter()
            .any(|(k, v)| *k == "set-cookie" && v.contains("Max-Age=0"))
    );
    assert_eq!(store.session_epoch.get(), 1);
    assert_eq!((status(&mine), status(&stolen)), (401, 401));
    // A bearer-token script may do it too; a new login works under the new epoch.
    let mut script = request("POST", "/logout?everywhere=1", None, "");
    script.authorization = Some("Bearer v-token-0123456789");
    assert_eq!(respond(&store, &script, &auth).status, 303);
    assert_eq!(store.session_epoch.get(), 2);
    let fresh = login(&store, &auth);
    assert_eq!(status(&fresh), 200);
}

#[test]
fn cross_site_posts_are_refused_unless_a_bearer_token_is_sent() {
    let store = synced_store(3);
    let cfg = config(&[("VIEWER_TOKEN", "v-token-0123456789")]);
    let auth = ViewerAuth::new(&cfg, AccessOutcome::Off);
    let cookie = login(&store, &auth);
    const OWN: &str = "https://licenses.example.com";
    let foreign = RequestSite {
        own_origin: OWN,
        origin: Some("https://evil.example"),
        sec_fetch_site: Some("cross-site"),
    };
    for (path, body) in [
        ("/api/sync", ""),
        ("/login", "token=v-token-0123456789"),
        ("/logout", ""),
        ("/logout?everywhere=1", ""),
    ] {
        let mut req = request("POST", path, Some(&cookie), body);
        req.site = foreign;
        let r = respond(&store, &req, &auth);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("cross-site request refused"), "{}", r.body);
        assert!(r.headers.iter().all(|(k, _)| *k != "set-cookie"), "{path}");
        // Origin alone (older browsers) is enough to tell.
        req.site.sec_fetch_site = None;
        assert_eq!(respond(&store, &req, &auth).status, 403, "{path}");
    }
    assert_eq!(store.session_epoch.get(), 0, "no one was signed out");
    // The same POSTs from the site's own pages work.
    let own = RequestSite {
        own_origin: OWN,
        origin: Some(OWN),
        sec_fetch_site: Some("same-origin"),
    };
    let mut sync = request("POST", "/api/sync", Some(&cookie), "");
    sync.site = own;
    assert!(matches!(
        block_on(handle(&sync, &store, &auth)),
        Handled::RunSync
    ));
    let mut form = request("POST", "/login", None, "token=v-token-0123456789");
    form.site = own;
    assert_eq!(respond(&store, &form, &auth).status, 303);
    // A script with the bearer token needs no Origin, and a foreign one does not matter.
    let mut script = request("POST", "/api/sync", None, "");
    script.authorization = Some("Bearer v-token-0123456789");
    assert!(matches!(
        block_on(handle(&script, &store, &auth)),
        Handled::RunSync
    ));
    script.site = foreign;
    assert!(matches!(
        block_on(handle(&script, &store, &auth)),
        Handled::RunSync
    ));
    // Reads are never refused for their origin.
    let mut read = request("GET", "/api/users", Some(&cookie), "");
    read.site = foreign;
    assert_eq!(respond(&store, &read, &auth).status, 200);
}

#[test]
fn half_configured_access_names_the_missing_setting_on_pages_and_json() {
    let store = synced_store(3);
    for (pairs, missing, present) in [
        (
            [
                ("ACCESS_TEAM_DOMAIN", "myteam.cloudflareaccess.com"),
                ("VIEWER_TOKEN", "v-token-0123456789"),
            ],
            "ACCESS_AUD",
            "ACCESS_TEAM_DOMAIN",
        ),
        (
            [
                ("ACCESS_AUD", "aud-tag"),
                ("VIEWER_TOKEN", "v-token-0123456789"),
            ],
            "ACCESS_TEAM_DOMAIN",
            "ACCESS_AUD",
        ),
    ] {
        let cfg = config(&pairs);
        let e = cfg.access.clone().unwrap_err();
        let auth = ViewerAuth::new(&cfg, AccessOutcome::Misconfigured(e));
        let said = format!("{missing} is not set, but {present} is");
        for path in ["/", "/runs", "/login"] {
            let page = respond(&store, &request("GET", path, None, ""), &auth);
            assert_eq!((page.status, page.content_type), (403, HTML), "{path}");
            assert!(page.body.contains(&said), "{path}: {}", page.body);
            assert!(page.body.contains("Viewer access is closed"), "{path}");
        }
        // Even with the bearer token: the operator asked for Access, so it stays closed.
        let mut req = request("GET", "/api/users", None, "");
        req.authorization = Some("Bearer v-token-0123456789");
        let json = respond(&store, &req, &auth);
        assert_eq!((json.status, json.content_type), (403, JSON));
        let message = serde_json::from_str::<serde_json::Value>(&json.body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("half configured"), "{message}");
        assert!(message.contains(&said), "{message}");
        assert!(
            message.contains(&format!("wrangler secret put {missing}")),
            "{message}"
        );
    }
}

#[test]
fn a_too_short_viewer_token_closes_every_viewer_route_and_names_the_setting() {
    // Issue 19 §5: a short VIEWER_TOKEN used to open the API to anyone who presented it.
    let store = synced_store(3);
    let short = "short-token";
    let cfg = config(&[("VIEWER_TOKEN", short)]);
    let auth = ViewerAuth::new(&cfg, AccessOutcome::Off);
    let bearer = format!("Bearer {short}");
    let check = |r: &ApiResponse, what: &str| {
        assert_eq!(r.status, 503, "{what}: {}", r.body);
        assert!(r.body.contains("VIEWER_TOKEN"), "{what}: {}", r.body);
        assert!(
            r.body.contains("shorter than 16 characters"),
            "{what}: {}",
            r.body
        );
        assert!(
            !r.body.contains(short),
            "{what}: the value is echoed: {}",
            r.body
        );
    };
    // Presenting the short token itself opens nothing, as JSON or as a page.
    for path in ["/api/users", "/api/summary", "/api/sync-runs", "/", "/runs"] {
        let mut req = request("GET", path, None, "");
        req.authorization = Some(&bearer);
        check(&respond(&store, &req, &auth), path);
        check(
            &respond(&store, &request("GET", path, None, ""), &auth),
            path,
        );
    }
    let mut sync = request("POST", "/api/sync", None, "");
    sync.authorization = Some(&bearer);
    check(&respond(&store, &sync, &auth), "POST /api/sync");
    // Nor does the login form.
    let form = format!("token={short}");
    check(
        &respond(&store, &request("POST", "/login", None, &form), &auth),
        "POST /login",
    );
    check(
        &respond(&store, &request("GET", "/login", None, ""), &auth),
        "GET /login",
    );
    // An Access user is refused too, until the setting is fixed.
    let verified = ViewerAuth::new(
        &cfg,
        AccessOutcome::Verified(crate::auth::access::Identity {
            email: Some("v@x.io".into()),
            subject: None,
        }),
    );
    check(
        &respond(&store, &request("GET", "/api/users", None, ""), &verified),
        "Access",
    );
    // Fixed: the same routes open.
    let fixed = config(&[("VIEWER_TOKEN", "v-token-0123456789")]);
    let auth = ViewerAuth::new(&fixed, AccessOutcome::Off);
    let mut req = request("GET", "/api/users", None, "");
    req.authorization = Some("Bearer v-token-0123456789");
    assert_eq!(respond(&store, &req, &auth).status, 200);
}

#[test]
fn a_login_form_with_a_percent_before_non_ascii_is_refused_without_a_panic() {
    // Issue 9 §2: the form decoder sliced the body at byte offsets inside a UTF-8 character.
    let store = MemoryStore::default();
    let v = viewer();
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    for body in [
        "token=%é",
        "token=%4é",
        "token=a%€",
        "%é=x",
        "token=v-token-0123456789%ü",
    ] {
        let r = respond(&store, &request("POST", "/login", None, body), &auth);
        assert_eq!(r.status, 401, "{body}");
        assert!(r.body.contains("not the viewer token"), "{body}");
    }
}

#[test]
fn user_and_organization_ids_with_plus_and_pipe_resolve_in_paths() {
    // `+` is a literal in a path: an SMS user's id holds one, and must not turn into a space.
    let ids = ["sms|+15550100", "email|a+b@x.io", "auth0|a b", "oidc|ü/é"];
    let mut users = FakeAuth0::generate(ids.len(), 0);
    for (u, id) in users.iter_mut().zip(ids) {
        u["user_id"] = id.into();
    }
    let fake = FakeAuth0::with_users(users);
    *fake.orgs.borrow_mut() = vec![("org_a+b|c".into(), ids.map(String::from).to_vec())];
    let store = MemoryStore::default();
    sync_into(&store, &fake);
    let v = viewer();
    let auth = Some("Bearer v-token-0123456789");
    for (path, want) in [
        ("/api/users/sms|+15550100", "sms|+15550100"),
        ("/api/users/sms%7C%2B15550100", "sms|+15550100"),
        ("/api/users/sms%7c%2b15550100/", "sms|+15550100"),
        ("/api/users/email%7Ca+b@x.io", "email|a+b@x.io"),
        ("/api/users/auth0%7Ca%20b", "auth0|a b"),
        ("/api/users/oidc%7C%C3%BC%2F%C3%A9", "oidc|ü/é"),
    ] {
        let u = body(&get(&store, path, auth, Some(&v)));
        assert_eq!(u["user"]["user_id"], want, "{path}");
    }
    // A space is not a plus.
    assert_eq!(
        get(&store, "/api/users/sms|%2015550100", auth, Some(&v)).status,
        404
    );
    for path in [
        "/api/organizations/org_a+b|c/members",
        "/api/organizations/org_a%2Bb%7Cc/members",
    ] {
        let m = body(&get(&store, path, auth, Some(&v)));
        assert_eq!(m["members"].as_array().unwrap().len(), ids.len(), "{path}");
    }
    // Bytes that are not UTF-8 once decoded: a 400 that names the part, before anything is read.
    for (path, name) in [
        ("/api/users/auth0%7C%FF", "user_id"),
        ("/api/users/%C3", "user_id"),
        ("/api/organizations/org%E9/members", "organization_id"),
    ] {
        for token in [auth, None] {
            let r = get(&store, path, token, Some(&v));
            assert_eq!(r.status, 400, "{path}");
            assert!(
                r.body.contains(name) && r.body.contains("UTF-8"),
                "{}",
                r.body
            );
        }
    }
    let long = format!("/api/users/{}", "x".repeat(5000));
    let r = get(&store, &long, auth, Some(&v));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("at most 4096 bytes"), "{}", r.body);
}

mod applications;
mod changes;
mod fuzz;
mod json;
