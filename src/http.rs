//! The narrow HTTP seam between the Auth0 client and the runtime's `fetch`, and URL and form
//! percent-encoding, decoded over bytes in this one place.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

/// The methods the Auth0 client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

/// One outbound request. `Debug` shows only method and URL: headers and bodies carry secrets.
#[derive(Clone)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body, for POST.
    pub body: Option<String>,
    /// The body is a gzip file to be decoded (export downloads).
    pub gunzip: bool,
    /// Give up on the request after this many milliseconds.
    pub timeout_ms: u64,
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.method, self.url)
    }
}

/// One answer, with the body read as text.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl HttpResponse {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The request never got an answer: connection failure, timeout, or an unreadable body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Takes a streamed answer body piece by piece (an export file: never held whole).
pub trait BodySink {
    /// A new attempt begins: forget whatever an earlier one delivered.
    fn restart(&mut self);
    /// The next bytes (gunzipped when the request asked). `false` stops the download: the sink
    /// has seen enough (or something it cannot use) and keeps its own account of why.
    fn chunk(&mut self, bytes: &[u8]) -> bool;
}

/// Collects a small body whole.
impl BodySink for Vec<u8> {
    fn restart(&mut self) {
        self.clear();
    }
    fn chunk(&mut self, bytes: &[u8]) -> bool {
        self.extend_from_slice(bytes);
        true
    }
}

/// Sends requests. The runtime implements it with `fetch`; tests with a scripted fake.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait HttpClient {
    /// Sends one request and reads the whole answer.
    ///
    /// # Errors
    /// Only when no answer arrived; any HTTP status is an `Ok`.
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Sends one request; a 2xx answer's body goes to `sink` as it arrives and `body` is left
    /// empty, any other answer is read whole as by [`HttpClient::send`]. The default reads the
    /// whole body first (fakes); the runtime streams it.
    ///
    /// # Errors
    /// Only when no answer arrived, or the body broke off.
    async fn send_streamed(
        &self,
        req: &HttpRequest,
        sink: &mut dyn BodySink,
    ) -> Result<HttpResponse, TransportError> {
        let mut resp = self.send(req).await?;
        if (200..300).contains(&resp.status) {
            sink.restart();
            sink.chunk(resp.body.as_bytes());
            resp.body.clear();
        }
        Ok(resp)
    }
}

/// Percent-encodes a query-string value or path segment (RFC 3986 unreserved characters pass).
///
/// Written out rather than `percent-encoding`'s encoder: this loop cannot fail on any input,
/// and the crate's encoder cost 0.8 KB of gzipped wasm more.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A percent-encoded string whose bytes, once decoded, are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("is not UTF-8 text once percent-decoded")
    }
}

/// Decodes one path segment. Only `%XX` escapes count: `+` is a literal in a path (user ids
/// such as `sms|+15550100` hold one), and a `%` not followed by two hex digits stays as it is.
///
/// # Errors
/// The decoded bytes are not UTF-8.
pub fn decode_path_segment(segment: &str) -> Result<String, NotUtf8> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| NotUtf8)
}

/// Decodes `application/x-www-form-urlencoded` text (a query string or a form body) into
/// name/value pairs, as the WHATWG URL standard splits it: on `&`, then on the first `=`, with
/// `+` as a space and `%XX` as a byte. The decoding works on bytes, so no escape can split a
/// character; invalid UTF-8 is refused rather than replaced, so a caller can say so.
///
/// # Errors
/// Some name or value is not UTF-8 once decoded.
pub fn decode_form(text: &str) -> Result<Vec<(String, String)>, NotUtf8> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode_form_component(k)?, decode_form_component(v)?))
        })
        .collect()
}

fn decode_form_component(s: &str) -> Result<String, NotUtf8> {
    // `+` becomes a space before decoding, so an escaped `%2B` stays a plus.
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| NotUtf8)
}

