//! The Settings page (issue 21): tenants, their last test's checklist, the admin forms and the
//! audit log. Viewers get the same tables and no forms; no secret ever reaches the HTML.
//!
//! Forms post to this site's own `/settings/…` routes, like every other form here: cross-site
//! posts are refused by where they come from (src/auth/origin.rs), not by a hidden token.

use std::fmt::Write;

use super::html::{escape, nav, page, relative};
use crate::http::encode_component;
use crate::settings::audit::AuditEntry;
use crate::settings::probe::{ProbeReport, ScopeState};
use crate::time::{EpochMs, iso_from_ms};

/// The environments the form offers, in its order.
pub const ENVIRONMENTS: [&str; 4] = ["production", "staging", "development", "other"];

/// Where a tenant's credentials live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantSource {
    /// `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`: read-only here.
    Secrets,
    /// Added on this page.
    Settings,
}

/// One tenant as the page shows it. The secret is only its last four characters.
#[derive(Debug, Clone)]
pub struct TenantView<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub domain: &'a str,
    pub environment: &'a str,
    pub source: TenantSource,
    pub enabled: bool,
    pub disabled_reason: Option<&'a str>,
    /// The stored secret's last four characters; more are cut off here as well.
    pub secret_last4: Option<&'a str>,
    pub last_test: Option<&'a ProbeReport>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct SettingsPage<'a> {
    /// Who is looking, for the header.
    pub viewer: &'a str,
    /// Signed in with a session (the header's log-out form).
    pub session: bool,
    /// Admins see the forms; viewers only read.
    pub admin: bool,
    /// Whether `SETTINGS_KEY` is set: without it no tenant can be added.
    pub settings_key: bool,
    pub tenants: &'a [TenantView<'a>],
    /// Newest first.
    pub audit: &'a [AuditEntry],
    /// The outcome of the last action, e.g. "Tenant added." or a form's 400 message.
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    pub now: EpochMs,
}

/// The command that makes the key, as the issue gives it.
pub const MAKE_SETTINGS_KEY: &str =
    "openssl rand -base64 32 | npx wrangler secret put SETTINGS_KEY";

/// `/settings/tenants/{id}/{action}`: the form target for one tenant.
fn action(id: &str, what: &str) -> String {
    format!("/settings/tenants/{}/{what}", encode_component(id))
}

/// "set, ends in …abcd", never more than four characters of whatever was passed.
fn secret_cell(t: &TenantView<'_>) -> String {
    match (t.source, t.secret_last4) {
        (_, Some(last)) => {
            let n = last.chars().count();
            let tail: String = last.chars().skip(n.saturating_sub(4)).collect();
            format!("set, ends in …{}", escape(&tail))
        }
        (TenantSource::Secrets, None) => "set in AUTH0_CLIENT_SECRET".into(),
        (TenantSource::Settings, None) => "<span class=\"muted\">not set</span>".into(),
    }
}

fn state_badge(s: ScopeState) -> &'static str {
    match s {
        ScopeState::Granted => "<span class=\"badge succeeded\">granted</span>",
        ScopeState::Missing => "<span class=\"badge failed\">missing</span>",
        ScopeState::Unknown => "<span class=\"badge paused\">unknown</span>",
    }
}

/// The last test's checklist, or that none ran yet.
fn checklist(report: Option<&ProbeReport>) -> String {
    let Some(r) = report else {
        return "<span class=\"muted\">not tested yet</span>".into();
    };
    let verdict = if r.passed {
        "<span class=\"badge succeeded\">passed</span>"
    } else {
        "<span class=\"badge failed\">failed</span>"
    };
    let mut s = format!("{verdict} {}<ul class=\"legend\">", escape(&r.message));
    for c in &r.scopes {
        write!(
            s,
            "<li>{} {}{}",
            state_badge(c.state),
            escape(c.scope),
            if c.required { "" } else { " (optional)" }
        )
        .ok();
        if let Some(m) = &c.message
            && c.state != ScopeState::Granted
        {
            write!(s, " <span class=\"muted\">{}</span>", escape(m)).ok();
        }
        s.push_str("</li>");
    }
    s.push_str("</ul>");
    s
}

