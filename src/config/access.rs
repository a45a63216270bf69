//! Cloudflare Access: which team and application a viewer's Access token must come from.

use super::lookup::{ConfigError, Settings, setting};

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
    pub(crate) fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
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

#[cfg(test)]
mod tests;
