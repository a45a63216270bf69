//! The Settings page: escaping, viewer against admin, the SETTINGS_KEY message, no secret.

use super::*;
use crate::settings::audit::{AuditAction, ChangedField};
use crate::settings::probe::ScopeCheck;

const NOW: EpochMs = 1_750_000_000_000; // 2025-06-15T15:06:40Z
const SECRET: &str = "Sup3rS3cretClientSecretValue-wxyz";

fn report() -> ProbeReport {
    let row = |scope, required, state, message: Option<&str>| ScopeCheck {
        scope,
        required,
        state,
        message: message.map(str::to_string),
        detail: Some(format!("auth0 said {SECRET}")),
    };
    ProbeReport {
        passed: false,
        token: true,
        message: "Connected, but required scopes are missing: read:organization_members.".into(),
        scopes: vec![
            row("read:users", true, ScopeState::Granted, None),
            row(
                "read:organization_members",
                true,
                ScopeState::Missing,
                Some("Grant read:organization_members in the Auth0 Dashboard"),
            ),
            row(
                "read:logs",
                false,
                ScopeState::Unknown,
                Some("it will retry"),
            ),
        ],
        detail: Some(SECRET.into()),
    }
}

fn tenants(r: &ProbeReport) -> Vec<TenantView<'_>> {
    vec![
        TenantView {
            id: "default",
            label: "Production",
            domain: "prod.us.auth0.com",
            environment: "production",
            source: TenantSource::Secrets,
            enabled: true,
            disabled_reason: None,
            secret_last4: None,
            last_test: None,
        },
        TenantView {
            id: "staging-eu",
            label: "Staging <EU>",
            domain: "staging.eu.auth0.com",
            environment: "staging",
            source: TenantSource::Settings,
            enabled: false,
            disabled_reason: Some("Test failed: 401 <bad secret>"),
            // More than four characters handed in by mistake: still only four are shown.
            secret_last4: Some(SECRET),
            last_test: Some(r),
        },
    ]
}

fn audit() -> Vec<AuditEntry> {
    vec![AuditEntry {
        who: "admin@example.com <script>".into(),
        at_ms: 1_749_990_000_000,
        action: AuditAction::RotateSecret,
        tenant: "staging-eu".into(),
        changed: vec![ChangedField::ClientSecret, ChangedField::Enabled],
    }]
}

fn render(admin: bool, settings_key: bool) -> String {
    let r = report();
    let t = tenants(&r);
    let a = audit();
    settings_page(&SettingsPage {
        viewer: "someone",
        session: true,
        admin,
        settings_key,
        tenants: &t,
        audit: &a,
        notice: None,
        error: None,
        now: NOW,
    })
}

/// Form targets under /settings (the header's log-out forms are not Settings forms).
fn settings_forms(html: &str) -> usize {
    html.matches("action=\"/settings").count()
}

#[test]
fn admins_get_the_add_form_and_manage_actions_for_added_tenants_only() {
    let html = render(true, true);
    assert!(html.contains("action=\"/settings/tenants\""));
    for field in [
        "label",
        "domain",
        "client_id",
        "client_secret",
        "environment",
    ] {
        assert!(html.contains(&format!("name=\"{field}\"")), "{field}");
    }
    for e in ENVIRONMENTS {
        assert!(html.contains(&format!("<option value=\"{e}\">")), "{e}");
    }
    for a in ["test", "rotate", "enable", "remove"] {
        assert!(
            html.contains(&format!("action=\"/settings/tenants/staging-eu/{a}\"")),
            "{a}"
        );
    }
    // The tenant in secrets: read-only, testable only.
    assert!(html.contains("from Worker secrets"));
    assert!(html.contains("action=\"/settings/tenants/default/test\""));
    for a in ["rotate", "disable", "enable", "remove"] {
        assert!(
            !html.contains(&format!("/settings/tenants/default/{a}")),
            "{a}"
        );
    }
    // Removal says what it deletes and needs a confirmation.
    assert!(html.contains("deletes this tenant's data"));
    assert!(html.contains("name=\"confirm\" value=\"yes\" required"));
    assert!(html.contains("<th>Manage</th>"));
}

