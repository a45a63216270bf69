//! Golden tests: the API's JSON, type by type (both presence states of every optional field)
//! and route by route, equals byte for byte the text in `json.golden`. That file was written by
//! the hand-written writer the serde derives replaced, so the derives keep its every byte.

use serde::Serialize;
use serde_json::{Value, json};

use super::super::json as j;
use super::super::*;
use crate::auth::origin::RequestSite;
use crate::auth0::fake::{FakeApps, FakeAuth0, FakeConnection};
use crate::clock::fake::FakeClock;
use crate::render::applications::{Coverage, NotEnabled};
use crate::store::applications::{AppSummary, AppUser, UsageGap, UserApp};
use crate::store::{ChangeRecord, ConnectionCount, OrgRecord, RunStatus, SeatCounts};
use crate::sync::{Trigger, run_sync};
use crate::testing::memory::MemoryStore;
use crate::testing::{block_on, sync_config};
use crate::trends::{Bucket, By, Point, Reclaim, Series, Trends, Week};

/// `label<TAB>text` a line: the bodies as the hand-written writer wrote them.
const GOLDEN: &str = include_str!("json.golden");

/// `text` equals the golden text under `label`, byte for byte.
#[track_caller]
fn golden(label: &str, text: &str) {
    let want = GOLDEN
        .lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix('\t'))
        .unwrap_or_else(|| panic!("no golden text for {label}"));
    assert_eq!(text, want, "{label}");
}

const NOW: u64 = 1_750_000_000_000;

/// Text with everything JSON must escape, and some that it must not.
const AWKWARD: &str = "q\"b\\s/\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f} é ✓ 🎉 <&>";

/// `value`, serialized, is the golden text under `label`; and it is valid JSON.
#[track_caller]
fn same<T: Serialize>(label: &str, value: &T) {
    let text = serde_json::to_string(value).unwrap();
    golden(label, &text);
    let _: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
}

#[test]
fn error_bodies_are_escaped_byte_for_byte_as_before() {
    assert_eq!(
        j::error(AWKWARD),
        "{\"error\":\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0000\\u001f\u{7f} é ✓ 🎉 <&>\"}"
    );
    assert_eq!(j::error(AWKWARD), json!({ "error": AWKWARD }).to_string());
    assert_eq!(j::error(""), "{\"error\":\"\"}");
}

fn user_record(full: bool) -> UserRecord {
    let some = |s: &str| full.then(|| s.to_string());
    UserRecord {
        user_id: AWKWARD.into(),
        email: some("a@x.io"),
        name: some(AWKWARD),
        connection: some("db"),
        connections: if full {
            vec!["db".into(), AWKWARD.into()]
        } else {
            vec![]
        },
        last_login: some("2025-01-01T00:00:00.000Z"),
        logins_count: if full { i64::MAX } else { -1 },
        created_at: "2024-01-01T00:00:00.000Z".into(),
        updated_at: some("2024-02-01T00:00:00.000Z"),
        blocked: full,
        email_verified: full.then_some(false),
        first_seen_at: "2024-03-01T00:00:00.000Z".into(),
        removed_at: some("2024-04-01T00:00:00.000Z"),
        organizations: if full { vec!["org_1".into()] } else { vec![] },
    }
}

fn run_record(full: bool) -> RunRecord {
    let mut r = RunRecord::started(7, "2025-01-01T00:00:00.000Z".into(), AWKWARD);
    if full {
        r.finished_at = Some("2025-01-01T00:01:00.000Z".into());
        r.status = RunStatus::Partial;
        r.users_seen = u64::MAX;
        r.users_added = 1;
        r.users_updated = 2;
        r.users_removed = 3;
        r.api_requests = 4;
        r.rate_limited = 5;
        r.rows_written = 6;
        r.organizations_seen = 7;
        r.memberships_seen = 8;
        r.memberships_added = 9;
        r.memberships_removed = 10;
        r.invocations = 11;
        r.users_total_estimate = Some(12);
        r.d1_queries = 13;
        r.error = Some(AWKWARD.into());
    }
    // Internal: the derive skips it, and so must the writer.
    r.cursor = Some("{\"phase\":\"secret\"}".into());
    r
}

