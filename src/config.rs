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
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::config::ClientSecret;
/// fn same(a: &ClientSecret, b: &ClientSecret) -> bool { a == b }
/// ```
#[derive(Clone)]
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
    /// `FULL_SYNC_INTERVAL_HOURS`: a full listing at least this often, incremental runs between
    /// (24 when unset; 0, and `Default`, which tests use: every run is a full listing).
    pub full_sync_interval_hours: u32,
    /// `INCREMENTAL_OVERLAP_SECONDS`: how far before the last proven listing's start an
    /// incremental run reaches back (300 when unset).
    pub incremental_overlap_seconds: u32,
    /// `FULL_SYNC_AUTO_MAX_REQUESTS`: without a deletion signal, every run is a full listing
    /// while one costs at most this many Auth0 requests, else one runs hourly (200 when unset).
    pub full_sync_auto_max_requests: u32,
}

/// The default of `FULL_SYNC_INTERVAL_HOURS`.
pub const DEFAULT_FULL_SYNC_INTERVAL_HOURS: u32 = 24;
/// The default of `FULL_SYNC_AUTO_MAX_REQUESTS`: 100 users a page, so a full listing of about
/// 20,000 users.
pub const DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS: u32 = 200;
/// The default of `INCREMENTAL_OVERLAP_SECONDS`: far more than the search index's lag (seconds)
/// and any clock skew, for a few more users listed a tick.
pub const DEFAULT_INCREMENTAL_OVERLAP_SECONDS: u32 = 300;

/// A setting's number in `min..=max`, read by `read` (`str::parse` for counts,
/// [`crate::decimal::parse`] for a rate); `range` says the bounds in the error.
fn optional_number<T: PartialOrd>(
    settings: &impl Settings,
    name: &'static str,
    read: impl Fn(&str) -> Option<T>,
    (min, max): (T, T),
    range: &str,
    example: &str,
) -> Result<Option<T>, ConfigError> {
    let Some(raw) = settings.get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    match read(raw.trim()) {
        Some(v) if v >= min && v <= max => Ok(Some(v)),
        _ => Err(ConfigError {
            setting: name,
            problem: format!(
                "`{}` is not a number from {range}; set it like {name}={example} in \
                 wrangler.toml [vars] (or .dev.vars), or remove it",
                raw.trim()
            ),
        }),
    }
}

fn count(text: &str) -> Option<u32> {
    text.parse().ok()
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
                crate::decimal::parse,
                (0.1, 1000.0),
                "0.1 to 1000",
                "2",
            )?,
            burst: optional_number(
                settings,
                "AUTH0_RATE_LIMIT_BURST",
                count,
                (1, 1000),
                "1 to 1000",
                "2",
            )?,
            max_auth0_requests: Some(
                optional_number(
                    settings,
                    "SYNC_MAX_AUTH0_REQUESTS",
                    count,
                    (20, 100_000),
                    "20 to 100000",
                    "45",
                )?
                .unwrap_or(DEFAULT_MAX_AUTH0_REQUESTS),
            ),
            max_d1_queries: Some(
                optional_number(
                    settings,
                    "SYNC_MAX_D1_QUERIES",
                    count,
                    (20, 100_000),
                    "20 to 100000",
                    "45",
                )?
                .unwrap_or(DEFAULT_MAX_D1_QUERIES),
            ),
            full_sync_interval_hours: optional_number(
                settings,
                "FULL_SYNC_INTERVAL_HOURS",
                count,
                (0, 8760),
                "0 to 8760 (0: every sync lists the whole tenant)",
                "24",
            )?
            .unwrap_or(DEFAULT_FULL_SYNC_INTERVAL_HOURS),
            incremental_overlap_seconds: optional_number(
                settings,
                "INCREMENTAL_OVERLAP_SECONDS",
                count,
                (0, 86_400),
                "0 to 86400",
                "300",
            )?
            .unwrap_or(DEFAULT_INCREMENTAL_OVERLAP_SECONDS),
            full_sync_auto_max_requests: optional_number(
                settings,
                "FULL_SYNC_AUTO_MAX_REQUESTS",
                count,
                (0, 1_000_000),
                "0 to 1000000 (0: without a deletion signal, a full listing every hour)",
                "200",
            )?
            .unwrap_or(DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS),
        })
    }
}

/// The shortest `VIEWER_TOKEN` accepted, as for the stream tokens: it opens every viewer route
/// from the internet, so it must not be guessable.
pub const MIN_VIEWER_TOKEN: usize = MIN_EVENT_STREAM_TOKEN;

