//! `GET /api/changes`, `/changes` and `/changes.csv` against the in-memory store: shape, newest
//! first, keyset paging that covers each change once, every filter, and 400s for bad input.

use super::super::*;
use crate::auth::origin::RequestSite;
use crate::changes::{EventType, NewEvent, Origin, Subject};
use crate::config::ViewerToken;
use crate::testing::block_on;
use crate::testing::memory::MemoryStore;

const NOW: u64 = 1_750_000_000_000;

fn token() -> ViewerToken {
    crate::testing::viewer_token("v-token-0123456789")
}

fn call(store: &MemoryStore, path_query: &str, signed_in: bool) -> Handled {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let req = ApiRequest {
        schedule: Default::default(),
        method: "GET",
        path,
        query,
        authorization: signed_in.then_some("Bearer v-token-0123456789"),
        cookie: None,
        body: "",
        now_ms: NOW,
        site: RequestSite::default(),
    };
    let t = token();
    let auth = ViewerAuth {
        token: Some(&t),
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    block_on(handle(&req, store, &auth))
}

fn get(store: &MemoryStore, path_query: &str) -> ApiResponse {
    match call(store, path_query, true) {
        Handled::Respond(r) => r,
        other => panic!("{path_query}: {other:?}"),
    }
}

fn json(r: &ApiResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap()
}

/// Thirty events over ten days; several share an instant (ties broken by id).
fn history() -> MemoryStore {
    let store = MemoryStore::default();
    let kinds = [
        EventType::UserAdded,
        EventType::UserBlocked,
        EventType::AppReachable,
    ];
    let events: Vec<NewEvent> = (0..30)
        .map(|i| {
            let kind = kinds[i % 3];
            let subject = Subject {
                user_id: Some(format!("auth0|{}", i % 4)),
                email: Some(format!("u{}@x.io", i % 4)),
                client_id: (kind == EventType::AppReachable).then(|| format!("app{}", i % 2)),
                ..Subject::default()
            };
            let at =
                crate::time::iso_from_ms(NOW - 10 * 86_400_000 + (i as u64 / 2) * 86_400_000 / 2);
            NewEvent::new(
                &Origin::Run(i as i64),
                &at,
                kind,
                subject,
                format!("event {i}"),
            )
        })
        .collect();
    store.append_events(&events);
    store
}

/// Every page of `query`, following `next_cursor`; the ids in order.
fn all_pages(store: &MemoryStore, query: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if query.is_empty() { "" } else { "&" };
        let url = match &cursor {
            Some(c) => format!("/api/changes?{query}{sep}limit=4&cursor={c}"),
            None => format!("/api/changes?{query}{sep}limit=4"),
        };
        let r = get(store, &url);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        let v = json(&r);
        let page = v["changes"].as_array().unwrap();
        assert!(page.len() <= 4);
        ids.extend(page.iter().map(|c| c["id"].as_i64().unwrap()));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return ids,
        }
    }
    panic!("paging never ended");
}

