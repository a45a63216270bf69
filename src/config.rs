//! Settings read once from the Worker's environment and validated into types.
//!
//! Validation is pure: it takes a lookup function, so the runtime passes `env.secret`/`env.var`
//! and tests pass a map. Every error names the setting and says how to fix it.

use std::fmt;

/// Where a setting is read from; lets tests and the runtime share the validation.
pub trait Settings {
    /// The setting's value, if it is set at all.
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Settings for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A setting that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment name of the setting, e.g. `AUTH0_DOMAIN`.
    pub setting: &'static str,
    /// What is wrong and what to do, for a person.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

fn secret_hint(name: &str) -> String {
    format!("is not set. Run `npx wrangler secret put {name}` (locally, add {name}=… to .dev.vars)")
}

/// An Auth0 tenant host such as `tenant.us.auth0.com` (or a custom domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth0Domain(String);

impl Auth0Domain {
    /// Normalises what people paste (`https://tenant.us.auth0.com/`) to the bare host.
    ///
    /// # Errors
    /// Anything with a path, port, query or characters a host cannot have.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError {
            setting: "AUTH0_DOMAIN",
            problem,
        };
        let trimmed = raw.trim();
        let lower = trimmed.to_ascii_lowercase();
        let without_scheme = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let host = without_scheme.strip_suffix('/').unwrap_or(without_scheme);
        if host.is_empty() {
            return Err(err(secret_hint("AUTH0_DOMAIN")));
        }
        if host.contains(['/', '?', '#']) {
            return Err(err(format!(
                "`{trimmed}` has a path; give only the tenant's host, like tenant.us.auth0.com"
            )));
        }
        let labels_ok = host.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        });
        if !labels_ok || !host.contains('.') {
            return Err(err(format!(
                "`{trimmed}` is not a host name; give the tenant's domain, like tenant.us.auth0.com"
            )));
        }
        Ok(Self(host.to_string()))
    }

    /// The bare host.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Management API identifier, which the token's `audience` must be.
    pub fn audience(&self) -> String {
        format!("https://{}/api/v2/", self.0)
    }
}

/// The Machine-to-Machine application's client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// The id as sent to Auth0.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The M2M application's client secret. Its value never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret value (for tests and the config loader).
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret, for the one place that must send it: the token request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// The scheme and host that token and API calls go to, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiBase(String);

impl ApiBase {
    /// Parses `AUTH0_BASE_URL` (tests, demos and egress proxies).
    ///
    /// # Errors
    /// Anything that is not an `http(s)://host[:port]` URL.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let trimmed = raw.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("https://")
            .or_else(|| trimmed.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {
                Ok(Self(trimmed.to_string()))
            }
            _ => Err(ConfigError {
                setting: "AUTH0_BASE_URL",
                problem: format!(
                    "`{trimmed}` is not a base URL like http://127.0.0.1:8788; unset it to call https://AUTH0_DOMAIN"
                ),
            }),
        }
    }

    /// The base, e.g. `https://tenant.us.auth0.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Everything the sync needs to reach Auth0.
#[derive(Debug, Clone)]
pub struct Auth0Config {
    /// The tenant's host.
    pub domain: Auth0Domain,
    /// The M2M app's client id.
    pub client_id: ClientId,
    /// The M2M app's client secret.
    pub client_secret: ClientSecret,
    /// Where requests go: `https://{domain}` unless `AUTH0_BASE_URL` overrides it.
    pub base: ApiBase,
}

fn required(settings: &impl Settings, name: &'static str) -> Result<String, ConfigError> {
    match settings.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError {
            setting: name,
            problem: secret_hint(name),
        }),
    }
}

impl Auth0Config {
    /// Reads and validates the Auth0 settings.
    ///
    /// # Errors
    /// The first setting that is missing, empty or malformed, by name.
    pub fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
        let domain = Auth0Domain::parse(&required(settings, "AUTH0_DOMAIN")?)?;
        let client_id = ClientId(required(settings, "AUTH0_CLIENT_ID")?);
        let client_secret = ClientSecret(required(settings, "AUTH0_CLIENT_SECRET")?);
        let base = match settings.get("AUTH0_BASE_URL") {
            Some(v) if !v.trim().is_empty() => ApiBase::parse(&v)?,
            _ => ApiBase(format!("https://{}", domain.as_str())),
        };
        Ok(Self {
            domain,
            client_id,
            client_secret,
            base,
        })
    }
}

/// Auth0 requests per invocation unless set: under the Paid plan's 1,000 subrequests, with room
/// for the Access keys and other fetches.
pub const DEFAULT_MAX_AUTH0_REQUESTS: u32 = 950;
/// D1 queries per invocation unless set: under the Paid plan's 1,000.
pub const DEFAULT_MAX_D1_QUERIES: u32 = 950;

/// Optional tuning of the sync, from vars. Unset means: pace by Auth0's rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SyncLimits {
    /// `AUTH0_RATE_LIMIT_PER_SECOND`: requests per second to stay under.
    pub rate_per_second: Option<f64>,
    /// `AUTH0_RATE_LIMIT_BURST`: requests that may go at once.
    pub burst: Option<u32>,
    /// `SYNC_MAX_AUTH0_REQUESTS`: Auth0 requests per invocation (Workers' subrequest limit).
    pub max_auth0_requests: Option<u32>,
    /// `SYNC_MAX_D1_QUERIES`: D1 queries per invocation.
    pub max_d1_queries: Option<u32>,
}

