//! Typed reads of fields out of parsed JSON objects (Auth0 bodies, D1 rows, stored cursors,
//! webhook payloads).
//!
//! Why not a serde derive per type: measured group by group (BENCHMARKS.md, "Wasm size"), each
//! group of readers by derive costs 13 to 28 KB more gzip, over the 10 KB the issue 20 rule
//! allows. Parsing stays serde_json's, into one [`Value`]; this reader is one non-generic set of
//! functions, and its errors name the field (serde_json's give only a line and column).

use std::fmt;

use serde_json::{Map, Value};

/// A field that could not be read: which one, and what was wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (`""` for the value itself).
    pub field: String,
    /// What the reader expected, e.g. "a string".
    pub expected: &'static str,
}

impl FieldError {
    /// `field` was not `expected`.
    pub fn new(field: &str, expected: &'static str) -> Self {
        Self {
            field: field.to_string(),
            expected,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "expected {}", self.expected)
        } else {
            write!(f, "field `{}`: expected {}", self.field, self.expected)
        }
    }
}

impl std::error::Error for FieldError {}

/// Parses JSON text into a [`Value`]: the one serde_json deserializer instantiation the readers
/// below need.
///
/// # Errors
/// serde_json's, with its line and column.
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text)
}

/// An integer from a JSON number: integers as they are, floats only when whole and in range (D1
/// and JS hand every number over as a double).
fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            // 2^63 as a double: anything at or past it does not fit.
            (f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0).then_some(f as i64)
        }),
        _ => None,
    }
}

/// A flag from `true`/`false` or, as SQLite stores booleans, 0/1.
fn as_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => match as_i64(v)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
    }
}

