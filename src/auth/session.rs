//! Signed session cookies for viewers who signed in with `VIEWER_TOKEN` in a browser.
//!
//! The cookie holds only an expiry and a MAC over it, so nothing secret is stored client-side
//! and rotating `VIEWER_TOKEN` ends every session at once (the key is derived from it).

use std::fmt;

use super::encoding::{base64url_decode, base64url_encode};
use super::sha256::hmac_sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "als_session";

/// How long a session lasts: eight hours, in milliseconds.
pub const SESSION_TTL_MS: u64 = 8 * 3600 * 1000;

const VERSION: &str = "v1";
const DERIVATION_LABEL: &[u8] = b"auth0-license-sync session v1";

/// The key that signs session cookies. Its bytes never show in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// Derives the key from the viewer secret, so the raw secret is never used as a MAC key and
    /// a cookie MAC cannot be mistaken for anything else keyed by that secret.
    pub fn derive(secret: &str) -> Self {
        Self(hmac_sha256(DERIVATION_LABEL, secret.as_bytes()))
    }

    fn mac(&self, payload: &str) -> [u8; 32] {
        hmac_sha256(&self.0, payload.as_bytes())
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A new cookie value, `v1.<expiry_ms>.<mac>`, valid for [`SESSION_TTL_MS`] from `now_ms`.
pub fn issue(key: &SessionKey, now_ms: u64) -> String {
    let payload = format!("{VERSION}.{}", now_ms.saturating_add(SESSION_TTL_MS));
    let mac = base64url_encode(&key.mac(&payload));
    format!("{payload}.{mac}")
}

/// Whether `value` was issued with `key` and has not expired at `now_ms`.
///
/// Anything malformed is simply not valid; the MAC comparison takes the same time wherever the
/// bytes differ.
pub fn verify(key: &SessionKey, value: &str, now_ms: u64) -> bool {
    let Some((payload, mac)) = value.rsplit_once('.') else {
        return false;
    };
    let Some((version, expiry)) = payload.split_once('.') else {
        return false;
    };
    // Digits only: `u64::from_str` would also take a leading `+`.
    if version != VERSION || expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(expiry_ms) = expiry.parse::<u64>() else {
        return false;
    };
    let Some(presented) = base64url_decode(mac) else {
        return false;
    };
    constant_time_eq(&key.mac(payload), &presented) && now_ms < expiry_ms
}

fn constant_time_eq(expected: &[u8; 32], presented: &[u8]) -> bool {
    if presented.len() != expected.len() {
        // The length of a MAC is public; only its bytes need hiding.
        return false;
    }
    let diff = expected
        .iter()
        .zip(presented)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

/// The `Set-Cookie` header value that stores a session issued by [`issue`].
pub fn set_cookie_header(value: &str) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        SESSION_TTL_MS / 1000
    )
}

/// The `Set-Cookie` header value that removes the session cookie (sign out).
pub fn clear_cookie_header() -> String {
    format!("{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// The value of cookie `name` in a `Cookie` request header such as `a=1; als_session=…`.
///
/// The first cookie with that exact name wins (browsers send the most specific path first).
/// Surrounding double quotes, which RFC 6265 allows, are removed.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k.trim() != name {
            return None;
        }
        let v = v.trim();
        Some(
            v.strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(v),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn key() -> SessionKey {
        SessionKey::derive("viewer-secret")
    }

    #[test]
    fn issued_cookie_verifies_until_it_expires() {
        let value = issue(&key(), NOW);
        let expiry = NOW + SESSION_TTL_MS;
        assert!(value.starts_with(&format!("v1.{expiry}.")), "{value}");
        assert!(verify(&key(), &value, NOW));
        assert!(verify(&key(), &value, expiry - 1));
        assert!(!verify(&key(), &value, expiry));
        assert!(!verify(&key(), &value, expiry + 1));
    }

    #[test]
    fn mac_is_hmac_of_the_payload_under_the_derived_key() {
        let value = issue(&key(), NOW);
        let payload = format!("v1.{}", NOW + SESSION_TTL_MS);
        let derived = hmac_sha256(b"auth0-license-sync session v1", b"viewer-secret");
        let mac = base64url_encode(&hmac_sha256(&derived, payload.as_bytes()));
        assert_eq!(value, format!("{payload}.{mac}"));
    }

    #[test]
    fn tampered_cookie_is_refused() {
        let value = issue(&key(), NOW);
        let (payload, mac) = value.rsplit_once('.').unwrap();
        // A later expiry with the old MAC.
        let later = format!("v1.{}.{mac}", NOW + 10 * SESSION_TTL_MS);
        assert!(!verify(&key(), &later, NOW));
        // One MAC character changed.
        let mut chars: Vec<char> = mac.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let flipped = format!("{payload}.{}", chars.iter().collect::<String>());
        assert!(!verify(&key(), &flipped, NOW));
        // Truncated or extended MAC.
        assert!(!verify(
            &key(),
            &format!("{payload}.{}", &mac[..mac.len() - 2]),
            NOW
        ));
        assert!(!verify(&key(), &format!("{value}AA"), NOW));
    }

    #[test]
    fn another_key_is_refused() {
        let value = issue(&key(), NOW);
        assert!(!verify(&SessionKey::derive("rotated-secret"), &value, NOW));
    }

    #[test]
    fn malformed_values_are_refused() {
        let value = issue(&key(), NOW);
        let mac = value.rsplit_once('.').unwrap().1;
        let expiry = NOW + SESSION_TTL_MS;
        for bad in [
            String::new(),
            "v1".to_string(),
            "v1.".to_string(),
            format!("v1.{expiry}"),
            format!("v1.{expiry}."),
            format!("v2.{expiry}.{mac}"),
            format!("v1.+{expiry}.{mac}"),
            format!("v1..{mac}"),
            format!("v1.{expiry}.{mac}=="),
            format!("v1.{expiry}.+{}", &mac[1..]),
            format!("x.v1.{expiry}.{mac}"),
            "v1.99999999999999999999999.AAAA".to_string(),
        ] {
            assert!(!verify(&key(), &bad, NOW), "{bad}");
        }
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "SessionKey(<redacted>)");
    }

    #[test]
    fn cookie_headers() {
        assert_eq!(
            set_cookie_header("v1.1.abc"),
            "als_session=v1.1.abc; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Strict"
        );
        let cleared = clear_cookie_header();
        assert!(cleared.starts_with("als_session=;"), "{cleared}");
        assert!(
            cleared.contains("Max-Age=0") && cleared.contains("Path=/"),
            "{cleared}"
        );
    }

    #[test]
    fn cookie_parsing() {
        let cases: [(&str, Option<&str>); 11] = [
            ("als_session=v1.2.x", Some("v1.2.x")),
            ("a=1; als_session=v1.2.x", Some("v1.2.x")),
            ("a=1;als_session=v1.2.x;b=2", Some("v1.2.x")),
            ("  als_session = v1.2.x  ; b=2", Some("v1.2.x")),
            ("als_session=\"v1.2.x\"", Some("v1.2.x")),
            ("als_session=first; als_session=second", Some("first")),
            ("als_session=", Some("")),
            ("xals_session=1; als_session_old=2", None),
            ("a=1; als_session; b=2", None),
            ("a=b=c; als_session=v=1", Some("v=1")),
            ("", None),
        ];
        for (header, want) in cases {
            assert_eq!(cookie_value(header, COOKIE_NAME), want, "{header}");
        }
        assert_eq!(cookie_value("a=b=c", "a"), Some("b=c"));
    }
}
