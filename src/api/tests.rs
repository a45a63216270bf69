//! Routing, viewer authentication and paging against the in-memory store.

use super::*;
use crate::auth0::fake::FakeAuth0;
use crate::clock::fake::FakeClock;
use crate::store::memory::MemoryStore;
use crate::sync::{Trigger, run_sync};
use crate::testing::{auth0_config, block_on};

fn viewer() -> ViewerToken {
    ViewerToken::from_settings(&|n: &str| (n == "VIEWER_TOKEN").then(|| "v-token".to_string()))
        .unwrap()
}

fn get(
    store: &MemoryStore,
    path_query: &str,
    auth: Option<&str>,
    v: Option<&ViewerToken>,
) -> ApiResponse {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let req = ApiRequest {
        method: "GET",
        path,
        query,
        authorization: auth,
    };
    match block_on(handle(&req, store, v)) {
        Handled::Respond(r) => r,
        Handled::RunSync => panic!("GET never runs a sync"),
    }
}

fn synced_store(n: usize) -> MemoryStore {
    let store = MemoryStore::default();
    let fake = FakeAuth0::with_users(FakeAuth0::generate(n, 0));
    let cfg = auth0_config("test-secret");
    block_on(run_sync(
        &fake,
        &FakeClock::at(1_750_000_000_000),
        &store,
        Ok(&cfg),
        Trigger::Cron,
        Default::default(),
    ))
    .unwrap();
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
            get(&store, path, Some("Bearer v-token"), Some(&v)).status,
            200
        );
        // No VIEWER_TOKEN configured: closed to everyone, with the fix in the message.
        let closed = get(&store, path, Some("Bearer "), None);
        assert_eq!(closed.status, 503);
        assert!(closed.body.contains("wrangler secret put VIEWER_TOKEN"));
    }
    let post = ApiRequest {
        method: "POST",
        path: "/api/sync",
        query: "",
        authorization: Some("Bearer v-token"),
    };
    assert!(matches!(
        block_on(handle(&post, &store, Some(&v))),
        Handled::RunSync
    ));
    let anon = ApiRequest {
        authorization: None,
        ..post
    };
    assert!(
        matches!(block_on(handle(&anon, &store, Some(&v))), Handled::Respond(r) if r.status == 401)
    );
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    let store = MemoryStore::default();
    let v = viewer();
    let r = get(&store, "/nope", Some("Bearer v-token"), Some(&v));
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, "{\"error\":\"not found\"}")
    );
    let r = get(&store, "/api/sync", Some("Bearer v-token"), Some(&v));
    assert_eq!(r.status, 405);
    let r = get(
        &store,
        "/api/users?limit=5000",
        Some("Bearer v-token"),
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
        let r = get(&store, &path, Some("Bearer v-token"), Some(&v));
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
    let cfg = auth0_config("test-secret");
    block_on(run_sync(
        &fake,
        &FakeClock::at(1_750_000_100_000),
        &store,
        Ok(&cfg),
        Trigger::Manual,
        Default::default(),
    ))
    .unwrap();
    let v = viewer();
    let r = get(&store, "/api/sync-runs", Some("Bearer v-token"), Some(&v));
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
