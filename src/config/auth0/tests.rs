use super::*;
use crate::config::ViewerToken;
use crate::config::tests::GOOD;
use crate::testing::settings;

#[test]
fn domain_is_normalised_from_what_people_paste() {
    for raw in [
        "tenant.us.auth0.com",
        "https://tenant.us.auth0.com/",
        " HTTPS://Tenant.US.auth0.com ",
        "http://tenant.us.auth0.com",
    ] {
        assert_eq!(
            Auth0Domain::parse(raw).unwrap().as_str(),
            "tenant.us.auth0.com"
        );
    }
    assert_eq!(
        Auth0Domain::parse("https://tenant.us.auth0.com/")
            .unwrap()
            .audience(),
        "https://tenant.us.auth0.com/api/v2/"
    );
}

#[test]
fn domain_with_path_or_junk_is_refused_with_the_fix() {
    let e = Auth0Domain::parse("https://tenant.us.auth0.com/api/v2/").unwrap_err();
    assert_eq!(e.setting, "AUTH0_DOMAIN");
    assert!(e.problem.contains("path"), "{e}");
    for bad in [
        "tenant",
        "ten ant.auth0.com",
        "tenant.auth0.com:443",
        "-x.auth0.com",
        "a..b",
    ] {
        let e = Auth0Domain::parse(bad).unwrap_err();
        assert!(e.problem.contains("tenant.us.auth0.com"), "{bad}: {e}");
    }
}

#[test]
fn each_missing_or_empty_setting_is_named() {
    for (i, (name, _)) in GOOD.iter().enumerate() {
        let mut pairs = GOOD.to_vec();
        pairs[i].1 = "  ";
        let e = Auth0Config::from_settings(&settings(&pairs)).unwrap_err();
        assert_eq!(e.setting, *name);
        assert!(e.to_string().contains("wrangler secret put"), "{e}");
        pairs.remove(i);
        let e = Auth0Config::from_settings(&settings(&pairs)).unwrap_err();
        assert_eq!(e.setting, *name);
    }
}

#[test]
fn base_url_defaults_to_the_domain_and_can_be_overridden() {
    let c = Auth0Config::from_settings(&settings(&GOOD)).unwrap();
    assert_eq!(c.base.as_str(), "https://tenant.us.auth0.com");
    let mut pairs = GOOD.to_vec();
    pairs.push(("AUTH0_BASE_URL", "http://127.0.0.1:8788/"));
    let c = Auth0Config::from_settings(&settings(&pairs)).unwrap();
    assert_eq!(c.base.as_str(), "http://127.0.0.1:8788");
    assert_eq!(c.domain.audience(), "https://tenant.us.auth0.com/api/v2/");
    pairs.pop();
    pairs.push(("AUTH0_BASE_URL", "127.0.0.1:8788/x"));
    let e = Auth0Config::from_settings(&settings(&pairs)).unwrap_err();
    assert_eq!(e.setting, "AUTH0_BASE_URL");
}

#[test]
fn secrets_never_show_in_debug() {
    let c = Auth0Config::from_settings(&settings(&GOOD)).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cr3t-value"), "{shown}");
    assert!(shown.contains("<redacted>"));
    let v = ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", "view-me-0123456789")]));
    assert!(!format!("{v:?}").contains("view-me"));
}
