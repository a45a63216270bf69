//! The dashboard, sync history and login pages: server-rendered, no script, no external assets.
//!
//! Every value from Auth0 or a viewer passes through [`escape`]; links are built with
//! percent-encoded parameters. The one inline stylesheet is allowed by its hash in the CSP.

use std::fmt::Write;

use crate::http::encode_component;
use crate::store::{
    ConnectionCount, OrgRecord, RunKind, RunRecord, RunStatus, SeatCounts, UserRecord,
};
use crate::time::{EpochMs, ms_from_iso};

/// The stylesheet, inline so the page needs nothing else; the CSP names its hash.
pub const STYLE: &str = "\
:root{--fg:#1b1f24;--muted:#5b6570;--line:#d9dee3;--bg:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--link:#0550ae}\
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.75rem 1rem;background:#fff;border-bottom:1px solid var(--line)}\
header h1{font-size:1.1rem;margin:0}header nav{display:flex;gap:1rem;flex-wrap:wrap;align-items:center}\
main{max-width:1200px;margin:0 auto;padding:1rem}a{color:var(--link)}\
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}\
h2{font-size:1rem;margin:0 0 .75rem;overflow-wrap:anywhere}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:.75rem}\
.card{display:block;border:1px solid var(--line);border-radius:8px;padding:.6rem .75rem;text-decoration:none;color:inherit}\
.card b{display:block;font-size:1.5rem}.card span{color:var(--muted);font-size:.85rem}\
.badge{display:inline-block;white-space:nowrap;padding:.05rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid currentColor}\
.succeeded{color:var(--ok)}.partial,.paused{color:var(--warn)}.failed{color:var(--bad)}.running{color:var(--link)}\
.error{border-left:4px solid var(--bad);padding:.5rem .75rem;background:#fff5f5;margin:.5rem 0;overflow-wrap:anywhere}\
.partial-error{border-left-color:var(--warn);background:#fff8e6}\
.muted{color:var(--muted)}.scroll{overflow-x:auto}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}\
td{overflow-wrap:anywhere;max-width:28rem}td time{white-space:nowrap}td .age{display:block;font-size:.85em}th{white-space:nowrap;color:var(--muted);font-weight:600}\
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:.5rem;margin-bottom:.75rem;align-items:end}\
label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted);gap:.2rem}\
input,select,button{font:inherit;padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg)}\
button{background:var(--link);color:#fff;border-color:var(--link);cursor:pointer}label.check{flex-direction:row;align-items:center;gap:.4rem}\
.pager{display:flex;gap:1rem;justify-content:space-between;align-items:center;margin-top:.75rem;flex-wrap:wrap}\
.login{max-width:24rem;margin:4rem auto}.login form{display:flex;flex-direction:column;gap:.75rem}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,28rem),1fr));gap:1.25rem}\
.chart{margin:0;min-width:0}.chart h3{font-size:.95rem;margin:0 0 .4rem}\
.plot{display:block;width:100%;height:auto;font-size:11px}.plot text{fill:var(--muted)}.plot .label{font-weight:600}\
.grid{stroke:var(--line)}.line{fill:none;stroke-width:2}\
.key{display:inline-block;width:1.2rem;border-top:3px solid;vertical-align:middle;margin-right:.35rem}\
.s0{stroke:#0550ae;border-color:#0550ae}.s1{stroke:#bf8700;border-color:#bf8700}.s2{stroke:#cf222e;border-color:#cf222e}\
.s3{stroke:#8250df;border-color:#8250df}.s4{stroke:#1a7f37;border-color:#1a7f37}.s5{stroke:#57606a;border-color:#57606a}\
.dashed{stroke-dasharray:5 4;border-top-style:dashed}.hit{fill:#000;fill-opacity:0}.hit:hover{fill-opacity:.07}.bar{fill:#0550ae}a:hover .bar,.bar:hover{fill:#033d8b}.unknown{fill:var(--muted);font-weight:700}\
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;list-style:none;margin:.3rem 0;padding:0;font-size:.85rem}\
.note{font-size:.8rem;margin:.3rem 0}summary{cursor:pointer;font-size:.85rem;color:var(--link)}table.data{font-size:.8rem}\
@media (max-width:640px){.hide-sm{display:none}td,th{padding:.35rem .3rem}td time,th{white-space:normal}.plot{font-size:16px}}";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2025-05-01 14:03 UTC` from an ISO-8601 instant; anything else is shown escaped as it is.
fn readable_date(iso: &str) -> String {
    match (ms_from_iso(iso), iso.get(..10), iso.get(11..16)) {
        (Some(_), Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => escape(iso),
    }
}

/// `3 days ago`, `in 2 hours`, `just now`.
pub fn relative(iso: &str, now: EpochMs) -> String {
    let Some(t) = ms_from_iso(iso) else {
        return String::new();
    };
    let (delta, future) = if now >= t {
        (now - t, false)
    } else {
        (t - now, true)
    };
    let mins = delta / 60_000;
    let text = match mins {
        0 => return "just now".into(),
        1..=59 => plural(mins, "minute"),
        60..=2879 => plural(mins / 60, "hour"),
        _ => plural(mins / 1440, "day"),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A date cell: readable, with the relative age; `never` for a missing login.
pub(crate) fn when(iso: Option<&str>, now: EpochMs, missing: &str) -> String {
    match iso {
        None => format!("<span class=\"muted\">{missing}</span>"),
        Some(iso) => format!(
            "<time datetime=\"{}\" title=\"{}\">{}</time> <span class=\"muted age\">{}</span>",
            escape(iso),
            escape(iso),
            readable_date(iso),
            relative(iso, now)
        ),
    }
}

pub(crate) fn page(title: &str, nav: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\"><title>{} · auth0-license-sync</title>\
         <style>{STYLE}</style></head><body><header><h1>auth0-license-sync</h1><nav>{nav}</nav>\
         </header><main>{body}</main></body></html>",
        escape(title)
    )
}

/// The link to a user's detail page (`/users/{user_id}`).
pub fn user_href(user_id: &str) -> String {
    format!("/users/{}", encode_component(user_id))
}

/// The link to an application's page (`/applications/{client_id}`).
pub fn app_href(client_id: &str) -> String {
    format!("/applications/{}", encode_component(client_id))
}

/// Who is looking, and the links every signed-in page shows.
pub fn nav(viewer: &str, session: bool) -> String {
    let mut nav = String::from(
        "<a href=\"/\">Dashboard</a><a href=\"/applications\">Applications</a>\
         <a href=\"/runs\">Sync history</a><a href=\"/changes\">Access changes</a>",
    );
    write!(nav, "<span class=\"muted\">{}</span>", escape(viewer)).ok();
    if session {
        nav.push_str(
            "<form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>",
        );
    }
    // Ends every browser session, a stolen cookie included; any signed-in viewer may do it.
    nav.push_str(
        "<form method=\"post\" action=\"/logout?everywhere=1\"><button type=\"submit\" \
         title=\"End every browser session signed in with the viewer token\">Sign out everywhere\
         </button></form>",
    );
    nav
}

fn status_badge(s: RunStatus) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", s.as_str())
}

/// The filters of the user table, as the viewer gave them (raw values, echoed back escaped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Search text.
    pub q: String,
    /// `active`, `blocked`, `removed`, `all` or empty.
    pub status: String,
    /// Primary connection.
    pub connection: String,
    /// Organization id.
    pub organization: String,
    /// Days without login.
    pub inactive_days: String,
    /// Never logged in.
    pub never_logged_in: bool,
    /// `field:dir`.
    pub sort: String,
    /// A last-login range in days (`30-60`), from the reclaim curve's bars.
    pub last_login_days: String,
}

impl Filters {
    /// The query string for these filters (without a cursor).
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("status", &self.status),
            ("connection", &self.connection),
            ("organization", &self.organization),
            ("inactive_days", &self.inactive_days),
            ("last_login_days", &self.last_login_days),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode_component(v)));
            }
        }
        if self.never_logged_in {
            parts.push("never_logged_in=true".into());
        }
        parts.join("&")
    }
}

/// Everything the dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard<'a> {
    /// The viewer's name or email, for the header.
    pub viewer: &'a str,
    /// Whether the viewer has a session cookie (shows "Log out").
    pub session: bool,
    /// Seat counts.
    pub counts: &'a SeatCounts,
    /// Users per connection.
    pub connections: &'a [ConnectionCount],
    /// Organizations with member counts.
    pub organizations: &'a [OrgRecord],
    /// The newest run.
    pub last_run: Option<&'a RunRecord>,
    /// The last successful or partial run, when the newest failed.
    pub last_good_run: Option<&'a RunRecord>,
    /// This page of the user table.
    pub users: &'a [UserRecord],
    /// The cursor of the next page.
    pub next_cursor: Option<&'a str>,
    /// Whether this is not the first page.
    pub paged: bool,
    /// The table's filters.
    pub filters: &'a Filters,
    /// An error in the filters, shown above the table.
    pub filter_error: Option<&'a str>,
    /// Now, for relative dates.
    pub now: EpochMs,
    /// The trends section (`render::charts`), already rendered.
    pub charts: &'a str,
    /// How soon a deletion in Auth0 shows here.
    pub deletions: &'a crate::sync::schedule::Outlook,
}

fn card(label: &str, value: i64, href: &str) -> String {
    format!(
        "<a class=\"card\" href=\"{}\"><b>{value}</b><span>{}</span></a>",
        escape(href),
        escape(label)
    )
}

/// A running sync's progress: users so far, of about how many, over how many invocations.
pub fn progress(run: &RunRecord) -> String {
    let of = run
        .users_total_estimate
        .filter(|t| *t > 0)
        .map(|t| {
            let pct = (run.users_seen.saturating_mul(100) / t).min(99);
            format!(" of about {t} ({pct}%)")
        })
        .unwrap_or_default();
    let invocations = if run.invocations > 1 {
        format!(
            ", over {} invocations so far (it pauses at each invocation's budget and continues within a minute)",
            run.invocations
        )
    } else {
        String::new()
    };
    format!(
        "<p>In progress: {} users listed{of}{invocations}. Removals are applied only when the listing is complete; \
         the tables show the stored data meanwhile.</p>",
        run.users_seen
    )
}

/// How soon a deletion in Auth0 shows, why, and what would make it sooner.
fn deletions(o: &crate::sync::schedule::Outlook) -> String {
    let mut s = format!(
        "<p id=\"deletions\">A user deleted in Auth0 shows as removed here <strong>{}</strong>. \
         <span class=\"muted\">{}</span>",
        escape(&o.shows),
        escape(&o.why)
    );
    if let Some(faster) = &o.faster {
        write!(s, " <strong>Faster:</strong> {}", escape(faster)).ok();
    }
    s.push_str("</p>");
    s
}

fn run_summary(run: &RunRecord, now: EpochMs) -> String {
    let mut s = format!(
        "<p>{} started {}",
        status_badge(run.status),
        when(Some(&run.started_at), now, "")
    );
    if let Some(done) = &run.finished_at {
        write!(s, ", finished {}", when(Some(done), now, "")).ok();
    }
    s.push_str("</p>");
    if run.status == RunStatus::Running {
        s.push_str(&progress(run));
    }
    write!(
        s,
        "<p class=\"muted\">{} users listed · {} added · {} updated · {} removed · {} organizations · \
         {} Auth0 requests · {} rate-limited (429)</p>",
        run.users_seen,
        run.users_added,
        run.users_updated,
        run.users_removed,
        run.organizations_seen,
        run.api_requests,
        run.rate_limited
    )
    .ok();
    if let Some(e) = &run.error {
        // A paused run waits for D1's daily reset: a warning, as partial, not a failure.
        let class = if matches!(run.status, RunStatus::Partial | RunStatus::Paused) {
            "error partial-error"
        } else {
            "error"
        };
        write!(
            s,
            "<div class=\"{class}\" role=\"alert\">{}</div>",
            escape(e)
        )
        .ok();
    }
    s
}

fn select(name: &str, label: &str, current: &str, options: &[(String, String)]) -> String {
    let mut s = format!("<label>{}<select name=\"{}\">", escape(label), escape(name));
    for (value, text) in options {
        let selected = if value == current { " selected" } else { "" };
        write!(
            s,
            "<option value=\"{}\"{selected}>{}</option>",
            escape(value),
            escape(text)
        )
        .ok();
    }
    s.push_str("</select></label>");
    s
}

fn user_row(u: &UserRecord, now: EpochMs) -> String {
    let state = if u.removed_at.is_some() {
        "<span class=\"badge failed\">removed</span>"
    } else if u.blocked {
        "<span class=\"badge partial\">blocked</span>"
    } else {
        "<span class=\"badge succeeded\">active</span>"
    };
    format!(
        "<tr><td><a href=\"{}\">{}</a><div class=\"muted\">{}</div></td><td>{}</td><td>{}</td><td class=\"hide-sm\">{}</td>\
         <td>{}</td><td class=\"hide-sm\">{}</td><td class=\"hide-sm\">{}</td>\
         <td class=\"hide-sm\">{}</td></tr>",
        escape(&user_href(&u.user_id)),
        escape(u.email.as_deref().unwrap_or("(no email)")),
        escape(&u.user_id),
        state,
        escape(u.name.as_deref().unwrap_or("")),
        escape(u.connection.as_deref().unwrap_or("")),
        when(u.last_login.as_deref(), now, "never logged in"),
        u.logins_count,
        when(Some(&u.created_at), now, ""),
        escape(&u.organizations.join(", ")),
    )
}

/// The dashboard page.
pub fn dashboard(d: &Dashboard<'_>) -> String {
    let c = d.counts;
    let mut body = String::new();
    body.push_str("<section><h2>Seats</h2><div class=\"cards\">");
    for (label, value, href) in [
        ("Active seats", c.active, "/?status=active"),
        ("Blocked", c.blocked, "/?status=blocked"),
        ("Removed from Auth0", c.removed, "/?status=removed"),
        (
            "Never logged in",
            c.never_logged_in,
            "/?never_logged_in=true",
        ),
        ("No login in 30 days", c.inactive_30, "/?inactive_days=30"),
        ("No login in 60 days", c.inactive_60, "/?inactive_days=60"),
        ("No login in 90 days", c.inactive_90, "/?inactive_days=90"),
    ] {
        body.push_str(&card(label, value, href));
    }
    body.push_str("</div></section>");

    body.push_str("<section><h2>Last sync</h2>");
    match d.last_run {
        None => body.push_str(
            "<p>No sync has run yet. The cron trigger runs one every 10 minutes; \
             <code>POST /api/sync</code> runs one now.</p>",
        ),
        Some(run) => {
            body.push_str(&run_summary(run, d.now));
            if let Some(good) = d.last_good_run.filter(|g| g.id != run.id) {
                write!(
                    body,
                    "<p class=\"muted\">The data below is from the last complete sync, {}.</p>",
                    when(good.finished_at.as_deref(), d.now, "")
                )
                .ok();
            }
        }
    }
    body.push_str(&deletions(d.deletions));
    body.push_str("<p><a href=\"/runs\">Sync history</a></p></section>");
    body.push_str(d.charts);

    body.push_str("<section><h2>By connection</h2><div class=\"scroll\"><table><thead><tr><th>Connection</th><th>Users</th></tr></thead><tbody>");
    for cc in d.connections {
        let name = cc.connection.as_deref().unwrap_or("(none)");
        write!(
            body,
            "<tr><td><a href=\"/?connection={}\">{}</a></td><td>{}</td></tr>",
            escape(&encode_component(name)),
            escape(name),
            cc.users
        )
        .ok();
    }
    body.push_str("</tbody></table></div></section>");

    if !d.organizations.is_empty() {
        body.push_str("<section><h2>By organization</h2><div class=\"scroll\"><table><thead><tr><th>Organization</th><th>Members</th><th class=\"hide-sm\">Id</th></tr></thead><tbody>");
        for o in d.organizations {
            let label = o
                .display_name
                .as_deref()
                .or(o.name.as_deref())
                .unwrap_or(&o.id);
            let removed = if o.removed_at.is_some() {
                " <span class=\"badge failed\">removed</span>"
            } else {
                ""
            };
            write!(
                body,
                "<tr><td><a href=\"/?organization={}\">{}</a>{removed}</td><td>{}</td><td class=\"hide-sm muted\">{}</td></tr>",
                escape(&encode_component(&o.id)),
                escape(label),
                o.member_count,
                escape(&o.id)
            )
            .ok();
        }
        body.push_str("</tbody></table></div></section>");
    }

    body.push_str(&users_section(d));
    page("Dashboard", &nav(d.viewer, d.session), &body)
}

fn users_section(d: &Dashboard<'_>) -> String {
    let f = d.filters;
    let mut s = String::from(
        "<section id=\"users\"><h2>Users</h2><form class=\"filters\" method=\"get\" action=\"/\">",
    );
    write!(
        s,
        "<label>Search email or name<input type=\"search\" name=\"q\" value=\"{}\" maxlength=\"200\"></label>",
        escape(&f.q)
    )
    .ok();
    let opt = |v: &str, t: &str| (v.to_string(), t.to_string());
    s.push_str(&select(
        "status",
        "Status",
        &f.status,
        &[
            opt("", "Current (not removed)"),
            opt("active", "Active"),
            opt("blocked", "Blocked"),
            opt("removed", "Removed"),
            opt("all", "All"),
        ],
    ));
    let mut conns = vec![opt("", "Any connection")];
    conns.extend(
        d.connections
            .iter()
            .filter_map(|c| c.connection.as_deref())
            .map(|c| opt(c, c)),
    );
    s.push_str(&select("connection", "Connection", &f.connection, &conns));
    if !d.organizations.is_empty() {
        let mut orgs = vec![opt("", "Any organization")];
        orgs.extend(d.organizations.iter().map(|o| {
            opt(
                &o.id,
                o.display_name
                    .as_deref()
                    .or(o.name.as_deref())
                    .unwrap_or(&o.id),
            )
        }));
        s.push_str(&select(
            "organization",
            "Organization",
            &f.organization,
            &orgs,
        ));
    }
    s.push_str(&select(
        "inactive_days",
        "Inactive",
        &f.inactive_days,
        &[
            opt("", "Any"),
            opt("30", "No login in 30 days"),
            opt("60", "No login in 60 days"),
            opt("90", "No login in 90 days"),
            opt("180", "No login in 180 days"),
        ],
    ));
    s.push_str(&select(
        "sort",
        "Sort",
        &f.sort,
        &[
            opt("", "User id"),
            opt("last_login:desc", "Last login, newest"),
            opt("last_login:asc", "Last login, oldest"),
            opt("created_at:desc", "Created, newest"),
            opt("created_at:asc", "Created, oldest"),
            opt("email:asc", "Email A–Z"),
        ],
    ));
    // Kept through the form: it has no control of its own (the reclaim curve's bars set it).
    if !f.last_login_days.is_empty() {
        write!(
            s,
            "<input type=\"hidden\" name=\"last_login_days\" value=\"{}\">",
            escape(&f.last_login_days)
        )
        .ok();
    }
    let checked = if f.never_logged_in { " checked" } else { "" };
    write!(
        s,
        "<label class=\"check\"><input type=\"checkbox\" name=\"never_logged_in\" value=\"true\"{checked}>Never logged in</label>\
         <button type=\"submit\">Filter</button></form>"
    )
    .ok();
    if let Some(e) = d.filter_error {
        write!(s, "<div class=\"error\" role=\"alert\">{}</div>", escape(e)).ok();
    }
    s.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Email / user id</th><th>State</th><th>Name</th>\
         <th class=\"hide-sm\">Connection</th><th>Last login</th><th class=\"hide-sm\">Logins</th>\
         <th class=\"hide-sm\">Created</th><th class=\"hide-sm\">Organizations</th></tr></thead><tbody>",
    );
    if d.users.is_empty() {
        s.push_str("<tr><td colspan=\"8\" class=\"muted\">No users match.</td></tr>");
    }
    for u in d.users {
        s.push_str(&user_row(u, d.now));
    }
    s.push_str("</tbody></table></div><div class=\"pager\">");
    let query = f.query();
    let sep = if query.is_empty() { "" } else { "&" };
    if d.paged {
        write!(s, "<a href=\"/?{}#users\">First page</a>", escape(&query)).ok();
    }
    if let Some(cursor) = d.next_cursor {
        write!(
            s,
            "<a href=\"/?{}{sep}cursor={}#users\" rel=\"next\">Next page</a>",
            escape(&query),
            escape(cursor)
        )
        .ok();
    }
    write!(
        s,
        "<a href=\"/users.csv{}{}\" download>Download CSV (these filters, all pages)</a></div></section>",
        if query.is_empty() { "" } else { "?" },
        escape(&query)
    )
    .ok();
    s
}

/// The sync history page.
pub fn runs_page(viewer: &str, session: bool, runs: &[RunRecord], now: EpochMs) -> String {
    let mut body = String::from(
        "<section><h2>Sync history</h2><div class=\"scroll\"><table><thead><tr><th>#</th><th>Started</th>\
         <th>Status</th><th>Kind</th><th>Trigger</th><th>Users listed</th><th>Added</th><th>Updated</th><th>Removed</th>\
         <th>Orgs</th><th>Requests</th><th>429s</th><th>Message</th></tr></thead><tbody>",
    );
    if runs.is_empty() {
        body.push_str("<tr><td colspan=\"13\" class=\"muted\">No sync has run yet.</td></tr>");
    }
    for r in runs {
        write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            when(Some(&r.started_at), now, ""),
            status_badge(r.status),
            kind_title(r),
            r.kind.as_str(),
            escape(&r.trigger),
            r.users_seen,
            r.users_added,
            r.users_updated,
            r.users_removed,
            r.organizations_seen,
            r.api_requests,
            r.rate_limited,
            escape(r.error.as_deref().unwrap_or(""))
        )
        .ok();
    }
    body.push_str("</tbody></table></div></section>");
    page("Sync history", &nav(viewer, session), &body)
}

/// What a run's kind means, for the history's tooltip.
fn kind_title(r: &RunRecord) -> String {
    match (r.kind, &r.updated_since) {
        (RunKind::Incremental, Some(since)) => {
            format!("users updated since {}", escape(since))
        }
        (RunKind::Incremental, None) => "users updated since the last listing".into(),
        (RunKind::Full, _) => "every user listed".into(),
        (RunKind::Push, _) => {
            "deliveries from Auth0 Event Streams and Log Streams in this hour".into()
        }
    }
}

/// The login form; `error` explains a failed attempt.
pub fn login_page(error: Option<&str>) -> String {
    let mut body = String::from("<section class=\"login\"><h2>Sign in</h2>");
    if let Some(e) = error {
        write!(
            body,
            "<div class=\"error\" role=\"alert\">{}</div>",
            escape(e)
        )
        .ok();
    }
    body.push_str(
        "<form method=\"post\" action=\"/login\"><label>Viewer token\
         <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"muted\">Ask the tool's owner for the viewer token (the VIEWER_TOKEN secret).</p></section>",
    );
    page("Sign in", "", &body)
}

/// A page saying viewer access is closed, and how to open it.
pub fn closed_page(message: &str) -> String {
    page(
        "Closed",
        "",
        &format!(
            "<section class=\"login\"><h2>Viewer access is closed</h2><div class=\"error\">{}</div></section>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMs = 1_750_000_000_000; // 2025-06-15T15:06:40Z

    #[test]
    fn escapes_everything_that_could_open_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>\"><img src=x onerror=alert(1)>'"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;"
        );
        assert_eq!(escape("a & b"), "a &amp; b");
    }

    #[test]
    fn dates_read_well_and_never_is_said() {
        assert_eq!(
            readable_date("2025-05-01T14:03:59.123Z"),
            "2025-05-01 14:03 UTC"
        );
        assert_eq!(readable_date("<b>"), "&lt;b&gt;");
        assert_eq!(readable_date("2025-05-01"), "2025-05-01");
        assert_eq!(
            readable_date("2025-05-01T14:0é:59Z"),
            "2025-05-01T14:0é:59Z"
        );
        assert_eq!(relative("2025-06-12T15:06:40.000Z", NOW), "3 days ago");
        assert_eq!(relative("2025-06-15T14:06:40.000Z", NOW), "1 hour ago");
        assert_eq!(relative("2025-06-15T15:06:30.000Z", NOW), "just now");
        assert_eq!(relative("2025-06-15T17:06:40.000Z", NOW), "in 2 hours");
        assert!(when(None, NOW, "never logged in").contains("never logged in"));
    }

    #[test]
    fn a_running_sync_shows_how_far_it_is() {
        let mut run = RunRecord::started(1, "2025-06-15T15:00:00.000Z".into(), "cron");
        run.users_seen = 2500;
        run.users_total_estimate = Some(10_000);
        run.invocations = 3;
        let p = progress(&run);
        assert!(
            p.contains("2500 users listed of about 10000 (25%), over 3 invocations"),
            "{p}"
        );
        run.users_total_estimate = None;
        run.invocations = 1;
        assert!(progress(&run).contains("In progress: 2500 users listed. "));
    }

    #[test]
    fn filters_round_trip_into_links_encoded() {
        let f = Filters {
            q: "a&b=\"c\"".into(),
            status: "all".into(),
            never_logged_in: true,
            ..Filters::default()
        };
        assert_eq!(
            f.query(),
            "q=a%26b%3D%22c%22&status=all&never_logged_in=true"
        );
    }
}
