use super::*;

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Settings {
    move |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    }
}

const TOKEN: &str = "0123456789abcdef-admin";

fn token() -> AdminToken {
    AdminToken::from_settings(&env(&[("ADMIN_TOKEN", TOKEN)]))
        .unwrap()
        .unwrap()
}

#[test]
fn admin_token_unset_or_blank_is_none() {
    assert!(AdminToken::from_settings(&env(&[])).unwrap().is_none());
    assert!(
        AdminToken::from_settings(&env(&[("ADMIN_TOKEN", "  ")]))
            .unwrap()
            .is_none()
    );
}

#[test]
fn admin_token_too_short_names_setting_without_value() {
    let e = AdminToken::from_settings(&env(&[("ADMIN_TOKEN", "short-secret")])).unwrap_err();
    assert_eq!(e.setting, "ADMIN_TOKEN");
    assert!(e.problem.contains("16"), "{e}");
    assert!(!e.to_string().contains("short-secret"), "{e}");
}

#[test]
fn admin_token_debug_hides_value() {
    assert!(!format!("{:?}", token()).contains(TOKEN));
}

#[test]
fn admin_token_matches_only_itself() {
    let t = token();
    assert!(t.matches(TOKEN));
    assert!(!t.matches("0123456789abcdef-admiN"));
    assert!(!t.matches("0123456789abcdef-admin-longer"));
    assert!(!t.matches(""));
}

#[test]
fn admin_emails_trimmed_and_case_insensitive() {
    let e = AdminEmails::from_settings(&env(&[("ADMIN_EMAILS", " Ada@Example.com ,, bob@x.io ")]));
    assert!(e.contains("ada@example.com"));
    assert!(e.contains("ADA@EXAMPLE.COM "));
    assert!(e.contains("bob@x.io"));
    assert!(!e.contains("eve@x.io"));
    assert!(!e.contains(""));
    assert!(!AdminEmails::from_settings(&env(&[])).contains("ada@example.com"));
}

#[test]
fn role_decision() {
    let t = token();
    let emails = AdminEmails::parse("ada@example.com");
    assert_eq!(
        role(Credential::Bearer(TOKEN), Some(&t), &emails),
        Role::Admin
    );
    assert_eq!(
        role(Credential::Bearer("viewer-token-xxxxxx"), Some(&t), &emails),
        Role::Viewer
    );
    assert_eq!(role(Credential::Bearer(TOKEN), None, &emails), Role::Viewer);
    assert_eq!(
        role(Credential::Session { admin: true }, None, &emails),
        Role::Admin
    );
    assert_eq!(
        role(Credential::Session { admin: false }, Some(&t), &emails),
        Role::Viewer
    );
    assert_eq!(
        role(
            Credential::Access {
                email: "ADA@example.com"
            },
            None,
            &emails
        ),
        Role::Admin
    );
    assert_eq!(
        role(
            Credential::Access {
                email: "eve@example.com"
            },
            Some(&t),
            &emails
        ),
        Role::Viewer
    );
}
