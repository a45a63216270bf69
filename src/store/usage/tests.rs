//! The usage statements in SQLite against the real migrations: dates only move the right way,
//! logins add up, and a page whose checkpoint is no longer the stored one writes nothing.

use super::*;
use crate::testing::block_on;
use crate::testing::usage_sqlite::SqliteUsage;

fn delta(user: &str, logins: u64, login: Option<&str>, seen: &str, first: &str) -> UsageDelta {
    UsageDelta {
        log_id: None,
        user_id: user.into(),
        client_id: "app".into(),
        logins,
        last_login: login.map(str::to_string),
        last_seen: Some(seen.into()),
        first_used: Some(first.into()),
    }
}

fn page<'a>(
    expected: Option<&'a str>,
    checkpoint: &'a str,
    deltas: &'a [UsageDelta],
    gap: Option<Gap<'a>>,
) -> UsagePage<'a> {
    let oldest = deltas.iter().filter_map(|d| d.first_used.as_deref()).min();
    let newest = deltas.iter().filter_map(|d| d.last_seen.as_deref()).max();
    UsagePage {
        expected,
        checkpoint,
        deltas,
        oldest,
        newest,
        take: 100,
        gap,
        events: &[],
        deletions: &[],
        caught_up: false,
        now: "2026-01-01T00:00:00.000Z",
    }
}

#[test]
fn usage_adds_logins_and_moves_dates_only_the_right_way() {
    let db = SqliteUsage::default();
    assert_eq!(block_on(db.log_cursor()).unwrap(), None);
    let first = [delta(
        "u",
        2,
        Some("2025-01-05"),
        "2025-01-06",
        "2025-01-02",
    )];
    let w = block_on(db.write_usage_page(&page(None, "10", &first, None))).unwrap();
    assert!(w.applied);
    // An older page's dates (a later page may hold earlier dates: log ids, not dates, order
    // the log) never move last_login/last_seen back or first_used forward.
    let second = [
        delta("u", 1, Some("2025-01-01"), "2025-01-03", "2025-01-03"),
        delta("v", 0, None, "2025-01-04", "2025-01-04"),
    ];
    assert!(
        block_on(db.write_usage_page(&page(Some("10"), "20", &second, None)))
            .unwrap()
            .applied
    );
    let third = [delta("u", 0, None, "2025-01-09", "2025-01-01")];
    assert!(
        block_on(db.write_usage_page(&page(Some("20"), "30", &third, None)))
            .unwrap()
            .applied
    );
    assert_eq!(
        db.usage(),
        vec![
            (
                "u".into(),
                "app".into(),
                Some("2025-01-05".into()),
                3,
                Some("2025-01-09".into()),
                Some("2025-01-01".into())
            ),
            (
                "v".into(),
                "app".into(),
                None,
                0,
                Some("2025-01-04".into()),
                Some("2025-01-04".into())
            ),
        ]
    );
    let cursor = block_on(db.log_cursor()).unwrap().unwrap();
    assert_eq!(
        cursor,
        LogCursorRow {
            checkpoint: Some("30".into()),
            tracking_since: Some("2025-01-01".into()),
            newest_date: Some("2025-01-09".into()),
            take: Some(100),
            caught_up_at: None,
        }
    );
}

#[test]
fn a_page_read_from_a_stale_checkpoint_writes_nothing() {
    let db = SqliteUsage::default();
    let d = [delta(
        "u",
        1,
        Some("2025-01-05"),
        "2025-01-05",
        "2025-01-05",
    )];
    assert!(
        block_on(db.write_usage_page(&page(None, "10", &d, None)))
            .unwrap()
            .applied
    );
    // The same page again (a retried write) and a page from an older checkpoint.
    for expected in [None, Some("5"), Some("")] {
        let gap = Gap {
            run_id: 1,
            from: None,
            until: "2025-01-01",
        };
        let w = block_on(db.write_usage_page(&page(expected, "10", &d, Some(gap)))).unwrap();
        assert_eq!(
            w,
            UsageWritten {
                rows: 0,
                applied: false,
                removed: 0
            },
            "{expected:?}"
        );
    }
    assert_eq!(db.usage()[0].3, 1, "counted once");
    assert!(db.gaps().is_empty());
}

#[test]
fn a_gap_is_recorded_with_the_page_after_it() {
    let db = SqliteUsage::default();
    let d = [delta(
        "u",
        1,
        Some("2025-01-05"),
        "2025-01-05",
        "2025-01-05",
    )];
    assert!(
        block_on(db.write_usage_page(&page(None, "10", &d, None)))
            .unwrap()
            .applied
    );
    let later = [delta(
        "u",
        1,
        Some("2025-03-01"),
        "2025-03-01",
        "2025-03-01",
    )];
    let gap = Gap {
        run_id: 7,
        from: Some("2025-01-05"),
        until: "2025-03-01",
    };
    let w = block_on(db.write_usage_page(&page(Some("10"), "99", &later, Some(gap)))).unwrap();
    assert!(w.applied);
    assert_eq!(
        db.gaps(),
        vec![(Some(7), Some("2025-01-05".into()), "2025-03-01".into())]
    );
    let cursor = block_on(db.log_cursor()).unwrap().unwrap();
    assert_eq!(
        cursor.tracking_since.as_deref(),
        Some("2025-01-05"),
        "tracking began before the gap"
    );
    assert_eq!(db.usage()[0].3, 2);
}

#[test]
fn first_uses_ride_in_the_batch_once_per_pair_and_caught_up_is_set_once() {
    use crate::changes::{EventType, NewEvent, Origin, Subject};
    let db = SqliteUsage::default();
    let first_use = |user: &str| {
        NewEvent::new(
            &Origin::Log("first_use".into()),
            "2025-01-05",
            EventType::AppFirstUse,
            Subject {
                user_id: Some(user.into()),
                client_id: Some("app".into()),
                ..Subject::default()
            },
            "first use".into(),
        )
    };
    let d = [delta(
        "u",
        1,
        Some("2025-01-05"),
        "2025-01-05",
        "2025-01-05",
    )];
    let events = [first_use("u")];
    let mut p = page(None, "10", &d, None);
    p.events = &events;
    assert!(block_on(db.write_usage_page(&p)).unwrap().applied);
    let events = [first_use("u"), first_use("v")];
    let mut p = page(Some("10"), "20", &d, None);
    p.events = &events;
    p.caught_up = true;
    assert!(block_on(db.write_usage_page(&p)).unwrap().applied);
    let stored: Vec<_> = db
        .access_events()
        .into_iter()
        .map(|e| e.1.unwrap())
        .collect();
    assert_eq!(
        stored,
        ["u", "v"],
        "the key makes the second first use of u a no-op"
    );
    let caught = block_on(db.log_cursor()).unwrap().unwrap().caught_up_at;
    assert_eq!(caught.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    let mut p = page(Some("20"), "30", &d, None);
    p.caught_up = true;
    p.now = "2027-01-01T00:00:00.000Z";
    assert!(block_on(db.write_usage_page(&p)).unwrap().applied);
    assert_eq!(
        block_on(db.log_cursor()).unwrap().unwrap().caught_up_at,
        caught,
        "set once"
    );
}