#[test]
fn changes_have_the_public_shape_newest_first() {
    let store = history();
    let v = json(&get(&store, "/api/changes?limit=2"));
    let first = &v["changes"][0];
    for field in [
        "id",
        "at",
        "run_id",
        "type",
        "user_id",
        "email",
        "detail",
        "client_id",
        "org_id",
        "baseline",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
    // The newest instant holds events 28 and 29: the later id first.
    assert_eq!(first["id"], 30);
    assert_eq!(first["detail"], "event 29");
    assert_eq!(first["type"], "app_reachable");
    assert_eq!(first["client_id"], "app1");
    assert_eq!(first["run_id"], 29);
    assert_eq!(first["baseline"], false);
    assert_eq!(v["changes"][1]["id"], 29);
    assert!(v["next_cursor"].is_string());
}

#[test]
fn pages_cover_each_change_once_under_every_filter() {
    let store = history();
    let records = block_on(store.list_changes(&crate::store::ChangesQuery {
        limit: 1000,
        ..Default::default()
    }))
    .unwrap();
    let since = crate::time::iso_from_ms(NOW - 6 * 86_400_000);
    let until = crate::time::iso_from_ms(NOW - 3 * 86_400_000);
    type Keep<'a> = Box<dyn Fn(&crate::store::ChangeRecord) -> bool + 'a>;
    let cases: Vec<(String, Keep<'_>)> = vec![
        (String::new(), Box::new(|_| true)),
        (
            "type=user_blocked".into(),
            Box::new(|r| r.kind == "user_blocked"),
        ),
        (
            "user_id=auth0%7C1".into(),
            Box::new(|r| r.user_id.as_deref() == Some("auth0|1")),
        ),
        (
            "client_id=app1".into(),
            Box::new(|r| r.client_id.as_deref() == Some("app1")),
        ),
        (format!("since={since}"), Box::new(|r| r.at >= since)),
        (
            format!("since={since}&until={until}&type=app_reachable"),
            Box::new(|r| r.at >= since && r.at < until && r.kind == "app_reachable"),
        ),
    ];
    for (query, keep) in cases {
        let want: Vec<i64> = records.iter().filter(|r| keep(r)).map(|r| r.id).collect();
        assert!(!want.is_empty(), "{query}");
        assert_eq!(all_pages(&store, &query), want, "{query}");
    }
    // A bare date is that day's start.
    let day = &since[..10];
    let from_day = all_pages(&store, &format!("since={day}"));
    assert!(from_day.len() >= all_pages(&store, &format!("since={since}")).len());
}

#[test]
fn bad_parameters_get_400_with_a_message() {
    let store = history();
    for (query, name) in [
        ("since=yesterday", "since"),
        ("until=2025-13-01", "until"),
        ("since=2026-01-02&until=2026-01-01", "until"),
        ("type=user_deleted", "type"),
        ("type=USER_ADDED", "type"),
        ("cursor=zz", "cursor"),
        ("cursor=7b7d", "cursor"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("user_id=a&user_id=b", "user_id"),
    ] {
        let r = get(&store, &format!("/api/changes?{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let msg = json(&r)["error"].as_str().unwrap().to_string();
        assert!(msg.contains(&format!("`{name}`")), "{query}: {msg}");
    }
    let r = get(&store, "/api/changes?type=nope");
    assert!(r.body.contains("user_added, user_removed"), "{}", r.body);
}

#[test]
fn the_page_and_the_csv_need_a_viewer_and_follow_the_filters() {
    let store = history();
    assert!(matches!(
        call(&store, "/api/changes", false),
        Handled::Respond(ApiResponse { status: 401, .. })
    ));
    match call(&store, "/changes", false) {
        Handled::Respond(r) => assert_eq!(r.status, 303),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        call(&store, "/changes.csv", false),
        Handled::Respond(_)
    ));
    let page = get(&store, "/changes?type=user_blocked&client_id=%3Cb%3E");
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, HTML);
    assert!(
        page.body.contains("No changes match."),
        "the client filter applies"
    );
    assert!(page.body.contains("value=\"&lt;b&gt;\""));
    let page = get(&store, "/changes?type=user_blocked");
    assert_eq!(page.body.matches("<td>Blocked</td>").count(), 10);
    assert!(
        page.body
            .contains("href=\"/changes.csv?type=user_blocked\"")
    );
    let page = get(&store, "/changes?since=junk");
    assert!(page.body.contains("bad parameter `since`"));
    assert!(
        page.body.contains("event 29"),
        "unfiltered below the message"
    );
    let Handled::ChangesCsv(q) = call(
        &store,
        "/changes.csv?type=app_reachable&client_id=app0",
        true,
    ) else {
        panic!("not the CSV export")
    };
    let csv = block_on(changes::csv_export(&store, &q)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 5, "{csv}");
    assert!(
        lines
            .iter()
            .skip(1)
            .all(|l| l.contains("\"app_reachable\"") && l.contains("\"app0\""))
    );
    let Handled::Respond(r) = call(&store, "/changes.csv?type=nope", true) else {
        panic!("a bad filter is answered, not exported")
    };
    assert_eq!(r.status, 400);
}
