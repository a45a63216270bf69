//! Auth0 credentials: the tenant's domain, the M2M client and where its requests go.

use std::fmt;

use super::lookup::{ConfigError, Settings};

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
    pub(crate) fn parse(raw: &str) -> Result<Self, ConfigError> {
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
    pub(crate) fn as_str(&self) -> &str {
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
    pub(crate) fn parse(raw: &str) -> Result<Self, ConfigError> {
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
    pub(crate) fn from_settings(settings: &impl Settings) -> Result<Self, ConfigError> {
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

#[cfg(test)]
mod tests;
