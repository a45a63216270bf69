use std::panic::{AssertUnwindSafe, catch_unwind};

use super::*;
use crate::http::encode_component;
use crate::testing::Rng;

const SECRET: &str = "sUpErSeCrEt_0123456789-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP";

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn dom(d: &str) -> Auth0Domain {
    Auth0Domain::parse(d).unwrap()
}

#[test]
fn tenant_form_add_from_page_and_json_agree() {
    let page = parse_page_form(
        &form(&[
            ("action", "add"),
            ("domain", " HTTPS://Acme.EU.auth0.com// "),
            ("client_id", "abc123"),
            ("client_secret", SECRET),
            ("label", "  Acme production "),
            ("environment", "production"),
            ("mau_quota", "25,000"),
            ("csrf", "ignored"),
        ]),
        None,
    )
    .unwrap();
    let json = parse_add_json(&format!(
        r#"{{"domain":"https://acme.eu.auth0.com/","client_id":"abc123","client_secret":"{SECRET}",
            "label":"Acme production","environment":"production","mau_quota":25000}}"#
    ))
    .unwrap();
    let TenantForm::Add(page) = page else {
        panic!("not an add: {page:?}")
    };
    assert_eq!(page, json);
    assert_eq!(json.domain.as_str(), "acme.eu.auth0.com");
    assert_eq!(json.label, "Acme production");
    assert_eq!(json.environment, Environment::Production);
    assert_eq!(json.mau_quota, Some(25_000));
    assert_eq!(json.client_secret, SECRET);
    assert!(!format!("{json:?}").contains(SECRET));
}

#[test]
fn tenant_form_add_allows_custom_domains_and_defaults_the_label() {
    let t = parse_add_json(
        r#"{"domain":"login.example.com","client_id":"c","client_secret":"s","environment":"other"}"#,
    )
    .unwrap();
    assert_eq!(t.domain.as_str(), "login.example.com");
    assert_eq!(t.label, "login.example.com");
    assert_eq!(t.mau_quota, None);
}

fn add_error(json: &str) -> FormError {
    parse_add_json(json).unwrap_err()
}

#[test]
fn tenant_form_refusals_name_the_field() {
    let base = serde_json::json!({
        "domain": "t.us.auth0.com", "client_id": "c", "client_secret": "s",
        "label": "L", "environment": "staging", "mau_quota": 5
    });
    assert!(parse_add_json(&base.to_string()).is_ok());
    let cases: &[(&str, serde_json::Value, &str)] = &[
        ("domain", serde_json::json!(""), "domain"),
        ("domain", serde_json::json!("https://"), "domain"),
        ("domain", serde_json::json!("https:///"), "domain"),
        (
            "domain",
            serde_json::json!("t.us.auth0.com/api/v2"),
            "domain",
        ),
        ("domain", serde_json::json!("localhost"), "domain"),
        ("domain", serde_json::json!(7), "domain"),
        ("domain", serde_json::Value::Null, "domain"),
        ("client_id", serde_json::json!(""), "client_id"),
        ("client_id", serde_json::json!("has space"), "client_id"),
        ("client_id", serde_json::Value::Null, "client_id"),
        ("client_secret", serde_json::json!("  "), "client_secret"),
        ("client_secret", serde_json::json!("a\nb"), "client_secret"),
        ("client_secret", serde_json::json!(["s"]), "client_secret"),
        ("label", serde_json::json!("x".repeat(201)), "label"),
        ("label", serde_json::json!("two\nlines"), "label"),
        ("environment", serde_json::json!("prod"), "environment"),
        ("environment", serde_json::json!(""), "environment"),
        ("mau_quota", serde_json::json!(-1), "mau_quota"),
        ("mau_quota", serde_json::json!(1.5), "mau_quota"),
        ("mau_quota", serde_json::json!("12a"), "mau_quota"),
        ("mau_quota", serde_json::json!("-3"), "mau_quota"),
        ("mau_quota", serde_json::json!(true), "mau_quota"),
        (
            "mau_quota",
            serde_json::json!("99999999999999999999999"),
            "mau_quota",
        ),
    ];
    for (key, value, field) in cases {
        let mut body = base.clone();
        body[*key] = value.clone();
        let err = add_error(&body.to_string());
        assert_eq!(err.field, *field, "{key}={value}: {err}");
        assert!(!err.problem.is_empty());
    }
    // A label of exactly 200 characters (not bytes) is fine.
    let mut body = base.clone();
    body["label"] = serde_json::json!("é".repeat(200));
    assert!(parse_add_json(&body.to_string()).is_ok());
    // Missing fields.
    for field in ["domain", "client_id", "client_secret", "environment"] {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(field);
        assert_eq!(add_error(&body.to_string()).field, field);
    }
    for junk in [
        "",
        "[]",
        "null",
        "{",
        r#"{"domain":"a","domain":"b"}"#,
        "\"x\"",
    ] {
        assert_eq!(add_error(junk).field, "body", "{junk}");
    }
    // A refused secret is never echoed.
    let mut body = base.clone();
    body["client_secret"] = serde_json::json!(format!("{SECRET}\u{7}"));
    assert!(!add_error(&body.to_string()).to_string().contains(SECRET));
}

