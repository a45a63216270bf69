//! Query-string parameters and the opaque paging cursor.

use super::ApiError;
use crate::store::UsersQuery;

/// Decodes `a=1&b=x%20y` into pairs.
pub fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Reads `limit`, defaulting and bounding it.
///
/// # Errors
/// Not a whole number in `1..=max`.
pub fn limit(query: &str, default: u32, max: u32) -> Result<u32, ApiError> {
    match get(&pairs(query), "limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::BadParam {
                name: "limit",
                problem: format!("must be a whole number from 1 to {max}"),
            }),
    }
}

/// Parses `/api/users` parameters.
///
/// # Errors
/// A bad `limit`, `cursor` or `status`, by name.
pub fn users_query(query: &str) -> Result<UsersQuery, ApiError> {
    let p = pairs(query);
    let after = match get(&p, "cursor") {
        None | Some("") => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::BadParam {
            name: "cursor",
            problem: "not a cursor this API issued; start again without it".into(),
        })?),
    };
    let include_removed = match get(&p, "status") {
        None => false,
        Some("all") => true,
        Some(_) => {
            return Err(ApiError::BadParam {
                name: "status",
                problem: "must be `all` (include removed users) or absent".into(),
            });
        }
    };
    Ok(UsersQuery {
        limit: limit(query, 100, 1000)?,
        after,
        include_removed,
    })
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
    fn cursor_round_trips_any_id_and_rejects_junk() {
        for id in ["auth0|abc", "samlp|acme|ü@x.io", ""] {
            assert_eq!(decode_cursor(&encode_cursor(id)).as_deref(), Some(id));
        }
        for bad in ["zz", "abc", "ff"] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }

    #[test]
    fn users_query_defaults_bounds_and_names_the_bad_parameter() {
        let q = users_query("").unwrap();
        assert_eq!((q.limit, q.after, q.include_removed), (100, None, false));
        let q = users_query("limit=1000&status=all&cursor=6162").unwrap();
        assert_eq!(
            (q.limit, q.after.as_deref(), q.include_removed),
            (1000, Some("ab"), true)
        );
        for (query, name) in [
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("cursor=zz", "cursor"),
            ("status=gone", "status"),
        ] {
            match users_query(query) {
                Err(ApiError::BadParam { name: n, .. }) => assert_eq!(n, name, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(
            pairs("q=a%20b+c&x"),
            [("q".into(), "a b c".into()), ("x".into(), String::new())]
        );
        assert_eq!(pairs("q=100%"), [("q".into(), "100%".into())]);
    }
}
