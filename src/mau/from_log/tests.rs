//! The mapping from a log event to the ledger's event: the new fields, the email guard, the
//! polled and pushed paths agreeing on one JSON event, and a fuzz run over junk fields.

use serde_json::{Value, json};

use super::*;
use crate::auth0::RetryPolicy;
use crate::auth0::client::Auth0Client;
use crate::auth0::fake::FakeAuth0;
use crate::auth0::logs::{TAKE, event, read_page};
use crate::clock::fake::FakeClock;
use crate::fields::Fields;
use crate::testing::{Rng, auth0_config as config, block_on};

/// A login as Auth0 sends it, with the fields the ledger reads and some it never keeps.
fn login() -> Value {
    json!({
        "log_id": "00000000000000000002",
        "date": "2026-11-03T10:15:00.123Z",
        "type": "s",
        "client_id": "demo_spa",
        "client_name": "Demo SPA",
        "user_id": "auth0|u1",
        "user_name": "ada@example.com",
        "connection": "Username-Password-Authentication",
        "connection_id": "con_abc",
        "organization_id": "org_123",
        "ip": "203.0.113.9",
        "user_agent": "Mozilla/5.0",
        "details": {"prompts": []}
    })
}

fn mapped(v: &Value) -> ActivityEvent {
    activity(&event(&Fields::of(v).unwrap()))
}

#[test]
fn a_login_maps_every_field_the_ledger_reads() {
    assert_eq!(
        mapped(&login()),
        ActivityEvent {
            log_id: Some("00000000000000000002".into()),
            kind: Some("s".into()),
            date: Some("2026-11-03T10:15:00.123Z".into()),
            user_id: Some("auth0|u1".into()),
            email: Some("ada@example.com".into()),
            client_id: Some("demo_spa".into()),
            connection: Some("Username-Password-Authentication".into()),
            organization_id: Some("org_123".into()),
        }
    );
}

#[test]
fn user_name_is_an_email_only_when_it_looks_like_one() {
    for (name, email) in [
        ("ada@example.com", Some("ada@example.com")),
        ("+15550100", None),
        ("ada", None),
        ("ada@localhost", None),
        ("@example.com", None),
        ("a@b@example.com", None),
        ("ada @example.com", None),
        ("ada@example.", None),
    ] {
        let mut v = login();
        v["user_name"] = json!(name);
        assert_eq!(mapped(&v).email.as_deref(), email, "{name}");
    }
    let mut v = login();
    v.as_object_mut().unwrap().remove("user_name");
    assert_eq!(mapped(&v).email, None);
}

#[test]
fn absent_connection_and_organization_are_none_and_the_id_stands_in_for_the_name() {
    let mut v = login();
    let o = v.as_object_mut().unwrap();
    o.remove("connection");
    o.remove("organization_id");
    let a = mapped(&v);
    assert_eq!(a.connection.as_deref(), Some("con_abc"));
    assert_eq!(a.organization_id, None);
    v.as_object_mut().unwrap().remove("connection_id");
    assert_eq!(mapped(&v).connection, None);
}

#[test]
fn one_event_polled_and_pushed_maps_to_the_same_activity() {
    // Polled: the fake tenant's log, read from the checkpoint before it.
    let fake = FakeAuth0::with_users(Vec::new());
    fake.scopes.borrow_mut().push("read:logs".into());
    fake.logs.borrow_mut().push(login());
    let clock = FakeClock::at(1_750_000_000_000);
    let cfg = config("test-secret");
    let mut c = Auth0Client::new(&fake, &clock, &cfg, RetryPolicy::default());
    let page = block_on(read_page(&mut c, "00000000000000000001", TAKE)).unwrap();
    assert_eq!(page.events.len(), 1);
    let polled = activity(&page.events[0]);

    // Pushed: the same event as a Log Stream item.
    let body = json!([{"log_id": login()["log_id"], "data": login()}]).to_string();
    let pushed = crate::push::log_stream::parse(body.as_bytes()).unwrap();
    assert_eq!(pushed.events.len(), 1);
    let pushed = activity(&pushed.events[0]);

    assert_eq!(polled, pushed);
    assert_eq!(polled, mapped(&login()));
    assert_eq!(polled.organization_id.as_deref(), Some("org_123"));
}

#[test]
fn junk_in_the_new_fields_never_panics_and_only_text_is_read() {
    let junk = |rng: &mut Rng| -> Value {
        match rng.below(7) {
            0 => Value::Null,
            1 => json!(rng.next_u64()),
            2 => json!(["a@b.c"]),
            3 => json!({"$date": "x"}),
            4 => json!(true),
            _ => {
                let n = rng.below(16);
                let mut s = String::from_utf8_lossy(&rng.bytes(n)).to_string();
                if rng.one_in(2) {
                    s.push_str("@x.io");
                }
                json!(s)
            }
        }
    };
    for seed in 0..2000u64 {
        let mut rng = Rng::new(seed);
        let mut v = login();
        for k in [
            "connection",
            "connection_id",
            "organization_id",
            "user_name",
        ] {
            if rng.one_in(4) {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = junk(&mut rng);
            }
        }
        let e = event(&Fields::of(&v).unwrap());
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        assert_eq!(e.connection.as_deref(), text("connection"), "{v}");
        assert_eq!(e.connection_id.as_deref(), text("connection_id"), "{v}");
        assert_eq!(e.organization_id.as_deref(), text("organization_id"), "{v}");
        assert_eq!(e.user_name.as_deref(), text("user_name"), "{v}");
        let a = activity(&e);
        assert!(a.email.as_deref().is_none_or(|m| m.contains('@')), "{v}");
        assert_eq!(
            a.email.is_some(),
            e.user_name.as_deref().is_some_and(looks_like_email)
        );
        assert_eq!(
            a.connection.as_deref(),
            e.connection.as_deref().or(e.connection_id.as_deref())
        );
    }
}
