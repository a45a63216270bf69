//! Event Streams deliveries end to end against the SQLite push store: every type in both
//! envelope spellings, duplicates, out-of-order updates, deletions, tokens, bodies.

use super::*;
use crate::config::Settings;
use crate::testing::push_sqlite::SqliteStore;
use crate::testing::{block_on, settings};

pub(super) const NOW: EpochMs = 1_750_000_000_000;
pub(super) const TOKEN: &str = "push-token-0123456789abcdef";

pub(super) fn token() -> EventStreamToken {
    EventStreamToken::from_settings(&settings(&[("EVENT_STREAM_TOKEN", TOKEN)]))
        .unwrap()
        .unwrap()
}

pub(super) fn head(auth: Option<&'static str>) -> Head<'static> {
    Head {
        method: "POST",
        authorization: auth,
        content_type: Some("application/json"),
        content_length: None,
    }
}

const BEARER: &str = "Bearer push-token-0123456789abcdef";

fn post(store: &SqliteStore, body: &serde_json::Value) -> Result<Receipt, PushError> {
    let bytes = serde_json::to_vec(body).unwrap();
    let t = token();
    block_on(receive(
        &head(Some(BEARER)),
        Body::Bytes(&bytes),
        Ok(Some(&t)),
        store,
        NOW,
    ))
}

/// An envelope as the docs' schema pages show it (`specversion`, bare type), or as the
/// event-types page shows it (`spec_version`, `com.auth0.` type).
fn envelope(id: &str, kind: &str, object: serde_json::Value, long_form: bool) -> serde_json::Value {
    let mut e = serde_json::json!({
        "id": id,
        "source": "urn:auth0:example.auth0app.com",
        "time": "2025-06-01T12:34:56Z",
        "a0tenant": "example",
        "a0stream": "est_vjFVP5pVdfvsfRKatshkVV",
        "data": {"object": object},
    });
    let map = e.as_object_mut().unwrap();
    if long_form {
        map.insert("spec_version".into(), "1.0".into());
        map.insert("type".into(), format!("com.auth0.{kind}").into());
    } else {
        map.insert("specversion".into(), "1.0".into());
        map.insert("type".into(), kind.into());
    }
    e
}

fn user_object(id: &str, name: &str, updated_at: &str) -> serde_json::Value {
    serde_json::json!({
        "user_id": id, "email": format!("{name}@x.io"), "email_verified": true, "name": name,
        "nickname": name, "picture": "https://x.io/p.png",
        "created_at": "2025-01-01T00:00:00.000Z", "updated_at": updated_at,
        "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0",
                        "user_id": id.trim_start_matches("auth0|"), "isSocial": false}],
        "app_metadata": {}, "user_metadata": {}, "last_login": "2025-05-01T00:00:00.000Z",
        "logins_count": 3, "blocked": false
    })
}

fn member_object(org: &str, user: &str) -> serde_json::Value {
    serde_json::json!({"organization": {"id": org, "name": "acme"}, "user": {"user_id": user}})
}

fn status(r: &Result<Receipt, PushError>) -> Status {
    r.as_ref().unwrap().status
}

const T1: &str = "2025-06-01T10:00:00.000Z";
const T2: &str = "2025-06-01T11:00:00.000Z";

