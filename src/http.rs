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
