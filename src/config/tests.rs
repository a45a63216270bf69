use super::limits::DEFAULT_MAX_D1_QUERIES;
use super::*;
use crate::testing::settings;

/// The three required Auth0 settings, valid.
pub(super) const GOOD: [(&str, &str); 3] = [
    ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
    ("AUTH0_CLIENT_ID", "abc"),
    ("AUTH0_CLIENT_SECRET", "s3cr3t-value"),
];

pub(super) const TEAM: &str = "https://myteam.cloudflareaccess.com";
pub(super) const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

#[test]
fn config_reads_every_part_and_keeps_each_outcome() {
    let mut pairs = GOOD.to_vec();
    pairs.extend([
        ("VIEWER_TOKEN", "view-token-0123456"),
        ("SESSION_SECRET", "sess"),
        ("ACCESS_AUD", AUD),
    ]);
    let c = Config::from_settings(&settings(&pairs));
    assert!(
        c.viewer
            .token
            .is_ok_and(|t| t.is_some_and(|t| t.matches("view-token-0123456")))
    );
    assert_eq!(c.viewer.session_secret.unwrap().expose(), "sess");
    assert_eq!(c.viewer.access.unwrap_err().setting, "ACCESS_TEAM_DOMAIN");
    let sync = c.sync.unwrap();
    assert_eq!(sync.auth0.domain.as_str(), "tenant.us.auth0.com");
    assert_eq!(sync.limits.max_d1_queries, Some(DEFAULT_MAX_D1_QUERIES));
    let shown = format!("{:?}", Config::from_settings(&settings(&pairs)));
    assert!(
        !shown.contains("sess\"")
            && !shown.contains("s3cr3t-value")
            && !shown.contains("view-token"),
        "{shown}"
    );
    let broken = Config::from_settings(&settings(&[("VIEWER_TOKEN", "view-token-0123456")]));
    assert_eq!(broken.sync.unwrap_err().setting, "AUTH0_DOMAIN");
    assert!(broken.viewer.access.unwrap().is_none());
}
