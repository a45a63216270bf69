use super::*;
use crate::config::tests::{AUD, TEAM};
use crate::testing::settings;

#[test]
fn settings_both_unset_or_blank_mean_no_access() {
    assert_eq!(AccessConfig::from_settings(&settings(&[])).unwrap(), None);
    let blank = settings(&[("ACCESS_TEAM_DOMAIN", " "), ("ACCESS_AUD", "")]);
    assert_eq!(AccessConfig::from_settings(&blank).unwrap(), None);
}

#[test]
fn settings_one_without_the_other_names_the_missing_one() {
    let e = AccessConfig::from_settings(&settings(&[("ACCESS_TEAM_DOMAIN", "t.example.com")]))
        .unwrap_err();
    assert_eq!(e.setting, "ACCESS_AUD");
    assert!(e.problem.contains("both must be set"), "{e}");
    assert!(
        e.problem.contains("npx wrangler secret put ACCESS_AUD"),
        "{e}"
    );
    assert!(e.problem.contains("[vars]"), "{e}");
    let e = AccessConfig::from_settings(&settings(&[
        ("ACCESS_AUD", AUD),
        ("ACCESS_TEAM_DOMAIN", ""),
    ]))
    .unwrap_err();
    assert_eq!(e.setting, "ACCESS_TEAM_DOMAIN");
    assert!(e.problem.contains("ACCESS_TEAM_DOMAIN"), "{e}");
}

#[test]
fn team_domain_is_normalised() {
    for (raw, want) in [
        ("myteam.cloudflareaccess.com", TEAM),
        ("https://myteam.cloudflareaccess.com/", TEAM),
        (" HTTPS://MyTeam.CloudflareAccess.com ", TEAM),
        (
            "https://myteam.cloudflareaccess.com:8443",
            "https://myteam.cloudflareaccess.com:8443",
        ),
        ("http://127.0.0.1:8787/", "http://127.0.0.1:8787"),
        ("http://localhost:9000", "http://localhost:9000"),
    ] {
        let c = AccessConfig::from_settings(&settings(&[
            ("ACCESS_TEAM_DOMAIN", raw),
            ("ACCESS_AUD", &format!(" {AUD} ")),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(c.team_url.as_str(), want, "{raw}");
        assert_eq!(c.aud.as_str(), AUD);
    }
    let c = AccessConfig::from_settings(&settings(&[
        ("ACCESS_TEAM_DOMAIN", "myteam.cloudflareaccess.com"),
        ("ACCESS_AUD", AUD),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        c.certs_url(),
        "https://myteam.cloudflareaccess.com/cdn-cgi/access/certs"
    );
}

#[test]
fn team_domain_rejects_paths_plain_http_and_junk() {
    for (raw, hint) in [
        ("http://myteam.cloudflareaccess.com", "http://"),
        ("http://10.0.0.1:8787", "http://"),
        (
            "https://myteam.cloudflareaccess.com/cdn-cgi/access/certs",
            "path",
        ),
        ("myteam.cloudflareaccess.com?x=1", "path"),
        ("ftp://myteam.cloudflareaccess.com", "https://"),
        ("myteam", "host name"),
        ("my team.cloudflareaccess.com", "host name"),
        ("myteam.cloudflareaccess.com:", "host name"),
        ("myteam.cloudflareaccess.com:99999", "host name"),
        ("user@myteam.cloudflareaccess.com", "host name"),
    ] {
        let e = AccessConfig::from_settings(&settings(&[
            ("ACCESS_TEAM_DOMAIN", raw),
            ("ACCESS_AUD", AUD),
        ]))
        .unwrap_err();
        assert_eq!(e.setting, "ACCESS_TEAM_DOMAIN", "{raw}");
        assert!(e.problem.contains(hint), "{raw}: {e}");
    }
}
