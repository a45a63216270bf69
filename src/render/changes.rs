//! The change history rendered: the `/changes` page ("changes since", for access reviews) and
//! the lines of `/changes.csv`.

use std::fmt::Write;

use super::csv::cell;
use super::html::{escape, nav, page as layout, when};
use crate::changes::EventType;
use crate::http::encode_component;
use crate::store::ChangeRecord;
use crate::time::EpochMs;

/// The page's filters as given, echoed back in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// From this date or instant.
    pub since: String,
    /// Before this date or instant.
    pub until: String,
    /// One type.
    pub kind: String,
    /// One application.
    pub client_id: String,
    /// One user.
    pub user_id: String,
}

impl Filters {
    /// The query string for these filters (without a cursor).
    pub fn query(&self) -> String {
        [
            ("since", &self.since),
            ("until", &self.until),
            ("type", &self.kind),
            ("client_id", &self.client_id),
            ("user_id", &self.user_id),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ChangesPage<'a> {
    /// The viewer's name or email.
    pub viewer: &'a str,
    /// Whether the viewer has a session cookie.
    pub session: bool,
    /// The filters as given.
    pub filters: &'a Filters,
    /// Why the filters were not applied.
    pub error: Option<&'a str>,
    /// This page of changes, newest first.
    pub changes: &'a [ChangeRecord],
    /// The cursor of the next (older) page.
    pub next_cursor: Option<&'a str>,
    /// Whether this is a page after the first.
    pub paged: bool,
    /// Now, for ages.
    pub now: EpochMs,
}

/// What a type is called on the page.
fn label(kind: EventType) -> &'static str {
    match kind {
        EventType::UserAdded => "User added",
        EventType::UserRemoved => "User removed",
        EventType::UserReturned => "User returned",
        EventType::UserBlocked => "Blocked",
        EventType::UserUnblocked => "Unblocked",
        EventType::ConnectionChanged => "Connection changed",
        EventType::MembershipAdded => "Joined organization",
        EventType::MembershipRemoved => "Left organization",
        EventType::AppFirstUse => "First use of an app",
        EventType::AppReachable => "Can reach an app",
        EventType::AppUnreachable => "Can no longer reach an app",
        EventType::Baseline => "Baseline (first sync)",
    }
}

fn input(name: &str, text: &str, value: &str, kind: &str, hint: &str) -> String {
    format!(
        "<label>{text}<input type=\"{kind}\" name=\"{name}\" value=\"{}\" placeholder=\"{hint}\" \
         maxlength=\"200\"></label>",
        escape(value)
    )
}

/// The `/changes` page.
pub fn page(p: &ChangesPage<'_>) -> String {
    let f = p.filters;
    let mut s = String::from(
        "<section id=\"changes\"><h2>Access changes</h2>\
         <p class=\"muted\">What each sync (or the tenant log) observed, newest first. A change \
         made between two syncs shows at the next sync, with that sync's time.</p>\
         <form class=\"filters\" method=\"get\" action=\"/changes\">",
    );
    s.push_str(&input("since", "Since", &f.since, "text", "2026-01-31"));
    s.push_str(&input("until", "Before", &f.until, "text", "2026-04-01"));
    write!(
        s,
        "<label>Type<select name=\"type\"><option value=\"\">Any change</option>"
    )
    .ok();
    for t in EventType::ALL {
        let selected = if f.kind == t.as_str() {
            " selected"
        } else {
            ""
        };
        write!(
            s,
            "<option value=\"{}\"{selected}>{}</option>",
            t.as_str(),
            label(t)
        )
        .ok();
    }
    s.push_str("</select></label>");
    s.push_str(&input(
        "client_id",
        "Application (client id)",
        &f.client_id,
        "text",
        "",
    ));
    s.push_str(&input("user_id", "User id", &f.user_id, "text", ""));
    s.push_str("<button type=\"submit\">Show</button></form>");
    if let Some(e) = p.error {
        write!(
            s,
            "<div class=\"error\" role=\"alert\">{} (showing every change)</div>",
            escape(e)
        )
        .ok();
    }
    s.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>When</th><th>Change</th><th>Detail</th>\
         <th>User</th><th class=\"hide-sm\">Application</th><th class=\"hide-sm\">Run</th></tr>\
         </thead><tbody>",
    );
    if p.changes.is_empty() {
        s.push_str("<tr><td colspan=\"6\" class=\"muted\">No changes match.</td></tr>");
    }
    for c in p.changes {
        let kind = EventType::parse(&c.kind).map_or_else(|| escape(&c.kind), |t| label(t).into());
        // The name filters by the user; the second link opens their detail page.
        let user = match &c.user_id {
            Some(id) => format!(
                "<a href=\"/changes?user_id={}\">{}</a><a class=\"age\" href=\"{}\">user page</a>",
                escape(&encode_component(id)),
                escape(c.email.as_deref().unwrap_or(id)),
                escape(&super::html::user_href(id))
            ),
            None => String::new(),
        };
        write!(
            s,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{user}</td><td class=\"hide-sm\">{}</td>\
             <td class=\"hide-sm\">{}</td></tr>",
            if c.baseline {
                " class=\"baseline\""
            } else {
                ""
            },
            when(Some(&c.at), p.now, ""),
            kind,
            escape(&c.detail),
            escape(c.client_id.as_deref().unwrap_or("")),
            c.run_id.map(|r| r.to_string()).unwrap_or_default(),
        )
        .ok();
    }
    s.push_str("</tbody></table></div><div class=\"pager\">");
    let query = f.query();
    let sep = if query.is_empty() { "" } else { "&" };
    if p.paged {
        write!(s, "<a href=\"/changes?{}\">Newest</a>", escape(&query)).ok();
    }
    if let Some(cursor) = p.next_cursor {
        write!(
            s,
            "<a href=\"/changes?{}{sep}cursor={}\" rel=\"next\">Older changes</a>",
            escape(&query),
            escape(cursor)
        )
        .ok();
    }
    write!(
        s,
        "<a href=\"/changes.csv{}{}\" download>Download CSV (these filters, all pages)</a></div></section>",
        if query.is_empty() { "" } else { "?" },
        escape(&query)
    )
    .ok();
    layout("Access changes", &nav(p.viewer, p.session), &s)
}

