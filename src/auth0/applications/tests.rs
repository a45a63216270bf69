//! The application listings against scripted answers: paging, completeness proofs, secrets never
//! asked for, and junk answers ending in typed results.

use std::cell::RefCell;

use serde_json::{Value, json};

use super::*;
use crate::clock::fake::FakeClock;
use crate::http::{HttpRequest, HttpResponse, TransportError};
use crate::testing::{Rng, auth0_config, block_on};

const TOKEN: &str =
    r#"{"access_token":"t","expires_in":86400,"scope":"read:clients read:connections"}"#;

/// Answers by path: a function from the request's URL to (status, body); records the URLs.
struct Router<F: Fn(&str) -> (u16, String)> {
    route: F,
    urls: RefCell<Vec<String>>,
}

impl<F: Fn(&str) -> (u16, String)> HttpClient for Router<F> {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.urls.borrow_mut().push(req.url.clone());
        let (status, body) = if req.url.ends_with("/oauth/token") {
            (200, TOKEN.to_string())
        } else {
            (self.route)(&req.url)
        };
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body,
        })
    }
}

fn router<F: Fn(&str) -> (u16, String)>(route: F) -> Router<F> {
    Router {
        route,
        urls: RefCell::new(Vec::new()),
    }
}

fn with_client<H: HttpClient, T>(
    http: &H,
    f: impl AsyncFnOnce(&mut Auth0Client<'_, H, FakeClock>) -> T,
) -> T {
    let clock = FakeClock::at(1_700_000_000_000);
    let cfg = auth0_config("secret");
    let policy = crate::auth0::RetryPolicy {
        max_attempts: 2,
        ..Default::default()
    };
    let mut c = Auth0Client::new(http, &clock, &cfg, policy);
    block_on(f(&mut c))
}

fn param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    url.split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn app(i: usize) -> Value {
    json!({"client_id": format!("c{i}"), "name": format!("App {i}"), "app_type": "spa"})
}

/// Clients in pages of `size` (Auth0 may pick any size), with `total` as given.
fn clients_tenant(n: usize, size: usize, total: Option<u64>) -> impl Fn(&str) -> (u16, String) {
    move |url: &str| {
        let page: usize = param(url, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let clients: Vec<Value> = (page * size..((page + 1) * size).min(n)).map(app).collect();
        let mut body = json!({"clients": clients, "start": page * size, "limit": size});
        if let Some(t) = total {
            body["total"] = json!(t);
        }
        (200, body.to_string())
    }
}

#[test]
fn clients_are_asked_only_for_the_fields_needed_never_the_secret() {
    let path = clients_path(0);
    assert!(path.contains("fields=client_id,name,app_type,is_first_party,organization_usage"));
    assert!(path.contains("include_fields=true"));
    assert!(!path.contains("secret"));
}

#[test]
fn a_client_listing_is_complete_only_when_its_count_matches_the_total() {
    // Auth0 answering 30 per page although 100 were asked for: the count still proves it.
    let http = router(clients_tenant(75, 30, Some(75)));
    let l = with_client(&http, async |c| list_applications(c).await).unwrap();
    assert_eq!(l.items.len(), 75);
    assert_eq!(l.unproven, None);
    assert_eq!(http.urls.borrow().len(), 1 + 3);
    // A total the listing does not reach: unproven, nothing may be removed.
    let http = router(clients_tenant(75, 30, Some(80)));
    let l = with_client(&http, async |c| list_applications(c).await).unwrap();
    assert_eq!(l.items.len(), 75);
    assert!(
        l.unproven
            .unwrap()
            .contains("read 75 distinct, Auth0 reports 80")
    );
    // No total at all: unproven.
    let http = router(clients_tenant(5, 100, None));
    let l = with_client(&http, async |c| list_applications(c).await).unwrap();
    assert!(l.unproven.is_some());
}

#[test]
fn duplicated_clients_across_pages_are_counted_once() {
    // Every page repeats the previous page's last client: distinct ids are what is counted.
    let http = router(|url: &str| {
        let page: usize = param(url, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let ids: Vec<Value> = match page {
            0 => vec![app(0), app(1)],
            1 => vec![app(1), app(2)],
            _ => vec![],
        };
        (200, json!({"clients": ids, "total": 4}).to_string())
    });
    let l = with_client(&http, async |c| list_applications(c).await).unwrap();
    assert_eq!(l.items.len(), 3);
    assert!(l.unproven.is_some(), "3 distinct of 4 is not complete");
}

#[test]
fn offset_listings_stop_at_the_cap_unproven() {
    let http = router(clients_tenant(1500, 100, Some(1500)));
    let l = with_client(&http, async |c| list_applications(c).await).unwrap();
    assert_eq!(l.items.len(), 1000);
    assert!(l.unproven.is_some());
    assert!(http.urls.borrow().iter().all(|u| !u.contains("page=10&")));
}

#[test]
fn connections_page_by_checkpoint_until_the_listing_ends() {
    // Three pages; the last carries a `next` and is followed by an empty page.
    let http = router(|url: &str| {
        let from = param(url, "from");
        let body = match from {
            None => {
                json!({"connections": [{"id": "con_1", "name": "db", "strategy": "auth0"}], "next": "a"})
            }
            Some("a") => {
                json!({"connections": [{"id": "con_2", "name": "google-oauth2"}], "next": "b"})
            }
            _ => json!({"connections": [], "next": "c"}),
        };
        (200, body.to_string())
    });
    let l = with_client(&http, async |c| list_connections(c).await).unwrap();
    assert_eq!(
        l.items.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["db", "google-oauth2"]
    );
    assert_eq!(l.unproven, None);
    // A bare array has no paging to prove it whole: a typed failure, nothing listed.
    let http = router(|_: &str| (200, json!([{"id": "con_1", "name": "db"}]).to_string()));
    let e = with_client(&http, async |c| list_connections(c).await).unwrap_err();
    assert!(matches!(e, Auth0Error::Unavailable { .. }), "{e:?}");
}

#[test]
fn connection_clients_follow_next_and_encode_the_id() {
    let http = router(|url: &str| {
        let body = match param(url, "from") {
            None => json!({"clients": [{"client_id": "a"}, {"client_id": "b"}], "next": "x+y"}),
            Some("x%2By") => json!({"clients": [{"client_id": "b"}, {"client_id": "c"}]}),
            other => panic!("unexpected checkpoint {other:?}"),
        };
        (200, body.to_string())
    });
    let l = with_client(&http, async |c| list_connection_clients(c, "con/1").await).unwrap();
    assert_eq!(l.items, ["a", "b", "c"]);
    assert_eq!(l.unproven, None);
    assert!(http.urls.borrow()[1].contains("/connections/con%2F1/clients?take=100"));
}

#[test]
fn a_server_that_never_stops_paging_is_cut_off_unproven() {
    let http = router(|url: &str| {
        let n = param(url, "from").map_or(0, |f| f.len());
        let body = json!({"clients": [{"client_id": format!("c{n}")}], "next": "x".repeat(n + 1)});
        (200, body.to_string())
    });
    let l = with_client(&http, async |c| list_connection_clients(c, "con_1").await).unwrap();
    assert_eq!(l.items.len(), MAX_PAGES as usize);
    assert!(l.unproven.is_some());
}

#[test]
fn org_connections_are_proven_by_their_total() {
    let http = router(|url: &str| {
        let page: usize = param(url, "page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let items: Vec<Value> = if page == 0 {
            vec![
                json!({"connection_id": "con_1", "assign_membership_on_login": true,
                        "connection": {"name": "db", "strategy": "auth0"}}),
            ]
        } else {
            vec![]
        };
        (
            200,
            json!({"enabled_connections": items, "total": 1}).to_string(),
        )
    });
    let l = with_client(&http, async |c| list_org_connections(c, "org_1").await).unwrap();
    assert_eq!(l.items, ["con_1"]);
    assert_eq!(l.unproven, None);
}

#[test]
fn a_missing_scope_is_a_typed_error() {
    let http = router(|_: &str| {
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden",
                   "message": "Insufficient scope, expected any of: read:clients",
                   "errorCode": "insufficient_scope"})
            .to_string(),
        )
    });
    let e = with_client(&http, async |c| list_applications(c).await).unwrap_err();
    assert_eq!(e.missing_scope(), Some("read:clients"));
}