/// The fields of one JSON object.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// The object `value` is.
    ///
    /// # Errors
    /// `value` is not an object.
    pub fn of(value: &'a Value) -> Result<Self, FieldError> {
        value
            .as_object()
            .map(Self)
            .ok_or_else(|| FieldError::new("", "an object"))
    }

    /// The object's map, for callers that walk every key.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.0
    }

    /// The field's value; `None` when it is absent or `null` (the two mean the same here).
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A required field read by `read` (absent, `null` or unreadable: an error naming it).
    ///
    /// # Errors
    /// Absent, `null`, or `read` gives `None`.
    pub fn required<T>(
        &self,
        key: &str,
        expected: &'static str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<T, FieldError> {
        self.get(key)
            .and_then(read)
            .ok_or_else(|| FieldError::new(key, expected))
    }

    fn optional<T>(
        &self,
        key: &str,
        expected: &'static str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, FieldError> {
        self.get(key)
            .map(|v| read(v).ok_or_else(|| FieldError::new(key, expected)))
            .transpose()
    }

    /// A required string.
    ///
    /// # Errors
    /// Absent, `null` or not a string.
    pub fn str(&self, key: &str) -> Result<&'a str, FieldError> {
        self.required(key, "a string", Value::as_str)
    }

    /// A required string, owned.
    ///
    /// # Errors
    /// Absent, `null` or not a string.
    pub fn string(&self, key: &str) -> Result<String, FieldError> {
        self.str(key).map(str::to_string)
    }

    /// A string that may be absent or `null`.
    ///
    /// # Errors
    /// Present but not a string.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        self.optional(key, "a string", Value::as_str)
    }

    /// A string that may be absent or `null`, owned.
    ///
    /// # Errors
    /// Present but not a string.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>, FieldError> {
        Ok(self.opt_str(key)?.map(str::to_string))
    }

    /// A required integer.
    ///
    /// # Errors
    /// Absent, `null`, not a number, or not a whole number in range.
    pub fn i64(&self, key: &str) -> Result<i64, FieldError> {
        self.required(key, "an integer", as_i64)
    }

    /// An integer that may be absent or `null`.
    ///
    /// # Errors
    /// Present but not a whole number in range.
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError> {
        self.optional(key, "an integer", as_i64)
    }

    /// A required count (an integer ≥ 0).
    ///
    /// # Errors
    /// Absent, `null`, negative or not a whole number.
    pub fn u64(&self, key: &str) -> Result<u64, FieldError> {
        self.required(key, "a count", |v| {
            as_i64(v).and_then(|n| u64::try_from(n).ok())
        })
    }

    /// A count that may be absent or `null`.
    ///
    /// # Errors
    /// Present but negative or not a whole number.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>, FieldError> {
        self.optional(key, "a count", |v| {
            as_i64(v).and_then(|n| u64::try_from(n).ok())
        })
    }

    /// A required flag: `true`/`false`, or 0/1 as SQLite stores them.
    ///
    /// # Errors
    /// Absent, `null` or neither.
    pub fn flag(&self, key: &str) -> Result<bool, FieldError> {
        self.required(key, "true, false, 0 or 1", as_flag)
    }

    /// A flag that may be absent or `null`.
    ///
    /// # Errors
    /// Present but neither `true`/`false` nor 0/1.
    pub fn opt_flag(&self, key: &str) -> Result<Option<bool>, FieldError> {
        self.optional(key, "true, false, 0 or 1", as_flag)
    }

    /// A required nested object.
    ///
    /// # Errors
    /// Absent, `null` or not an object.
    pub fn obj(&self, key: &str) -> Result<Fields<'a>, FieldError> {
        self.required(key, "an object", |v| v.as_object().map(Fields))
    }

    /// A nested object that may be absent or `null`.
    ///
    /// # Errors
    /// Present but not an object.
    pub fn opt_obj(&self, key: &str) -> Result<Option<Fields<'a>>, FieldError> {
        self.optional(key, "an object", |v| v.as_object().map(Fields))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_each_kind_and_names_the_field_it_cannot_read() {
        let v = json!({"s": "x", "n": 5, "f": 5.0, "half": 2.5, "neg": -1, "b": true, "one": 1,
                       "two": 2, "nul": null, "o": {"k": "v"}, "a": [1, 2]});
        let f = Fields::of(&v).unwrap();
        assert_eq!(f.str("s").unwrap(), "x");
        assert_eq!(f.opt_string("s").unwrap().as_deref(), Some("x"));
        assert_eq!(f.opt_str("missing").unwrap(), None);
        assert_eq!(f.opt_str("nul").unwrap(), None);
        assert_eq!(f.i64("n").unwrap(), 5);
        assert_eq!(f.i64("f").unwrap(), 5, "a whole double is an integer");
        assert_eq!(f.opt_i64("neg").unwrap(), Some(-1));
        assert!(f.flag("b").unwrap());
        assert!(f.flag("one").unwrap());
        assert_eq!(f.obj("o").unwrap().str("k").unwrap(), "v");
        assert_eq!(f.opt_obj("nul").unwrap().map(|_| ()), None);

        let err = |r: Result<(), FieldError>| r.unwrap_err().to_string();
        assert_eq!(err(f.str("n").map(drop)), "field `n`: expected a string");
        assert_eq!(
            err(f.str("nul").map(drop)),
            "field `nul`: expected a string"
        );
        assert_eq!(
            err(f.i64("half").map(drop)),
            "field `half`: expected an integer"
        );
        assert_eq!(err(f.u64("neg").map(drop)), "field `neg`: expected a count");
        assert_eq!(
            err(f.flag("two").map(drop)),
            "field `two`: expected true, false, 0 or 1"
        );
        assert_eq!(
            err(f.opt_str("o").map(drop)),
            "field `o`: expected a string"
        );
        assert_eq!(err(Fields::of(&json!([1])).map(drop)), "expected an object");
    }

    #[test]
    fn out_of_range_doubles_are_not_integers() {
        let v = json!({"big": 1e300, "edge": 9.3e18});
        let f = Fields::of(&v).unwrap();
        assert!(f.i64("big").is_err());
        assert!(f.i64("edge").is_err());
    }

    /// Every reader on every kind of value answers, without panicking.
    #[test]
    fn fuzz_every_reader_over_every_kind_of_value() {
        let values = [
            json!(null),
            json!(true),
            json!(0),
            json!(-7),
            json!(u64::MAX),
            json!(1.5),
            json!(-0.0),
            json!(""),
            json!("1"),
            json!([]),
            json!({}),
            json!({"k": [null]}),
        ];
        for v in &values {
            let obj = json!({ "k": v });
            let f = Fields::of(&obj).unwrap();
            let answers = [
                f.str("k").is_ok(),
                f.opt_str("k").is_ok(),
                f.i64("k").is_ok(),
                f.opt_i64("k").is_ok(),
                f.u64("k").is_ok(),
                f.opt_u64("k").is_ok(),
                f.flag("k").is_ok(),
                f.opt_flag("k").is_ok(),
                f.obj("k").is_ok(),
                f.opt_obj("k").is_ok(),
            ];
            // `null` is absence: every optional reader accepts it and no required one does.
            if v.is_null() {
                assert_eq!(
                    answers,
                    [
                        false, true, false, true, false, true, false, true, false, true
                    ]
                );
            } else {
                // Each present value satisfies at most one kind of required reader... except
                // numbers, which are integers, counts and flags at once when they fit.
                assert!(
                    answers.iter().any(|ok| !ok),
                    "{v}: some reader must refuse it"
                );
            }
            assert!(Fields::of(v).is_ok() == v.is_object());
        }
        assert_eq!(parse("{\"a\":1}").unwrap(), json!({"a": 1}));
        assert!(parse("{").is_err());
    }
}
