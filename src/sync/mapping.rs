//! Auth0 users to stored rows, with the fingerprint that lets unchanged rows be skipped.

use crate::auth0::types::Auth0User;
use crate::store::UserRow;

/// Maps one Auth0 user to the row the store keeps.
pub fn user_row(u: &Auth0User) -> UserRow {
    let connections: Vec<&str> = u
        .identities
        .iter()
        .filter_map(|i| i.connection.as_deref())
        .collect();
    let mut row = UserRow {
        user_id: u.user_id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        connection: u.identities.first().and_then(|i| i.connection.clone()),
        connections: serde_json::to_string(&connections).unwrap_or_else(|_| "[]".into()),
        last_login: u.last_login.clone(),
        logins_count: u.logins_count.unwrap_or(0),
        created_at: u.created_at.clone().unwrap_or_default(),
        updated_at: u.updated_at.clone(),
        blocked: u.blocked.unwrap_or(false),
        email_verified: u.email_verified,
        search_text: search_text(u.email.as_deref(), u.name.as_deref()),
        fingerprint: String::new(),
    };
    row.fingerprint = fingerprint(&row);
    row
}

/// Email and name for search: Unicode lower case, on two lines so a match cannot span both.
pub fn search_text(email: Option<&str>, name: Option<&str>) -> String {
    format!("{}\n{}", email.unwrap_or(""), name.unwrap_or("")).to_lowercase()
}

/// FNV-1a over every stored field, with separators so that shifted text cannot collide.
pub fn fingerprint(r: &UserRow) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("\u{0}", |s| s).to_string();
    let parts = [
        r.user_id.clone(),
        opt(&r.email),
        opt(&r.name),
        opt(&r.connection),
        r.connections.clone(),
        opt(&r.last_login),
        r.logins_count.to_string(),
        r.created_at.clone(),
        opt(&r.updated_at),
        r.blocked.to_string(),
        format!("{:?}", r.email_verified),
        r.search_text.clone(),
    ];
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    fnv_hex(&refs)
}

/// FNV-1a 64 of the parts, each followed by a separator, as 16 hex digits (text, since D1
/// numbers are doubles and would round a 64-bit hash).
pub fn fnv_hex(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0x1f]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Auth0User {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn maps_primary_and_all_connections_and_absent_logins() {
        let u = parse(serde_json::json!({
            "user_id": "google-oauth2|1", "email": "a@x.io", "name": "A",
            "created_at": "2023-01-25T17:48:14.784Z",
            "identities": [{"connection": "google-oauth2", "provider": "google-oauth2", "access_token": "idp-secret"},
                           {"connection": "Username-Password-Authentication"}],
            "app_metadata": {"plan": "x"}
        }));
        let r = user_row(&u);
        assert_eq!(r.connection.as_deref(), Some("google-oauth2"));
        assert_eq!(
            r.connections,
            "[\"google-oauth2\",\"Username-Password-Authentication\"]"
        );
        assert_eq!(
            (r.last_login.as_deref(), r.logins_count, r.blocked),
            (None, 0, false)
        );
        assert_eq!(r.email_verified, None);
        assert!(!serde_json::to_string(&r).unwrap().contains("idp-secret"));
    }

    #[test]
    fn search_text_folds_case_in_every_script() {
        assert_eq!(
            search_text(Some("ZOË@X.IO"), Some("Åström ÉMILE")),
            "zoë@x.io\nåström émile"
        );
        assert_eq!(search_text(None, None), "\n");
    }

    #[test]
    fn fingerprint_changes_with_any_field_and_not_otherwise() {
        let base = user_row(&parse(
            serde_json::json!({"user_id": "a", "created_at": "t", "name": "N"}),
        ));
        assert_eq!(base.fingerprint, fingerprint(&base));
        let mut variants = Vec::new();
        let mut v = base.clone();
        v.name = None;
        variants.push(v);
        let mut v = base.clone();
        v.name = Some(String::new());
        variants.push(v);
        let mut v = base.clone();
        v.last_login = Some("t2".into());
        variants.push(v);
        let mut v = base.clone();
        v.logins_count = 1;
        variants.push(v);
        let mut v = base.clone();
        v.blocked = true;
        variants.push(v);
        let mut v = base.clone();
        v.email_verified = Some(false);
        variants.push(v);
        for v in variants {
            assert_ne!(fingerprint(&v), base.fingerprint, "{v:?}");
        }
    }
}
