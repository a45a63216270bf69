//! Where an unfinished run continues: stored as JSON in its `sync_runs` row when the run pauses at
//! its budget, and at checkpoints while an invocation works (so a dead invocation's run goes on).
//!
//! The stored form is written and read here by hand, for the cursor and every part it holds: the
//! serde derives it replaced (kept in tests as the record of the format) cost tens of KB of wasm
//! for an internally tagged enum. The format is theirs, key for key: a run paused by one version
//! resumes after a deploy (`tests/cursor.rs` pins it).

use serde_json::{Map, Value, json};

use super::applications::{AppProgress, AppState};
use super::listing::Lower;
use super::logs::LogProgress;
use super::organizations::MemberProgress;
use crate::fields::{FieldError, Fields};

/// The next piece of work of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(test, serde(tag = "phase", rename_all = "snake_case"))]
pub enum Cursor {
    /// The next user block starts at this bound.
    Users {
        /// The block's lower bound.
        lower: Lower,
    },
    /// A millisecond too full to list, to read from an export.
    Export {
        /// The millisecond.
        at: String,
        /// The export job already started for it, to poll rather than start another.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        job: Option<String>,
    },
    /// Users are complete; organizations from this index of the listing on.
    Organizations {
        /// The first organization whose members are still to sync.
        next: usize,
        /// How far that organization's member listing got, when it spans invocations.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        members: Option<MemberProgress>,
    },
    /// Users and organizations are done; the applications part continues here.
    Applications {
        /// Where it stands.
        state: AppState,
    },
    /// Users, organizations and applications are complete; the log is followed from its stored
    /// checkpoint.
    Logs {
        /// The organizations' message, when they could not be synced (the run is partial).
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        partial: Option<String>,
        /// The applications part's notes (a scope not granted), kept for the run's history.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        note: Option<String>,
        /// This run's share of the log so far.
        #[cfg_attr(test, serde(default))]
        progress: LogProgress,
    },
    /// Everything is synced; only the day's trend snapshot is left (it did not fit the budget).
    Snapshot {
        /// The message the run finishes with (partial), if any.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        message: Option<String>,
        /// The notes it finishes with (optional features not enabled).
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        note: Option<String>,
    },
}

impl Cursor {
    /// A new run's start.
    pub fn start() -> Self {
        Self::Users {
            lower: Lower::Unbounded,
        }
    }

    /// The stored form: `{"phase": "users", …}`, the phase's fields beside it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        let (phase, ()) = match self {
            Self::Users { lower } => ("users", put(&mut m, "lower", lower_value(lower))),
            Self::Export { at, job } => {
                put(&mut m, "at", json!(at));
                ("export", put_some(&mut m, "job", job))
            }
            Self::Organizations { next, members } => {
                put(&mut m, "next", json!(next));
                if let Some(p) = members {
                    // The old `ids` are read, never written.
                    put(&mut m, "members", json!({"org": p.org, "from": p.from}));
                }
                ("organizations", ())
            }
            Self::Applications { state } => {
                ("applications", put(&mut m, "state", app_state_value(state)))
            }
            Self::Logs {
                partial,
                note,
                progress,
            } => {
                put_some(&mut m, "partial", partial);
                put_some(&mut m, "note", note);
                (
                    "logs",
                    put(&mut m, "progress", log_progress_value(progress)),
                )
            }
            Self::Snapshot { message, note } => {
                put_some(&mut m, "message", message);
                ("snapshot", put_some(&mut m, "note", note))
            }
        };
        put(&mut m, "phase", json!(phase));
        Value::Object(m)
    }

    /// Reads the stored form, as the derive it replaced did: unknown keys ignored, an optional
    /// part absent or `null`, a defaulted one only absent.
    ///
    /// # Errors
    /// Not a cursor: the field that could not be read.
    pub fn from_value(value: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(value)?;
        Ok(match f.str("phase")? {
            "users" => Self::Users {
                lower: lower_from(f.obj("lower")?)?,
            },
            "export" => Self::Export {
                at: f.string("at")?,
                job: f.opt_string("job")?,
            },
            "organizations" => Self::Organizations {
                next: f.required("next", "a count", count)?,
                members: f.opt_obj("members")?.map(member_from).transpose()?,
            },
            "applications" => Self::Applications {
                state: app_state_from(f.obj("state")?)?,
            },
            "logs" => Self::Logs {
                partial: f.opt_string("partial")?,
                note: f.opt_string("note")?,
                progress: defaulted(f, "progress", "an object", |v| {
                    log_progress_from(Fields::of(v).ok()?).ok()
                })?,
            },
            "snapshot" => Self::Snapshot {
                message: f.opt_string("message")?,
                note: f.opt_string("note")?,
            },
            _ => return Err(FieldError::new("phase", "a known phase")),
        })
    }

    /// The stored form as text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Reads the stored text; `None` for anything unreadable (the run then starts over).
    pub fn from_json(s: &str) -> Option<Self> {
        Self::from_value(&crate::fields::parse(s).ok()?).ok()
    }
}