#[test]
fn odd_field_types_read_as_absent_not_as_a_failed_page() {
    let page = ClientsPage::from_value(&json!({"clients": [
        {"client_id": "a", "name": 7, "app_type": ["spa"], "is_first_party": "yes",
         "organization_usage": null, "client_secret": "never-read"}
    ], "total": 1}))
    .unwrap();
    let a = &page.clients[0];
    assert_eq!((a.name.as_deref(), a.app_type.as_deref()), (None, None));
    assert_eq!(a.is_first_party, None);
    assert!(!format!("{a:?}").contains("never-read"));
}

fn junk(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 2 { 4 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.one_in(2)),
        2 => json!(rng.next_u64() % 5),
        3 => json!(*rng.pick(&["", "x", "con_1", "c1", "<b>", "\u{0}", "require"])),
        4 => Value::Array((0..rng.below(4)).map(|_| junk(rng, depth + 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(5) {
                let k = *rng.pick(&[
                    "clients",
                    "connections",
                    "enabled_connections",
                    "next",
                    "total",
                    "client_id",
                    "id",
                    "name",
                    "connection_id",
                    "app_type",
                ]);
                m.insert(k.into(), junk(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

#[test]
fn junk_answers_end_in_listings_or_typed_errors_without_a_panic() {
    let mut outcomes = std::collections::BTreeMap::new();
    for seed in 0..1500u64 {
        let rng = RefCell::new(Rng::new(seed));
        let http = router(|_: &str| {
            let mut r = rng.borrow_mut();
            let status = *r.pick(&[200, 200, 200, 200, 400, 403, 404, 500]);
            let body = if r.one_in(5) {
                String::from_utf8_lossy(&r.bytes(20)).into_owned()
            } else {
                junk(&mut r, 0).to_string()
            };
            (status, body)
        });
        let which = seed % 4;
        let outcome = with_client(&http, async |c| match which {
            0 => list_applications(c).await.map(|l| l.items.len()),
            1 => list_connections(c).await.map(|l| l.items.len()),
            2 => list_connection_clients(c, "con_1")
                .await
                .map(|l| l.items.len()),
            _ => list_org_connections(c, "org_1")
                .await
                .map(|l| l.items.len()),
        });
        let kind = match outcome {
            Ok(_) => "ok".to_string(),
            Err(e) => {
                assert!(!e.to_string().is_empty());
                format!("{e:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            }
        };
        *outcomes.entry(kind).or_insert(0) += 1;
        assert!(http.urls.borrow().len() <= 2 * MAX_PAGES as usize + 10);
    }
    // The junk reached both ends: some listings parsed, some failed with each kind.
    for kind in ["ok", "Unavailable", "Rejected"] {
        assert!(outcomes.contains_key(kind), "{outcomes:?}");
    }
}
