//! Bounded writes: lists of ids split so that no bound value nears D1's 2 MB cap, and what a
//! written chunk of users counts.

use std::collections::HashSet;

use crate::store::UserRow;

/// Bytes of JSON per bound list: far below D1's 2 MB limit on one value.
pub const MAX_JSON_BYTES: usize = 512 * 1024;
/// Ids per bound list, whatever their length.
pub const MAX_IDS: usize = 5000;

/// Splits `ids` into consecutive chunks whose JSON arrays stay within [`MAX_JSON_BYTES`] and
/// [`MAX_IDS`]. An id too long for a chunk of its own still gets one (Auth0 ids are short).
pub fn id_chunks(ids: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 2);
    for (i, id) in ids.iter().enumerate() {
        // Quotes and a comma; escapes can at most double an id's length.
        let cost = 2 * id.len() + 3;
        if i > start && (bytes + cost > MAX_JSON_BYTES || i - start >= MAX_IDS) {
            out.push(&ids[start..i]); // ok: start < i <= len
            start = i;
            bytes = 2;
        }
        bytes += cost;
    }
    if start < ids.len() {
        out.push(&ids[start..]); // ok: start < len
    }
    out
}

/// Of the users of a written `chunk`, how many are new and how many were stored (`known`):
/// counted as each chunk lands, so a block done again after a refused chunk (D1's daily limit)
/// counts only what it still writes.
pub fn added_and_updated(chunk: &[UserRow], known: &HashSet<&str>) -> (u64, u64) {
    let updated = chunk
        .iter()
        .filter(|r| known.contains(r.user_id.as_str()))
        .count() as u64;
    (chunk.len() as u64 - updated, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_counts_stored_users_as_updated_and_the_others_as_added() {
        let row = |id: &str| {
            crate::sync::mapping::user_row(
                &serde_json::from_value(serde_json::json!({"user_id": id, "created_at": "t"}))
                    .unwrap(),
            )
        };
        let chunk = [row("a"), row("b"), row("c")];
        let known: HashSet<&str> = ["b", "z"].into_iter().collect();
        assert_eq!(added_and_updated(&chunk, &known), (2, 1));
        assert_eq!(added_and_updated(&chunk, &HashSet::new()), (3, 0));
        assert_eq!(added_and_updated(&[], &known), (0, 0));
    }

    #[test]
    fn chunks_cover_every_id_once_and_stay_under_the_bound() {
        assert!(id_chunks(&[]).is_empty());
        let ids: Vec<String> = (0..23_456).map(|i| format!("auth0|{i:024}")).collect();
        let chunks = id_chunks(&ids);
        assert_eq!(chunks.concat(), ids);
        assert!(chunks.len() >= 5);
        for c in &chunks {
            assert!(c.len() <= MAX_IDS);
            assert!(serde_json::to_string(c).unwrap().len() <= MAX_JSON_BYTES);
        }
        let long: Vec<String> = (0..40)
            .map(|i| format!("{i}{}", "x".repeat(100_000)))
            .collect();
        let chunks = id_chunks(&long);
        assert_eq!(chunks.concat(), long);
        assert!(
            chunks
                .iter()
                .all(|c| serde_json::to_string(c).unwrap().len() <= MAX_JSON_BYTES)
        );
    }
}
