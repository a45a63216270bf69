//! The change history a run writes: the user changes a block's diff found, as events keyed by
//! the run, and the one baseline event of a first sync.
//!
//! A first sync (one that starts while the history holds no baseline) records no per-user or
//! membership events: it records one baseline when it finishes. The flag rides in the run's
//! saved cursor, so a first sync spread over invocations stays one. A first sync that fails
//! records nothing, and the next run is a first sync again.
//!
//! Can a row be written without its event? No: a chunk of users goes to the store with its
//! events in one batch (one D1 transaction), and removals and membership changes select their
//! events in SQL inside the batch that makes the change (`changes::derived`). A run that dies
//! between batches has written both or neither; the run that continues or retries it compares
//! with what was stored, so it finds each remaining change once, and a batch sent twice is
//! ignored by the events' keys (same run, same type, same subject).

use std::collections::HashSet;

use super::plan::UserChange;
use crate::changes::{EventType, NewEvent, Origin, Subject};
use crate::store::{RunRecord, UserRow};

/// The events of the changes whose rows are in `chunk`, in the order found.
pub fn chunk_events(
    changes: &[UserChange],
    chunk: &[UserRow],
    run_id: i64,
    at: &str,
) -> Vec<NewEvent> {
    let ids: HashSet<&str> = chunk.iter().map(|r| r.user_id.as_str()).collect();
    changes
        .iter()
        .filter(|c| ids.contains(c.user_id.as_str()))
        .map(|c| {
            let subject = Subject {
                user_id: Some(c.user_id.clone()),
                email: c.email.clone(),
                ..Subject::default()
            };
            NewEvent::new(&Origin::Run(run_id), at, c.kind, subject, c.detail.clone())
        })
        .collect()
}

/// The baseline of a first sync that finished: what it found, in one event.
pub fn baseline_event(run: &RunRecord, at: &str) -> NewEvent {
    let detail = format!(
        "first sync: {} users, {} organizations recorded",
        run.users_seen, run.organizations_seen
    );
    NewEvent::new(
        &Origin::Run(run.id),
        at,
        EventType::Baseline,
        Subject::default(),
        detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::mapping::user_row;

    #[test]
    fn a_chunk_carries_only_its_own_rows_changes() {
        let row = |id: &str| {
            user_row(
                &serde_json::from_value(serde_json::json!({"user_id": id, "created_at": "t"}))
                    .unwrap(),
            )
        };
        let change = |kind, id: &str| UserChange {
            kind,
            user_id: id.into(),
            email: None,
            detail: id.to_string(),
        };
        let changes = [
            change(EventType::UserAdded, "a"),
            change(EventType::UserReturned, "b"),
            change(EventType::UserBlocked, "b"),
        ];
        let events = chunk_events(&changes, &[row("b")], 9, "t");
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.kind, e.run_id, e.detail.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (EventType::UserReturned, Some(9), "b"),
                (EventType::UserBlocked, Some(9), "b")
            ]
        );
        let mut run = RunRecord::started(4, "t".into(), "cron");
        run.users_seen = 12;
        run.organizations_seen = 2;
        let b = baseline_event(&run, "t2");
        assert_eq!(b.detail, "first sync: 12 users, 2 organizations recorded");
        assert!(b.baseline);
        assert_eq!(b.run_id, Some(4));
    }
}
