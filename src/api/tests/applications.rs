//! The application routes against a store filled by a sync of the fake tenant, with usage rows
//! inserted as the log follower would write them: JSON shapes, paging, filters, bad input, CSV
//! and pages.

use serde_json::{Value, json};

use super::super::*;
use crate::api::params::encode_cursor;
use crate::auth::origin::RequestSite;
use crate::auth0::fake::{FakeApps, FakeAuth0, FakeConnection};
use crate::clock::fake::FakeClock;
use crate::sync::{Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};

const NOW: u64 = 1_750_000_000_000;

fn get(store: &MemoryStore, path_query: &str) -> ApiResponse {
    let v = crate::testing::viewer_token("v-token-0123456789");
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let req = ApiRequest {
        schedule: Default::default(),
        method: "GET",
        path,
        query,
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
    match block_on(handle(&req, store, &auth)) {
        Handled::Respond(r) => r,
        // As the runtime streams it, joined.
        Handled::AppUsersCsv(q) => ApiResponse {
            status: 200,
            headers: Vec::new(),
            content_type: super::super::CSV,
            body: block_on(super::super::applications::users_csv_export(store, &q)).unwrap(),
        },
        other => panic!("GET {path_query}: {other:?}"),
    }
}

fn json_of(r: &ApiResponse) -> Value {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

const HOSTILE: &str = "<script>alert(1)</script>\"'=HYPERLINK(\"x\")";

/// 5 users on `db`, 2 on `google`; `spa` on db, `web` on both, an M2M app, a hostile name.
fn store(scopes: &[&str]) -> (MemoryStore, FakeAuth0) {
    let users: Vec<Value> = (0..7)
        .map(|i| {
            let conn = if i < 5 { "db" } else { "google" };
            json!({"user_id": format!("auth0|{i}"), "email": format!("u{i}@x.io"), "name": format!("User {i}"),
                   "created_at": format!("2024-01-0{}T00:00:00.000Z", i + 1), "identities": [{"connection": conn}]})
        })
        .collect();
    let fake = FakeAuth0::with_users(users);
    *fake.scopes.borrow_mut() = scopes.iter().map(|s| (*s).to_string()).collect();
    *fake.apps.borrow_mut() = FakeApps {
        clients: vec![
            json!({"client_id": "spa", "name": "Portal", "app_type": "spa"}),
            json!({"client_id": "web", "name": HOSTILE, "app_type": "regular_web"}),
            json!({"client_id": "m2m", "name": "Backend", "app_type": "non_interactive"}),
        ],
        connections: vec![
            FakeConnection {
                id: "con_db".into(),
                name: "db".into(),
                clients: vec!["spa".into(), "web".into(), "m2m".into()],
            },
            FakeConnection {
                id: "con_g".into(),
                name: "google".into(),
                clients: vec!["web".into()],
            },
        ],
        ..Default::default()
    };
    let store = MemoryStore::default();
    let cfg = sync_config("test-secret");
    block_on(run_sync(
        &fake,
        &FakeClock::at(NOW),
        &store,
        Ok(&cfg),
        Trigger::Cron,
    ))
    .unwrap();
    // Usage as the log follower writes it: u0 logged in to spa yesterday, u6 to web long ago.
    store
        .apps
        .0
        .borrow()
        .execute_batch(
            "INSERT INTO app_usage VALUES ('auth0|0', 'spa', '2025-06-14T00:00:00.000Z', 4, '2025-06-15T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
             INSERT INTO app_usage VALUES ('auth0|6', 'web', '2024-06-01T00:00:00.000Z', 1, '2024-06-01T00:00:00.000Z', '2024-06-01T00:00:00.000Z');
             INSERT INTO log_cursor (id, checkpoint, tracking_since) VALUES (1, 'x', '2024-05-01T00:00:00.000Z');
             INSERT INTO usage_gaps (run_id, gap_from, gap_until, noted_at) VALUES (1, '2024-07-01T00:00:00.000Z', '2024-07-09T00:00:00.000Z', 'n');
             DELETE FROM app_reach;",
        )
        .unwrap();
    // The counts as a sync's end computes them, now with the usage.
    block_on(store.apps.sql_run(
        "t",
        crate::store::applications::REFRESH_REACH,
        &[crate::store::applications::Arg::text("t")],
    ))
    .unwrap();
    (store, fake)
}

const ALL: [&str; 5] = [
    "read:users",
    "read:clients",
    "read:connections",
    "read:logs",
    "read:organization_connections",
];

#[test]
fn the_applications_list_has_the_public_shape_and_leaves_m2m_out() {
    let (store, _) = store(&ALL);
    let v = json_of(&get(&store, "/api/applications"));
    let apps = v["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "{v}");
    let spa = apps.iter().find(|a| a["client_id"] == "spa").unwrap();
    assert_eq!(
        spa,
        &json!({"client_id": "spa", "name": "Portal", "app_type": "spa", "users_can_reach": 5,
                "active_30d": 1, "active_90d": 1, "never_used": 4,
                "last_login": "2025-06-14T00:00:00.000Z", "usage_since": "2024-05-01T00:00:00.000Z"})
    );
    let web = apps.iter().find(|a| a["client_id"] == "web").unwrap();
    assert_eq!(
        (web["users_can_reach"].as_i64(), web["never_used"].as_i64()),
        (Some(7), Some(6))
    );
    assert_eq!(v["not_enabled"], json!([]));
    assert_eq!(v["usage_gaps"][0]["gap_until"], "2024-07-09T00:00:00.000Z");
    // One application; M2M and unknown ones are 404 with a message.
    let one = json_of(&get(&store, "/api/applications/spa"));
    assert_eq!(one["application"], *spa);
    for id in ["m2m", "nope", "%2e%2e"] {
        let r = get(&store, &format!("/api/applications/{id}"));
        assert_eq!(r.status, 404, "{id}");
        assert!(r.body.contains("not found"));
    }
}

#[test]
fn application_users_page_filter_and_say_who_can_reach() {
    let (store, _) = store(&ALL);
    let v = json_of(&get(&store, "/api/applications/spa/users?limit=2"));
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        users[0],
        json!({"user_id": "auth0|0", "email": "u0@x.io", "name": "User 0", "connection": "db",
               "can_reach": true, "last_login": "2025-06-14T00:00:00.000Z", "logins": 4,
               "last_seen": "2025-06-15T00:00:00.000Z"})
    );
    // Paging visits all five, once each.
    let mut seen = Vec::new();
    let mut cursor = None::<String>;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let v = json_of(&get(
            &store,
            &format!("/api/applications/spa/users?limit=2{q}"),
        ));
        seen.extend(
            v["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["user_id"].as_str().unwrap().to_string()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..5).map(|i| format!("auth0|{i}")).collect::<Vec<_>>()
    );
    let ids = |q: &str| -> Vec<String> {
        json_of(&get(&store, &format!("/api/applications/{q}")))["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["user_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("spa/users?activity=active_30d"), ["auth0|0"]);
    assert_eq!(ids("spa/users?activity=never").len(), 4);
    assert_eq!(ids("web/users?activity=inactive_90d").len(), 7);
    assert_eq!(ids("web/users?q=USER%206"), ["auth0|6"]);
    // The user detail lists the applications too.
    let u = json_of(&get(&store, "/api/users/auth0%7C6"));
    assert_eq!(
        u["applications"],
        json!([{"client_id": "web", "name": HOSTILE, "can_reach": true, "last_login": "2024-06-01T00:00:00.000Z",
                "logins": 1, "last_seen": "2024-06-01T00:00:00.000Z"}])
    );
}

#[test]
fn bad_input_gets_a_4xx_with_a_message() {
    let (store, _) = store(&ALL);
    for (q, status, needle) in [
        (
            "/api/applications/spa/users?activity=sometimes",
            400,
            "activity",
        ),
        ("/api/applications/spa/users?limit=0", 400, "limit"),
        ("/api/applications/spa/users?cursor=zz", 400, "cursor"),
        ("/api/applications/spa/users?cursor=", 200, ""),
        ("/api/applications/nope/users", 404, "not found"),
        ("/api/applications/%ff", 400, "client_id"),
        ("/applications/nope", 404, "not found"),
        ("/applications/nope/users.csv", 404, "not found"),
    ] {
        let r = get(&store, q);
        assert_eq!(r.status, status, "{q}: {}", r.body);
        assert!(r.body.contains(needle), "{q}: {}", r.body);
    }
    // A user-id cursor made by hand still only pages.
    let c = encode_cursor(">auth0|3");
    let v = json_of(&get(
        &store,
        &format!("/api/applications/spa/users?cursor={c}"),
    ));
    assert_eq!(v["users"].as_array().unwrap().len(), 1);
}

#[test]
fn missing_scopes_are_named_in_the_api_and_the_page() {
    let (store, _) = store(&["read:users", "read:connections"]);
    let v = json_of(&get(&store, "/api/applications"));
    let scopes: Vec<&str> = v["not_enabled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        ["read:clients", "read:organization_connections", "read:logs"]
    );
    assert!(
        v["not_enabled"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("not enabled: grant read:clients")
    );
    let page = get(&store, "/applications");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("not enabled: grant read:clients"));
    assert!(page.body.contains("not enabled: grant read:logs"));
}

#[test]
fn csvs_and_pages_escape_hostile_names() {
    let (store, _) = store(&ALL);
    let csv = get(&store, "/applications.csv");
    assert_eq!((csv.status, csv.content_type), (200, super::super::CSV));
    assert!(
        csv.body
            .starts_with("\u{feff}client_id,name,app_type,users_can_reach")
    );
    // The hostile name is quoted and neutralised, never a bare formula or markup-breaking cell.
    assert!(
        csv.body
            .contains("\"<script>alert(1)</script>\"\"'=HYPERLINK(\"\"x\"\")\""),
        "{}",
        csv.body
    );
    let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3);
    let users = get(&store, "/applications/web/users.csv?activity=never");
    assert_eq!(users.body.trim_end().split("\r\n").count(), 1 + 6);
    for path in ["/applications", "/applications/web"] {
        let page = get(&store, path);
        assert_eq!(
            (page.status, page.content_type),
            (200, super::super::HTML),
            "{path}"
        );
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(
            page.body.contains("Usage unknown from 2024-07-01"),
            "{path}"
        );
    }
    let list = get(&store, "/applications").body;
    assert!(list.contains("href=\"/applications/spa\""));
    assert!(!list.contains("Backend"), "M2M apps are not listed");
    let web = get(&store, "/applications/web?activity=bogus").body;
    assert!(web.contains("bad parameter `activity`"));
    // Without a session a page goes to the login form.
    let v = crate::testing::viewer_token("v-token-0123456789");
    let req = ApiRequest {
        schedule: Default::default(),
        method: "GET",
        path: "/applications",
        now_ms: NOW,
        ..Default::default()
    };
    let auth = ViewerAuth {
        token: Some(&v),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    match block_on(handle(&req, &store, &auth)) {
        Handled::Respond(r) => assert_eq!(r.status, 303),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_user_page_lists_what_the_api_lists() {
    let (store, _) = store(&["read:users", "read:clients", "read:connections"]);
    for id in ["auth0%7C0", "auth0|6", "auth0%7C3/"] {
        let api_id = id.trim_end_matches('/');
        let api = json_of(&get(&store, &format!("/api/users/{api_id}")));
        let page = get(&store, &format!("/users/{id}"));
        assert_eq!(
            (page.status, page.content_type),
            (200, super::super::HTML),
            "{id}"
        );
        // One row per application the API lists, each linking to it, in the same order.
        let linked: Vec<String> = page
            .body
            .split("<tr><td><a href=\"/applications/")
            .skip(1)
            .map(|r| r.split('"').next().unwrap().to_string())
            .collect();
        let listed: Vec<String> = api["applications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| crate::http::encode_component(a["client_id"].as_str().unwrap()))
            .collect();
        assert!(!listed.is_empty(), "{id}");
        assert_eq!(linked, listed, "{id}");
        assert!(!page.body.contains("<script>"), "{id}");
        assert!(page.body.contains("not enabled: grant read:logs"), "{id}");
        let user_id = api["user"]["user_id"].as_str().unwrap();
        assert!(page.body.contains(&format!(
            "href=\"/changes?user_id={}\"",
            crate::http::encode_component(user_id)
        )));
    }
    let missing = get(&store, "/users/auth0%7Cnobody");
    assert_eq!(
        (missing.status, missing.content_type),
        (404, super::super::HTML)
    );
    assert!(missing.body.contains("User not found"));
    assert_eq!(get(&store, "/users/%ff").status, 400);
    // The dashboard and the application's users table link to the page.
    assert!(get(&store, "/").body.contains("href=\"/users/auth0%7C0\""));
    assert!(
        get(&store, "/applications/spa")
            .body
            .contains("href=\"/users/auth0%7C0\"")
    );
}

#[test]
fn the_users_csv_streams_in_pages_each_row_exactly_once_with_its_filters() {
    let (store, _) = store(&ALL);
    let whole = |path: &str| get(&store, path).body;
    for (path, rows) in [
        ("/applications/web/users.csv", 7),
        ("/applications/web/users.csv?activity=never", 6),
        ("/applications/spa/users.csv?q=user", 5),
    ] {
        let body = whole(path);
        let (_, query) = path.split_once('?').unwrap_or((path, ""));
        let client = path.split('/').nth(2).unwrap();
        let one_page = body.trim_end().split("\r\n").skip(1).collect::<Vec<_>>();
        assert_eq!(one_page.len(), rows, "{path}: {body}");
        // Pages of 1, 2 and 3 rows: the same rows, once each, in the same order, after one header.
        for limit in [1, 2, 3] {
            let mut q = super::super::applications::users_query(client, query, NOW).unwrap();
            q.limit = limit;
            let paged = block_on(super::super::applications::users_csv_export(&store, &q)).unwrap();
            assert_eq!(paged, body, "{path} in pages of {limit}");
            let mut chunks = 0;
            let mut next = Some(q);
            while let Some(q) = next {
                let (rows, more) =
                    block_on(super::super::applications::users_csv_chunk(&store, &q)).unwrap();
                assert!(rows.split("\r\n").count() <= limit as usize + 1);
                chunks += 1;
                next = more;
            }
            assert_eq!(
                chunks,
                rows.div_ceil(limit as usize),
                "{path} in pages of {limit}"
            );
        }
        let mut ids: Vec<&str> = one_page
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), rows, "{path}");
    }
}
