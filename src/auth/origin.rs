//! Cross-site request refusal: whether a state-changing request came from this site's own pages.
//!
//! Browsers attach cookies (the session, Cloudflare Access's `CF_Authorization`) to any request,
//! even one a foreign page submits. They also say where such a request comes from, and a page
//! cannot forge it: `Sec-Fetch-Site` in current browsers, `Origin` on every cross-origin POST.
//! Requests that send neither come from scripts and other non-browser clients, which carry no
//! ambient cookies to abuse.

use std::fmt;

/// Where a request says it comes from, and where it was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestSite<'a> {
    /// This request's own origin, `scheme://host[:port]`, from its URL.
    pub own_origin: &'a str,
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `Sec-Fetch-Site` header.
    pub sec_fetch_site: Option<&'a str>,
}

/// A state-changing request that a browser sent on behalf of another site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossSite {
    /// Which header showed it, and its value, for the message.
    pub evidence: String,
}

impl fmt::Display for CrossSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cross-site request refused ({}): sign in and use this site's own pages, or send \
             Authorization: Bearer <VIEWER_TOKEN> from a script",
            self.evidence
        )
    }
}

/// `scheme://authority` of an absolute URL, e.g. `https://host:8443` of `https://host:8443/a?b`.
pub fn origin_of(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")?;
    let rest = url.get(scheme_end + 3..)?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    url.get(..scheme_end + 3 + authority_len)
}

/// Accepts same-origin requests and those no other site can have caused.
///
/// `Sec-Fetch-Site` decides when present: `same-origin`, or `none` (the person typed the address
/// or used a bookmark). `same-site` is refused: a sibling subdomain is another party. Without
/// it, an `Origin` must equal the request's own origin (`null`, sent by sandboxed and privacy-
/// sensitive contexts, does not). With neither, the client is not a browser.
///
/// # Errors
/// [`CrossSite`], naming the header and value that showed it.
pub fn check_same_origin(site: &RequestSite<'_>) -> Result<(), CrossSite> {
    if let Some(fetch_site) = site.sec_fetch_site.map(str::trim) {
        return if fetch_site.eq_ignore_ascii_case("same-origin")
            || fetch_site.eq_ignore_ascii_case("none")
        {
            Ok(())
        } else {
            Err(CrossSite {
                evidence: format!("Sec-Fetch-Site: {}", shown(fetch_site)),
            })
        };
    }
    match site.origin.map(str::trim) {
        None => Ok(()),
        Some(origin)
            if !site.own_origin.is_empty() && origin.eq_ignore_ascii_case(site.own_origin) =>
        {
            Ok(())
        }
        Some(origin) => Err(CrossSite {
            evidence: format!("Origin: {}", shown(origin)),
        }),
    }
}

/// A header value fit to echo in a message: printable ASCII, at most 100 characters.
fn shown(value: &str) -> String {
    value
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "https://licenses.example.com";

    fn check(origin: Option<&str>, fetch_site: Option<&str>) -> Result<(), CrossSite> {
        check_same_origin(&RequestSite {
            own_origin: OWN,
            origin,
            sec_fetch_site: fetch_site,
        })
    }

    #[test]
    fn origin_of_keeps_scheme_host_and_port() {
        for (url, want) in [
            ("https://licenses.example.com/api/sync", Some(OWN)),
            ("https://licenses.example.com", Some(OWN)),
            (
                "http://127.0.0.1:8787/login?x=1",
                Some("http://127.0.0.1:8787"),
            ),
            ("http://localhost:8787?x", Some("http://localhost:8787")),
            ("https://h#frag", Some("https://h")),
            ("/relative/path", None),
            ("", None),
        ] {
            assert_eq!(origin_of(url), want, "{url}");
        }
    }

    #[test]
    fn same_origin_and_user_initiated_requests_pass() {
        assert_eq!(check(Some(OWN), Some("same-origin")), Ok(()));
        assert_eq!(check(None, Some("none")), Ok(()));
        assert_eq!(check(Some(OWN), None), Ok(()));
        assert_eq!(check(Some("HTTPS://Licenses.Example.com"), None), Ok(()));
        // Scripts and other non-browser clients send neither header.
        assert_eq!(check(None, None), Ok(()));
    }

    #[test]
    fn cross_site_requests_are_refused_with_the_evidence() {
        for (origin, fetch_site, evidence) in [
            (
                Some("https://evil.example"),
                Some("cross-site"),
                "Sec-Fetch-Site: cross-site",
            ),
            (
                Some("https://a.example.com"),
                Some("same-site"),
                "Sec-Fetch-Site: same-site",
            ),
            // Sec-Fetch-Site decides even when Origin looks right.
            (Some(OWN), Some("cross-site"), "Sec-Fetch-Site: cross-site"),
            (
                Some("https://evil.example"),
                None,
                "Origin: https://evil.example",
            ),
            (Some("null"), None, "Origin: null"),
            (
                Some("http://licenses.example.com"),
                None,
                "Origin: http://licenses.example.com",
            ),
            (
                Some("https://licenses.example.com:444"),
                None,
                "Origin: https://licenses.example.com:444",
            ),
            (Some(""), None, "Origin: "),
            (None, Some("junk"), "Sec-Fetch-Site: junk"),
            (None, Some("\u{7}bell\u{e9}"), "Sec-Fetch-Site: ?bell?"),
        ] {
            let e = check(origin, fetch_site).unwrap_err();
            assert_eq!(e.evidence, evidence);
            let message = e.to_string();
            assert!(
                message.starts_with("cross-site request refused"),
                "{message}"
            );
            assert!(message.contains("Authorization: Bearer"), "{message}");
        }
        // An unknown own origin matches nothing.
        let unknown = RequestSite {
            own_origin: "",
            origin: Some(""),
            sec_fetch_site: None,
        };
        assert!(check_same_origin(&unknown).is_err());
    }
}
