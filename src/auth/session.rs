//! Signed session cookies for viewers who signed in with `VIEWER_TOKEN` in a browser.
//!
//! The cookie holds only an expiry and a MAC over it, so nothing secret is stored client-side.
//! The MAC key is derived from the keying secret (`SESSION_SECRET`, else `VIEWER_TOKEN`), from a
//! hash of `VIEWER_TOKEN` and from the session epoch in D1, so a session ends when the token is
//! removed or changed, when `SESSION_SECRET` changes, or when "sign out everywhere" bumps the
//! epoch, whichever comes first, and at the latest after [`SESSION_TTL_MS`].

use std::fmt;

use super::encoding::{base64url_decode, base64url_encode};
use super::sha256::{hmac_sha256, hmac_sha256_verify, sha256};
use crate::config::{SessionSecret, ViewerToken};

/// The cookie's name. The `__Host-` prefix makes browsers accept it only with `Secure`,
/// `Path=/` and no `Domain`, so a sibling subdomain cannot plant or shadow it.
pub const COOKIE_NAME: &str = "__Host-als_session";

/// How long a session lasts: eight hours, in milliseconds.
pub const SESSION_TTL_MS: u64 = 8 * 3600 * 1000;

const VERSION: &str = "v2";
const DERIVATION_LABEL: &[u8] = b"auth0-license-sync session v2";

/// Derives session keys for one configuration, before the epoch is known.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::auth::session::SessionSigner;
/// fn same(a: &SessionSigner, b: &SessionSigner) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct SessionSigner([u8; 32]);

impl SessionSigner {
    /// Binds sessions to the viewer token (by its hash) and keys them with `secret`, or with the
    /// token itself when no `SESSION_SECRET` is set. Sessions exist only while a token is set.
    pub fn new(token: &ViewerToken, secret: Option<&SessionSecret>) -> Self {
        let keying = secret.map_or_else(|| token.expose(), SessionSecret::expose);
        // Never the raw secret as a MAC key: a label separates this use from any other.
        let root = hmac_sha256(DERIVATION_LABEL, keying.as_bytes());
        // The token's hash, not the token: SESSION_SECRET alone must not keep sessions alive
        // after VIEWER_TOKEN is removed or rotated.
        let mut binding = b"viewer-token-sha256:".to_vec();
        binding.extend_from_slice(&sha256(token.expose().as_bytes()));
        Self(hmac_sha256(&root, &binding))
    }

    /// The key that signs and checks sessions of this `epoch`.
    pub fn key(&self, epoch: u64) -> SessionKey {
        let mut label = b"epoch:".to_vec();
        label.extend_from_slice(&epoch.to_be_bytes());
        SessionKey(hmac_sha256(&self.0, &label))
    }
}

impl fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSigner(<redacted>)")
    }
}