/// A cursor as stored, with how many invocations in a row died while working from it.
///
/// An invocation stores its cursor with `deaths` one higher than it found while it works, and
/// with 0 when it pauses cleanly; so a stored non-zero count means invocations died that many
/// times in a row, and the run is given up before it loops forever on the same block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize))]
pub struct Saved {
    /// Where to continue.
    pub cursor: Cursor,
    /// Invocations that died in a row.
    pub deaths: u32,
    /// The run is a first sync: it records a baseline, not each change (`sync::events`).
    #[cfg_attr(test, serde(default, skip_serializing_if = "std::ops::Not::not"))]
    pub baseline: bool,
}

impl Saved {
    /// The stored form: `{"cursor": …, "deaths": n}`, with `"baseline": true` when it is one.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        put(&mut m, "cursor", self.cursor.to_value());
        put(&mut m, "deaths", json!(self.deaths));
        if self.baseline {
            put(&mut m, "baseline", json!(true));
        }
        Value::Object(m)
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// Not a saved cursor: the field that could not be read.
    pub fn from_value(value: &Value) -> Result<Self, FieldError> {
        let f = Fields::of(value)?;
        Ok(Self {
            cursor: Cursor::from_value(
                f.map()
                    .get("cursor")
                    .ok_or_else(|| FieldError::new("cursor", "a cursor"))?,
            )?,
            deaths: f.required("deaths", "a count", count)?,
            baseline: defaulted(f, "baseline", "true or false", Value::as_bool)?,
        })
    }

    /// The stored text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// Reads the stored text; `None` for anything unreadable (the run then starts over).
    pub fn from_json(s: &str) -> Option<Self> {
        Self::from_value(&crate::fields::parse(s).ok()?).ok()
    }
}

fn put(m: &mut Map<String, Value>, key: &str, value: Value) {
    m.insert(key.to_string(), value);
}

/// An optional part: written only when present.
fn put_some(m: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        put(m, key, json!(v));
    }
}

/// A count as the derive read one: a non-negative JSON integer that fits (no `1.0`, no `null`).
fn count<T: TryFrom<u64>>(v: &Value) -> Option<T> {
    T::try_from(v.as_u64()?).ok()
}

/// A `#[serde(default)]` field: absent is the default; present, even `null`, must read.
fn defaulted<'a, T: Default>(
    f: Fields<'a>,
    key: &str,
    expected: &'static str,
    read: impl Fn(&'a Value) -> Option<T>,
) -> Result<T, FieldError> {
    f.map().get(key).map_or(Ok(T::default()), |v| {
        read(v).ok_or_else(|| FieldError::new(key, expected))
    })
}

/// A list of strings, every one a string.
fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// `{"kind": "unbounded"}`, `{"kind": "inclusive", "at": t}`, `{"kind": "exclusive", "at": t}`.
fn lower_value(lower: &Lower) -> Value {
    match lower {
        Lower::Unbounded => json!({"kind": "unbounded"}),
        Lower::Inclusive(t) => json!({"kind": "inclusive", "at": t}),
        Lower::Exclusive(t) => json!({"kind": "exclusive", "at": t}),
    }
}

fn lower_from(f: Fields<'_>) -> Result<Lower, FieldError> {
    Ok(match f.str("kind")? {
        // A unit variant's `at` may be absent or `null`, nothing else.
        "unbounded" => match f.map().get("at") {
            None | Some(Value::Null) => Lower::Unbounded,
            Some(_) => return Err(FieldError::new("at", "nothing")),
        },
        "inclusive" => Lower::Inclusive(f.string("at")?),
        "exclusive" => Lower::Exclusive(f.string("at")?),
        _ => return Err(FieldError::new("kind", "a known kind")),
    })
}

fn member_from(f: Fields<'_>) -> Result<MemberProgress, FieldError> {
    Ok(MemberProgress {
        org: f.string("org")?,
        from: f.opt_string("from")?,
        ids: defaulted(f, "ids", "a list of strings", strings)?,
    })
}

/// `"lists"`, `"connections"`, `"reach"`, or `{"clients": {"after": id or null}}` (`orgs` alike).
fn progress_value(p: &AppProgress) -> Value {
    match p {
        AppProgress::Lists => json!("lists"),
        AppProgress::Connections => json!("connections"),
        AppProgress::Clients { after } => json!({"clients": {"after": after}}),
        AppProgress::Orgs { after } => json!({"orgs": {"after": after}}),
        AppProgress::Reach => json!("reach"),
    }
}