#[test]
fn tenant_form_patch_changes_only_what_is_given() {
    let e = parse_patch_json(r#"{"label":"New name","mau_quota":null}"#).unwrap();
    assert_eq!(e.label.as_deref(), Some("New name"));
    assert_eq!(e.mau_quota, Some(None));
    assert_eq!(e.domain, None);
    assert_eq!(e.client_secret, None);
    let e = parse_patch_json(r#"{"enabled":false,"disabled_reason":"contract ended"}"#).unwrap();
    assert_eq!(e.enabled, Some(false));
    assert_eq!(e.disabled_reason.as_deref(), Some("contract ended"));
    let e = parse_patch_json(&format!(r#"{{"client_secret":"{SECRET}"}}"#)).unwrap();
    assert_eq!(e.client_secret.as_deref(), Some(SECRET));
    assert!(!format!("{e:?}").contains(SECRET));
    assert_eq!(parse_patch_json("{}").unwrap_err().field, "body");
    assert_eq!(
        parse_patch_json(r#"{"label":""}"#).unwrap_err().field,
        "label"
    );
    assert_eq!(
        parse_patch_json(r#"{"client_secret":""}"#)
            .unwrap_err()
            .field,
        "client_secret"
    );
    assert_eq!(
        parse_patch_json(r#"{"enabled":"maybe"}"#)
            .unwrap_err()
            .field,
        "enabled"
    );
    assert_eq!(
        parse_patch_json(r#"{"disabled_reason":"x"}"#)
            .unwrap_err()
            .field,
        "disabled_reason"
    );
    assert_eq!(
        parse_patch_json(r#"{"domain":"https://"}"#)
            .unwrap_err()
            .field,
        "domain"
    );
}

#[test]
fn tenant_form_page_actions() {
    let t = Some("acme");
    let rotate = parse_page_form(&form(&[("action", "rotate"), ("client_secret", SECRET)]), t);
    assert_eq!(
        rotate.unwrap(),
        TenantForm::Edit(TenantEdit {
            client_secret: Some(SECRET.into()),
            ..TenantEdit::default()
        })
    );
    let disable = parse_page_form(
        &form(&[("action", "disable"), ("disabled_reason", "paused")]),
        t,
    );
    assert_eq!(
        disable.unwrap(),
        TenantForm::Edit(TenantEdit {
            enabled: Some(false),
            disabled_reason: Some("paused".into()),
            ..TenantEdit::default()
        })
    );
    let enable = parse_page_form("action=enable", t).unwrap();
    assert_eq!(
        enable,
        TenantForm::Edit(TenantEdit {
            enabled: Some(true),
            ..TenantEdit::default()
        })
    );
    // The edit form cannot rotate or re-enable by smuggling fields.
    let edit = parse_page_form(
        &form(&[
            ("action", "edit"),
            ("label", "Renamed"),
            ("client_secret", SECRET),
            ("enabled", "true"),
        ]),
        t,
    )
    .unwrap();
    assert_eq!(
        edit,
        TenantForm::Edit(TenantEdit {
            label: Some("Renamed".into()),
            ..TenantEdit::default()
        })
    );
    assert_eq!(
        parse_page_form("action=remove&confirm=acme", t).unwrap(),
        TenantForm::Remove
    );
    for (body, tenant, field) in [
        ("action=remove&confirm=acm", t, "confirm"),
        ("action=remove", t, "confirm"),
        ("action=remove&confirm=acme", None, "action"),
        ("action=rotate", t, "client_secret"),
        ("action=rotate&client_secret=", t, "client_secret"),
        ("action=enable", None, "action"),
        ("action=explode", t, "action"),
        ("", t, "action"),
        ("action=add&action=remove", t, "action"),
        ("action=add&domain=a.b&domain=c.d", None, "domain"),
        ("action=add&label=%FF", None, "body"),
    ] {
        let err = parse_page_form(body, tenant).unwrap_err();
        assert_eq!(err.field, field, "{body}: {err}");
    }
}

#[test]
fn tenant_slug_is_stable_unique_and_never_default() {
    let d = dom("acme-prod.eu.auth0.com");
    assert_eq!(
        tenant_slug("Acme Production (EU)", &d, &[]),
        "acme-production-eu"
    );
    assert_eq!(tenant_slug("", &d, &[]), "acme-prod");
    assert_eq!(tenant_slug("日本", &d, &[]), "acme-prod");
    assert_eq!(tenant_slug("Default", &d, &[]), "default-2");
    assert_eq!(tenant_slug("default", &d, &["default-2"]), "default-3");
    assert_eq!(
        tenant_slug("Acme", &d, &["acme", "acme-2", "main"]),
        "acme-3"
    );
    let long = "x".repeat(300);
    let s = tenant_slug(&long, &d, &[]);
    assert!(is_tenant_slug(&s) && s.len() <= 48, "{s}");
    let s2 = tenant_slug(&long, &d, &[s.as_str()]);
    assert!(is_tenant_slug(&s2) && s2 != s && s2.ends_with("-2"), "{s2}");
    for bad in [
        "",
        "default",
        "-a",
        "a-",
        "a--b",
        "A",
        "a_b",
        "a b",
        &"a".repeat(49),
    ] {
        assert!(!is_tenant_slug(bad), "{bad}");
    }
}

/// Names a refusal may carry.
const FIELDS: &[&str] = &[
    "body",
    "action",
    "domain",
    "client_id",
    "client_secret",
    "label",
    "environment",
    "mau_quota",
    "enabled",
    "disabled_reason",
    "confirm",
];

const NASTY: &[&str] = &[
    "",
    " ",
    "https://",
    "http://",
    "HTTPS://",
    "//",
    "/",
    "t.us.auth0.com",
    "https://t.us.auth0.com/",
    "t.us.auth0.com:443",
    "t..com",
    "-t.com",
    "<script>alert(1)</script>",
    "\"'><",
    "%00",
    "\u{0}",
    "\n",
    "\u{202e}",
    "é",
    "日本語",
    "null",
    "true",
    "-1",
    "0",
    "1e3",
    "18446744073709551615",
    "18446744073709551616",
    "production",
    "Staging",
    "add",
    "remove",
    "default",
    "acme",
];

fn random_text(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => (*rng.pick(NASTY)).to_string(),
        1 => {
            let n = rng.below(40);
            String::from_utf8_lossy(&rng.bytes(n)).into_owned()
        }
        2 => {
            let n = rng.below(260);
            (0..n)
                .map(|_| *rng.pick(&['a', 'é', '-', ' ', '.', '1']))
                .collect()
        }
        _ => format!("{}{}", rng.pick(NASTY), rng.pick(NASTY)),
    }
}

fn random_json_value(rng: &mut Rng) -> serde_json::Value {
    match rng.below(8) {
        0 => serde_json::Value::Null,
        1 => serde_json::json!(rng.one_in(2)),
        2 => serde_json::json!(rng.next_u64()),
        3 => serde_json::json!(-(rng.below(1000) as i64)),
        4 => serde_json::json!(rng.below(1000) as f64 / 7.0),
        5 => serde_json::json!([random_text(rng)]),
        _ => serde_json::json!(random_text(rng)),
    }
}

/// Whatever was accepted is valid by the rules the form enforces.
fn check_new(t: &NewTenant) {
    assert!(is_valid_domain(&t.domain), "{t:?}");
    assert!(!t.client_id.is_empty() && t.client_id.bytes().all(|b| b.is_ascii_graphic()));
    assert!(!t.client_secret.is_empty() && !t.client_secret.chars().any(char::is_control));
    assert!(t.client_secret.trim() == t.client_secret);
    assert!(
        !t.label.is_empty() && t.label.chars().count() <= MAX_LABEL,
        "{t:?}"
    );
    assert!(!t.label.chars().any(char::is_control));
}

fn check_edit(e: &TenantEdit) {
    assert!(!e.is_empty());
    if let Some(d) = &e.domain {
        assert!(is_valid_domain(d));
    }
    if let Some(c) = &e.client_id {
        assert!(!c.is_empty() && c.bytes().all(|b| b.is_ascii_graphic()));
    }
    if let Some(s) = &e.client_secret {
        assert!(!s.is_empty() && !s.chars().any(char::is_control));
    }
    if let Some(l) = &e.label {
        assert!(!l.is_empty() && l.chars().count() <= MAX_LABEL);
        assert!(!l.chars().any(char::is_control));
    }
    if e.disabled_reason.is_some() {
        assert_eq!(e.enabled, Some(false));
    }
}

fn is_valid_domain(d: &Auth0Domain) -> bool {
    let s = d.as_str();
    // Normalised: what Auth0Domain::parse keeps for itself.
    Auth0Domain::parse(s)
        .map(|again| again == *d)
        .unwrap_or(false)
        && !s.contains("://")
        && !s.ends_with('/')
        && s == s.to_ascii_lowercase()
}

#[test]
fn tenant_form_fuzz_never_panics_names_a_field_and_accepts_only_valid_input() {
    let keys = [
        "action",
        "domain",
        "client_id",
        "client_secret",
        "label",
        "environment",
        "mau_quota",
        "enabled",
        "disabled_reason",
        "confirm",
        "csrf",
        "",
    ];
    let actions = ["add", "edit", "rotate", "disable", "enable", "remove", "x"];
    let mut rng = Rng::new(0x5e77_1265);
    let (mut accepted, mut refused) = (0, 0);
    for case in 0..6000 {
        // JSON: an object of random fields with random types, or raw junk.
        let json = if rng.one_in(10) {
            random_text(&mut rng)
        } else {
            let mut obj = serde_json::Map::new();
            for _ in 0..rng.below(9) {
                let key = (*rng.pick(&keys)).to_string();
                obj.insert(key, random_json_value(&mut rng));
            }
            if rng.one_in(2) {
                // Mostly-valid objects reach the deeper checks.
                for (k, v) in [
                    ("domain", "t.us.auth0.com"),
                    ("client_id", "cid"),
                    ("client_secret", "sec"),
                    ("environment", "other"),
                ] {
                    obj.entry(k).or_insert(serde_json::json!(v));
                }
            }
            serde_json::Value::Object(obj).to_string()
        };
        // Page form: random pairs, raw or encoded, sometimes with broken escapes.
        let mut pairs = vec![];
        if rng.one_in(2) {
            pairs.push(format!("action={}", rng.pick(&actions)));
        }
        for _ in 0..rng.below(8) {
            let k = *rng.pick(&keys);
            let v = random_text(&mut rng);
            pairs.push(match rng.below(3) {
                0 => format!("{k}={v}"),
                1 => format!("{k}={}", encode_component(&v)),
                _ => format!("{k}=%{}", rng.below(300)),
            });
        }
        let page = pairs.join("&");
        let tenant = if rng.one_in(3) {
            None
        } else {
            Some(random_text(&mut rng))
        };

        let outcome = catch_unwind(AssertUnwindSafe(|| {
            (
                parse_add_json(&json),
                parse_patch_json(&json),
                parse_page_form(&page, tenant.as_deref()),
            )
        }));
        let Ok((add, patch, page_form)) = outcome else {
            panic!("case {case} panicked: json {json:?}, page {page:?}, tenant {tenant:?}");
        };
        let mut refusal = |e: &FormError| {
            refused += 1;
            assert!(FIELDS.contains(&e.field), "case {case}: {e:?}");
            assert!(!e.problem.is_empty(), "case {case}");
        };
        match &add {
            Ok(t) => check_new(t),
            Err(e) => refusal(e),
        }
        match &patch {
            Ok(e) => check_edit(e),
            Err(e) => refusal(e),
        }
        match &page_form {
            Ok(TenantForm::Add(t)) => check_new(t),
            Ok(TenantForm::Edit(e)) => check_edit(e),
            Ok(TenantForm::Remove) => {}
            Err(e) => refusal(e),
        }
        accepted += [add.is_ok(), patch.is_ok(), page_form.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count();

        // Slugs from random labels are always valid, unique and never `default`.
        let existing = ["default", "acme", "acme-2"];
        let slug = tenant_slug(&random_text(&mut rng), &dom("t.us.auth0.com"), &existing);
        assert!(is_tenant_slug(&slug), "case {case}: {slug:?}");
        assert!(!existing.contains(&slug.as_str()), "case {case}: {slug:?}");
    }
    // The fuzz reached both sides, so it tested something.
    assert!(
        accepted > 300 && refused > 3000,
        "accepted {accepted}, refused {refused}"
    );
}
