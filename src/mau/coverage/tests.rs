//! Gaps, retention and an unfinished read make a month a lower bound; no gap leaves it exact.

use super::*;

fn ms(date: &str) -> EpochMs {
    ms_from_iso(date).unwrap()
}

fn facts(since: &str, to: &str, gaps: &[(Option<&str>, &str)]) -> LogFacts {
    LogFacts {
        tracking_since: Some(since.into()),
        since_tenant_start: false,
        followed_to: Some(to.into()),
        gaps: gaps
            .iter()
            .map(|(from, until)| Gap {
                from: from.map(str::to_string),
                until: (*until).to_string(),
            })
            .collect(),
    }
}

fn feb() -> Month {
    Month::parse("2026-02").unwrap()
}

#[test]
fn followed_without_a_gap_is_exact() {
    let f = facts("2026-01-10T00:00:00.000Z", "2026-03-02T00:00:00.000Z", &[]);
    let c = coverage(feb(), &f, ms("2026-03-02T00:00:00Z"));
    assert!(c.exact);
    assert_eq!(c.reason, None);
    assert_eq!(c.counted_from.as_deref(), Some("2026-02-01T00:00:00.000Z"));
    assert_eq!(c.counted_to.as_deref(), Some("2026-03-01T00:00:00.000Z"));
    // A gap in another month leaves February exact.
    let f = facts(
        "2026-01-01T00:00:00Z",
        "2026-03-02T00:00:00Z",
        &[(Some("2026-01-03T00:00:00Z"), "2026-01-05T00:00:00Z")],
    );
    assert!(coverage(feb(), &f, ms("2026-03-02T00:00:00Z")).exact);
}

#[test]
fn the_current_month_is_exact_up_to_the_last_read() {
    let f = facts("2026-01-10T00:00:00Z", "2026-02-14T11:45:00Z", &[]);
    let c = coverage(feb(), &f, ms("2026-02-14T12:00:00Z"));
    assert!(c.exact, "{c:?}");
    assert_eq!(c.counted_to.as_deref(), Some("2026-02-14T11:45:00.000Z"));
}

#[test]
fn a_month_not_read_to_its_end_is_a_lower_bound() {
    let f = facts("2026-01-10T00:00:00Z", "2026-02-20T00:00:00Z", &[]);
    let c = coverage(feb(), &f, ms("2026-03-05T00:00:00Z"));
    assert!(!c.exact);
    assert_eq!(c.reason, Some(Reason::NotFollowed));
    let never = coverage(feb(), &LogFacts::default(), ms("2026-03-05T00:00:00Z"));
    assert_eq!(
        (never.exact, never.reason, never.counted_from),
        (false, Some(Reason::NotFollowed), None)
    );
}

#[test]
fn retention_makes_a_lower_bound_unless_the_tenant_began_then() {
    let mut f = facts("2026-02-09T08:00:00Z", "2026-03-02T00:00:00Z", &[]);
    let c = coverage(feb(), &f, ms("2026-03-02T00:00:00Z"));
    assert!(!c.exact);
    assert_eq!(c.reason, Some(Reason::Retention));
    assert_eq!(c.counted_from.as_deref(), Some("2026-02-09T08:00:00.000Z"));
    f.since_tenant_start = true;
    assert!(coverage(feb(), &f, ms("2026-03-02T00:00:00Z")).exact);
}

#[test]
fn a_gap_between_checkpoints_makes_a_lower_bound_counted_after_it() {
    for (from, until) in [
        (Some("2026-02-10T00:00:00Z"), "2026-02-12T06:00:00Z"),
        // Reaching in from the month before, or of unknown start.
        (Some("2026-01-30T00:00:00Z"), "2026-02-12T06:00:00Z"),
        (None, "2026-02-12T06:00:00Z"),
    ] {
        let f = facts(
            "2026-01-01T00:00:00Z",
            "2026-03-02T00:00:00Z",
            &[(from, until)],
        );
        let c = coverage(feb(), &f, ms("2026-03-02T00:00:00Z"));
        assert!(!c.exact, "{from:?}");
        assert_eq!(c.reason, Some(Reason::Gap));
        assert_eq!(c.counted_from.as_deref(), Some("2026-02-12T06:00:00.000Z"));
    }
    // A gap that ends at the month's first instant lost nothing of it.
    let f = facts(
        "2026-01-01T00:00:00Z",
        "2026-03-02T00:00:00Z",
        &[(Some("2026-01-30T00:00:00Z"), "2026-02-01T00:00:00Z")],
    );
    assert!(coverage(feb(), &f, ms("2026-03-02T00:00:00Z")).exact);
}