#[test]
fn viewers_read_the_same_tables_without_any_settings_form() {
    let html = render(false, true);
    assert_eq!(settings_forms(&html), 0, "{html}");
    assert!(!html.contains("name=\"client_secret\""));
    assert!(!html.contains("<th>Manage</th>"));
    assert!(html.contains("read-only"));
    assert!(html.contains("prod.us.auth0.com") && html.contains("staging.eu.auth0.com"));
    assert!(html.contains("from Worker secrets") && html.contains("added here"));
    assert!(html.contains("id=\"audit\""));
    // The admin page does have them: the count above can fail.
    assert!(settings_forms(&render(true, true)) >= 6);
}

#[test]
fn without_settings_key_adding_is_refused_with_the_command() {
    let html = render(true, false);
    assert!(html.contains("SETTINGS_KEY"));
    assert!(html.contains("openssl rand -base64 32 | npx wrangler secret put SETTINGS_KEY"));
    assert!(!html.contains("action=\"/settings/tenants\""));
    // Existing tenants can still be managed.
    assert!(html.contains("action=\"/settings/tenants/staging-eu/test\""));
    assert!(!render(true, true).contains("openssl rand"));
}

#[test]
fn no_secret_or_auth0_detail_ever_reaches_the_html() {
    for (admin, key) in [(true, true), (false, true), (true, false), (false, false)] {
        let html = render(admin, key);
        assert!(!html.contains("Sup3r"), "admin {admin}");
        assert!(!html.contains("auth0 said"), "admin {admin}");
        assert!(!html.contains("Value-"), "admin {admin}");
        assert!(html.contains("set, ends in …wxyz"), "admin {admin}");
        assert!(html.contains("set in AUTH0_CLIENT_SECRET"));
    }
}

#[test]
fn everything_from_tenants_and_the_audit_log_is_escaped() {
    let html = render(true, true);
    for raw in ["Staging <EU>", "<bad secret>", "<script>"] {
        assert!(!html.contains(raw), "{raw}");
    }
    assert!(html.contains("Staging &lt;EU&gt;"));
    assert!(html.contains("Test failed: 401 &lt;bad secret&gt;"));
    assert!(html.contains("admin@example.com &lt;script&gt;"));
    let r = report();
    let mut t = tenants(&r);
    t[1].id = "a\"b/c";
    t[1].label = "x\" onmouseover=\"alert(1)";
    let html = settings_page(&SettingsPage {
        viewer: "<v>",
        session: false,
        admin: true,
        settings_key: true,
        tenants: &t,
        audit: &[],
        notice: Some("<n>"),
        error: Some("<e>"),
        now: NOW,
    });
    assert!(
        html.contains("action=\"/settings/tenants/a%22b%2Fc/remove\""),
        "{html}"
    );
    assert!(!html.contains("\" onmouseover=\""));
    assert!(!html.contains("<v>") && !html.contains("<n>") && !html.contains("<e>"));
    assert!(html.contains("&lt;n&gt;") && html.contains("&lt;e&gt;"));
}

#[test]
fn the_checklist_and_audit_rows_read_in_the_product_words() {
    let html = render(false, true);
    assert!(html.contains("<span class=\"badge failed\">failed</span>"));
    assert!(html.contains("<span class=\"badge failed\">missing</span> read:organization_members"));
    assert!(html.contains("Grant read:organization_members in the Auth0 Dashboard"));
    assert!(html.contains("<span class=\"badge paused\">unknown</span> read:logs (optional)"));
    assert!(html.contains("<span class=\"badge succeeded\">granted</span> read:users<"));
    assert!(html.contains("not tested yet"));
    assert!(html.contains("<span class=\"badge paused\">disabled</span>"));
    assert!(html.contains("<td>rotate_secret</td>"));
    assert!(html.contains("<td>client_secret, enabled</td>"));
    assert!(html.contains("2025-06-15T12:20:00.000Z"), "{html}");
    assert!(html.contains("2 hours ago"));
}