/// The key that signs session cookies of one epoch. Its bytes never show in `Debug`.
/// No `PartialEq` (`==` would compare in variable time):
///
/// ```compile_fail
/// # use auth0_license_sync::auth::session::SessionKey;
/// fn same(a: &SessionKey, b: &SessionKey) -> bool { a == b }
/// ```
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    fn mac(&self, payload: &str) -> [u8; 32] {
        hmac_sha256(&self.0, payload.as_bytes())
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A new cookie value, `v2.<expiry_ms>.<mac>`, valid for [`SESSION_TTL_MS`] from `now_ms`.
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
    hmac_sha256_verify(&key.0, payload.as_bytes(), &presented) && now_ms < expiry_ms
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

    fn token(value: &str) -> ViewerToken {
        crate::testing::viewer_token(value)
    }

    fn secret(value: &str) -> SessionSecret {
        SessionSecret::from_settings(&crate::testing::settings(&[("SESSION_SECRET", value)]))
            .unwrap()
    }

    fn key() -> SessionKey {
        SessionSigner::new(&token("viewer-secret-0123456789"), None).key(0)
    }

    #[test]
    fn issued_cookie_verifies_until_it_expires() {
        let value = issue(&key(), NOW);
        let expiry = NOW + SESSION_TTL_MS;
        assert!(value.starts_with(&format!("v2.{expiry}.")), "{value}");
        assert!(verify(&key(), &value, NOW));
        assert!(verify(&key(), &value, expiry - 1));
        assert!(!verify(&key(), &value, expiry));
        assert!(!verify(&key(), &value, expiry + 1));
    }

    #[test]
    fn mac_is_hmac_of_the_payload_under_the_derived_key() {
        let derive = |keying: &[u8], epoch: u64| {
            let root = hmac_sha256(b"auth0-license-sync session v2", keying);
            let mut binding = b"viewer-token-sha256:".to_vec();
            binding.extend_from_slice(&sha256(b"viewer-secret-0123456789"));
            let signer = hmac_sha256(&root, &binding);
            let mut label = b"epoch:".to_vec();
            label.extend_from_slice(&epoch.to_be_bytes());
            hmac_sha256(&signer, &label)
        };
        let payload = format!("v2.{}", NOW + SESSION_TTL_MS);
        for (secret_value, keying, epoch) in [
            (None, b"viewer-secret-0123456789".as_slice(), 0),
            (None, b"viewer-secret-0123456789".as_slice(), 7),
            (Some("sess-key"), b"sess-key".as_slice(), 3),
        ] {
            let s = secret_value.map(secret);
            let key = SessionSigner::new(&token("viewer-secret-0123456789"), s.as_ref()).key(epoch);
            let mac = base64url_encode(&hmac_sha256(&derive(keying, epoch), payload.as_bytes()));
            assert_eq!(issue(&key, NOW), format!("{payload}.{mac}"));
        }
    }

    #[test]
    fn sessions_end_with_the_token_the_secret_or_the_epoch() {
        let signer = SessionSigner::new(&token("tok-1-0123456789abcdef"), Some(&secret("sess")));
        let value = issue(&signer.key(4), NOW);
        assert!(verify(&signer.key(4), &value, NOW));
        // Sign out everywhere: the epoch moved on.
        assert!(!verify(&signer.key(5), &value, NOW));
        // The token changed, though SESSION_SECRET did not.
        let rotated = SessionSigner::new(&token("tok-2-0123456789abcdef"), Some(&secret("sess")));
        assert!(!verify(&rotated.key(4), &value, NOW));
        // SESSION_SECRET changed, or was removed.
        let resecreted =
            SessionSigner::new(&token("tok-1-0123456789abcdef"), Some(&secret("sess-2")));
        assert!(!verify(&resecreted.key(4), &value, NOW));
        let unsecreted = SessionSigner::new(&token("tok-1-0123456789abcdef"), None);
        assert!(!verify(&unsecreted.key(4), &value, NOW));
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
        let rotated = SessionSigner::new(&token("rotated-secret-0123456789"), None).key(0);
        assert!(!verify(&rotated, &value, NOW));
    }

    #[test]
    fn malformed_values_are_refused() {
        let value = issue(&key(), NOW);
        let mac = value.rsplit_once('.').unwrap().1;
        let expiry = NOW + SESSION_TTL_MS;
        for bad in [
            String::new(),
            "v2".to_string(),
            "v2.".to_string(),
            format!("v2.{expiry}"),
            format!("v2.{expiry}."),
            format!("v1.{expiry}.{mac}"),
            format!("v2.+{expiry}.{mac}"),
            format!("v2..{mac}"),
            format!("v2.{expiry}.{mac}=="),
            format!("v2.{expiry}.+{}", &mac[1..]),
            format!("x.v2.{expiry}.{mac}"),
            "v2.99999999999999999999999.AAAA".to_string(),
        ] {
            assert!(!verify(&key(), &bad, NOW), "{bad}");
        }
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "SessionKey(<redacted>)");
        let signer = SessionSigner::new(&token("viewer-secret-0123456789"), None);
        assert_eq!(format!("{signer:?}"), "SessionSigner(<redacted>)");
    }

    #[test]
    fn cookie_headers() {
        // `__Host-` cookies must be Secure, Path=/ and have no Domain, or browsers drop them.
        assert_eq!(
            set_cookie_header("v2.1.abc"),
            "__Host-als_session=v2.1.abc; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Strict"
        );
        let cleared = clear_cookie_header();
        assert!(cleared.starts_with("__Host-als_session=;"), "{cleared}");
        assert!(
            cleared.contains("; Secure") && !cleared.contains("Domain"),
            "{cleared}"
        );
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
            assert_eq!(cookie_value(header, "als_session"), want, "{header}");
        }
        assert_eq!(cookie_value("a=b=c", "a"), Some("b=c"));
        // The old cookie name is not the session cookie any more.
        assert_eq!(cookie_value("als_session=v1.2.x", COOKIE_NAME), None);
        assert_eq!(
            cookie_value("als_session=old; __Host-als_session=v2.2.x", COOKIE_NAME),
            Some("v2.2.x")
        );
    }
}