fn status_cell(t: &TenantView<'_>) -> String {
    if t.enabled {
        return "<span class=\"badge succeeded\">enabled</span>".into();
    }
    let mut s = String::from("<span class=\"badge paused\">disabled</span>");
    if let Some(r) = t.disabled_reason {
        write!(s, "<span class=\"age muted\">{}</span>", escape(r)).ok();
    }
    s
}

/// The admin's actions on one tenant. The tenant in secrets can only be tested.
fn manage_cell(t: &TenantView<'_>) -> String {
    let test = format!(
        "<form method=\"post\" action=\"{}\"><button type=\"submit\">Test connection</button></form>",
        action(t.id, "test")
    );
    if t.source == TenantSource::Secrets {
        return format!(
            "{test}<p class=\"note muted\">Change it with wrangler secret put AUTH0_…</p>"
        );
    }
    let mut s = test;
    write!(
        s,
        "<details><summary>Rotate secret</summary><form method=\"post\" action=\"{}\">\
         <label>New client secret<input type=\"password\" name=\"client_secret\" \
         autocomplete=\"new-password\" required></label>\
         <button type=\"submit\">Save secret</button></form></details>",
        action(t.id, "rotate")
    )
    .ok();
    if t.enabled {
        write!(
            s,
            "<details><summary>Disable</summary><form method=\"post\" action=\"{}\">\
             <label>Reason<input type=\"text\" name=\"reason\" maxlength=\"200\"></label>\
             <button type=\"submit\">Disable</button></form></details>",
            action(t.id, "disable")
        )
        .ok();
    } else {
        write!(
            s,
            "<form method=\"post\" action=\"{}\"><button type=\"submit\">Enable</button></form>",
            action(t.id, "enable")
        )
        .ok();
    }
    write!(
        s,
        "<details><summary>Remove</summary><form method=\"post\" action=\"{}\">\
         <p class=\"error\">Removing {} deletes this tenant's data from this dashboard: its users, \
         organizations, applications, sync history and settings. Auth0 itself is not changed.</p>\
         <label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
         Delete {} and its data</label><button type=\"submit\">Remove tenant</button></form></details>",
        action(t.id, "remove"),
        escape(t.label),
        escape(t.label)
    )
    .ok();
    s
}

fn tenants_section(p: &SettingsPage<'_>) -> String {
    let mut s = String::from(
        "<section id=\"tenants\"><h2>Auth0 tenants</h2><div class=\"scroll\"><table><thead><tr>\
         <th>Label</th><th>Domain</th><th>Environment</th><th>Source</th><th>Status</th>\
         <th>Client secret</th><th>Last test</th>",
    );
    if p.admin {
        s.push_str("<th>Manage</th>");
    }
    s.push_str("</tr></thead><tbody>");
    for t in p.tenants {
        let source = match t.source {
            TenantSource::Secrets => "from Worker secrets",
            TenantSource::Settings => "added here",
        };
        write!(
            s,
            "<tr><td>{}<span class=\"age muted\">{}</span></td><td>{}</td><td>{}</td><td>{source}</td>\
             <td>{}</td><td>{}</td><td>{}</td>",
            escape(t.label),
            escape(t.id),
            escape(t.domain),
            escape(t.environment),
            status_cell(t),
            secret_cell(t),
            checklist(t.last_test)
        )
        .ok();
        if p.admin {
            write!(s, "<td>{}</td>", manage_cell(t)).ok();
        }
        s.push_str("</tr>");
    }
    if p.tenants.is_empty() {
        s.push_str("<tr><td colspan=\"8\" class=\"muted\">No tenants.</td></tr>");
    }
    s.push_str("</tbody></table></div></section>");
    s
}