fn optional_number<T: std::str::FromStr + PartialOrd + fmt::Display>(
    settings: &impl Settings,
    name: &'static str,
    min: T,
    max: T,
    example: &str,
) -> Result<Option<T>, ConfigError> {
    let Some(raw) = settings.get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(Some(v)),
        _ => Err(ConfigError {
            setting: name,
            problem: format!(
                "`{}` is not a number from {min} to {max}; set it like {name}={example} in \
                 wrangler.toml [vars] (or .dev.vars), or remove it",
                raw.trim()
            ),
        }),
    }
}

impl SyncLimits {
    /// Reads the optional limits.
    ///
    /// # Errors
    /// A value that is not a number in range, by name.
    pub fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            rate_per_second: optional_number(
                settings,
                "AUTH0_RATE_LIMIT_PER_SECOND",
                0.1,
                1000.0,
                "2",
            )?,
            burst: optional_number(settings, "AUTH0_RATE_LIMIT_BURST", 1, 1000, "2")?,
            max_auth0_requests: Some(
                optional_number(settings, "SYNC_MAX_AUTH0_REQUESTS", 20, 100_000, "45")?
                    .unwrap_or(DEFAULT_MAX_AUTH0_REQUESTS),
            ),
            max_d1_queries: Some(
                optional_number(settings, "SYNC_MAX_D1_QUERIES", 20, 100_000, "45")?
                    .unwrap_or(DEFAULT_MAX_D1_QUERIES),
            ),
        })
    }
}

/// The bearer token that license viewers present. `None` when unset: viewers are then refused.
#[derive(Clone, PartialEq, Eq)]
pub struct ViewerToken(String);

impl ViewerToken {
    /// Reads `VIEWER_TOKEN`; an empty value counts as unset, so a blank secret cannot open the API.
    pub fn from_settings(settings: &impl Settings) -> Option<Self> {
        settings
            .get("VIEWER_TOKEN")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(Self)
    }

    /// Compares in time independent of where the strings first differ.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
        }
        diff == 0
    }
}

impl fmt::Debug for ViewerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::settings;

    const GOOD: [(&str, &str); 3] = [
        ("AUTH0_DOMAIN", "tenant.us.auth0.com"),
        ("AUTH0_CLIENT_ID", "abc"),
        ("AUTH0_CLIENT_SECRET", "s3cr3t-value"),
    ];

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
        let v = ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", "view-me")])).unwrap();
        assert!(!format!("{v:?}").contains("view-me"));
    }

    #[test]
    fn limits_are_optional_and_named_when_malformed() {
        let defaults = SyncLimits::from_settings(&settings(&[])).unwrap();
        assert_eq!((defaults.rate_per_second, defaults.burst), (None, None));
        assert_eq!(
            defaults.max_auth0_requests,
            Some(DEFAULT_MAX_AUTH0_REQUESTS)
        );
        let free = SyncLimits::from_settings(&settings(&[
            ("SYNC_MAX_AUTH0_REQUESTS", "45"),
            ("SYNC_MAX_D1_QUERIES", "45"),
        ]))
        .unwrap();
        assert_eq!(
            (free.max_auth0_requests, free.max_d1_queries),
            (Some(45), Some(45))
        );
        let e = SyncLimits::from_settings(&settings(&[("SYNC_MAX_D1_QUERIES", "5")])).unwrap_err();
        assert_eq!(e.setting, "SYNC_MAX_D1_QUERIES");
        let l = SyncLimits::from_settings(&settings(&[
            ("AUTH0_RATE_LIMIT_PER_SECOND", "2"),
            ("AUTH0_RATE_LIMIT_BURST", " 40 "),
        ]))
        .unwrap();
        assert_eq!((l.rate_per_second, l.burst), (Some(2.0), Some(40)));
        for (name, bad) in [
            ("AUTH0_RATE_LIMIT_PER_SECOND", "fast"),
            ("AUTH0_RATE_LIMIT_PER_SECOND", "0"),
            ("AUTH0_RATE_LIMIT_BURST", "2.5"),
            ("AUTH0_RATE_LIMIT_BURST", "0"),
        ] {
            let e = SyncLimits::from_settings(&settings(&[(name, bad)])).unwrap_err();
            assert_eq!(e.setting, name);
            assert!(
                e.problem.contains(bad) && e.problem.contains("[vars]"),
                "{e}"
            );
        }
    }

    #[test]
    fn viewer_token_matches_exactly_and_blank_means_unset() {
        let v = ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", "tok")])).unwrap();
        assert!(v.matches("tok"));
        for wrong in ["", "to", "tok ", "tOk", "token"] {
            assert!(!v.matches(wrong), "{wrong}");
        }
        assert!(ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", " ")])).is_none());
        assert!(ViewerToken::from_settings(&settings(&[])).is_none());
    }
}
