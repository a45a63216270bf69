//! Constant-time comparisons of presented secrets with the configured tokens: kept beside the
//! MACs they use, so `config` only reads and validates settings.

use super::admin::AdminToken;
use super::sha256::{hmac_sha256, hmac_sha256_verify};
use crate::config::{EventStreamToken, ViewerToken};

impl ViewerToken {
    /// Compares in time independent of where the strings first differ.
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.expose().as_bytes(), presented.as_bytes());
        let mut diff = a.len() ^ b.len();
        for (i, x) in a.iter().enumerate() {
            diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
        }
        diff == 0
    }
}

impl EventStreamToken {
    /// Whether `presented` is the token, in time independent of where they differ and of the
    /// presented length: both sides are reduced to fixed-length MACs, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        const KEY: &[u8] = b"auth0-license-sync event stream token";
        let expected = hmac_sha256(KEY, self.expose().as_bytes());
        hmac_sha256_verify(KEY, presented.as_bytes(), &expected)
    }
}

impl AdminToken {
    /// Whether `presented` is the admin token, in time independent of where they differ and of
    /// the presented length (fixed-length MACs compared in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        const KEY: &[u8] = b"auth0-license-sync admin token";
        let expected = hmac_sha256(KEY, self.expose().as_bytes());
        hmac_sha256_verify(KEY, presented.as_bytes(), &expected)
    }
}