fn org(full: bool) -> OrgRecord {
    OrgRecord {
        id: "org_1".into(),
        name: full.then(|| AWKWARD.into()),
        display_name: full.then(|| "Org".into()),
        member_count: if full { 3 } else { 0 },
        removed_at: full.then(|| "2024-01-01T00:00:00.000Z".into()),
    }
}

#[test]
fn store_view_types_match_their_derives() {
    for full in [true, false] {
        same(&format!("user full={full}"), &user_record(full));
        same(&format!("run full={full}"), &run_record(full));
        same(&format!("organization full={full}"), &org(full));
        let some = |s: &str| full.then(|| s.to_string());
        let change = ChangeRecord {
            id: if full { 1 << 40 } else { 0 },
            at: "2025-01-01T00:00:00.000Z".into(),
            run_id: full.then_some(3),
            kind: "user_added".into(),
            user_id: some(AWKWARD),
            email: some("a@x.io"),
            client_id: some("spa"),
            org_id: some("org_1"),
            detail: AWKWARD.into(),
            baseline: full,
        };
        same(&format!("change full={full}"), &change);
        let conn = ConnectionCount {
            connection: some("db"),
            users: 4,
        };
        same(&format!("connection_count full={full}"), &conn);
        let app = AppSummary {
            client_id: "spa".into(),
            name: some(AWKWARD),
            app_type: some("spa"),
            users_can_reach: 5,
            active_30d: 4,
            active_90d: 3,
            never_used: if full { 2 } else { -2 },
            last_login: some("2025-01-01T00:00:00.000Z"),
            usage_since: some("2024-01-01T00:00:00.000Z"),
        };
        same(&format!("app_summary full={full}"), &app);
        let app_user = AppUser {
            user_id: AWKWARD.into(),
            email: some("a@x.io"),
            name: some("N"),
            connection: some("db"),
            can_reach: full,
            last_login: some("2025-01-01T00:00:00.000Z"),
            logins: 9,
            last_seen: some("2025-01-02T00:00:00.000Z"),
        };
        same(&format!("app_user full={full}"), &app_user);
        let user_app = UserApp {
            client_id: "spa".into(),
            name: some(AWKWARD),
            can_reach: !full,
            last_login: some("2025-01-01T00:00:00.000Z"),
            logins: 0,
            last_seen: some("2025-01-02T00:00:00.000Z"),
        };
        same(&format!("user_app full={full}"), &user_app);
        let coverage = Coverage {
            not_enabled: if full {
                vec![NotEnabled {
                    scope: "read:logs".into(),
                    message: AWKWARD.into(),
                }]
            } else {
                vec![]
            },
            usage_gaps: vec![UsageGap {
                gap_from: some("2024-01-01T00:00:00.000Z"),
                gap_until: "2024-02-01T00:00:00.000Z".into(),
            }],
        };
        same(&format!("coverage full={full}"), &coverage);
        let summary = Summary {
            counts: SeatCounts {
                current: 1,
                active: 2,
                blocked: 3,
                removed: 4,
                never_logged_in: 5,
                inactive_30: 6,
                inactive_60: 7,
                inactive_90: if full { 8 } else { -8 },
            },
            by_connection: vec![conn.clone(), conn],
            by_organization: if full {
                vec![org(true), org(false)]
            } else {
                vec![]
            },
            last_sync: full.then(|| run_record(true)),
            last_complete_sync: full.then(|| run_record(false)),
            generated_at: "2025-01-01T00:00:00.000Z".into(),
            deletions: crate::sync::schedule::Outlook {
                within_hours: if full { 24 } else { 0 },
                shows: AWKWARD.into(),
                signal: full.then_some("event_stream"),
                full_listing_every_hours: 1,
                full_listing_requests: full.then_some(250),
                why: AWKWARD.into(),
                faster: full.then(|| AWKWARD.into()),
            },
        };
        same(&format!("summary full={full}"), &summary);
    }
}

fn point(full: bool) -> Point {
    let n = |v: i64| full.then_some(v);
    Point {
        day: "2025-01-01".into(),
        derived: !full,
        seats: n(1),
        active: n(2),
        blocked: n(3),
        removed: n(4),
        added: n(5),
        active_30: n(6),
        active_90: n(7),
        never_logged_in: n(8),
        logins_total: n(i64::MAX),
    }
}

