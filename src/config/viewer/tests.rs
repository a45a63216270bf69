use super::*;
use crate::config::Config;
use crate::testing::settings;

#[test]
fn session_secret_is_optional_and_redacted() {
    assert!(SessionSecret::from_settings(&settings(&[("SESSION_SECRET", " ")])).is_none());
    let s = SessionSecret::from_settings(&settings(&[("SESSION_SECRET", " k3y-value ")])).unwrap();
    assert_eq!(s.expose(), "k3y-value");
    assert_eq!(format!("{s:?}"), "SessionSecret(<redacted>)");
}

#[test]
fn viewer_token_matches_exactly_and_blank_means_unset() {
    let v = ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", " view-token-0123456 ")]))
        .unwrap()
        .unwrap();
    assert!(v.matches("view-token-0123456"));
    for wrong in [
        "",
        "view-token-012345",
        "view-token-0123456 ",
        "VIEW-token-0123456",
        "view-token-01234567",
    ] {
        assert!(!v.matches(wrong), "{wrong}");
    }
    let blank = settings(&[("VIEWER_TOKEN", " ")]);
    assert!(matches!(ViewerToken::from_settings(&blank), Ok(None)));
    assert!(matches!(
        ViewerToken::from_settings(&settings(&[])),
        Ok(None)
    ));
}

#[test]
fn a_viewer_token_shorter_than_16_characters_is_refused_by_name() {
    for short in ["tok", "v-token", "fifteen-chars-x", " fifteen-chars-x "] {
        let e = ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", short)])).unwrap_err();
        assert_eq!(e.setting, "VIEWER_TOKEN");
        assert!(e.to_string().starts_with("VIEWER_TOKEN: "), "{e}");
        assert!(e.problem.contains("shorter than 16 characters"), "{e}");
        assert!(
            e.problem.contains("wrangler secret put VIEWER_TOKEN"),
            "{e}"
        );
        assert!(
            !e.problem.contains(short.trim()),
            "the value is never echoed: {e}"
        );
        let c = Config::from_settings(&settings(&[("VIEWER_TOKEN", short)]));
        assert!(c.viewer.token.is_err());
    }
    // Characters, not bytes: 16 of them is enough, whatever their encoding.
    let sixteen = "sixteen-chars-ok";
    assert_eq!(sixteen.len(), MIN_VIEWER_TOKEN);
    assert!(ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", sixteen)])).is_ok());
    let accented = "ééééééééééééééé"; // 15 characters, 30 bytes
    assert!(ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", accented)])).is_err());
}
