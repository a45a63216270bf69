//! The narrow HTTP seam between the Auth0 client and the runtime's `fetch`.

use std::fmt;

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

/// Sends requests. The runtime implements it with `fetch`; tests with a scripted fake.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait HttpClient {
    /// Sends one request and reads the whole answer.
    ///
    /// # Errors
    /// Only when no answer arrived; any HTTP status is an `Ok`.
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    let path_and_more = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
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
