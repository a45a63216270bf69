//! The CSV export: RFC 4180 quoting, UTF-8, and cells neutralised against formula injection.

use crate::store::UserRecord;

/// The columns, in order.
const COLUMNS: [&str; 14] = [
    "user_id",
    "email",
    "name",
    "connection",
    "connections",
    "organizations",
    "last_login",
    "logins_count",
    "created_at",
    "updated_at",
    "blocked",
    "email_verified",
    "first_seen_at",
    "removed_at",
];

/// The byte-order mark and header line. The mark makes spreadsheet programs read UTF-8.
pub fn header() -> String {
    format!("\u{feff}{}\r\n", COLUMNS.join(","))
}

/// One quoted cell. Text a spreadsheet would run as a formula gets a leading `'`.
pub fn cell(value: &str) -> String {
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text = if risky {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn opt(v: Option<&str>) -> String {
    v.map(cell).unwrap_or_default()
}

/// One user as a CSV line, CRLF-terminated.
pub fn row(u: &UserRecord) -> String {
    let cells = [
        cell(&u.user_id),
        opt(u.email.as_deref()),
        opt(u.name.as_deref()),
        opt(u.connection.as_deref()),
        cell(&u.connections.join(" ")),
        cell(&u.organizations.join(" ")),
        opt(u.last_login.as_deref()),
        u.logins_count.to_string(),
        cell(&u.created_at),
        opt(u.updated_at.as_deref()),
        u.blocked.to_string(),
        u.email_verified.map(|v| v.to_string()).unwrap_or_default(),
        cell(&u.first_seen_at),
        opt(u.removed_at.as_deref()),
    ];
    let mut line = cells.join(",");
    line.push_str("\r\n");
    line
}

/// Several users' lines.
pub fn rows(users: &[UserRecord]) -> String {
    users.iter().map(row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> UserRecord {
        UserRecord {
            user_id: "auth0|1".into(),
            email: Some("a@x.io".into()),
            name: Some(name.into()),
            connection: Some("c".into()),
            connections: vec!["c".into(), "d".into()],
            last_login: None,
            logins_count: 3,
            created_at: "2024-01-01T00:00:00.000Z".into(),
            updated_at: None,
            blocked: true,
            email_verified: Some(false),
            first_seen_at: "2025-01-01T00:00:00.000Z".into(),
            removed_at: None,
            organizations: vec!["org_1".into()],
        }
    }

    #[test]
    fn quotes_per_rfc_4180_and_keeps_utf8() {
        assert_eq!(cell("plain"), "\"plain\"");
        assert_eq!(cell("a \"q\", b\r\nc"), "\"a \"\"q\"\", b\r\nc\"");
        assert_eq!(cell("Zoë 🦀 مرحبا"), "\"Zoë 🦀 مرحبا\"");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, out) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1", "\"'+1\""),
            ("-2", "\"'-2\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\tx", "\"'\tx\""),
            ("\rx", "\"'\rx\""),
        ] {
            assert_eq!(cell(raw), out);
        }
    }

    #[test]
    fn a_row_has_every_column_in_order() {
        let line = row(&user("Ann"));
        assert_eq!(
            line,
            "\"auth0|1\",\"a@x.io\",\"Ann\",\"c\",\"c d\",\"org_1\",,3,\"2024-01-01T00:00:00.000Z\",,true,false,\"2025-01-01T00:00:00.000Z\",\r\n"
        );
        assert!(header().starts_with("\u{feff}user_id,email,"));
        assert_eq!(header().trim_end().split(',').count(), COLUMNS.len());
    }
}
