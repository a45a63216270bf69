//! Where an unfinished run continues: stored as JSON in its `sync_runs` row when the run pauses at
//! its budget, and at checkpoints while an invocation works (so a dead invocation's run goes on).

use serde::{Deserialize, Serialize};

use super::applications::AppState;
use super::listing::Lower;
use super::logs::LogProgress;
use super::organizations::MemberProgress;

/// The next piece of work of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<String>,
    },
    /// Users are complete; organizations from this index of the listing on.
    Organizations {
        /// The first organization whose members are still to sync.
        next: usize,
        /// How far that organization's member listing got, when it spans invocations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partial: Option<String>,
        /// The applications part's notes (a scope not granted), kept for the run's history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// This run's share of the log so far.
        #[serde(default)]
        progress: LogProgress,
    },
    /// Everything is synced; only the day's trend snapshot is left (it did not fit the budget).
    Snapshot {
        /// The message the run finishes with (partial), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// The notes it finishes with (optional features not enabled).
        #[serde(default, skip_serializing_if = "Option::is_none")]
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

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form; `None` for anything unreadable (the run then starts over).
    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

/// A cursor as stored, with how many invocations in a row died while working from it.
///
/// An invocation stores its cursor with `deaths` one higher than it found while it works, and
/// with 0 when it pauses cleanly; so a stored non-zero count means invocations died that many
/// times in a row, and the run is given up before it loops forever on the same block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// Where to continue.
    pub cursor: Cursor,
    /// Invocations that died in a row.
    pub deaths: u32,
    /// The run is a first sync: it records a baseline, not each change (`sync::events`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

impl Saved {
    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form; `None` for anything unreadable (the run then starts over).
    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
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
        assert_eq!(
            Cursor::start().to_json(),
            "{\"phase\":\"users\",\"lower\":{\"kind\":\"unbounded\"}}"
        );
    }
}