/// The bearer token that license viewers present. Unset or too short: viewers are refused.
/// Comparable only through [`ViewerToken::matches`], never with `==`:
///
/// ```compile_fail
/// # use auth0_license_sync::config::ViewerToken;
/// fn same(a: &ViewerToken, b: &ViewerToken) -> bool {
///     a == b // no `PartialEq`: a short-circuiting comparison would leak the token by timing
/// }
/// ```
///
/// ```
/// # use auth0_license_sync::auth::session::{SessionKey, SessionSigner};
/// # use auth0_license_sync::config::{ClientSecret, EventStreamToken, SessionSecret, ViewerToken};
/// // The secrets' comparisons that do exist (and the paths the `compile_fail` tests use).
/// fn same(a: &ViewerToken, presented: &str) -> bool {
///     a.matches(presented)
/// }
/// fn pushed(a: &EventStreamToken, presented: &str) -> bool {
///     a.matches(presented)
/// }
/// fn others(_: &ClientSecret, _: &SessionSecret, _: &SessionSigner, _: &SessionKey) {}
/// ```
#[derive(Clone)]
pub struct ViewerToken(String);

impl ViewerToken {
    /// Reads `VIEWER_TOKEN`; an empty value counts as unset (`Ok(None)`), so a blank secret
    /// cannot open the API.
    ///
    /// # Errors
    /// A value shorter than [`MIN_VIEWER_TOKEN`] characters: every viewer route then refuses
    /// everyone, naming the setting.
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        let Some(value) = setting(settings, "VIEWER_TOKEN") else {
            return Ok(None);
        };
        if value.chars().count() < MIN_VIEWER_TOKEN {
            return Err(too_short("VIEWER_TOKEN", MIN_VIEWER_TOKEN));
        }
        Ok(Some(Self(value)))
    }

    /// The token, for the one place that derives session keys from it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    // `matches` lives in `auth::token_match`, beside the other constant-time comparisons.
}

impl fmt::Debug for ViewerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ViewerToken(<redacted>)")
    }
}

/// `SESSION_SECRET`: an optional key for session cookies, independent of `VIEWER_TOKEN`.
/// Its value never shows in `Debug`.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::config::SessionSecret;
/// fn same(a: &SessionSecret, b: &SessionSecret) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct SessionSecret(String);

impl SessionSecret {
    /// Reads `SESSION_SECRET`; an empty value counts as unset.
    pub fn from_settings(settings: &impl Settings) -> Option<Self> {
        settings
            .get("SESSION_SECRET")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(Self)
    }

    /// The secret, for the one place that keys the session MAC with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

/// The shortest `EVENT_STREAM_TOKEN` accepted: the route is open to the internet, so the
/// token must not be guessable.
pub const MIN_EVENT_STREAM_TOKEN: usize = 16;

/// A secret token shorter than `min` characters; the value itself is never echoed.
fn too_short(name: &'static str, min: usize) -> ConfigError {
    ConfigError {
        setting: name,
        problem: format!(
            "is shorter than {min} characters; set a random one with \
             `openssl rand -hex 32 | npx wrangler secret put {name}`"
        ),
    }
}

/// `EVENT_STREAM_TOKEN`: the bearer token Auth0 Event Streams send to `POST /api/auth0/events`.
/// Its value never shows in `Debug`.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::config::EventStreamToken;
/// fn same(a: &EventStreamToken, b: &EventStreamToken) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct EventStreamToken(String);

impl EventStreamToken {
    /// Reads `EVENT_STREAM_TOKEN`. Unset or blank is `Ok(None)`: the route then refuses everyone.
    ///
    /// # Errors
    /// A value shorter than [`MIN_EVENT_STREAM_TOKEN`] characters (the route refuses everyone,
    /// saying so).
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        Self::named(settings, "EVENT_STREAM_TOKEN")
    }

    /// Reads the stream secret `name` (`EVENT_STREAM_TOKEN`, `LOG_STREAM_TOKEN`) by the same
    /// rules.
    ///
    /// # Errors
    /// As [`Self::from_settings`].
    pub fn named(
        settings: &impl Settings,
        name: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(value) = setting(settings, name) else {
            return Ok(None);
        };
        if value.chars().count() < MIN_EVENT_STREAM_TOKEN {
            return Err(too_short(name, MIN_EVENT_STREAM_TOKEN));
        }
        Ok(Some(Self(value)))
    }

    /// The token, for the one place that compares with it (`auth::token_match`).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EventStreamToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventStreamToken(<redacted>)")
    }
}

