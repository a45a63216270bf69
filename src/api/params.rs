//! Query-string parameters and the opaque paging cursor.

use super::ApiError;
use crate::store::UserRecord;
use crate::store::users::{Position, Sort, SortKey, StatusFilter, UsersQuery};
use crate::time::{EpochMs, iso_from_ms};

/// Decodes `a=1&b=x%20y` into pairs; text that does not decode to UTF-8 gives none.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    crate::http::decode_form(query).unwrap_or_default()
}

/// The longest parameter value read, in bytes: far beyond any real filter, and short enough
/// that no value can reach the database's limits.
pub const MAX_VALUE: usize = 4096;
/// The longest cursor: it carries a sort key (an email can be long) and a user id, in hex.
const MAX_CURSOR: usize = 65_536;

/// A request's decoded query parameters.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a query string.
    ///
    /// # Errors
    /// The text is not UTF-8 once percent-decoded.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        crate::http::decode_form(query)
            .map(Self)
            .map_err(|e| bad("query", e.to_string()))
    }

    /// A parameter's value; an empty value counts as not given, as HTML forms send every field.
    ///
    /// # Errors
    /// The parameter is given twice with different values (which one was meant?), or its value
    /// is longer than any real one.
    pub fn get(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if let Some(v) = first {
            if values.any(|other| other != v) {
                return Err(bad(name, "is given more than once with different values"));
            }
            let max = if name == "cursor" {
                MAX_CURSOR
            } else {
                MAX_VALUE
            };
            if v.len() > max {
                return Err(bad(name, format!("must be at most {max} bytes")));
            }
        }
        Ok(first)
    }

    /// A parameter's first value as given, empty or not, for echoing a form back.
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Reads `limit`, defaulting and bounding it.
///
/// # Errors
/// Not a whole number in `1..=max`, or an undecodable query.
pub fn limit(query: &str, default: u32, max: u32) -> Result<u32, ApiError> {
    limit_of(&Params::parse(query)?, default, max)
}

fn limit_of(p: &Params, default: u32, max: u32) -> Result<u32, ApiError> {
    match p.get("limit")? {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| bad("limit", format!("must be a whole number from 1 to {max}"))),
    }
}

/// Longest accepted search text: longer is no search a person types.
const MAX_SEARCH: usize = 200;

fn bad(name: &'static str, problem: impl Into<String>) -> ApiError {
    ApiError::BadParam {
        name,
        problem: problem.into(),
    }
}

/// Parses `sort=<field>[:asc|:desc]`.
fn sort(p: &Params) -> Result<Sort, ApiError> {
    let Some(raw) = p.get("sort")? else {
        return Ok(Sort::default());
    };
    let (field, dir) = raw.split_once(':').unwrap_or((raw, "asc"));
    let key = match field {
        "user_id" => SortKey::UserId,
        "last_login" => SortKey::LastLogin,
        "created_at" => SortKey::CreatedAt,
        "email" => SortKey::Email,
        _ => {
            return Err(bad(
                "sort",
                "must be last_login, created_at, email or user_id, optionally with :asc or :desc",
            ));
        }
    };
    let desc = match dir {
        "asc" => false,
        "desc" => true,
        _ => return Err(bad("sort", "the direction after `:` must be asc or desc")),
    };
    Ok(Sort { key, desc })
}

pub(super) fn sort_name(s: Sort) -> String {
    let field = match s.key {
        SortKey::UserId => "user_id",
        SortKey::LastLogin => "last_login",
        SortKey::CreatedAt => "created_at",
        SortKey::Email => "email",
    };
    format!("{field}:{}", if s.desc { "desc" } else { "asc" })
}

/// The cursor's content: the order it belongs to and the last row's position. Written as
/// `{"s":…,"k":…,"u":…}` (fields in this order) and read back field by field.
#[derive(serde::Serialize)]
struct CursorBody {
    s: String,
    k: String,
    u: String,
}

impl CursorBody {
    fn text(&self) -> String {
        super::json::body(self)
    }

    fn read(text: &str) -> Option<Self> {
        let v = crate::fields::parse(text).ok()?;
        let f = crate::fields::Fields::of(&v).ok()?;
        Some(Self {
            s: f.string("s").ok()?,
            k: f.string("k").ok()?,
            u: f.string("u").ok()?,
        })
    }
}

/// Where `last` stands under `sort`, to continue after it.
pub fn position_of(sort: Sort, last: &UserRecord) -> Position {
    Position {
        key: sort.key.value(last),
        user_id: last.user_id.clone(),
    }
}

/// The cursor for the page after `last`, under `sort`.
pub fn cursor_after(sort: Sort, last: &UserRecord) -> String {
    let body = CursorBody {
        s: sort_name(sort),
        k: sort.key.value(last),
        u: last.user_id.clone(),
    };
    encode_cursor(&body.text())
}

