//! Tenant secrets sealed at rest (issue 21): the `SETTINGS_KEY` Worker secret and AES-256-GCM
//! sealing with a fresh nonce per record and the tenant id bound as associated data.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64ct::{Base64, Encoding};

use crate::config::{ConfigError, Settings};

/// How to make a key; every `SETTINGS_KEY` error and the settings page say it.
pub const MAKE_SETTINGS_KEY: &str =
    "openssl rand -base64 32 | npx wrangler secret put SETTINGS_KEY";

/// The stored form's version prefix; a new scheme gets a new prefix, old records stay readable.
const PREFIX_V1: &str = "v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// AES-GCM's authentication tag, appended to the ciphertext.
const TAG_LEN: usize = 16;

/// `SETTINGS_KEY`: 32 random bytes, standard base64. Its value never shows in `Debug`.
#[derive(Clone)]
pub struct SettingsKey([u8; KEY_LEN]);

impl SettingsKey {
    /// Reads `SETTINGS_KEY`; unset or blank is `None` (tenants can then not be added from the
    /// dashboard, and the settings page says how to set it).
    ///
    /// # Errors
    /// A value that is not canonical base64 of exactly 32 bytes, naming the setting.
    pub fn from_settings(settings: &impl Settings) -> Result<Option<Self>, ConfigError> {
        let Some(value) = settings
            .get("SETTINGS_KEY")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        Self::parse(&value).map(Some)
    }

    /// Decodes the base64 text strictly (canonical, padded, no whitespace inside).
    ///
    /// # Errors
    /// Not base64, or not 32 bytes; the value itself is never echoed.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let bytes = Base64::decode_vec(value.trim()).map_err(|_| ConfigError {
            setting: "SETTINGS_KEY",
            problem: format!("is not base64; make a key with `{MAKE_SETTINGS_KEY}`"),
        })?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| ConfigError {
            setting: "SETTINGS_KEY",
            problem: format!(
                "decodes to {} bytes, not {KEY_LEN}; make a key with `{MAKE_SETTINGS_KEY}`",
                b.len()
            ),
        })?;
        Ok(Self(key))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

impl fmt::Debug for SettingsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SettingsKey(<redacted>)")
    }
}

/// Where nonces come from: the platform CSPRNG in production, fixed bytes in tests.
pub trait NonceSource {
    /// Fills `buf` with fresh random bytes.
    ///
    /// # Errors
    /// The platform has no random source available.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError>;
}

/// The platform CSPRNG via `getrandom` (`crypto.getRandomValues` on wasm).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl NonceSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), SealError> {
        getrandom::getrandom(buf).map_err(|_| SealError::NoRandom)
    }
}

/// Sealing failed; nothing was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// No random bytes for the nonce.
    NoRandom,
    /// The plaintext is beyond what AES-GCM can seal (gigabytes; not a real secret).
    TooLong,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoRandom => "no random source for the secret's nonce",
            Self::TooLong => "the secret is too long to seal",
        })
    }
}

impl std::error::Error for SealError {}

/// A sealed record could not be opened. Deliberately no detail: GCM cannot tell a wrong key
/// from a wrong tenant id or tampering, and the caller needs only "set it again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Not a record this code wrote (unknown prefix, not base64, too short).
    Malformed,
    /// Authentication failed: wrong key, wrong tenant id, or the record was altered.
    Rejected,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "the stored secret is not a sealed record",
            Self::Rejected => {
                "the stored secret does not open with this SETTINGS_KEY for this tenant; \
                 was the key changed? set the tenant's secret again"
            }
        })
    }
}

impl std::error::Error for OpenError {}

/// An opened secret; `Debug` hides it so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenedSecret(String);

impl OpenedSecret {
    /// The plaintext, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OpenedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenedSecret(<redacted>)")
    }
}

/// What a sealed value is for: bound with the tenant id as associated data, so a tenant's sealed
/// client secret cannot be swapped in for its stream token, or for another tenant's anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The M2M application's client secret.
    ClientSecret,
    /// The Log Stream's bearer token.
    LogStreamToken,
    /// The Event Streams webhook's token.
    EventStreamToken,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::LogStreamToken => "log_stream_token",
            Self::EventStreamToken => "event_stream_token",
        }
    }
}

/// The associated data: the tenant id and the purpose, apart by a byte no id holds.
fn associated(tenant_id: &str, purpose: Purpose) -> Vec<u8> {
    [tenant_id.as_bytes(), b"\0", purpose.label().as_bytes()].concat()
}

/// Seals `secret` for `tenant_id` and `purpose`: `v1:` + base64(nonce ‖ ciphertext ‖ tag).
///
/// # Errors
/// No random source, or an absurdly long secret.
pub fn seal(
    key: &SettingsKey,
    tenant_id: &str,
    purpose: Purpose,
    secret: &str,
    nonces: &mut impl NonceSource,
) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    nonces.fill(&mut nonce)?;
    let sealed = key
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret.as_bytes(),
                aad: &associated(tenant_id, purpose),
            },
        )
        .map_err(|_| SealError::TooLong)?;
    let mut record = Vec::with_capacity(NONCE_LEN + sealed.len());
    record.extend_from_slice(&nonce);
    record.extend_from_slice(&sealed);
    Ok(format!("{PREFIX_V1}{}", Base64::encode_string(&record)))
}

/// Opens a record [`seal`] wrote for the same `tenant_id` and `purpose` under the same key.
///
/// # Errors
/// [`OpenError::Malformed`] for text that is not a record; [`OpenError::Rejected`] for a wrong
/// key, a wrong tenant id or purpose, or any altered byte.
pub fn open(
    key: &SettingsKey,
    tenant_id: &str,
    purpose: Purpose,
    stored: &str,
) -> Result<OpenedSecret, OpenError> {
    let body = stored.strip_prefix(PREFIX_V1).ok_or(OpenError::Malformed)?;
    let record = Base64::decode_vec(body).map_err(|_| OpenError::Malformed)?;
    if record.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenError::Malformed);
    }
    let (nonce, sealed) = record.split_at(NONCE_LEN);
    let plain = key
        .cipher()
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &associated(tenant_id, purpose),
            },
        )
        .map_err(|_| OpenError::Rejected)?;
    // seal only takes &str, so an authenticated record is UTF-8; a failure here means a record
    // written by something else under this key, which is as good as rejected.
    String::from_utf8(plain)
        .map(OpenedSecret)
        .map_err(|_| OpenError::Rejected)
}

#[cfg(test)]
mod tests;