/// `ACCESS_TEAM_DOMAIN`, normalised to `scheme://host[:port]` without a trailing slash, e.g.
/// `https://myteam.cloudflareaccess.com`: Access tokens' `iss` must equal it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTeamUrl(String);

impl AccessTeamUrl {
    /// The URL, e.g. `https://myteam.cloudflareaccess.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `ACCESS_AUD`: the Access application's Audience (AUD) tag; tokens' `aud` must contain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAud(String);

impl AccessAud {
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which Cloudflare Access team and application tokens must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// The team; tokens' `iss` must equal it.
    pub team_url: AccessTeamUrl,
    /// This application's AUD tag; tokens' `aud` must contain it.
    pub aud: AccessAud,
}

fn setting(settings: &impl Settings, name: &str) -> Option<String> {
    settings
        .get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn pair_hint(missing: &str, other: &str, example: &str) -> String {
    format!(
        "is not set, but {other} is: both must be set to require Cloudflare Access (or neither). \
         Set it with `npx wrangler secret put {missing}` or as {missing} = \"{example}\" in \
         wrangler.toml [vars] (locally, in .dev.vars)"
    )
}

impl AccessConfig {
    /// Reads `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD`. Both unset (or blank) means Access is not
    /// required, which is `Ok(None)`.
    ///
    /// # Errors
    /// One of the two set without the other (the error names the missing one), or a team domain
    /// that is not a host, `https://host[:port]`, or `http://` to `127.0.0.1`/`localhost`.
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        let team = setting(settings, "ACCESS_TEAM_DOMAIN");
        let aud = setting(settings, "ACCESS_AUD");
        match (team, aud) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError {
                setting: "ACCESS_AUD",
                problem: pair_hint(
                    "ACCESS_AUD",
                    "ACCESS_TEAM_DOMAIN",
                    "<the application's AUD tag>",
                ),
            }),
            (None, Some(_)) => Err(ConfigError {
                setting: "ACCESS_TEAM_DOMAIN",
                problem: pair_hint(
                    "ACCESS_TEAM_DOMAIN",
                    "ACCESS_AUD",
                    "myteam.cloudflareaccess.com",
                ),
            }),
            (Some(team), Some(aud)) => Ok(Some(Self {
                team_url: team_url(&team)?,
                aud: AccessAud(aud),
            })),
        }
    }

    /// Where the team publishes its signing keys.
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.team_url.as_str())
    }
}

/// Normalises what people paste for `ACCESS_TEAM_DOMAIN` to `scheme://host[:port]`.
fn team_url(raw: &str) -> Result<AccessTeamUrl, ConfigError> {
    let err = |problem: String| ConfigError {
        setting: "ACCESS_TEAM_DOMAIN",
        problem,
    };
    let lower = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        ("http", rest)
    } else {
        ("https", lower.as_str())
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains("://") {
        return Err(err(format!(
            "`{}` is not an https:// URL; give the team domain, like myteam.cloudflareaccess.com",
            raw.trim()
        )));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(err(format!(
            "`{}` has a path; give only the team domain, like myteam.cloudflareaccess.com",
            raw.trim()
        )));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let local = host == "127.0.0.1" || host == "localhost";
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    });
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    if !labels_ok || !port_ok || !(host.contains('.') || local) {
        return Err(err(format!(
            "`{}` is not a host name; give the team domain, like myteam.cloudflareaccess.com",
            raw.trim()
        )));
    }
    if scheme == "http" && !local {
        // Plain http would let anyone on the path swap the signing keys; only local tests use it.
        return Err(err(format!(
            "`{}` uses http://, which is only allowed for 127.0.0.1 or localhost; use https://",
            raw.trim()
        )));
    }
    Ok(AccessTeamUrl(format!("{scheme}://{authority}")))
}

/// Everything that decides who may see the viewer routes, read once per request.
#[derive(Debug, Clone)]
pub struct ViewerConfig {
    /// `VIEWER_TOKEN`: unset (`Ok(None)`), set, or too short (the error names it; viewer routes
    /// then refuse everyone, saying so).
    pub token: Result<Option<ViewerToken>, ConfigError>,
    /// `SESSION_SECRET`, if set.
    pub session_secret: Option<SessionSecret>,
    /// Cloudflare Access: off (`Ok(None)`), on, or half configured (the error names the missing
    /// setting; viewer routes then refuse everyone, saying so).
    pub access: Result<Option<AccessConfig>, ConfigError>,
}

impl ViewerConfig {
    /// Reads the viewer settings. Never fails as a whole: each part carries its own outcome.
    pub fn from_settings(settings: &impl Settings) -> Self {
        Self {
            token: ViewerToken::from_settings(settings),
            session_secret: SessionSecret::from_settings(settings),
            access: AccessConfig::from_settings(settings),
        }
    }
}

