//! Which kind of listing a new run does: a full listing when one is due, else an incremental one
//! from the last proven listing's start minus an overlap. Pure: the store says when the last
//! proven listings started, the settings say how often a full one is due.
//!
//! Only a full listing may mark users removed from their absence, so one must run at least every
//! `FULL_SYNC_INTERVAL_HOURS`. Between them, a run lists the users whose `updated_at` is at or
//! after the start of the newest listing that was proven complete, minus the overlap: Auth0's
//! search index is eventually consistent, and the Worker's clock is not Auth0's, so a change
//! stamped just before that start may only show up in the index after it.

use crate::config::DEFAULT_INCREMENTAL_OVERLAP_SECONDS;
use crate::store::RunKind;
use crate::store::runs::LastListings;
use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

/// A full listing due within this long counts as due now: the cron fires on its minute
/// and a run starts a little after it, so an exact comparison would slip the full listing to the
/// next tick every day.
const DUE_SLACK_MS: u64 = 5 * 60_000;

/// How often a full listing is due, and how far back an incremental one reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `FULL_SYNC_INTERVAL_HOURS`; 0: every run is a full listing.
    pub full_interval_hours: u32,
    /// `INCREMENTAL_OVERLAP_SECONDS`.
    pub overlap_seconds: u32,
}

impl Default for Schedule {
    /// Every run a full listing: the behaviour before incremental syncs.
    fn default() -> Self {
        Self {
            full_interval_hours: 0,
            overlap_seconds: DEFAULT_INCREMENTAL_OVERLAP_SECONDS,
        }
    }
}

/// What a new run lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Full or incremental.
    pub kind: RunKind,
    /// For an incremental run, the `updated_at` it lists from (ISO-8601 UTC ms).
    pub since: Option<String>,
}

impl Plan {
    fn full() -> Self {
        Self {
            kind: RunKind::Full,
            since: None,
        }
    }
}

/// Decides the kind of a run starting at `now`. `full_wanted` (a manual sync, a first sync)
/// forces a full listing; so does an unreadable stored instant.
pub fn plan(schedule: Schedule, last: &LastListings, now: EpochMs, full_wanted: bool) -> Plan {
    if full_wanted || schedule.full_interval_hours == 0 {
        return Plan::full();
    }
    let interval_ms = u64::from(schedule.full_interval_hours) * 3_600_000;
    let Some(last_full) = last.last_full.as_deref().and_then(ms_from_iso) else {
        return Plan::full();
    };
    // A full listing "in the future" (a clock moved back) is no proof of anything recent.
    if last_full > now || now - last_full + DUE_SLACK_MS >= interval_ms {
        return Plan::full();
    }
    let Some(from) = last.last_listed.as_deref().and_then(ms_from_iso) else {
        return Plan::full();
    };
    // The newest proven listing of any kind, the last full one included.
    let since = from.saturating_sub(u64::from(schedule.overlap_seconds) * 1000);
    Plan {
        kind: RunKind::Incremental,
        since: Some(iso_from_ms(since)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000;
    const T0: EpochMs = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z

    fn last(full: Option<EpochMs>, listed: Option<EpochMs>) -> LastListings {
        LastListings {
            last_full: full.map(iso_from_ms),
            last_listed: listed.map(iso_from_ms),
        }
    }

    fn daily() -> Schedule {
        Schedule {
            full_interval_hours: 24,
            overlap_seconds: 300,
        }
    }

    #[test]
    fn a_full_listing_is_due_first_then_every_interval() {
        assert_eq!(plan(daily(), &last(None, None), T0, false), Plan::full());
        let fresh = last(Some(T0), Some(T0));
        let p = plan(daily(), &fresh, T0 + 15 * 60_000, false);
        assert_eq!(p.kind, RunKind::Incremental);
        assert_eq!(p.since.as_deref(), Some("2025-12-31T23:55:00.000Z"));
        let tick_before = T0 + 24 * H - 15 * 60_000;
        assert_eq!(
            plan(daily(), &fresh, tick_before, false).kind,
            RunKind::Incremental
        );
        // The day's tick, even if it fires a little before the last full listing's start.
        assert_eq!(plan(daily(), &fresh, T0 + 24 * H - 50, false), Plan::full());
        assert_eq!(plan(daily(), &fresh, T0 + 24 * H, false), Plan::full());
    }

    #[test]
    fn an_incremental_run_starts_from_the_newest_proven_listing() {
        let l = last(Some(T0), Some(T0 + 2 * H));
        let p = plan(daily(), &l, T0 + 3 * H, false);
        assert_eq!(p.since, Some(iso_from_ms(T0 + 2 * H - 300_000)));
        let no_overlap = Schedule {
            overlap_seconds: 0,
            ..daily()
        };
        assert_eq!(
            plan(no_overlap, &l, T0 + 3 * H, false).since,
            Some(iso_from_ms(T0 + 2 * H))
        );
    }

    #[test]
    fn manual_zero_interval_unreadable_or_future_instants_mean_full() {
        let fresh = last(Some(T0), Some(T0));
        assert_eq!(plan(daily(), &fresh, T0 + H, true), Plan::full());
        assert_eq!(
            plan(Schedule::default(), &fresh, T0 + H, false),
            Plan::full()
        );
        let odd = LastListings {
            last_full: Some("yesterday".into()),
            last_listed: Some(iso_from_ms(T0)),
        };
        assert_eq!(plan(daily(), &odd, T0 + H, false), Plan::full());
        assert_eq!(plan(daily(), &fresh, T0 - H, false), Plan::full());
        let listed_unreadable = LastListings {
            last_full: Some(iso_from_ms(T0)),
            last_listed: Some("x".into()),
        };
        assert_eq!(
            plan(daily(), &listed_unreadable, T0 + H, false),
            Plan::full()
        );
    }
}
