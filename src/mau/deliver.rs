//! One alert delivery: a single bounded POST of `mau::alerts`' body to `ALERT_WEBHOOK_URL`,
//! classified as delivered, worth a retry (5xx, 429, no answer) or failed (any other 4xx). The
//! retry schedule is `alerts::next_step`'s; this only makes the attempt.
//!
//! The URL is a secret: chat webhooks carry their credential in the path or query. Only its
//! origin ever appears in `Debug`, `Display` or an outcome; the body sent is the alert's own.

use std::fmt;

use serde_json::Value;

use crate::config::{ConfigError, Settings};
use crate::http::{HttpClient, HttpRequest, Method};

/// The Worker secret naming the webhook.
pub const SETTING: &str = "ALERT_WEBHOOK_URL";
/// The attempt gives up after this long: a slow webhook must not hold the cron invocation.
pub const TIMEOUT_MS: u64 = 10_000;
/// Longest URL accepted.
const MAX_URL_BYTES: usize = 2048;

/// `ALERT_WEBHOOK_URL`: https anywhere, or plain http to this machine (tests, local tools).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: String,
    /// Length of `scheme://host[:port]`: what may be shown.
    origin_len: usize,
}

impl WebhookUrl {
    /// Validates a URL.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the setting; the value itself is never echoed.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let bad = |problem: &str| ConfigError {
            setting: SETTING,
            problem: problem.into(),
        };
        let url = value.trim();
        if url.len() > MAX_URL_BYTES || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("is not a usable URL (too long, or has spaces)"));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("is not a URL: it must start with https://"))?;
        let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = rest.get(..host_end).unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("must name a host, without user or password"));
        }
        // A bracketed IPv6 host keeps its colons; a port is digits after the last one.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (h, after) = v6
                    .split_once(']')
                    .ok_or_else(|| bad("has an unreadable host"))?;
                (
                    h,
                    after
                        .strip_prefix(':')
                        .or((!after.is_empty()).then_some("x")),
                )
            }
            None => match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        if host.is_empty()
            || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("has an unreadable host or port"));
        }
        let local = host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1";
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if local => {}
            _ => {
                return Err(bad(
                    "must be an https:// URL (http:// only for localhost or 127.0.0.1)",
                ));
            }
        }
        Ok(Self {
            url: url.to_string(),
            origin_len: scheme.len() + 3 + host_end,
        })
    }

    /// The setting: `None` when unset or blank (alerts stay on the page only).
    ///
    /// # Errors
    /// Set but unusable.
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        match settings.get(SETTING).filter(|v| !v.trim().is_empty()) {
            Some(v) => Self::parse(&v).map(Some),
            None => Ok(None),
        }
    }

    /// `scheme://host[:port]`: all of the URL that may be shown or logged.
    pub fn origin(&self) -> &str {
        self.url.get(..self.origin_len).unwrap_or_default()
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({}/<redacted>)", self.origin())
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/…", self.origin())
    }
}

/// What one attempt came to. `Display` names the status or the kind of failure, never the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx.
    Delivered,
    /// A 5xx, a 429 or no answer: `alerts::next_step` schedules another attempt.
    Retry {
        /// The status; `None` when no answer arrived.
        status: Option<u16>,
    },
    /// Any other status: retrying cannot fix it (a revoked hook, a wrong URL).
    Failed {
        /// The status.
        status: u16,
    },
}

impl Outcome {
    /// Whether the alert reached the webhook (`alerts::after_attempt`'s `delivered`).
    pub fn delivered(&self) -> bool {
        matches!(self, Self::Delivered)
    }

    /// The class of an HTTP status.
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Delivered,
            429 | 500..=599 => Self::Retry {
                status: Some(status),
            },
            _ => Self::Failed { status },
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Delivered => f.write_str("delivered"),
            Self::Retry { status: Some(s) } => write!(f, "the webhook answered {s}; will retry"),
            Self::Retry { status: None } => {
                f.write_str("the webhook did not answer (network or timeout); will retry")
            }
            Self::Failed { status } => write!(
                f,
                "the webhook refused the alert ({status}); check {SETTING}"
            ),
        }
    }
}

/// POSTs `body` to the webhook once.
///
/// The transport's own error text is dropped: a fetch failure may quote the URL.
pub async fn deliver<H: HttpClient>(http: &H, url: &WebhookUrl, body: &Value) -> Outcome {
    let req = HttpRequest {
        method: Method::Post,
        url: url.url.clone(),
        headers: vec![("content-type", "application/json".into())],
        body: Some(body.to_string()),
        gunzip: false,
        timeout_ms: TIMEOUT_MS,
    };
    match http.send(&req).await {
        Ok(resp) => Outcome::of_status(resp.status),
        Err(_) => Outcome::Retry { status: None },
    }
}

#[cfg(test)]
mod tests;
