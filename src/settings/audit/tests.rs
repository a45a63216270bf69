use super::*;

#[test]
fn audit_entry_json_shape_names_fields_not_values() {
    let e = AuditEntry {
        who: "ada@example.com".into(),
        at_ms: 1_700_000_000_000,
        action: AuditAction::RotateSecret,
        tenant: "acme-prod".into(),
        changed: vec![ChangedField::ClientSecret, ChangedField::MauQuota],
    };
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "who": "ada@example.com",
            "at_ms": 1_700_000_000_000_i64,
            "action": "rotate_secret",
            "tenant": "acme-prod",
            "changed": ["client_secret", "mau_quota"],
        })
    );
}