#[test]
fn trends_match_their_derive_with_and_without_every_part() {
    let weeks = vec![
        Week {
            week: "2024-12-30".into(),
            logins: Some(3),
        },
        Week {
            week: "2025-01-06".into(),
            logins: None,
        },
    ];
    for by in [
        None,
        Some(By::Connection),
        Some(By::Organization),
        Some(By::Application),
    ] {
        for full in [true, false] {
            let t = Trends {
                days: if full { 1096 } else { 1 },
                from: "2024-01-01".into(),
                to: "2025-01-01".into(),
                tracking_since: full.then(|| "2024-06-01".into()),
                tenant: vec![point(true), point(false)],
                logins_per_week: if full { weeks.clone() } else { vec![] },
                reclaim: full.then(|| Reclaim {
                    day: "2025-01-01".into(),
                    buckets: vec![Bucket {
                        label: "0–30",
                        users: 2,
                        href: "/?last_login_days=0-30#users",
                    }],
                }),
                by,
                series: if full {
                    vec![Series {
                        key: String::new(),
                        label: AWKWARD.into(),
                        points: vec![point(false)],
                        logins_per_week: weeks.clone(),
                    }]
                } else {
                    vec![]
                },
            };
            same(&format!("trends by={by:?} full={full}"), &t);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Route by route: each answer equals the `json!` of the derives that served it before.

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
        other => panic!("GET {path_query}: {other:?}"),
    }
}

#[track_caller]
fn answers(store: &MemoryStore, path_query: &str, expected: Value) {
    let r = get(store, path_query);
    golden(&format!("GET {path_query}"), &r.body);
    assert_eq!((r.status, r.content_type), (200, JSON), "{}", r.body);
    let ours: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(ours, expected, "{path_query}");
}

/// Users, an organization, applications with usage and a gap, one sync.
fn store() -> MemoryStore {
    let users: Vec<Value> = (0..5)
        .map(|i| {
            json!({"user_id": format!("auth0|{i}"), "email": format!("u{i}@x.io"),
                   "name": match i { 0 => json!(AWKWARD), 1 => json!("Åström ÉMILE"), _ => json!(null) },
                   "created_at": format!("2024-01-0{}T00:00:00.000Z", i + 1),
                   "identities": [{"connection": if i < 3 { "db" } else { "google" }}]})
        })
        .collect();
    let fake = FakeAuth0::with_users(users);
    fake.orgs
        .borrow_mut()
        .push(("org_1".into(), vec!["auth0|0".into(), "auth0|1".into()]));
    fake.scopes
        .borrow_mut()
        .extend(["read:clients", "read:connections"].map(String::from));
    *fake.apps.borrow_mut() = FakeApps {
        clients: vec![
            json!({"client_id": "spa", "name": AWKWARD, "app_type": "spa"}),
            json!({"client_id": "web", "app_type": "regular_web"}),
        ],
        connections: vec![FakeConnection {
            id: "con_db".into(),
            name: "db".into(),
            clients: vec!["spa".into(), "web".into()],
        }],
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
    // A second sync sees changes: one user gone, one new.
    fake.users.borrow_mut().pop();
    fake.users
        .borrow_mut()
        .push(json!({"user_id": "auth0|new", "email": AWKWARD,
        "created_at": "2025-06-01T00:00:00.000Z", "identities": [{"connection": "db"}]}));
    block_on(run_sync(
        &fake,
        &FakeClock::at(NOW + 3_600_000),
        &store,
        Ok(&cfg),
        Trigger::Cron,
    ))
    .unwrap();
    store
        .apps
        .0
        .borrow()
        .execute_batch(
            "INSERT INTO app_usage VALUES ('auth0|0', 'spa', '2025-06-14T00:00:00.000Z', 4, '2025-06-15T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
             INSERT INTO log_cursor (id, checkpoint, tracking_since) VALUES (1, 'x', '2024-05-01T00:00:00.000Z');
             INSERT INTO usage_gaps (run_id, gap_from, gap_until, noted_at) VALUES (1, NULL, '2024-07-09T00:00:00.000Z', 'n');",
        )
        .unwrap();
    store
}

#[test]
fn every_json_route_answers_as_the_derives_did() {
    let store = store();
    answers(&store, "/healthz", json!({"ok": true}));

    for q in ["limit=2", "limit=2&sort=email:desc", "status=all"] {
        let uq = params::users_query(q, NOW).unwrap();
        let (users, next) = block_on(users_page(&store, &uq)).unwrap();
        assert!(!users.is_empty());
        answers(
            &store,
            &format!("/api/users?{q}"),
            json!({ "users": users, "next_cursor": next }),
        );
        let mut mq = uq.clone();
        mq.organization = Some("org_1".into());
        let (members, next) = block_on(users_page(&store, &mq)).unwrap();
        answers(
            &store,
            &format!("/api/organizations/org_1/members?{q}"),
            json!({ "members": members, "next_cursor": next }),
        );
    }

    let user = block_on(store.get_user("auth0|0")).unwrap().unwrap();
    let apps = block_on(crate::store::applications::user_apps(&store, "auth0|0")).unwrap();
    assert!(!apps.is_empty());
    answers(
        &store,
        "/api/users/auth0%7C0",
        json!({ "user": user, "applications": apps }),
    );

    let orgs = block_on(store.list_organizations()).unwrap();
    assert_eq!(orgs.len(), 1);
    answers(
        &store,
        "/api/organizations",
        json!({ "organizations": orgs }),
    );

    let summary = block_on(summary(&store, NOW, Default::default())).unwrap();
    assert!(summary.last_sync.is_some());
    answers(
        &store,
        "/api/summary",
        serde_json::to_value(&summary).unwrap(),
    );

    let runs = block_on(store.list_runs(50)).unwrap();
    answers(&store, "/api/sync-runs", json!({ "runs": runs }));
    let run = runs.first().unwrap().clone();
    let synced = sync_response(&Ok(crate::sync::SyncResult::Ran {
        run: Box::new(run.clone()),
        internal: Some("internal detail".into()),
    }));
    golden("POST /api/sync", &synced.body);
    assert_eq!(
        serde_json::from_str::<Value>(&synced.body).unwrap(),
        json!({ "run": run })
    );

    let cq = changes::changes_query("limit=2", 100, 1000).unwrap();
    let (changes, next) = block_on(changes::changes_page(&store, &cq)).unwrap();
    assert!(next.is_some());
    answers(
        &store,
        "/api/changes?limit=2",
        json!({ "changes": changes, "next_cursor": next }),
    );

    for q in [
        "",
        "by=connection&days=30",
        "by=organization",
        "by=application",
    ] {
        let t = block_on(trends::trends_json(&store, q, NOW)).unwrap();
        answers(
            &store,
            &format!("/api/trends?{q}"),
            serde_json::to_value(&t).unwrap(),
        );
    }

    let [d30, d90] = applications::cutoffs(NOW);
    let list = block_on(crate::store::applications::list_apps(
        &store,
        &[d30, d90],
        None,
    ))
    .unwrap();
    assert_eq!(list.len(), 2);
    let c = block_on(applications::coverage(&store)).unwrap();
    assert!(!c.usage_gaps.is_empty() && !c.not_enabled.is_empty());
    answers(
        &store,
        "/api/applications",
        json!({ "applications": list, "not_enabled": c.not_enabled, "usage_gaps": c.usage_gaps }),
    );
    answers(
        &store,
        "/api/applications/spa",
        json!({ "application": list.iter().find(|a| a.client_id == "spa"), "not_enabled": c.not_enabled, "usage_gaps": c.usage_gaps }),
    );
    let aq = applications::users_query("spa", "limit=1", NOW).unwrap();
    let (users, next) = block_on(applications::users_page(&store, &aq)).unwrap();
    assert!(next.is_some());
    answers(
        &store,
        "/api/applications/spa/users?limit=1",
        json!({ "users": users, "next_cursor": next }),
    );

    // Errors, byte for byte.
    let r = get(&store, "/api/users?limit=0");
    assert_eq!(r.status, 400);
    golden("GET /api/users?limit=0", &r.body);
    let message = ApiError::BadParam {
        name: "limit",
        problem: "must be a whole number from 1 to 1000".into(),
    };
    assert_eq!(r.body, json!({ "error": message.to_string() }).to_string());
}

#[test]
fn cursors_keep_their_text_and_read_back() {
    let store = store();
    for sort in [
        "",
        "sort=email:desc",
        "sort=last_login",
        "sort=created_at:desc",
    ] {
        let q = params::users_query(&format!("limit=1&{sort}"), NOW).unwrap();
        let (users, next) = block_on(users_page(&store, &q)).unwrap();
        let next = next.unwrap();
        let text = params::decode_cursor(&next).unwrap();
        // The text the derive wrote (fields in declaration order).
        let u = &users[0];
        let expected = format!(
            "{{\"s\":{},\"k\":{},\"u\":{}}}",
            serde_json::to_string(&params::sort_name(q.sort)).unwrap(),
            serde_json::to_string(&q.sort.key.value(u)).unwrap(),
            serde_json::to_string(&u.user_id).unwrap()
        );
        assert_eq!(text, expected);
        let again = params::users_query(&format!("limit=1&{sort}&cursor={next}"), NOW).unwrap();
        assert_eq!(again.after, Some(params::position_of(q.sort, u)));
    }
    let cq = changes::changes_query("limit=1", 100, 1000).unwrap();
    let (changes, next) = block_on(changes::changes_page(&store, &cq)).unwrap();
    let text = params::decode_cursor(next.as_deref().unwrap()).unwrap();
    assert_eq!(text, serde_json::to_string(&changes[0].position()).unwrap());
    let again = changes::changes_query(&format!("cursor={}", next.unwrap()), 100, 1000).unwrap();
    assert_eq!(again.after, Some(changes[0].position()));
    // Anything else is refused, by name.
    for bad in [
        "{\"at\":\"x\"}",
        "{\"at\":1,\"id\":1}",
        "[]",
        "{\"s\":\"user_id:asc\"}",
    ] {
        let c = params::encode_cursor(bad);
        let e = changes::changes_query(&format!("cursor={c}"), 100, 1000).unwrap_err();
        assert!(e.to_string().contains("`cursor`"), "{e}");
        let e = params::users_query(&format!("cursor={c}"), NOW).unwrap_err();
        assert!(e.to_string().contains("`cursor`"), "{e}");
    }
}

#[test]
fn search_lower_cases_with_unicode_rules_as_the_stored_text() {
    // `search_text` holds `åström émile`: an ASCII-only lower case of the query would miss it.
    let store = store();
    let r = get(&store, "/api/applications/spa/users?q=%C3%85STR%C3%96M");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{}", r.body);
    assert_eq!(users[0]["user_id"], "auth0|1");
    let q = params::users_query("q=%C3%85STR%C3%96M", NOW).unwrap();
    assert_eq!(q.search.as_deref(), Some("åström"));
}

#[test]
fn push_receipts_keep_their_bytes() {
    use crate::push::events::{Receipt, Status};
    for (status, reason) in [
        (Status::Applied, None),
        (Status::Ignored, Some(AWKWARD)),
        (Status::Test, None),
    ] {
        let r = Receipt {
            status,
            id: reason.map(|_| "evt_1".into()),
            kind: Some("user.created".into()),
            reason: reason.map(String::from),
            rows_written: 3,
            internal: Some("internal detail".into()),
        };
        // The receipt as it was built before: a `json!` object, `reason` only when there is one.
        let mut before = json!({
            "status": status.as_str(),
            "ignored": matches!(status, Status::Ignored | Status::Test),
            "id": r.id,
            "type": r.kind,
        });
        if let Some(reason) = reason {
            before["reason"] = json!(reason);
        }
        assert_eq!(j::body(&r.answer()), before.to_string());
    }
    let stream = crate::push::log_stream::Receipt {
        events: 3,
        bad: 1,
        counted: 2,
        removed: 1,
        rows_written: 9,
    };
    assert_eq!(
        j::body(&stream.answer()),
        "{\"received\":3,\"unreadable\":1,\"counted\":2,\"removed\":1}"
    );
}
