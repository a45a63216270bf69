//! Auth0 users to stored rows, with the fingerprint that lets unchanged rows be skipped.

use crate::auth::encoding::hex_encode;
use crate::auth::sha256::sha256;
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
    crate::lowercase::lowercase(&format!("{}\n{}", email.unwrap_or(""), name.unwrap_or("")))
}

/// The fingerprint of every stored field, to skip rows that did not change (see [`digest_hex`]).
///
/// Users choose their own names and emails, so the hash must be one nobody can steer: with a
/// 64-bit non-cryptographic hash (FNV-1a, before), a crafted change could keep the old
/// fingerprint and never be stored.
pub fn fingerprint(r: &UserRow) -> String {
    let logins = r.logins_count.to_string();
    let blocked = if r.blocked { "true" } else { "false" };
    let verified = r.email_verified.map(|v| if v { "true" } else { "false" });
    digest_hex(&[
        Some(&r.user_id),
        r.email.as_deref(),
        r.name.as_deref(),
        r.connection.as_deref(),
        Some(&r.connections),
        r.last_login.as_deref(),
        Some(&logins),
        Some(&r.created_at),
        r.updated_at.as_deref(),
        Some(blocked),
        verified,
        Some(&r.search_text),
    ])
}

/// One unambiguous byte string for a list of optional fields: each absent field is `0x00`, each
/// present one `0x01`, its length as 8 bytes big-endian, then its bytes. No two lists of fields
/// share an encoding, whatever bytes the fields hold.
pub fn canonical(fields: &[Option<&str>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| 9 + f.map_or(0, str::len)).sum());
    for field in fields {
        match field {
            None => out.push(0),
            Some(text) => {
                out.push(1);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

/// SHA-256 of the fields' [`canonical`] encoding, as 64 lowercase hex digits (text, since D1
/// numbers are doubles).
pub fn digest_hex(fields: &[Option<&str>]) -> String {
    hex_encode(&sha256(&canonical(fields)))
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

    /// The canonical encoding, written out by hand from its definition.
    fn encoded(fields: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in fields {
            if let Some(t) = f {
                out.push(1u8);
                out.extend((t.len() as u64).to_be_bytes());
                out.extend(t.bytes());
            } else {
                out.push(0u8);
            }
        }
        out
    }

    #[test]
    fn fingerprint_is_sha256_of_the_length_prefixed_fields() {
        let r = user_row(&parse(serde_json::json!({
            "user_id": "auth0|1", "email": "a@x.io", "name": "Ann", "created_at": "t",
            "logins_count": 3, "blocked": true, "email_verified": false,
            "identities": [{"connection": "db"}]
        })));
        let fields = [
            Some("auth0|1"),
            Some("a@x.io"),
            Some("Ann"),
            Some("db"),
            Some("[\"db\"]"),
            None,
            Some("3"),
            Some("t"),
            None,
            Some("true"),
            Some("false"),
            Some("a@x.io\nann"),
        ];
        assert_eq!(canonical(&fields), encoded(&fields));
        assert_eq!(r.fingerprint, hex_encode(&sha256(&encoded(&fields))));
        assert_eq!(r.fingerprint.len(), 64);
        // SHA-256 itself, on a published vector.
        assert_eq!(
            digest_hex(&[Some("abc")]),
            hex_encode(&sha256(b"\x01\0\0\0\0\0\0\0\x03abc"))
        );
    }

    #[test]
    fn rows_that_collide_under_the_old_fnv_fingerprint_differ() {
        // The old encoding wrote an absent value as "\0" and ended every field with 0x1f, so an
        // absent field and one holding "\0", or text shifted across a 0x1f, hashed the same.
        let base = user_row(&parse(
            serde_json::json!({"user_id": "a", "created_at": "t", "name": "N"}),
        ));
        let mut absent = base.clone();
        absent.updated_at = None;
        let mut nul = base.clone();
        nul.updated_at = Some("\u{0}".into());
        assert_ne!(fingerprint(&absent), fingerprint(&nul));
        let mut shifted_a = base.clone();
        (shifted_a.last_login, shifted_a.updated_at) = (Some("x\u{1f}y".into()), Some("z".into()));
        let mut shifted_b = base.clone();
        (shifted_b.last_login, shifted_b.updated_at) = (Some("x".into()), Some("y\u{1f}z".into()));
        assert_ne!(fingerprint(&shifted_a), fingerprint(&shifted_b));
        // The encodings themselves never coincide.
        for (x, y) in [
            (vec![None], vec![Some("")]),
            (vec![Some("")], vec![Some("\u{0}")]),
            (vec![Some("ab"), Some("")], vec![Some("a"), Some("b")]),
            (
                vec![Some("a\u{1f}b"), Some("c")],
                vec![Some("a"), Some("b\u{1f}c")],
            ),
            (vec![None, Some("x")], vec![Some("x"), None]),
        ] {
            assert_ne!(canonical(&x), canonical(&y), "{x:?} {y:?}");
            assert_ne!(digest_hex(&x), digest_hex(&y), "{x:?} {y:?}");
        }
    }

    #[test]
    fn organizations_that_collided_under_the_old_fingerprint_differ() {
        // Old: FNV-1a of "id 0x1f name 0x1f display 0x1f", the same bytes for both of these.
        let org = |v: serde_json::Value| {
            crate::sync::organizations::org_row(&serde_json::from_value(v).unwrap())
        };
        let a = org(serde_json::json!({"id": "org_1", "name": "a\u{1f}b", "display_name": "c"}));
        let b = org(serde_json::json!({"id": "org_1", "name": "a", "display_name": "b\u{1f}c"}));
        assert_ne!(a.fingerprint, b.fingerprint);
        let unnamed = org(serde_json::json!({"id": "org_1"}));
        let nul = org(serde_json::json!({"id": "org_1", "name": "\u{0}", "display_name": "\u{0}"}));
        assert_ne!(unnamed.fingerprint, nul.fingerprint);
        assert_eq!(
            a.fingerprint,
            digest_hex(&[Some("org_1"), Some("a\u{1f}b"), Some("c")])
        );
    }
}