/// Parses `/api/users` (and members) parameters; `now` anchors `inactive_days`.
///
/// # Errors
/// The first malformed parameter, by name.
pub fn users_query(query: &str, now: EpochMs) -> Result<UsersQuery, ApiError> {
    let p = Params::parse(query)?;
    let sort = sort(&p)?;
    let after = match p.get("cursor")? {
        None => None,
        Some(c) => {
            let body: CursorBody = decode_cursor(c)
                .and_then(|json| CursorBody::read(&json))
                .ok_or_else(|| {
                    bad(
                        "cursor",
                        "not a cursor this API issued; start again without it",
                    )
                })?;
            if body.s != sort_name(sort) {
                return Err(bad(
                    "cursor",
                    "belongs to another sort order; start again without it",
                ));
            }
            Some(Position {
                key: body.k,
                user_id: body.u,
            })
        }
    };
    let status = match p.get("status")? {
        None => StatusFilter::Current,
        Some("active") => StatusFilter::Active,
        Some("blocked") => StatusFilter::Blocked,
        Some("removed") => StatusFilter::Removed,
        Some("all") => StatusFilter::All,
        Some(_) => return Err(bad("status", "must be active, blocked, removed or all")),
    };
    let inactive_before = match p.get("inactive_days")? {
        None => None,
        Some(v) => {
            let days = v
                .parse::<u64>()
                .ok()
                .filter(|d| (1..=36_500).contains(d))
                .ok_or_else(|| {
                    bad(
                        "inactive_days",
                        "must be a whole number of days from 1 to 36500",
                    )
                })?;
            Some(iso_from_ms(now.saturating_sub(days * 86_400_000)))
        }
    };
    let never_logged_in = match p.get("never_logged_in")? {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("never_logged_in", "must be true or false")),
    };
    let last_login_between = match p.get("last_login_days")? {
        None => None,
        Some(v) => Some(last_login_days(v, now).ok_or_else(|| {
            bad(
                "last_login_days",
                "must be a range of days like 30-60 (more than 30, at most 60 days ago) or 365- \
                 (more than 365), from 0 to 36500",
            )
        })?),
    };
    let search = match p.get("q")? {
        None => None,
        Some(v) if v.chars().count() > MAX_SEARCH => {
            return Err(bad("q", format!("must be at most {MAX_SEARCH} characters")));
        }
        // Unicode lower case, not ASCII: `search_text` is stored lower-cased with Unicode rules
        // (sync::mapping) and matched with `instr`, so `ÅSTRÖM` must become `åström`. (The
        // sync and this query go through the same `lowercase`.)
        Some(v) => Some(crate::lowercase::lowercase(v)),
    };
    Ok(UsersQuery {
        limit: limit_of(&p, 100, 1000)?,
        after,
        status,
        connection: p.get("connection")?.map(str::to_string),
        organization: p.get("organization")?.map(str::to_string),
        inactive_before,
        never_logged_in,
        last_login_between,
        search,
        sort,
    })
}

/// `A-B`: a last login more than `A` and at most `B` days before `now` (`A` = 0: any time up to
/// now, the future included); `A-`: more than `A` days. As instants: `[now − B, now − A)`.
fn last_login_days(v: &str, now: EpochMs) -> Option<(String, Option<String>)> {
    let (a, b) = v.split_once('-')?;
    let day = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .filter(|d| *d <= 36_500)
    };
    let at = |d: u64| iso_from_ms(now.saturating_sub(d * 86_400_000));
    let a = day(a)?;
    if b.is_empty() {
        return Some((String::new(), Some(at(a))));
    }
    let b = day(b)?;
    if b <= a {
        return None;
    }
    Some((at(b), (a > 0).then(|| at(a))))
}

impl UsersQuery {
    /// The same query asking one row more, to learn whether another page follows.
    pub fn fetch_one_more(&self) -> Self {
        Self {
            limit: self.limit + 1,
            ..self.clone()
        }
    }
}