/// The CSV columns, in order.
const CSV_COLUMNS: [&str; 10] = [
    "id",
    "at",
    "run_id",
    "type",
    "user_id",
    "email",
    "client_id",
    "org_id",
    "detail",
    "baseline",
];

/// The byte-order mark and header line.
pub fn csv_header() -> String {
    format!("\u{feff}{}\r\n", CSV_COLUMNS.join(","))
}

/// Changes as CSV lines, CRLF-terminated, every text cell neutralised like `/users.csv`'s.
pub fn csv_rows(changes: &[ChangeRecord]) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(cell).unwrap_or_default();
    changes
        .iter()
        .map(|c| {
            let cells = [
                c.id.to_string(),
                cell(&c.at),
                c.run_id.map(|r| r.to_string()).unwrap_or_default(),
                cell(&c.kind),
                opt(&c.user_id),
                opt(&c.email),
                opt(&c.client_id),
                opt(&c.org_id),
                cell(&c.detail),
                c.baseline.to_string(),
            ];
            format!("{}\r\n", cells.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(email: &str, detail: &str) -> ChangeRecord {
        ChangeRecord {
            id: 7,
            at: "2026-01-02T03:04:05.000Z".into(),
            run_id: Some(3),
            kind: "user_blocked".into(),
            user_id: Some("auth0|<x>".into()),
            email: Some(email.into()),
            client_id: None,
            org_id: None,
            detail: detail.into(),
            baseline: false,
        }
    }

    #[test]
    fn hostile_text_is_inert_in_the_page_and_the_csv() {
        let evil = "<script>alert(1)</script>\"'&";
        let c = change(evil, &format!("blocked: {evil}"));
        let f = Filters {
            since: "\"><b>x".into(),
            kind: "user_blocked".into(),
            ..Filters::default()
        };
        let html = page(&ChangesPage {
            viewer: "v",
            session: false,
            filters: &f,
            error: Some("<i>bad</i>"),
            changes: std::slice::from_ref(&c),
            next_cursor: Some("ab\"cd"),
            paged: true,
            now: 0,
        });
        assert!(!html.contains("<script>") && !html.contains("<b>x") && !html.contains("<i>bad"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        assert!(html.contains("<option value=\"user_blocked\" selected>Blocked</option>"));
        assert!(html.contains("cursor=ab&quot;cd"));
        assert!(
            html.contains("href=\"/changes?user_id=auth0%7C%3Cx%3E\""),
            "{html}"
        );
        let csv = csv_rows(&[change("=HYPERLINK(\"x\")", "-1+1")]);
        assert_eq!(
            csv,
            "7,\"2026-01-02T03:04:05.000Z\",3,\"user_blocked\",\"auth0|<x>\",\
             \"'=HYPERLINK(\"\"x\"\")\",,,\"'-1+1\",false\r\n"
        );
        assert!(csv_header().starts_with("\u{feff}id,at,run_id,type,"));
    }

    #[test]
    fn the_filters_round_trip_into_links() {
        let f = Filters {
            since: "2026-01-01".into(),
            kind: "user_added".into(),
            client_id: "a b&c".into(),
            ..Filters::default()
        };
        assert_eq!(
            f.query(),
            "since=2026-01-01&type=user_added&client_id=a%20b%26c"
        );
        assert_eq!(Filters::default().query(), "");
    }
}
