//! Alert delivery over a scripted HTTP client: URL validation, the secret never shown, one
//! bounded POST with the alert's body, and every status classed.

use std::cell::RefCell;

use serde_json::json;

use super::*;
use crate::http::{HttpResponse, TransportError};
use crate::testing::block_on;

const HOOK: &str = "https://hooks.slack.com/services/T000/B000/s3cr3tPathPart?token=q5ecret";

/// Answers every request with `answer`, and keeps what was sent.
struct Scripted {
    answer: Result<u16, &'static str>,
    sent: RefCell<Vec<HttpRequest>>,
}

impl Scripted {
    fn new(answer: Result<u16, &'static str>) -> Self {
        Self {
            answer,
            sent: RefCell::new(Vec::new()),
        }
    }
}

impl HttpClient for Scripted {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(req.clone());
        match self.answer {
            Ok(status) => Ok(HttpResponse {
                status,
                headers: Vec::new(),
                body: "ok".into(),
            }),
            Err(why) => Err(TransportError(why.into())),
        }
    }
}

#[test]
fn https_anywhere_and_http_only_to_this_machine() {
    for ok in [
        HOOK,
        "https://example.com",
        "HTTPS://example.com:8443/x",
        "http://127.0.0.1:8787/hook",
        "http://localhost/hook",
        "https://[2001:db8::1]:443/h",
        "  https://example.com/h  ",
    ] {
        assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "example.com/hook",
        "http://example.com/hook",
        "http://127.0.0.2/hook",
        "http://localhost.evil.com/hook",
        "ftp://example.com",
        "https:///path",
        "https://user:pw@example.com/h",
        "https://example.com:/h",
        "https://example.com:80a/h",
        "https://exa mple.com/h",
        "javascript://alert(1)",
    ] {
        let e = WebhookUrl::parse(bad).unwrap_err();
        assert_eq!(e.setting, SETTING, "{bad}");
        assert!(bad.len() < 8 || !e.problem.contains(bad), "{bad} echoed");
    }
}

#[test]
fn the_setting_is_optional_and_validated() {
    let unset = |_: &str| None::<String>;
    assert_eq!(WebhookUrl::from_settings(&unset), Ok(None));
    let blank = |_: &str| Some("  ".to_string());
    assert_eq!(WebhookUrl::from_settings(&blank), Ok(None));
    let set = |n: &str| (n == SETTING).then(|| HOOK.to_string());
    assert!(WebhookUrl::from_settings(&set).unwrap().is_some());
    let plain = |_: &str| Some("http://example.com/h".to_string());
    assert!(WebhookUrl::from_settings(&plain).is_err());
}

#[test]
fn only_the_origin_is_ever_shown() {
    let url = WebhookUrl::parse(HOOK).unwrap();
    assert_eq!(url.origin(), "https://hooks.slack.com");
    for shown in [format!("{url:?}"), url.to_string()] {
        assert!(shown.contains("hooks.slack.com"), "{shown}");
        for secret in ["s3cr3t", "T000", "q5ecret", "services"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    let local = WebhookUrl::parse("http://127.0.0.1:8787/hook?k=v").unwrap();
    assert_eq!(local.origin(), "http://127.0.0.1:8787");
}

#[test]
fn one_bounded_post_carries_the_alert_body() {
    let http = Scripted::new(Ok(200));
    let url = WebhookUrl::parse(HOOK).unwrap();
    let body = json!({"text": "Tenant acme: 81 % of the plan"});
    assert_eq!(block_on(deliver(&http, &url, &body)), Outcome::Delivered);
    let sent = http.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, HOOK);
    assert_eq!(sent[0].timeout_ms, TIMEOUT_MS);
    assert!(sent[0].timeout_ms > 0 && sent[0].timeout_ms <= 30_000);
    assert_eq!(
        serde_json::from_str::<Value>(sent[0].body.as_deref().unwrap()).unwrap(),
        body
    );
    assert!(
        sent[0]
            .headers
            .iter()
            .any(|(k, v)| *k == "content-type" && v == "application/json")
    );
}

#[test]
fn statuses_are_delivered_retry_or_failed() {
    let url = WebhookUrl::parse("http://localhost:9/h").unwrap();
    let body = json!({"text": "x"});
    for (answer, want) in [
        (Ok(200), Outcome::Delivered),
        (Ok(204), Outcome::Delivered),
        (Ok(429), Outcome::Retry { status: Some(429) }),
        (Ok(500), Outcome::Retry { status: Some(500) }),
        (Ok(503), Outcome::Retry { status: Some(503) }),
        (Ok(400), Outcome::Failed { status: 400 }),
        (Ok(404), Outcome::Failed { status: 404 }),
        (Ok(410), Outcome::Failed { status: 410 }),
        (Ok(302), Outcome::Failed { status: 302 }),
        (Err("connection refused"), Outcome::Retry { status: None }),
    ] {
        let http = Scripted::new(answer);
        let got = block_on(deliver(&http, &url, &body));
        assert_eq!(got, want, "{answer:?}");
        assert_eq!(got.delivered(), want == Outcome::Delivered);
        assert_eq!(http.sent.borrow().len(), 1, "one attempt only");
    }
}

#[test]
fn a_transport_error_quoting_the_url_is_not_repeated() {
    let http = Scripted::new(Err(
        "fetch https://hooks.slack.com/services/T000/B000/s3cr3tPathPart failed",
    ));
    let url = WebhookUrl::parse(HOOK).unwrap();
    let got = block_on(deliver(&http, &url, &json!({})));
    let shown = format!("{got} {got:?}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("hooks.slack"),
        "{shown}"
    );
}