/// Builds `a=1&b=2` from pairs, encoding values.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Splits `scheme://host/path?query#fragment` into the path and the query.
pub fn split_url(url: &str) -> (&str, &str) {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_more = after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("/");
    let without_fragment = path_and_more.split('#').next().unwrap_or("/");
    without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_into_path_and_query() {
        assert_eq!(
            split_url("https://h.example/api/users?limit=5#x"),
            ("/api/users", "limit=5")
        );
        assert_eq!(split_url("http://127.0.0.1:8787"), ("/", ""));
        assert_eq!(
            split_url("https://h/api/users/auth0%7C1"),
            ("/api/users/auth0%7C1", "")
        );
        assert_eq!(split_url("https://h/?q=a?b"), ("/", "q=a?b"));
        assert_eq!(split_url("é://ü"), ("/", ""));
        assert_eq!(split_url("h/é/ü?ö#ä"), ("/é/ü", "ö"));
    }

    #[test]
    fn encodes_lucene_ranges_and_keeps_unreserved() {
        assert_eq!(
            encode_component("created_at:[2023-01-25T17:48:14.784Z TO *]"),
            "created_at%3A%5B2023-01-25T17%3A48%3A14.784Z%20TO%20%2A%5D"
        );
        assert_eq!(encode_component("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn path_segments_keep_plus_and_decode_escapes_over_bytes() {
        for (raw, decoded) in [
            ("auth0%7C63d1", "auth0|63d1"),
            ("auth0|63d1", "auth0|63d1"),
            ("sms|+15550100", "sms|+15550100"),
            ("sms%7C%2B15550100", "sms|+15550100"),
            ("a+b%20c", "a+b c"),
            ("samlp%7Cacme%7C%C3%BC%40x.io", "samlp|acme|ü@x.io"),
            ("a%2Fb", "a/b"),
            // A `%` that starts no escape is itself.
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%4", "%4"),
            ("%é", "%é"),
            ("%4é", "%4é"),
            ("", ""),
        ] {
            assert_eq!(decode_path_segment(raw).as_deref(), Ok(decoded), "{raw}");
        }
        for raw in ["%FF", "%C3", "a%C3%28", "%ED%A0%80", "%C0%AF"] {
            assert_eq!(decode_path_segment(raw), Err(NotUtf8), "{raw}");
        }
    }

    #[test]
    fn forms_split_on_ampersand_and_first_equals_with_plus_as_space() {
        let pairs = |t: &str| decode_form(t).unwrap();
        assert_eq!(
            pairs("q=a%20b+c&x&&y=1=2&token=%2B%26%3D"),
            [
                ("q".into(), "a b c".into()),
                ("x".into(), String::new()),
                ("y".into(), "1=2".into()),
                ("token".into(), "+&=".into()),
            ]
        );
        assert_eq!(pairs("q=100%"), [("q".into(), "100%".into())]);
        assert_eq!(pairs("token=%é"), [("token".into(), "%é".into())]);
        assert_eq!(pairs("%é=%4é"), [("%é".into(), "%4é".into())]);
        assert_eq!(pairs(""), Vec::<(String, String)>::new());
        assert_eq!(decode_form("q=%FF"), Err(NotUtf8));
        assert_eq!(decode_form("%C3=x"), Err(NotUtf8));
    }

    #[test]
    fn encoding_then_decoding_gives_back_any_text() {
        for s in [
            "auth0|1",
            "sms|+1 555",
            "ü@x.io/é?&=#%",
            "\u{0}\u{10FFFF}",
            "",
        ] {
            assert_eq!(decode_path_segment(&encode_component(s)).as_deref(), Ok(s));
            let form = format!("k={}", encode_component(s));
            assert_eq!(decode_form(&form), Ok(vec![("k".into(), s.to_string())]));
        }
    }

    #[test]
    fn debug_hides_headers_and_body() {
        let r = HttpRequest {
            method: Method::Post,
            url: "https://t/oauth/token".into(),
            headers: vec![("authorization", "Bearer xyz".into())],
            body: Some("{\"client_secret\":\"shh\"}".into()),
            gunzip: false,
            timeout_ms: 1,
        };
        let shown = format!("{r:?}");
        assert_eq!(shown, "Post https://t/oauth/token");
    }
}
