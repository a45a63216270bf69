//! Base64 (RFC 4648 sections 4 and 5) and hex, for JWTs, session cookies and CSP hashes.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // A chunk of k bytes yields k + 1 significant characters.
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Base64url without padding (RFC 4648 section 5), as JWTs and cookies use it.
pub fn base64url_encode(data: &[u8]) -> String {
    encode(data, URL_SAFE, false)
}

/// Standard base64 with padding (RFC 4648 section 4), as CSP `'sha256-…'` sources use it.
pub fn base64_std(data: &[u8]) -> String {
    encode(data, STANDARD, true)
}

fn url_safe_value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes base64url, with or without trailing `=` padding.
///
/// Returns `None` for characters outside the URL-safe alphabet (including `+` and `/`), an
/// impossible length, or non-zero leftover bits: only the canonical encoding of each byte string
/// is accepted, so a signed value has exactly one spelling.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let unpadded = match bytes.iter().position(|&c| c == b'=') {
        Some(at) => {
            // Padding is only valid as the tail that completes a 4-character group.
            let pad = bytes.len() - at;
            if pad > 2 || !bytes.len().is_multiple_of(4) || bytes[at..].iter().any(|&c| c != b'=') {
                return None;
            }
            &bytes[..at]
        }
        None => bytes,
    };
    if unpadded.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len() * 3 / 4);
    for chunk in unpadded.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= url_safe_value(c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        let [_, b0, b1, b2] = n.to_be_bytes();
        out.extend_from_slice(&[b0, b1, b2][..produced]);
        // Bits below the last whole byte must be zero in a canonical encoding.
        let unused_bits = 24 - 8 * produced;
        if n & ((1 << unused_bits) - 1) != 0 {
            return None;
        }
    }
    Some(out)
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
