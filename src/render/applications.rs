//! The application pages and CSV exports. Every Auth0 value is escaped (HTML) or neutralised
//! (CSV); links carry ids percent-encoded.

use std::fmt::Write;

use super::csv::cell;

use super::html::{app_href, escape, nav, page, user_href, when};
use crate::http::encode_component;
use crate::store::applications::{AppSummary, AppUser, UsageGap};
use crate::time::EpochMs;

/// The applications CSV's columns.
const APP_COLUMNS: [&str; 9] = [
    "client_id",
    "name",
    "app_type",
    "users_can_reach",
    "active_30d",
    "active_90d",
    "never_used",
    "last_login",
    "usage_since",
];

/// An application's users CSV's columns.
pub const USER_COLUMNS: [&str; 8] = [
    "user_id",
    "email",
    "name",
    "connection",
    "can_reach",
    "last_login",
    "logins",
    "last_seen",
];

fn opt(v: Option<&str>) -> String {
    v.map(cell).unwrap_or_default()
}

/// `/applications.csv`.
pub fn apps_csv(apps: &[AppSummary]) -> String {
    let mut out = format!("\u{feff}{}\r\n", APP_COLUMNS.join(","));
    for a in apps {
        let cells = [
            cell(&a.client_id),
            opt(a.name.as_deref()),
            opt(a.app_type.as_deref()),
            a.users_can_reach.to_string(),
            a.active_30d.to_string(),
            a.active_90d.to_string(),
            a.never_used.to_string(),
            opt(a.last_login.as_deref()),
            opt(a.usage_since.as_deref()),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The header of `/applications/{id}/users.csv`.
pub fn users_csv_header() -> String {
    format!("\u{feff}{}\r\n", USER_COLUMNS.join(","))
}

/// Rows of `/applications/{id}/users.csv`.
pub fn users_csv_rows(users: &[AppUser]) -> String {
    let mut out = String::new();
    for u in users {
        let cells = [
            cell(&u.user_id),
            opt(u.email.as_deref()),
            opt(u.name.as_deref()),
            opt(u.connection.as_deref()),
            u.can_reach.to_string(),
            opt(u.last_login.as_deref()),
            u.logins.to_string(),
            opt(u.last_seen.as_deref()),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A feature whose optional scope is not granted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotEnabled {
    /// The scope, e.g. `read:logs`.
    pub scope: String,
    /// "not enabled: grant read:logs (…)".
    pub message: String,
}

/// What the application views show beside their data: features not enabled, usage gaps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    /// Optional scopes the newest run's token lacked.
    pub not_enabled: Vec<NotEnabled>,
    /// Spans of the log whose usage is unknown, newest first.
    pub usage_gaps: Vec<UsageGap>,
}

/// Notices: features not enabled, usage gaps, and since when usage is tracked.
fn coverage_notes(c: &Coverage, usage_since: Option<&str>) -> String {
    let mut out = String::new();
    for n in &c.not_enabled {
        write!(
            out,
            "<p class=\"error partial-error\">{}</p>",
            escape(&n.message)
        )
        .ok();
    }
    match usage_since {
        Some(since) => write!(
            out,
            "<p class=\"muted\">Usage is tracked since {}; logins before that are not counted.</p>",
            escape(since)
        ),
        None => write!(
            out,
            "<p class=\"muted\">Usage is not tracked yet: activity columns count nothing so far.</p>"
        ),
    }
    .ok();
    for g in &c.usage_gaps {
        write!(
            out,
            "<p class=\"error partial-error\">Usage unknown from {} to {}: the log's retention dropped those events before they were read.</p>",
            escape(g.gap_from.as_deref().unwrap_or("an unknown time")),
            escape(&g.gap_until)
        )
        .ok();
    }
    out
}

/// `/applications`: one row per application.
pub fn list_page(
    viewer: &str,
    session: bool,
    apps: &[AppSummary],
    coverage: &Coverage,
    now: EpochMs,
) -> String {
    let since = apps.iter().find_map(|a| a.usage_since.as_deref());
    let mut body = format!(
        "<section><h2>Applications</h2>{}\
         <p class=\"muted\">Machine-to-machine applications are not listed: no user signs in to them. \
         <a href=\"/applications.csv\">Download CSV</a></p>\
         <div class=\"scroll\"><table><thead><tr><th>Application</th><th class=\"hide-sm\">Type</th>\
         <th>Can reach</th><th>Active 30 days</th><th>Active 90 days</th><th>Never used</th>\
         <th class=\"hide-sm\">Last login</th></tr></thead><tbody>",
        coverage_notes(coverage, since)
    );
    if apps.is_empty() {
        body.push_str("<tr><td colspan=\"7\" class=\"muted\">No applications synced.</td></tr>");
    }
    for a in apps {
        let href = app_href(&a.client_id);
        write!(
            body,
            "<tr><td><a href=\"{}\">{}</a><span class=\"muted age\">{}</span></td>\
             <td class=\"hide-sm\">{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td>\
             <td><a href=\"{}?activity=never\">{}</a></td><td class=\"hide-sm\">{}</td></tr>",
            escape(&href),
            escape(a.name.as_deref().unwrap_or("(no name)")),
            escape(&a.client_id),
            escape(a.app_type.as_deref().unwrap_or("")),
            escape(&href),
            a.users_can_reach,
            a.active_30d,
            a.active_90d,
            escape(&href),
            a.never_used,
            when(a.last_login.as_deref(), now, "never"),
        )
        .ok();
    }
    body.push_str("</tbody></table></div></section>");
    page("Applications", &nav(viewer, session), &body)
}

/// What `/applications/{id}` shows.
pub struct AppPage<'a> {
    /// Who is looking.
    pub viewer: &'a str,
    /// Whether they have a browser session.
    pub session: bool,
    /// The application.
    pub app: &'a AppSummary,
    /// Features not enabled, gaps.
    pub coverage: &'a Coverage,
    /// This page of its users.
    pub users: &'a [AppUser],
    /// The next page's cursor.
    pub next_cursor: Option<&'a str>,
    /// The activity filter as given.
    pub activity: &'a str,
    /// A bad filter's message.
    pub error: Option<&'a str>,
    /// Now.
    pub now: EpochMs,
}

/// `/applications/{client_id}`: its counts and its users.
pub fn app_page(p: &AppPage<'_>) -> String {
    let a = p.app;
    let href = app_href(&a.client_id);
    let name = a.name.as_deref().unwrap_or("(no name)");
    let mut body = format!(
        "<section><h2>{}</h2><p class=\"muted\">{} · {}</p>{}<div class=\"cards\">\
         <a class=\"card\" href=\"{href}\"><b>{}</b><span>can reach</span></a>\
         <a class=\"card\" href=\"{href}?activity=active_30d\"><b>{}</b><span>active 30 days</span></a>\
         <a class=\"card\" href=\"{href}?activity=active_90d\"><b>{}</b><span>active 90 days</span></a>\
         <a class=\"card\" href=\"{href}?activity=inactive_90d\"><b>{}</b><span>inactive 90 days</span></a>\
         <a class=\"card\" href=\"{href}?activity=never\"><b>{}</b><span>never used</span></a></div></section>",
        escape(name),
        escape(&a.client_id),
        escape(a.app_type.as_deref().unwrap_or("")),
        coverage_notes(p.coverage, a.usage_since.as_deref()),
        a.users_can_reach,
        a.active_30d,
        a.active_90d,
        (a.users_can_reach - a.active_90d).max(0),
        a.never_used,
        href = escape(&href),
    );
    let options = ["", "active_30d", "active_90d", "inactive_90d", "never"]
        .iter()
        .map(|v| {
            let label = if v.is_empty() { "everyone" } else { v };
            let sel = if *v == p.activity { " selected" } else { "" };
            format!("<option value=\"{v}\"{sel}>{label}</option>")
        })
        .collect::<String>();
    write!(
        body,
        "<section><h2>Users who can reach it or used it</h2>{}\
         <form class=\"filters\" method=\"get\" action=\"{}\"><label>Activity<select name=\"activity\">{options}</select></label>\
         <label>Search<input name=\"q\" type=\"search\"></label><button type=\"submit\">Filter</button></form>\
         <p><a href=\"{}/users.csv{}\">Download CSV</a></p>\
         <div class=\"scroll\"><table><thead><tr><th>User</th><th class=\"hide-sm\">Connection</th>\
         <th>Can reach</th><th>Last login</th><th>Logins</th><th class=\"hide-sm\">Last seen</th></tr></thead><tbody>",
        p.error
            .map(|e| format!("<p class=\"error\">{}</p>", escape(e)))
            .unwrap_or_default(),
        escape(&href),
        escape(&href),
        if p.activity.is_empty() {
            String::new()
        } else {
            format!("?activity={}", encode_component(p.activity))
        }
        .replace('&', "&amp;"),
    )
    .ok();
    if p.users.is_empty() {
        body.push_str("<tr><td colspan=\"6\" class=\"muted\">No users.</td></tr>");
    }
    for u in p.users {
        write!(
            body,
            "<tr><td><a href=\"{}\">{}</a><span class=\"muted age\">{}</span></td><td class=\"hide-sm\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"hide-sm\">{}</td></tr>",
            escape(&user_href(&u.user_id)),
            escape(u.email.as_deref().or(u.name.as_deref()).unwrap_or(&u.user_id)),
            escape(&u.user_id),
            escape(u.connection.as_deref().unwrap_or("")),
            if u.can_reach { "yes" } else { "no" },
            when(u.last_login.as_deref(), p.now, "never"),
            u.logins,
            when(u.last_seen.as_deref(), p.now, "never"),
        )
        .ok();
    }
    body.push_str("</tbody></table></div>");
    if let Some(next) = p.next_cursor {
        let mut q = format!("cursor={}", encode_component(next));
        if !p.activity.is_empty() {
            write!(q, "&activity={}", encode_component(p.activity)).ok();
        }
        write!(
            body,
            "<div class=\"pager\"><a href=\"{}?{}\">Next page</a></div>",
            escape(&href),
            escape(&q)
        )
        .ok();
    }
    body.push_str("</section>");
    page(name, &nav(p.viewer, p.session), &body)
}