#[test]
fn every_type_parses_in_both_envelope_spellings() {
    for long_form in [false, true] {
        let cases = [
            ("user.created", user_object("auth0|1", "ann", T1)),
            ("user.updated", user_object("auth0|1", "ann", T1)),
            (
                "user.deleted",
                serde_json::json!({"user_id": "auth0|1", "deleted_at": T2}),
            ),
            (
                "organization.member.added",
                member_object("org_1", "auth0|1"),
            ),
            (
                "organization.member.deleted",
                member_object("org_1", "auth0|1"),
            ),
        ];
        for (kind, object) in cases {
            let body = serde_json::to_vec(&envelope("evt_x", kind, object, long_form)).unwrap();
            let Ok(Parsed::Event(w)) = parse(&body) else {
                panic!("{kind} ({long_form}): {:?}", parse(&body));
            };
            assert_eq!((w.kind, w.id.as_str()), (kind, "evt_x"));
            match (kind, &w.change) {
                ("user.created" | "user.updated", Change::UpsertUser(row)) => {
                    assert_eq!(w.at, T1);
                    // The sync's own mapping: same columns, same fingerprint.
                    let listed: Auth0User =
                        serde_json::from_value(user_object("auth0|1", "ann", T1)).unwrap();
                    assert_eq!(**row, user_row(&listed));
                }
                ("user.deleted", Change::RemoveUser { user_id }) => {
                    assert_eq!((user_id.as_str(), w.at.as_str()), ("auth0|1", T2));
                }
                (
                    _,
                    Change::AddMember { org_id, user_id }
                    | Change::RemoveMember { org_id, user_id },
                ) => {
                    assert_eq!((org_id.as_str(), user_id.as_str()), ("org_1", "auth0|1"));
                    // The event's time, in the one shape the store compares.
                    assert_eq!(w.at, "2025-06-01T12:34:56.000Z");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn a_deletion_without_deleted_at_is_ordered_by_the_event_time() {
    let body = serde_json::to_vec(&envelope(
        "evt_d",
        "user.deleted",
        serde_json::json!({"user_id": "auth0|1"}),
        false,
    ))
    .unwrap();
    let Ok(Parsed::Event(w)) = parse(&body) else {
        panic!()
    };
    assert_eq!(w.at, "2025-06-01T12:34:56.000Z");
}

#[test]
fn test_unknown_and_unusable_events_are_acknowledged_and_ignored() {
    let store = SqliteStore::default();
    let mut test = envelope(
        "evt_t",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    test["a0purpose"] = "test".into();
    assert_eq!(status(&post(&store, &test)), Status::Test);
    let mut cases = vec![
        envelope(
            "evt_1",
            "organization.created",
            serde_json::json!({"id": "org_1"}),
            false,
        ),
        envelope(
            "evt_2",
            "user.updated",
            serde_json::json!({"user_id": 5}),
            false,
        ),
        envelope(
            "evt_3",
            "user.updated",
            serde_json::json!({"user_id": "auth0|1", "created_at": T1}),
            false,
        ),
        envelope("evt_4", "user.updated", user_object("", "a", T1), false),
        envelope(
            "evt_5",
            "organization.member.added",
            serde_json::json!({"organization": {}}),
            true,
        ),
        envelope("", "user.created", user_object("auth0|1", "a", T1), false),
        envelope(
            &"e".repeat(300),
            "user.created",
            user_object("auth0|1", "a", T1),
            false,
        ),
        serde_json::json!({"id": "evt_6", "type": "user.created"}),
        serde_json::json!({}),
    ];
    let mut no_spec = envelope(
        "evt_7",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    no_spec.as_object_mut().unwrap().remove("specversion");
    cases.push(no_spec);
    let mut old_spec = envelope(
        "evt_8",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    old_spec["specversion"] = "0.3".into();
    cases.push(old_spec);
    let mut no_data = envelope("evt_9", "user.created", serde_json::json!({}), false);
    no_data["data"] = serde_json::json!("x");
    cases.push(no_data);
    let mut no_time = envelope(
        "evt_10",
        "user.deleted",
        serde_json::json!({"user_id": "u"}),
        false,
    );
    no_time["time"] = "yesterday".into();
    cases.push(no_time);
    for case in &cases {
        let r = post(&store, case);
        let receipt = r.as_ref().unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(receipt.status, Status::Ignored, "{case}");
        assert!(receipt.reason.is_some(), "{case}");
        assert_eq!(receipt.to_json()["ignored"], true);
    }
    let n: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn duplicates_and_out_of_order_updates_keep_the_newest() {
    let store = SqliteStore::default();
    let newer = envelope(
        "evt_2",
        "user.updated",
        user_object("auth0|1", "new", T2),
        false,
    );
    let older = envelope(
        "evt_1",
        "user.created",
        user_object("auth0|1", "old", T1),
        true,
    );
    assert_eq!(status(&post(&store, &newer)), Status::Applied);
    assert_eq!(status(&post(&store, &newer)), Status::Duplicate);
    assert_eq!(status(&post(&store, &older)), Status::Unchanged);
    assert_eq!(status(&post(&store, &older)), Status::Duplicate);
    let (name, updated, removed) = store.user("auth0|1").unwrap();
    assert_eq!(
        (name.as_deref(), updated.as_deref(), removed),
        (Some("new"), Some(T2), None)
    );
}

#[test]
fn delete_then_stale_update_stays_deleted() {
    let store = SqliteStore::default();
    post(
        &store,
        &envelope(
            "evt_1",
            "user.created",
            user_object("auth0|1", "a", T1),
            false,
        ),
    )
    .unwrap();
    let deleted = envelope(
        "evt_2",
        "user.deleted",
        serde_json::json!({"user_id": "auth0|1", "deleted_at": T2}),
        false,
    );
    assert_eq!(status(&post(&store, &deleted)), Status::Applied);
    assert!(store.user("auth0|1").unwrap().2.is_some());
    let stale = envelope(
        "evt_0",
        "user.updated",
        user_object("auth0|1", "b", "2025-06-01T10:30:00.000Z"),
        false,
    );
    assert_eq!(status(&post(&store, &stale)), Status::Unchanged);
    assert!(store.user("auth0|1").unwrap().2.is_some());
}

#[test]
fn membership_events_follow_their_time() {
    let store = SqliteStore::default();
    store.add_org("org_1");
    let mut added = envelope(
        "evt_1",
        "organization.member.added",
        member_object("org_1", "u1"),
        false,
    );
    let mut removed = envelope(
        "evt_2",
        "organization.member.deleted",
        member_object("org_1", "u1"),
        true,
    );
    added["time"] = T1.into();
    removed["time"] = T2.into();
    assert_eq!(status(&post(&store, &removed)), Status::Unchanged);
    assert_eq!(
        status(&post(&store, &added)),
        Status::Unchanged,
        "older than the removal"
    );
    assert_eq!(store.member("org_1", "u1"), None);
    let mut again = envelope(
        "evt_3",
        "organization.member.added",
        member_object("org_1", "u1"),
        false,
    );
    again["time"] = "2025-06-01T12:00:00.000Z".into();
    assert_eq!(status(&post(&store, &again)), Status::Applied);
    assert_eq!(store.member("org_1", "u1"), Some(true));
}

#[test]
fn wrong_missing_and_unset_tokens_are_refused_before_the_body_is_read() {
    let t = token();
    let closed = |auth| admit(&head(auth), Ok(None));
    assert_eq!(closed(Some(BEARER)), Err(PushError::Closed(None)));
    let message = PushError::Closed(None).to_string();
    assert!(message.contains("EVENT_STREAM_TOKEN"), "{message}");
    let bad = ConfigError {
        setting: "EVENT_STREAM_TOKEN",
        problem: "is shorter than 16 characters".into(),
    };
    let e = admit(&head(Some(BEARER)), Err(&bad)).unwrap_err();
    assert!(e.to_string().contains("EVENT_STREAM_TOKEN"), "{e}");
    for auth in [
        None,
        Some(""),
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic cHVzaC10b2tlbg=="),
        Some("Bearer push-token-0123456789abcde"),
        Some("Bearer push-token-0123456789abcdef0"),
        Some("push-token-0123456789abcdef"),
        Some("Bearer v-token"),
    ] {
        assert_eq!(
            admit(&head(auth), Ok(Some(&t))),
            Err(PushError::Unauthorized),
            "{auth:?}"
        );
    }
    for auth in [
        BEARER,
        "bearer push-token-0123456789abcdef",
        " Bearer  push-token-0123456789abcdef ",
    ] {
        assert_eq!(admit(&head(Some(auth)), Ok(Some(&t))), Ok(()), "{auth}");
    }
    // The messages never carry what was presented.
    let shown = PushError::Unauthorized.to_string();
    assert!(!shown.contains("0123456789"), "{shown}");
}

#[test]
fn methods_content_types_and_lengths_are_checked() {
    let t = token();
    let with = |method, ct, len| Head {
        method,
        authorization: Some(BEARER),
        content_type: ct,
        content_length: len,
    };
    assert_eq!(
        admit(&with("GET", None, None), Ok(Some(&t))),
        Err(PushError::Method)
    );
    for ct in [
        None,
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/CloudEvents+JSON"),
    ] {
        assert_eq!(
            admit(&with("POST", ct, None), Ok(Some(&t))),
            Ok(()),
            "{ct:?}"
        );
    }
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        "multipart/form-data; boundary=x",
    ] {
        assert!(
            matches!(
                admit(&with("POST", Some(ct), None), Ok(Some(&t))),
                Err(PushError::ContentType(_))
            ),
            "{ct}"
        );
    }
    assert_eq!(
        admit(&with("POST", None, Some("1048577")), Ok(Some(&t))),
        Err(PushError::TooLarge)
    );
    assert_eq!(
        admit(&with("POST", None, Some("1048576")), Ok(Some(&t))),
        Ok(())
    );
}

#[test]
fn oversized_unreadable_and_malformed_bodies_get_a_4xx_with_a_message() {
    let store = SqliteStore::default();
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    for (body, want) in [
        (Body::TooLarge, 413),
        (Body::Bytes(&big), 413),
        (Body::Unreadable, 400),
        (Body::Bytes(b""), 400),
        (Body::Bytes(b"{"), 400),
        (Body::Bytes(b"[]"), 400),
        (Body::Bytes(b"[{\"id\": \"evt_1\"}]"), 400),
        (Body::Bytes(b"\"user.created\""), 400),
        (Body::Bytes(b"\xff\xfe{}"), 400),
        (Body::Bytes(b"{\"id\": \"a\"} trailing"), 400),
    ] {
        let e = block_on(ingest(body, &store, NOW)).unwrap_err();
        let r = crate::api::push::response(&Err(e.clone()));
        assert_eq!(r.status, want, "{body:?}: {e}");
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(!v["error"].as_str().unwrap_or_default().is_empty());
    }
    // Deeply nested JSON is refused by the parser's depth limit, not by the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(block_on(ingest(Body::Bytes(deep.as_bytes()), &store, NOW)).is_err());
}

#[test]
fn a_database_failure_is_the_one_5xx_and_writes_nothing() {
    let store = SqliteStore::default();
    store.fail_next.set(true);
    let e = envelope(
        "evt_1",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    let r = post(&store, &e);
    let answer = crate::api::push::response(&r);
    assert_eq!(answer.status, 503);
    assert!(!answer.body.contains("injected"), "{}", answer.body);
    assert!(store.user("auth0|1").is_none());
    // Auth0's retry applies it.
    assert_eq!(status(&post(&store, &e)), Status::Applied);
}

#[test]
fn receipts_and_log_lines_name_the_event_and_never_the_token() {
    let store = SqliteStore::default();
    let e = envelope(
        "evt_1",
        "user.created",
        user_object("auth0|1", "a", T1),
        true,
    );
    let r = post(&store, &e).unwrap();
    assert_eq!(r.kind.as_deref(), Some("user.created"));
    let line = r.log_line();
    assert!(line.contains("evt_1") && line.contains("applied"), "{line}");
    let v = r.to_json();
    assert_eq!(
        (v["status"].as_str(), v["ignored"].as_bool()),
        (Some("applied"), Some(false))
    );
    assert!(!line.contains(TOKEN) && !v.to_string().contains(TOKEN));
}

#[test]
fn the_route_is_not_behind_the_viewer_auth_or_the_cross_site_check() {
    use crate::api::{AccessOutcome, ApiRequest, Handled, ViewerAuth, handle};
    use crate::auth::origin::RequestSite;
    let store = crate::testing::memory::MemoryStore::default();
    let auth = ViewerAuth {
        token: None,
        token_problem: None,
        session_secret: None,
        access: AccessOutcome::Off,
    };
    for path in [ROUTE, "/api/auth0/events/"] {
        let req = ApiRequest {
            method: "POST",
            path,
            site: RequestSite {
                own_origin: "https://w.example",
                origin: Some("https://evil.example"),
                sec_fetch_site: Some("cross-site"),
            },
            ..ApiRequest::default()
        };
        assert!(
            matches!(block_on(handle(&req, &store, &auth)), Handled::Auth0Events),
            "{path}"
        );
    }
    // Settings are read once into Config, which carries the token.
    let s = settings(&[("EVENT_STREAM_TOKEN", TOKEN)]);
    assert!(s.get("EVENT_STREAM_TOKEN").is_some());
    let c = crate::config::Config::from_settings(&s);
    assert!(c.event_stream_token.unwrap().unwrap().matches(TOKEN));
}

#[test]
fn applied_events_add_to_the_change_history_once() {
    let store = SqliteStore::default();
    store.add_org("org_1");
    let kinds = |s: &SqliteStore| -> Vec<String> { s.history().into_iter().map(|h| h.0).collect() };
    let created = envelope(
        "evt_1",
        "user.created",
        user_object("auth0|1", "ann", T1),
        false,
    );
    assert_eq!(status(&post(&store, &created)), Status::Applied);
    assert_eq!(status(&post(&store, &created)), Status::Duplicate);
    assert_eq!(kinds(&store), ["user_added"]);
    let (_, user, org, detail) = &store.history()[0];
    assert_eq!((user.as_deref(), org.as_deref()), (Some("auth0|1"), None));
    assert!(detail.contains("ann@x.io (auth0|1)"), "{detail}");
    // Blocked and moved to another connection.
    let mut changed = user_object("auth0|1", "ann", T2);
    changed["blocked"] = true.into();
    changed["identities"][0]["connection"] = "google-oauth2".into();
    post(&store, &envelope("evt_2", "user.updated", changed, false)).unwrap();
    // Older: nothing.
    post(
        &store,
        &envelope(
            "evt_3",
            "user.updated",
            user_object("auth0|1", "old", T1),
            false,
        ),
    )
    .unwrap();
    assert_eq!(
        kinds(&store),
        ["user_added", "user_blocked", "connection_changed"]
    );
    let deleted =
        serde_json::json!({"user_id": "auth0|1", "deleted_at": "2025-06-01T12:00:00.000Z"});
    post(&store, &envelope("evt_4", "user.deleted", deleted, false)).unwrap();
    // Re-created later under the same id: returned (and no longer blocked).
    post(
        &store,
        &envelope(
            "evt_5",
            "user.created",
            user_object("auth0|1", "ann", "2025-06-01T13:00:00.000Z"),
            false,
        ),
    )
    .unwrap();
    let mut added = envelope(
        "evt_6",
        "organization.member.added",
        member_object("org_1", "auth0|1"),
        false,
    );
    added["time"] = "2025-06-01T13:00:00.000Z".into();
    let mut removed = envelope(
        "evt_7",
        "organization.member.deleted",
        member_object("org_1", "auth0|1"),
        false,
    );
    removed["time"] = "2025-06-01T14:00:00.000Z".into();
    post(&store, &added).unwrap();
    post(&store, &removed).unwrap();
    post(&store, &added).unwrap();
    assert_eq!(
        kinds(&store),
        [
            "user_added",
            "user_blocked",
            "connection_changed",
            "user_removed",
            "user_returned",
            "user_unblocked",
            "connection_changed",
            "membership_added",
            "membership_removed"
        ]
    );
    let last = store.history().pop().unwrap();
    assert_eq!(last.2.as_deref(), Some("org_1"));
    assert!(
        last.3
            .contains("left organization org_1: ann@x.io (auth0|1)"),
        "{}",
        last.3
    );
}

#[test]
fn a_change_history_failure_is_logged_not_refused() {
    let store = SqliteStore::default();
    store.fail_history.set(true);
    let r = post(
        &store,
        &envelope(
            "evt_1",
            "user.created",
            user_object("auth0|1", "a", T1),
            false,
        ),
    )
    .unwrap();
    assert_eq!(r.status, Status::Applied);
    assert!(
        r.internal
            .as_deref()
            .is_some_and(|d| d.contains("change history")),
        "{r:?}"
    );
    assert_eq!(crate::api::push::response(&Ok(r)).status, 200);
    assert!(store.user("auth0|1").is_some());
}

#[test]
fn a_mistyped_field_anywhere_in_the_read_envelope_is_ignored_with_why() {
    let store = SqliteStore::default();
    let typed = |kind: &str, object: serde_json::Value| {
        let r = post(&store, &envelope("evt_m", kind, object, false));
        r.unwrap().reason.unwrap_or_default()
    };
    let why = "a field has a type Auth0 does not send";
    // Each field the envelope reads, of another type than documented, in any event type.
    let mut user = user_object("auth0|1", "a", T1);
    user["deleted_at"] = 5.into();
    assert_eq!(typed("user.updated", user), why);
    let mut user = user_object("auth0|1", "a", T1);
    user["organization"] = "org_1".into();
    assert_eq!(typed("user.created", user), why);
    assert_eq!(
        typed(
            "organization.member.added",
            serde_json::json!({"organization": {"id": 7}, "user": {"user_id": "u"}})
        ),
        why
    );
    assert_eq!(
        typed(
            "organization.member.added",
            serde_json::json!({"organization": {"id": "o"}, "user": {"user_id": "u", "id": []}})
        ),
        why
    );
    let mut e = envelope(
        "evt_m",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    e["time"] = serde_json::json!(f64::MAX);
    assert_eq!(post(&store, &e).unwrap().reason.as_deref(), Some(why));
    let mut e = envelope(
        "evt_m",
        "user.created",
        user_object("auth0|1", "a", T1),
        false,
    );
    e["data"]["object"] = serde_json::json!([1]);
    assert_eq!(post(&store, &e).unwrap().reason.as_deref(), Some(why));
    // A user that the envelope can read but the user reader cannot.
    let mut user = user_object("auth0|1", "a", T1);
    user["identities"] = serde_json::json!([{"connection": 5}]);
    assert_eq!(typed("user.created", user), "the user object is unreadable");
    // Unknown fields are not read, whatever their type or depth (within the parser's limit).
    let mut user = user_object("auth0|2", "b", T1);
    user["user_metadata"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
    user["app_metadata"] = serde_json::json!(u64::MAX);
    let r = post(&store, &envelope("evt_ok", "user.created", user, false)).unwrap();
    assert_eq!(r.status, Status::Applied, "{:?}", r.reason);
}

mod fuzz;
