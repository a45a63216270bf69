//! Access change history: the kinds of change a sync or the log observes, the row appended to
//! `access_events` for each, and the key that makes a second write of the same event a no-op.
//!
//! Writers build [`NewEvent`]s and append them through `store::ChangeStore`, or put the
//! [`INSERT_EVENTS`] statement with [`events_json`] into a D1 batch of their own when the events
//! must land atomically with other rows.

use serde::{Serialize, Serializer};

/// What changed. The stored names are public (`GET /api/changes?type=`): never rename them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// A user the store did not know.
    UserAdded,
    /// A complete listing no longer had the user.
    UserRemoved,
    /// A user marked removed is listed again.
    UserReturned,
    /// The user became blocked.
    UserBlocked,
    /// The user is no longer blocked.
    UserUnblocked,
    /// The user's primary identity's connection changed.
    ConnectionChanged,
    /// The user joined an organization.
    MembershipAdded,
    /// The user left an organization (its member listing was complete).
    MembershipRemoved,
    /// The log shows the user's first use of an application.
    AppFirstUse,
    /// The user can now reach an application.
    AppReachable,
    /// The user can no longer reach an application.
    AppUnreachable,
    /// The first sync's summary of what it found: not a change.
    Baseline,
}

impl EventType {
    /// Every type, in the order the viewer lists them.
    pub const ALL: [Self; 12] = [
        Self::UserAdded,
        Self::UserRemoved,
        Self::UserReturned,
        Self::UserBlocked,
        Self::UserUnblocked,
        Self::ConnectionChanged,
        Self::MembershipAdded,
        Self::MembershipRemoved,
        Self::AppFirstUse,
        Self::AppReachable,
        Self::AppUnreachable,
        Self::Baseline,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserAdded => "user_added",
            Self::UserRemoved => "user_removed",
            Self::UserReturned => "user_returned",
            Self::UserBlocked => "user_blocked",
            Self::UserUnblocked => "user_unblocked",
            Self::ConnectionChanged => "connection_changed",
            Self::MembershipAdded => "membership_added",
            Self::MembershipRemoved => "membership_removed",
            Self::AppFirstUse => "app_first_use",
            Self::AppReachable => "app_reachable",
            Self::AppUnreachable => "app_unreachable",
            Self::Baseline => "baseline",
        }
    }

    /// The type with this stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What observed an event: the key's first part, so that the same observer writing the same
/// event again (a retried batch, a resumed run re-reading a block) is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A sync run, by its id.
    Run(i64),
    /// A tenant log event, by its `log_id`.
    Log(String),
}

/// What an event is about; the parts that are `None` do not apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Auth0's `user_id`.
    pub user_id: Option<String>,
    /// The user's email when observed.
    pub email: Option<String>,
    /// The application, for application events.
    pub client_id: Option<String>,
    /// The organization, for membership events.
    pub org_id: Option<String>,
}

/// One row to append to `access_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewEvent {
    /// When observed, ISO-8601 UTC with milliseconds.
    pub at: String,
    /// The sync run that observed it; `None` for log-derived or pushed events.
    pub run_id: Option<i64>,
    /// What changed.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Auth0's `user_id`.
    pub user_id: Option<String>,
    /// The user's email when observed.
    pub email: Option<String>,
    /// The application.
    pub client_id: Option<String>,
    /// The organization.
    pub org_id: Option<String>,
    /// A sentence that reads on its own.
    pub detail: String,
    /// The first sync's baseline, not a change.
    pub baseline: bool,
    /// Unique: a second write with the same key is ignored (see [`dedupe_key`]).
    pub dedupe: String,
}

impl NewEvent {
    /// An event observed at `at` by `origin`, keyed by origin, type and subject.
    pub fn new(
        origin: &Origin,
        at: &str,
        kind: EventType,
        subject: Subject,
        detail: String,
    ) -> Self {
        let dedupe = dedupe_key(origin, kind, &subject);
        Self {
            at: at.to_string(),
            run_id: match origin {
                Origin::Run(id) => Some(*id),
                Origin::Log(_) => None,
            },
            kind,
            user_id: subject.user_id,
            email: subject.email,
            client_id: subject.client_id,
            org_id: subject.org_id,
            detail,
            baseline: kind == EventType::Baseline,
            dedupe,
        }
    }
}