/// Makes the opaque cursor for a key: hex, so it survives any URL unescaped.
pub fn encode_cursor(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Reads a cursor back.
pub fn decode_cursor(c: &str) -> Option<String> {
    if !c.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(c.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_login_days_is_a_validated_range_of_instants() {
        let q = |v: &str| users_query(&format!("last_login_days={v}"), NOW);
        let day = |d: u64| iso_from_ms(NOW - d * 86_400_000);
        assert_eq!(
            q("30-60").unwrap().last_login_between,
            Some((day(60), Some(day(30))))
        );
        assert_eq!(q("0-30").unwrap().last_login_between, Some((day(30), None)));
        assert_eq!(
            q("365-").unwrap().last_login_between,
            Some((String::new(), Some(day(365))))
        );
        for bad in [
            "30", "60-30", "30-30", "-30", "a-b", "+1-2", "1-99999", "1--2", "1-2-3",
        ] {
            let e = q(bad).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains("last_login_days"), "{bad}: {e}");
        }
    }

    #[test]
    fn cursor_round_trips_any_id_and_rejects_junk() {
        for id in ["auth0|abc", "samlp|acme|ü@x.io", ""] {
            assert_eq!(decode_cursor(&encode_cursor(id)).as_deref(), Some(id));
        }
        for bad in ["zz", "abc", "ff"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    const NOW: EpochMs = 1_750_000_000_000;

    #[test]
    fn users_query_defaults_bounds_and_names_the_bad_parameter() {
        // A form submits every field; empty ones are not filters.
        let empty = users_query(
            "q=&status=&connection=&organization=&inactive_days=&sort=&cursor=&limit=",
            NOW,
        );
        assert_eq!(
            empty.unwrap(),
            UsersQuery {
                limit: 100,
                ..UsersQuery::default()
            }
        );
        let q = users_query("", NOW).unwrap();
        assert_eq!(
            q,
            UsersQuery {
                limit: 100,
                ..UsersQuery::default()
            }
        );
        let q = users_query("limit=1000&status=all&connection=google-oauth2&organization=org_1&q=Ann%20B&sort=last_login:desc&never_logged_in=true&inactive_days=30", NOW).unwrap();
        assert_eq!(q.limit, 1000);
        assert_eq!(q.status, StatusFilter::All);
        assert_eq!(q.connection.as_deref(), Some("google-oauth2"));
        assert_eq!(q.organization.as_deref(), Some("org_1"));
        assert_eq!(q.search.as_deref(), Some("ann b"));
        assert_eq!(
            q.sort,
            Sort {
                key: SortKey::LastLogin,
                desc: true
            }
        );
        assert!(q.never_logged_in);
        assert_eq!(
            q.inactive_before.as_deref(),
            Some("2025-05-16T15:06:40.000Z")
        );
        for (query, name) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("cursor=zz", "cursor"),
            ("status=gone", "status"),
            ("inactive_days=0", "inactive_days"),
            ("inactive_days=-3", "inactive_days"),
            ("never_logged_in=yes", "never_logged_in"),
            ("sort=name", "sort"),
            ("sort=email:up", "sort"),
        ] {
            match users_query(query, NOW) {
                Err(ApiError::BadParam { name: n, .. }) => assert_eq!(n, name, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
        let long = format!("q={}", "a".repeat(201));
        assert!(users_query(&long, NOW).is_err());
    }

    #[test]
    fn a_cursor_carries_its_position_and_belongs_to_one_sort() {
        let row = serde_json::json!({
            "user_id": "auth0|1", "email": "a@x", "name": null, "connection": null, "connections": "[]",
            "last_login": null, "logins_count": 0, "created_at": "2020", "updated_at": null,
            "blocked": 0, "email_verified": null, "first_seen_at": "f", "removed_at": null
        });
        let rec = <UserRecord as crate::store::FromRow>::from_row(
            crate::fields::Fields::of(&row).unwrap(),
        )
        .unwrap();
        let sort = Sort {
            key: SortKey::Email,
            desc: true,
        };
        let c = cursor_after(sort, &rec);
        let q = users_query(&format!("sort=email:desc&cursor={c}"), NOW).unwrap();
        assert_eq!(
            q.after,
            Some(Position {
                key: "a@x".into(),
                user_id: "auth0|1".into()
            })
        );
        assert!(matches!(
            users_query(&format!("sort=email&cursor={c}"), NOW),
            Err(ApiError::BadParam { name: "cursor", .. })
        ));
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(
            pairs("q=a%20b+c&x"),
            [("q".into(), "a b c".into()), ("x".into(), String::new())]
        );
        assert_eq!(pairs("q=100%"), [("q".into(), "100%".into())]);
        // Issue 9 §2: a `%` before a multi-byte character panicked here.
        assert_eq!(
            pairs("q=%é&r=%4ü"),
            [("q".into(), "%é".into()), ("r".into(), "%4ü".into())]
        );
        assert_eq!(pairs("q=%FF"), []);
    }

    fn bad_name(query: &str) -> (&'static str, String) {
        match users_query(query, NOW) {
            Err(ApiError::BadParam { name, problem }) => (name, problem),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn undecodable_repeated_conflicting_and_huge_parameters_are_named() {
        let (name, problem) = bad_name("q=%FF%FE");
        assert_eq!(name, "query");
        assert!(problem.contains("UTF-8"), "{problem}");
        let (name, problem) = bad_name("status=active&status=blocked");
        assert_eq!(name, "status");
        assert!(problem.contains("more than once"), "{problem}");
        assert_eq!(bad_name("limit=5&limit=6").0, "limit");
        // The same value twice, or an empty repeat (forms send every field), is no conflict.
        let q = users_query("limit=5&limit=5&status=&status=all", NOW).unwrap();
        assert_eq!((q.limit, q.status), (5, StatusFilter::All));
        let huge = format!("connection={}", "c".repeat(MAX_VALUE + 1));
        let (name, problem) = bad_name(&huge);
        assert_eq!(name, "connection");
        assert!(problem.contains("at most 4096 bytes"), "{problem}");
        let fits = format!("connection={}", "c".repeat(MAX_VALUE));
        assert!(users_query(&fits, NOW).is_ok());
        assert_eq!(bad_name("limit=99999999999999999999999").0, "limit");
        assert_eq!(
            bad_name("inactive_days=18446744073709551616").0,
            "inactive_days"
        );
        assert!(matches!(
            limit("limit=1&limit=2", 50, 500),
            Err(ApiError::BadParam { name: "limit", .. })
        ));
    }
}
