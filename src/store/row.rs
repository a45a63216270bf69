//! Reading database rows: each row type reads itself from one row's fields ([`FromRow`]).
//!
//! D1 (wasm) and SQLite (native tests) both hand the rows over as one JSON array of objects keyed
//! by column name, parsed once into a [`Value`]; no serde deserializer is instantiated per row
//! type (see `crate::fields` for why). Booleans come back as 0/1, JSON columns as text.

use serde_json::Value;

use super::StoreError;
use crate::fields::{FieldError, Fields};

/// A type read from one row of a query.
pub trait FromRow: Sized {
    /// Reads the row.
    ///
    /// # Errors
    /// A column is missing or of the wrong type; the error names it.
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError>;
}

/// Reads every row of `rows` (a JSON array of objects, as D1 gives `results`).
///
/// # Errors
/// `rows` is not an array, or a row does not read; `detail` names the field.
pub fn read_rows<T: FromRow>(op: &'static str, rows: &Value) -> Result<Vec<T>, StoreError> {
    let fail = |e: FieldError| StoreError {
        op,
        detail: e.to_string(),
    };
    let Value::Array(rows) = rows else {
        return Err(fail(FieldError::new("results", "an array of rows")));
    };
    // A loop, not `collect` into a `Result`: that adapter is compiled again per row type.
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(Fields::of(row).and_then(T::from_row).map_err(fail)?);
    }
    Ok(out)
}

/// A JSON list stored as text (e.g. `connections`); absent, `null` or unreadable text reads as
/// empty, as a list nobody can read is no list.
///
/// # Errors
/// The column is present but not text.
pub fn json_list(row: Fields<'_>, key: &str) -> Result<Vec<String>, FieldError> {
    let Some(text) = row.opt_str(key)? else {
        return Ok(Vec::new());
    };
    let Ok(Value::Array(items)) = crate::fields::parse(text) else {
        return Ok(Vec::new());
    };
    // All strings or nothing: a list with anything else in it is not one we wrote.
    items
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .map_or_else(|| Ok(Vec::new()), Ok)
}

/// Tests read ad-hoc queries as the rows' objects.
#[cfg(test)]
impl FromRow for Value {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Value::Object(row.map().clone()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq)]
    struct IdRow {
        id: String,
    }

    impl FromRow for IdRow {
        fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
            Ok(Self {
                id: row.string("id")?,
            })
        }
    }

    #[test]
    fn rows_read_in_order_and_a_bad_row_names_its_field() {
        let ids: Vec<IdRow> = read_rows("t", &json!([{"id": "a"}, {"id": "b"}])).unwrap();
        assert_eq!(ids, [IdRow { id: "a".into() }, IdRow { id: "b".into() }]);
        let err = read_rows::<IdRow>("read ids", &json!([{"id": "a"}, {"id": 3}])).unwrap_err();
        assert_eq!(err.op, "read ids");
        assert_eq!(err.detail, "field `id`: expected a string");
        let err = read_rows::<IdRow>("t", &json!([{"other": "a"}])).unwrap_err();
        assert_eq!(err.detail, "field `id`: expected a string");
        let err = read_rows::<IdRow>("t", &json!([7])).unwrap_err();
        assert_eq!(err.detail, "expected an object");
        let err = read_rows::<IdRow>("t", &json!({"id": "a"})).unwrap_err();
        assert_eq!(err.detail, "field `results`: expected an array of rows");
        assert!(read_rows::<IdRow>("t", &json!([])).unwrap().is_empty());
    }

    #[test]
    fn json_lists_read_text_and_anything_else_as_empty() {
        let v = json!({"l": "[\"a\",\"b\"]", "bad": "[1]", "junk": "{", "nul": null, "n": 3});
        let f = Fields::of(&v).unwrap();
        assert_eq!(json_list(f, "l").unwrap(), ["a", "b"]);
        assert!(json_list(f, "bad").unwrap().is_empty());
        assert!(json_list(f, "junk").unwrap().is_empty());
        assert!(json_list(f, "nul").unwrap().is_empty());
        assert!(json_list(f, "missing").unwrap().is_empty());
        assert_eq!(
            json_list(f, "n").unwrap_err().to_string(),
            "field `n`: expected a string"
        );
    }
}