fn progress_from(v: &Value) -> Result<AppProgress, FieldError> {
    let bad = || FieldError::new("progress", "a known step");
    // A step is its name, or an object of one key: the name, with the step's fields (or `null`
    // for a step without any).
    let (name, body) = match v {
        Value::String(name) => (name.as_str(), None),
        Value::Object(m) if m.len() == 1 => m
            .iter()
            .next()
            .map(|(k, b)| (k.as_str(), Some(b)))
            .ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let unit = |p: AppProgress| match body {
        None | Some(Value::Null) => Ok(p),
        Some(_) => Err(bad()),
    };
    let after = || -> Result<Option<String>, FieldError> {
        Fields::of(body.ok_or_else(bad)?)?.opt_string("after")
    };
    match name {
        "lists" => unit(AppProgress::Lists),
        "connections" => unit(AppProgress::Connections),
        "reach" => unit(AppProgress::Reach),
        "clients" => Ok(AppProgress::Clients { after: after()? }),
        "orgs" => Ok(AppProgress::Orgs { after: after()? }),
        _ => Err(bad()),
    }
}

fn app_state_value(s: &AppState) -> Value {
    let mut m = Map::new();
    put(&mut m, "progress", progress_value(&s.progress));
    put_some(&mut m, "partial", &s.partial);
    if !s.notes.is_empty() {
        put(&mut m, "notes", json!(s.notes));
    }
    put(&mut m, "changed", json!(s.changed));
    put(&mut m, "baseline", json!(s.baseline));
    Value::Object(m)
}

fn app_state_from(f: Fields<'_>) -> Result<AppState, FieldError> {
    Ok(AppState {
        progress: progress_from(
            f.map()
                .get("progress")
                .ok_or_else(|| FieldError::new("progress", "a known step"))?,
        )?,
        partial: f.opt_string("partial")?,
        notes: defaulted(f, "notes", "a list of strings", strings)?,
        changed: defaulted(f, "changed", "true or false", Value::as_bool)?,
        baseline: defaulted(f, "baseline", "true or false", Value::as_bool)?,
    })
}

fn log_progress_value(p: &LogProgress) -> Value {
    let mut m = Map::new();
    put(&mut m, "pages", json!(p.pages));
    put(&mut m, "events", json!(p.events));
    put_some(&mut m, "note", &p.note);
    Value::Object(m)
}

fn log_progress_from(f: Fields<'_>) -> Result<LogProgress, FieldError> {
    Ok(LogProgress {
        pages: defaulted(f, "pages", "a count", count)?,
        events: defaulted(f, "events", "a count", count)?,
        note: f.opt_string("note")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        for c in [
            Cursor::start(),
            Cursor::Users {
                lower: Lower::Inclusive("2024-01-01T00:00:00.000Z".into()),
            },
            Cursor::Export {
                at: "t".into(),
                job: None,
            },
            Cursor::Export {
                at: "t".into(),
                job: Some("job_1".into()),
            },
            Cursor::Organizations {
                next: 7,
                members: None,
            },
            Cursor::Logs {
                partial: Some("organizations not synced".into()),
                note: Some("Applications: not enabled: grant read:clients".into()),
                progress: LogProgress {
                    pages: 3,
                    events: 250,
                    note: Some("usage unknown from a to b".into()),
                },
            },
            Cursor::Logs {
                partial: None,
                note: None,
                progress: LogProgress::default(),
            },
            Cursor::Organizations {
                next: 7,
                members: Some(MemberProgress {
                    org: "org_1".into(),
                    from: Some("cp".into()),
                    ids: Vec::new(),
                }),
            },
        ] {
            assert_eq!(Cursor::from_json(&c.to_json()), Some(c));
        }
        assert_eq!(Cursor::from_json("{\"phase\":\"nope\"}"), None);
        // A cursor saved before members were held in the store still reads, ids and all; the
        // ids are never written back into a cursor.
        let old = r#"{"phase":"organizations","next":1,"members":{"org":"o","from":"cp","ids":["a","b"]}}"#;
        let Some(Cursor::Organizations {
            members: Some(p), ..
        }) = Cursor::from_json(old)
        else {
            panic!("an old cursor is refused")
        };
        assert_eq!(p.ids, ["a", "b"]);
        assert!(
            !Cursor::Organizations {
                next: 1,
                members: Some(p)
            }
            .to_json()
            .contains("ids")
        );
        let saved = Saved {
            cursor: Cursor::Organizations {
                next: 2,
                members: None,
            },
            deaths: 1,
            baseline: true,
        };
        assert_eq!(Saved::from_json(&saved.to_json()), Some(saved));
        // A cursor saved before the flag existed reads as no baseline.
        let old = r#"{"cursor":{"phase":"organizations","next":2},"deaths":0}"#;
        assert_eq!(Saved::from_json(old).map(|s| s.baseline), Some(false));
        assert_eq!(Saved::from_json("junk"), None);
        // The same JSON as the derive wrote; its keys now come in their map's order.
        assert_eq!(
            crate::fields::parse(&Cursor::start().to_json()).ok(),
            crate::fields::parse("{\"phase\":\"users\",\"lower\":{\"kind\":\"unbounded\"}}").ok()
        );
    }
}