/// The deterministic key of an event: origin, type, user, application and organization, as a
/// JSON array so that no id, whatever characters it holds, can make two keys collide.
///
/// One observer records one change of one kind per subject: a run sees each user once (its
/// blocks partition the listing), so the same key again is the same event written twice.
pub fn dedupe_key(origin: &Origin, kind: EventType, s: &Subject) -> String {
    let origin = match origin {
        Origin::Run(id) => serde_json::json!(["run", id]),
        Origin::Log(id) => serde_json::json!(["log", id]),
    };
    serde_json::json!([origin, kind.as_str(), s.user_id, s.client_id, s.org_id]).to_string()
}

/// Events per bound JSON value: with sentences of a few hundred bytes, far below D1's 2 MB cap
/// on one value.
pub const EVENTS_PER_STATEMENT: usize = 500;

/// Appends the events of a JSON array (`?1`, see [`events_json`]) in array order; an event whose
/// `dedupe` key is already stored is skipped. The `NOT EXISTS` keeps skipped events from using
/// up ids (SQLite's AUTOINCREMENT counts a conflicting insert); the `ON CONFLICT` covers a key
/// twice in one array.
pub const INSERT_EVENTS: &str = "INSERT INTO access_events \
     (at, run_id, type, user_id, email, client_id, org_id, detail, baseline, dedupe) \
     SELECT j.value ->> '$.at', j.value ->> '$.run_id', j.value ->> '$.type', \
     j.value ->> '$.user_id', j.value ->> '$.email', j.value ->> '$.client_id', \
     j.value ->> '$.org_id', j.value ->> '$.detail', j.value ->> '$.baseline', \
     j.value ->> '$.dedupe' \
     FROM json_each(?1) AS j \
     WHERE NOT EXISTS (SELECT 1 FROM access_events e WHERE e.dedupe = j.value ->> '$.dedupe') \
     ON CONFLICT (dedupe) DO NOTHING";

/// The value bound as `?1` of [`INSERT_EVENTS`]; pass at most [`EVENTS_PER_STATEMENT`] events.
pub fn events_json(events: &[NewEvent]) -> String {
    // Strings, integers and booleans only: serialisation cannot fail.
    serde_json::to_string(events).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(origin: &Origin, user: &str) -> NewEvent {
        NewEvent::new(
            origin,
            "2026-01-01T00:00:00.000Z",
            EventType::UserBlocked,
            Subject {
                user_id: Some(user.into()),
                email: Some("a@example.com".into()),
                ..Subject::default()
            },
            format!("blocked: a@example.com ({user})"),
        )
    }

    #[test]
    fn stored_names_round_trip_and_nothing_else_parses() {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            names,
            [
                "user_added",
                "user_removed",
                "user_returned",
                "user_blocked",
                "user_unblocked",
                "connection_changed",
                "membership_added",
                "membership_removed",
                "app_first_use",
                "app_reachable",
                "app_unreachable",
                "baseline"
            ]
        );
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        for junk in ["", "User_Added", "user_added ", "users", "baseline\0"] {
            assert_eq!(EventType::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn the_key_is_deterministic_and_tells_observers_kinds_and_subjects_apart() {
        let run = Origin::Run(7);
        assert_eq!(blocked(&run, "u1"), blocked(&run, "u1"));
        let keys = [
            blocked(&run, "u1").dedupe,
            blocked(&run, "u2").dedupe,
            blocked(&Origin::Run(8), "u1").dedupe,
            blocked(&Origin::Log("7".into()), "u1").dedupe,
            NewEvent::new(
                &run,
                "t",
                EventType::UserUnblocked,
                Subject {
                    user_id: Some("u1".into()),
                    ..Subject::default()
                },
                String::new(),
            )
            .dedupe,
            // Separators inside ids cannot forge another subject.
            blocked(&run, "u1\",null,\"x").dedupe,
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert_eq!(keys[0], r#"[["run",7],"user_blocked","u1",null,null]"#);
    }

    #[test]
    fn rows_serialise_with_the_column_names_and_baseline_marks_itself() {
        let b = NewEvent::new(
            &Origin::Run(1),
            "t",
            EventType::Baseline,
            Subject::default(),
            "first sync: 2 users, 0 organizations recorded".into(),
        );
        assert!(b.baseline && !blocked(&Origin::Run(1), "u").baseline);
        let v: serde_json::Value = serde_json::from_str(&events_json(&[b])).unwrap();
        assert_eq!(v[0]["type"], "baseline");
        assert_eq!(v[0]["run_id"], 1);
        assert_eq!(v[0]["baseline"], true);
        let log = NewEvent::new(
            &Origin::Log("90020".into()),
            "t",
            EventType::AppFirstUse,
            Subject::default(),
            String::new(),
        );
        assert_eq!(log.run_id, None);
    }
}
