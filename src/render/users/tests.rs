//! The user detail page: hostile values stay text, links are encoded, scopes not granted shown.

use super::*;

const NOW: EpochMs = 1_750_000_000_000;
const HOSTILE: &str = "\"><script>alert(1)</script>";

fn user(removed: bool) -> UserRecord {
    UserRecord {
        user_id: format!("auth0|{HOSTILE}"),
        email: Some(format!("{HOSTILE}@example.com")),
        name: Some("<img src=x onerror=alert(1)>".into()),
        connection: Some("<b>conn</b>".into()),
        connections: vec![],
        last_login: Some("2025-06-01T00:00:00.000Z".into()),
        logins_count: 7,
        created_at: "2025-01-01T00:00:00.000Z".into(),
        updated_at: None,
        blocked: true,
        email_verified: None,
        first_seen_at: "2025-01-02T00:00:00.000Z".into(),
        removed_at: removed.then(|| "2025-06-10T00:00:00.000Z".into()),
        organizations: vec!["org_<x>".into()],
    }
}

fn app(id: &str, can_reach: bool, logins: i64) -> UserApp {
    UserApp {
        client_id: id.into(),
        name: Some(format!("<i>{id}</i>")),
        can_reach,
        last_login: (logins > 0).then(|| "2025-06-14T00:00:00.000Z".into()),
        logins,
        last_seen: None,
    }
}

fn render(u: &UserRecord, apps: &[UserApp], not_enabled: &[NotEnabled]) -> String {
    user_page(&UserPage {
        viewer: "<viewer>",
        session: true,
        user: u,
        apps,
        not_enabled,
        now: NOW,
    })
}

#[test]
fn hostile_values_are_text_and_links_are_encoded() {
    let apps = [app("c|1 <x>", true, 3), app("c2", false, 0)];
    let html = render(&user(false), &apps, &[]);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>conn"));
    assert!(!html.contains("<i>c2"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("org_&lt;x&gt;"));
    assert!(html.contains("href=\"/applications/c%7C1%20%3Cx%3E\""));
    assert!(html.contains(
        "href=\"/changes?user_id=auth0%7C%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""
    ));
    assert!(html.contains("badge partial\">blocked"));
    // One row per application, in the given order, with reach and counts.
    let rows: Vec<&str> = html
        .split("<tr><td><a href=\"/applications/")
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("<td>yes</td>") && rows[0].contains("<td>3</td>"));
    assert!(rows[1].contains("<td>no</td>") && rows[1].contains("<td>0</td>"));
    assert!(!html.contains("not enabled"));
}

#[test]
fn removed_users_scopes_not_granted_and_no_apps_are_said() {
    let ne = [NotEnabled {
        scope: "read:clients".into(),
        message: "not enabled: grant read:clients (<x>)".into(),
    }];
    let html = render(&user(true), &[], &ne);
    assert!(html.contains("badge failed\">removed"));
    assert!(html.contains("not enabled: grant read:clients (&lt;x&gt;)"));
    assert!(html.contains("No applications."));
    assert!(not_found_page("v", false).contains("User not found"));
}

#[test]
fn user_links_are_percent_encoded() {
    assert_eq!(
        crate::render::html::user_href("sms|+1 5/x"),
        "/users/sms%7C%2B1%205%2Fx"
    );
}
