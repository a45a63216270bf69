//! The user detail page (`/users/{user_id}`): the user's fields and the applications they can
//! reach or used. Every Auth0 value is escaped; links carry ids percent-encoded.

use std::fmt::Write;

use super::applications::NotEnabled;
use super::html::{app_href, escape, nav, page, when};
use crate::http::encode_component;
use crate::store::UserRecord;
use crate::store::applications::UserApp;
use crate::time::EpochMs;

/// What `/users/{user_id}` shows.
pub struct UserPage<'a> {
    /// Who is looking.
    pub viewer: &'a str,
    /// Whether they have a browser session.
    pub session: bool,
    /// The user.
    pub user: &'a UserRecord,
    /// The applications they can reach or used.
    pub apps: &'a [UserApp],
    /// Optional scopes not granted (applications, connections or usage unknown).
    pub not_enabled: &'a [NotEnabled],
    /// Now.
    pub now: EpochMs,
}

/// `/users/{user_id}`.
pub fn user_page(p: &UserPage<'_>) -> String {
    let u = p.user;
    let title = u
        .email
        .as_deref()
        .or(u.name.as_deref())
        .unwrap_or(&u.user_id);
    let state = match (&u.removed_at, u.blocked) {
        (Some(at), _) => format!(
            "<span class=\"badge failed\">removed</span> {}",
            when(Some(at), p.now, "")
        ),
        (None, true) => "<span class=\"badge partial\">blocked</span>".into(),
        (None, false) => "<span class=\"badge succeeded\">active</span>".into(),
    };
    let text = |v: Option<&str>| escape(v.unwrap_or(""));
    let mut body = format!("<section><h2>{}</h2>", escape(title));
    body.push_str("<div class=\"scroll\"><table><tbody>");
    for (label, value) in [
        ("User id", escape(&u.user_id)),
        ("Email", text(u.email.as_deref())),
        ("Name", text(u.name.as_deref())),
        ("Connection", text(u.connection.as_deref())),
        ("State", state),
        (
            "Last login",
            when(u.last_login.as_deref(), p.now, "never logged in"),
        ),
        ("Logins", u.logins_count.to_string()),
        ("Created", when(Some(&u.created_at), p.now, "")),
        ("Organizations", escape(&u.organizations.join(", "))),
    ] {
        write!(body, "<tr><th>{label}</th><td>{value}</td></tr>").ok();
    }
    write!(
        body,
        "</tbody></table></div><p><a href=\"/changes?user_id={}\">Change history</a></p></section>",
        escape(&encode_component(&u.user_id))
    )
    .ok();
    body.push_str("<section><h2>Applications they can reach or used</h2>");
    for n in p.not_enabled {
        write!(
            body,
            "<p class=\"error partial-error\">{}</p>",
            escape(&n.message)
        )
        .ok();
    }
    body.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Application</th><th>Can reach</th>\
         <th>Last login</th><th>Logins</th><th class=\"hide-sm\">Last seen</th></tr></thead><tbody>",
    );
    if p.apps.is_empty() {
        body.push_str("<tr><td colspan=\"5\" class=\"muted\">No applications.</td></tr>");
    }
    for a in p.apps {
        write!(
            body,
            "<tr><td><a href=\"{}\">{}</a><span class=\"muted age\">{}</span></td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"hide-sm\">{}</td></tr>",
            escape(&app_href(&a.client_id)),
            escape(a.name.as_deref().unwrap_or("(no name)")),
            escape(&a.client_id),
            if a.can_reach { "yes" } else { "no" },
            when(a.last_login.as_deref(), p.now, "never"),
            a.logins,
            when(a.last_seen.as_deref(), p.now, "never"),
        )
        .ok();
    }
    body.push_str("</tbody></table></div></section>");
    page(title, &nav(p.viewer, p.session), &body)
}

/// The page for an unknown user.
pub fn not_found_page(viewer: &str, session: bool) -> String {
    page(
        "User not found",
        &nav(viewer, session),
        "<section><h2>User not found</h2><div class=\"error\">No user with this id has been synced. \
         <a href=\"/\">Back to the dashboard</a></div></section>",
    )
}

#[cfg(test)]
mod tests;
