//! Base64 (RFC 4648 sections 4 and 5) and hex, for JWTs, session cookies, CSP hashes and
//! fingerprints. Base64 comes from RustCrypto's `base64ct`, which accepts only canonical
//! encodings (no stray bits), so a signed value has exactly one spelling.

use base64ct::{Base64, Base64UrlUnpadded, Encoding};

/// Base64url without padding (RFC 4648 section 5), as JWTs and cookies use it.
pub fn base64url_encode(data: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(data)
}

/// Standard base64 with padding (RFC 4648 section 4), as CSP `'sha256-…'` sources use it.
pub fn base64_std(data: &[u8]) -> String {
    Base64::encode_string(data)
}

/// Decodes base64url, with or without trailing `=` padding.
///
/// Returns `None` for characters outside the URL-safe alphabet (including `+` and `/`), an
/// impossible length, padding that does not complete the last group, or non-zero leftover bits.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    // Padding is checked here and the rest decoded unpadded: one decoder in the wasm, not two.
    // Padding must complete the last group of four, so it is one or two `=`; any other `=` is
    // outside the alphabet and the decoder rejects it.
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 0 && (padding > 2 || !text.len().is_multiple_of(4)) {
        return None;
    }
    Base64UrlUnpadded::decode_vec(body).ok()
}

/// Lowercase hex, two digits per byte.
pub fn hex_encode(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(data.len() * 2);
    for &b in data {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4648 section 10.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn standard_base64_matches_rfc4648() {
        for (plain, encoded) in VECTORS {
            assert_eq!(base64_std(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn base64url_round_trips_rfc4648_vectors_with_and_without_padding() {
        for (plain, padded) in VECTORS {
            let unpadded = padded.trim_end_matches('=');
            assert_eq!(base64url_encode(plain.as_bytes()), unpadded);
            assert_eq!(base64url_decode(unpadded).unwrap(), plain.as_bytes());
            assert_eq!(base64url_decode(padded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn base64url_uses_the_url_safe_alphabet() {
        let bytes = [0xfb, 0xff, 0xbf];
        assert_eq!(base64_std(&bytes), "+/+/");
        assert_eq!(base64url_encode(&bytes), "-_-_");
        assert_eq!(base64url_decode("-_-_").unwrap(), bytes);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url_encode(&all)).unwrap(), all);
    }

    #[test]
    fn base64url_rejects_bad_input() {
        for bad in [
            "+/+/",     // standard alphabet
            "Zm9v!",    // not base64 at all
            "Zm 9v",    // whitespace
            "Z",        // one char cannot hold a byte
            "Zm9vY",    // same, after a full group
            "Zh",       // non-zero leftover bits ("Zg" is canonical)
            "Zm9=",     // non-zero leftover bits
            "Zg=",      // padding that does not complete the group
            "Zg===",    // too much padding
            "Zm8==",    // padding past the group
            "Zm9v====", // a whole group of padding
            "Zg==Zg==", // padding in the middle
            "=",
        ] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_per_byte() {
        assert_eq!(hex_encode(&[]), "");
        assert_eq!(hex_encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        // RFC 4648 section 10, base16 (lowercased).
        assert_eq!(hex_encode(b"foobar"), "666f6f626172");
    }
}