fn add_section(p: &SettingsPage<'_>) -> String {
    let mut s = String::from("<section id=\"add\"><h2>Add an Auth0 tenant</h2>");
    if !p.settings_key {
        write!(
            s,
            "<div class=\"error\" role=\"alert\">Adding tenants needs the SETTINGS_KEY Worker \
             secret, which encrypts their client secrets. Make it with: <code>{}</code></div></section>",
            escape(MAKE_SETTINGS_KEY)
        )
        .ok();
        return s;
    }
    s.push_str(
        "<form class=\"filters\" method=\"post\" action=\"/settings/tenants\">\
         <label>Label<input type=\"text\" name=\"label\" maxlength=\"200\" required></label>\
         <label>Domain<input type=\"text\" name=\"domain\" placeholder=\"tenant.us.auth0.com\" required></label>\
         <label>Client ID<input type=\"text\" name=\"client_id\" autocomplete=\"off\" required></label>\
         <label>Client secret<input type=\"password\" name=\"client_secret\" autocomplete=\"new-password\" required></label>\
         <label>Environment<select name=\"environment\">",
    );
    for e in ENVIRONMENTS {
        write!(s, "<option value=\"{e}\">{e}</option>").ok();
    }
    s.push_str(
        "</select></label><button type=\"submit\">Add and test</button></form>\
         <p class=\"note muted\">The connection is tested on save; a tenant that fails is saved \
         disabled, with the reason shown. The secret is encrypted; only its last four characters \
         are shown.</p></section>",
    );
    s
}

fn audit_section(p: &SettingsPage<'_>) -> String {
    let mut s = String::from(
        "<section id=\"audit\"><h2>Audit log</h2><div class=\"scroll\"><table><thead><tr>\
         <th>When</th><th>Who</th><th>Action</th><th>Tenant</th><th>Changed</th></tr></thead><tbody>",
    );
    for e in p.audit {
        let iso = iso_from_ms(u64::try_from(e.at_ms).unwrap_or(0));
        // The JSON names (snake_case) are the public words for actions and fields.
        let word = |v: serde_json::Result<serde_json::Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let changed: Vec<String> = e
            .changed
            .iter()
            .map(|c| word(serde_json::to_value(c)))
            .collect();
        write!(
            s,
            "<tr><td><time datetime=\"{0}\">{0}</time><span class=\"age muted\">{1}</span></td>\
             <td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td></tr>",
            escape(&iso),
            escape(&relative(&iso, p.now)),
            escape(&e.who),
            escape(&word(serde_json::to_value(e.action))),
            escape(&e.tenant),
            escape(&changed.join(", "))
        )
        .ok();
    }
    if p.audit.is_empty() {
        s.push_str("<tr><td colspan=\"5\" class=\"muted\">No changes yet.</td></tr>");
    }
    s.push_str("</tbody></table></div></section>");
    s
}

/// The Settings page.
pub fn settings_page(p: &SettingsPage<'_>) -> String {
    let mut body = String::new();
    if let Some(e) = p.error {
        write!(
            body,
            "<div class=\"error\" role=\"alert\">{}</div>",
            escape(e)
        )
        .ok();
    }
    if let Some(n) = p.notice {
        write!(body, "<section role=\"status\">{}</section>", escape(n)).ok();
    }
    if !p.admin {
        body.push_str(
            "<p class=\"note muted\">You are signed in as a viewer: Settings is read-only. \
             Admins sign in with ADMIN_TOKEN or a Cloudflare Access email listed in ADMIN_EMAILS.</p>",
        );
    }
    body.push_str(&tenants_section(p));
    if p.admin {
        body.push_str(&add_section(p));
    }
    body.push_str(&audit_section(p));
    page("Settings", &nav(p.viewer, p.session), &body)
}

#[cfg(test)]
mod tests;