/// What a sync needs from the settings.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// How to reach Auth0.
    pub auth0: Auth0Config,
    /// Pacing and per-invocation budgets.
    pub limits: SyncLimits,
}

impl SyncSettings {
    /// Reads the Auth0 settings, then the limits.
    ///
    /// # Errors
    /// The first setting that is missing or malformed, by name.
    pub fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
        Ok(Self {
            auth0: Auth0Config::from_settings(settings)?,
            limits: SyncLimits::from_settings(settings)?,
        })
    }
}

/// Every setting, read from the environment once per request or cron event.
#[derive(Debug, Clone)]
pub struct Config {
    /// Who may see the viewer routes.
    pub viewer: ViewerConfig,
    /// The sync's settings, or the first problem with them (recorded in the sync history).
    pub sync: Result<SyncSettings, ConfigError>,
    /// `EVENT_STREAM_TOKEN` for Auth0 Event Streams pushes: unset (`Ok(None)`) or unusable
    /// closes `POST /api/auth0/events` to everyone.
    pub event_stream_token: Result<Option<EventStreamToken>, ConfigError>,
    /// `LOG_STREAM_TOKEN` for Auth0 Log Stream pushes: unset or unusable closes
    /// `POST /api/auth0/log-stream` to everyone.
    pub log_stream_token: Result<Option<EventStreamToken>, ConfigError>,
}

impl Config {
    /// Reads and validates every setting.
    pub fn from_settings(settings: &impl Settings) -> Self {
        Self {
            viewer: ViewerConfig::from_settings(settings),
            sync: SyncSettings::from_settings(settings),
            event_stream_token: EventStreamToken::from_settings(settings),
            log_stream_token: EventStreamToken::named(settings, "LOG_STREAM_TOKEN"),
        }
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

    const TEAM: &str = "https://myteam.cloudflareaccess.com";
    const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

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

    #[test]
    fn session_secret_is_optional_and_redacted() {
        assert!(SessionSecret::from_settings(&settings(&[("SESSION_SECRET", " ")])).is_none());
        let s =
            SessionSecret::from_settings(&settings(&[("SESSION_SECRET", " k3y-value ")])).unwrap();
        assert_eq!(s.expose(), "k3y-value");
        assert_eq!(format!("{s:?}"), "SessionSecret(<redacted>)");
    }

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
    fn the_full_listing_interval_and_overlap_default_and_are_checked() {
        let d = SyncLimits::from_settings(&settings(&[])).unwrap();
        assert_eq!(
            (
                d.full_sync_interval_hours,
                d.incremental_overlap_seconds,
                d.full_sync_auto_max_requests
            ),
            (24, 300, 200)
        );
        for (raw, want) in [("0", 0), (" 5000 ", 5000)] {
            let l = SyncLimits::from_settings(&settings(&[("FULL_SYNC_AUTO_MAX_REQUESTS", raw)]))
                .unwrap();
            assert_eq!(l.full_sync_auto_max_requests, want);
        }
        let every = SyncLimits::from_settings(&settings(&[
            ("FULL_SYNC_INTERVAL_HOURS", "0"),
            ("INCREMENTAL_OVERLAP_SECONDS", " 900 "),
        ]))
        .unwrap();
        assert_eq!(
            (
                every.full_sync_interval_hours,
                every.incremental_overlap_seconds
            ),
            (0, 900)
        );
        for (name, bad) in [
            ("FULL_SYNC_INTERVAL_HOURS", "-1"),
            ("FULL_SYNC_INTERVAL_HOURS", "8761"),
            ("FULL_SYNC_INTERVAL_HOURS", "1.5"),
            ("FULL_SYNC_INTERVAL_HOURS", "daily"),
            ("INCREMENTAL_OVERLAP_SECONDS", "86401"),
            ("INCREMENTAL_OVERLAP_SECONDS", "5m"),
            ("FULL_SYNC_AUTO_MAX_REQUESTS", "-1"),
            ("FULL_SYNC_AUTO_MAX_REQUESTS", "1000001"),
            ("FULL_SYNC_AUTO_MAX_REQUESTS", "2e2"),
            ("FULL_SYNC_AUTO_MAX_REQUESTS", "many"),
        ] {
            let e = SyncLimits::from_settings(&settings(&[(name, bad)])).unwrap_err();
            assert_eq!(e.setting, name);
            assert!(e.problem.contains(bad), "{e}");
        }
    }

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
}
