use super::*;
use crate::config::Config;
use crate::testing::settings;

#[test]
fn event_stream_token_is_optional_long_redacted_and_matched_exactly() {
    assert!(matches!(
        EventStreamToken::from_settings(&settings(&[])),
        Ok(None)
    ));
    let blank = settings(&[("EVENT_STREAM_TOKEN", "  ")]);
    assert!(matches!(EventStreamToken::from_settings(&blank), Ok(None)));
    let e = EventStreamToken::from_settings(&settings(&[("EVENT_STREAM_TOKEN", "tiny-val")]))
        .unwrap_err();
    assert_eq!(e.setting, "EVENT_STREAM_TOKEN");
    assert!(
        e.problem.contains("wrangler secret put EVENT_STREAM_TOKEN"),
        "{e}"
    );
    assert!(
        !e.problem.contains("tiny-val"),
        "the value is never echoed: {e}"
    );
    let t = EventStreamToken::from_settings(&settings(&[(
        "EVENT_STREAM_TOKEN",
        " push-token-0123456789 ",
    )]))
    .unwrap()
    .unwrap();
    assert!(t.matches("push-token-0123456789"));
    for wrong in [
        "",
        "push-token-012345678",
        "push-token-0123456789 ",
        "PUSH-token-0123456789",
        "push-token-01234567890",
    ] {
        assert!(!t.matches(wrong), "{wrong}");
    }
    assert_eq!(format!("{t:?}"), "EventStreamToken(<redacted>)");
    let c = Config::from_settings(&settings(&[(
        "EVENT_STREAM_TOKEN",
        "push-token-0123456789",
    )]));
    assert!(!format!("{c:?}").contains("push-token"));
}
