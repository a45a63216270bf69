//! Which kind of listing a new run does, and how soon a deletion shows. Pure: the store says
//! when the last proven listings started, what the last full one cost and what deletion signal
//! the tenant has; the settings say how often a full listing is due.
//!
//! Only a full listing may mark users removed from their absence. Between them, a run lists the
//! users whose `updated_at` is at or after the start of the newest listing that was proven
//! complete, minus the overlap: Auth0's search index is eventually consistent, and the Worker's
//! clock is not Auth0's, so a change stamped just before that start may only show up in the
//! index after it.
//!
//! Such an incremental run sees a deletion only through a deletion signal: the log's `sdu`
//! (`read:logs`, the log followed without a gap since the last proven full listing), or Auth0
//! Event Streams' `user.deleted` (a delivery within the last 24 hours shows a stream is set up).
//! With one, a full listing runs every `FULL_SYNC_INTERVAL_HOURS`. Without one, every run is a
//! full listing while the last one cost at most `FULL_SYNC_AUTO_MAX_REQUESTS` Auth0 requests,
//! else one runs every hour: a deletion then shows at the next sync, or within an hour.

use crate::auth0::error::GRANT_PATH;
use crate::config::{
    DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS, DEFAULT_INCREMENTAL_OVERLAP_SECONDS, SyncLimits,
};
use crate::store::RunKind;
use crate::store::runs::LastListings;
use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

/// A full listing due within this long counts as due now: the cron fires on its minute
/// and a run starts a little after it, so an exact comparison would slip the full listing to the
/// next tick every day.
const DUE_SLACK_MS: u64 = 5 * 60_000;

/// An Event Streams delivery this recent shows that a stream is set up and delivering.
pub const EVENT_STREAM_WINDOW_MS: u64 = 24 * 3_600_000;

/// How often a full listing runs, without a deletion signal, when one costs more than
/// `FULL_SYNC_AUTO_MAX_REQUESTS`.
pub const COSTLY_FULL_EVERY_HOURS: u32 = 1;

/// How often a full listing is due, and how far back an incremental one reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// `FULL_SYNC_INTERVAL_HOURS`; 0: every run is a full listing.
    pub full_interval_hours: u32,
    /// `INCREMENTAL_OVERLAP_SECONDS`.
    pub overlap_seconds: u32,
    /// `FULL_SYNC_AUTO_MAX_REQUESTS`: without a deletion signal, every run is a full listing
    /// while one costs at most this many Auth0 requests.
    pub auto_max_requests: u32,
}

impl Default for Schedule {
    /// Every run a full listing: the behaviour before incremental syncs.
    fn default() -> Self {
        Self {
            full_interval_hours: 0,
            overlap_seconds: DEFAULT_INCREMENTAL_OVERLAP_SECONDS,
            auto_max_requests: DEFAULT_FULL_SYNC_AUTO_MAX_REQUESTS,
        }
    }
}

impl Schedule {
    /// The schedule the settings ask for.
    pub fn from_limits(limits: &SyncLimits) -> Self {
        Self {
            full_interval_hours: limits.full_sync_interval_hours,
            overlap_seconds: limits.incremental_overlap_seconds,
            auto_max_requests: limits.full_sync_auto_max_requests,
        }
    }
}

/// What tells an incremental run about a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The log's `sdu`, read by every run.
    Log,
    /// Event Streams' `user.deleted`, pushed as it happens.
    EventStream,
}

impl Signal {
    /// The served text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::EventStream => "event_stream",
        }
    }
}

/// Whether the log is a deletion signal, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogState {
    /// The last full listing's token lacked `read:logs`.
    NotGranted,
    /// Not followed since the last proven full listing: never read (or empty), first read
    /// from after it, or no proven full listing yet.
    NotFollowed,
    /// Events after the last proven full listing were lost to retention before they were read.
    Gap,
    /// Followed without a gap since the last proven full listing: a signal.
    Followed,
}

/// The log's state as the store describes it.
pub fn log_state(last: &LastListings) -> LogState {
    if last.logs_granted == Some(false) {
        return LogState::NotGranted;
    }
    let full = last.last_full.as_deref().and_then(ms_from_iso);
    let since = last.log_tracking_since.as_deref().and_then(ms_from_iso);
    let (Some(full), Some(since)) = (full, since) else {
        return LogState::NotFollowed;
    };
    // The first event read came after the listing: what the log held before it is unknown.
    if since > full {
        return LogState::NotFollowed;
    }
    match last.log_gap_until.as_deref() {
        None => LogState::Followed,
        // A gap that ended before the listing started lost nothing the listing did not see.
        Some(until) => match ms_from_iso(until) {
            Some(until) if until < full => LogState::Followed,
            _ => LogState::Gap,
        },
    }
}

/// The tenant's deletion signal at `now`, the log's first.
pub fn signal(last: &LastListings, now: EpochMs) -> Option<Signal> {
    if log_state(last) == LogState::Followed {
        return Some(Signal::Log);
    }
    let pushed = last.last_push.as_deref().and_then(ms_from_iso);
    // A delivery stamped after now (the Worker's clock moved back) still shows a stream.
    pushed
        .filter(|at| at.saturating_add(EVENT_STREAM_WINDOW_MS) >= now)
        .map(|_| Signal::EventStream)
}

/// Why full listings run as often as they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `FULL_SYNC_INTERVAL_HOURS` is 0.
    EveryRunSet,
    /// A deletion signal: `FULL_SYNC_INTERVAL_HOURS` applies.
    Signal(Signal),
    /// No signal, and no proven full listing yet: the next run is one.
    NoSignalFirst(LogState),
    /// No signal; the last full listing cost `cost` requests, within the setting.
    NoSignalCheap(LogState, u64),
    /// No signal; the last full listing cost `cost` requests, above the setting.
    NoSignalCostly(LogState, u64),
}

/// How often a full listing runs, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Hours between full listings; 0: every run is one.
    pub every_hours: u32,
    /// Why.
    pub reason: Reason,
}

/// How often a full listing runs at `now`.
pub fn cadence(schedule: Schedule, last: &LastListings, now: EpochMs) -> Cadence {
    let interval = schedule.full_interval_hours;
    let (every_hours, reason) = if interval == 0 {
        (0, Reason::EveryRunSet)
    } else if let Some(s) = signal(last, now) {
        (interval, Reason::Signal(s))
    } else {
        let log = log_state(last);
        match last.last_full_requests {
            None => (0, Reason::NoSignalFirst(log)),
            Some(cost) if cost <= u64::from(schedule.auto_max_requests) => {
                (0, Reason::NoSignalCheap(log, cost))
            }
            Some(cost) => (
                interval.min(COSTLY_FULL_EVERY_HOURS),
                Reason::NoSignalCostly(log, cost),
            ),
        }
    };
    Cadence {
        every_hours,
        reason,
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
    let every_hours = cadence(schedule, last, now).every_hours;
    if full_wanted || every_hours == 0 {
        return Plan::full();
    }
    let interval_ms = u64::from(every_hours) * 3_600_000;
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

/// How soon a deletion in Auth0 shows here, for the dashboard and `/api/summary`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Outlook {
    /// At the latest, in hours; 0: at the next sync.
    pub within_hours: u32,
    /// The same in words: "at the next sync", "within an hour", "within 24 hours".
    pub shows: String,
    /// The deletion signal, `log` or `event_stream`; `None` without one.
    pub signal: Option<&'static str>,
    /// Hours between full listings; 0: every sync is one.
    pub full_listing_every_hours: u32,
    /// The Auth0 requests the last proven full listing took (the estimate of the next one's).
    pub full_listing_requests: Option<u64>,
    /// Why, in a sentence.
    pub why: String,
    /// What would make deletions show sooner; `None` when nothing would.
    pub faster: Option<String>,
}

/// `hours` in words, as a deletion's delay.
pub fn within_words(hours: u32) -> String {
    match hours {
        0 => "at the next sync".into(),
        1 => "within an hour".into(),
        n => format!("within {n} hours"),
    }
}

/// How the log falls short of a deletion signal, as a clause.
fn log_clause(log: LogState) -> String {
    match log {
        LogState::NotGranted => "the M2M app lacks read:logs".into(),
        LogState::NotFollowed => "the log has not been followed since the last full listing".into(),
        LogState::Gap => "events in the log since the last full listing were lost to its \
                          retention before they were read"
            .into(),
        // Not reached without a signal; said plainly should it be.
        LogState::Followed => "the log is followed".into(),
    }
}

/// What would make deletions show at the next sync without full listings.
fn faster_text(log: LogState) -> String {
    let stream = "set up an Auth0 Event Stream to POST /api/auth0/events (deletions then show \
                  as they happen)";
    match log {
        LogState::NotGranted => format!(
            "Grant read:logs to the M2M app in {GRANT_PATH} (every sync then reads the log's \
             deletions), or {stream}."
        ),
        LogState::Gap => format!(
            "The log counts again once a full listing has run after its gap (sync more often \
             than the log's retention); or {stream}."
        ),
        LogState::NotFollowed | LogState::Followed => format!(
            "The log counts once it has been read since a full listing (the next syncs do \
             that); or {stream}."
        ),
    }
}

/// The outlook at `now`.
pub fn outlook(schedule: Schedule, last: &LastListings, now: EpochMs) -> Outlook {
    let c = cadence(schedule, last, now);
    let interval = schedule.full_interval_hours;
    let no_stream = "no Auth0 Event Streams delivery arrived in the last 24 hours";
    let (within_hours, why, faster) = match c.reason {
        Reason::EveryRunSet => (
            0,
            "FULL_SYNC_INTERVAL_HOURS is 0: every sync lists the whole tenant.".to_string(),
            None,
        ),
        Reason::Signal(Signal::Log) => (
            0,
            format!(
                "read:logs is granted and the log has been followed without a gap since the \
                 last full listing: every sync reads the log's user deletions (sdu). A full \
                 listing every {} also removes users no event reported.",
                hours_words(interval)
            ),
            None,
        ),
        Reason::Signal(Signal::EventStream) => (
            interval,
            format!(
                "Auth0 Event Streams deliveries arrive: a user.deleted push shows a deletion as \
                 it happens, and one the stream misses shows at the next full listing, every {}.",
                hours_words(interval)
            ),
            Some(format!(
                "Grant read:logs to the M2M app in {GRANT_PATH}: every sync then reads the \
                 log's deletions too."
            )),
        ),
        Reason::NoSignalFirst(log) => (
            0,
            format!(
                "No deletion signal ({}; {no_stream}) and no full listing yet: the next sync \
                 lists the whole tenant.",
                log_clause(log)
            ),
            None,
        ),
        Reason::NoSignalCheap(log, cost) => (
            0,
            format!(
                "No deletion signal ({}; {no_stream}), so every sync lists the whole tenant: the \
                 last full listing took {cost} Auth0 requests, within FULL_SYNC_AUTO_MAX_REQUESTS \
                 ({}).",
                log_clause(log),
                schedule.auto_max_requests
            ),
            None,
        ),
        Reason::NoSignalCostly(log, cost) => (
            c.every_hours,
            format!(
                "No deletion signal ({}; {no_stream}), and the last full listing took {cost} \
                 Auth0 requests, more than FULL_SYNC_AUTO_MAX_REQUESTS ({}): the whole tenant \
                 is listed every {}.",
                log_clause(log),
                schedule.auto_max_requests,
                hours_words(c.every_hours)
            ),
            Some(faster_text(log)),
        ),
    };
    Outlook {
        within_hours,
        shows: within_words(within_hours),
        signal: match c.reason {
            Reason::Signal(s) => Some(s.as_str()),
            _ => None,
        },
        full_listing_every_hours: c.every_hours,
        full_listing_requests: last.last_full_requests,
        why,
        faster,
    }
}

/// "hour" or "N hours".
fn hours_words(hours: u32) -> String {
    match hours {
        1 => "hour".into(),
        n => format!("{n} hours"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3_600_000;
    const T0: EpochMs = 1_767_225_600_000; // 2026-01-01T00:00:00.000Z

    /// The proven listings of a tenant whose log is followed without a gap (a deletion
    /// signal), its last full listing having cost 50 requests.
    fn last(full: Option<EpochMs>, listed: Option<EpochMs>) -> LastListings {
        LastListings {
            last_full: full.map(iso_from_ms),
            last_listed: listed.map(iso_from_ms),
            last_full_requests: Some(50),
            logs_granted: Some(true),
            log_tracking_since: Some(iso_from_ms(T0 - 48 * H)),
            ..LastListings::default()
        }
    }

    /// The seed's scopes: no read:logs, no log, no Event Streams; the last full listing cost
    /// `cost` requests.
    fn seed(full: EpochMs, cost: u64) -> LastListings {
        LastListings {
            last_full: Some(iso_from_ms(full)),
            last_listed: Some(iso_from_ms(full)),
            last_full_requests: Some(cost),
            logs_granted: Some(false),
            ..LastListings::default()
        }
    }

    fn daily() -> Schedule {
        Schedule {
            full_interval_hours: 24,
            overlap_seconds: 300,
            auto_max_requests: 200,
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
            ..fresh.clone()
        };
        assert_eq!(plan(daily(), &odd, T0 + H, false), Plan::full());
        assert_eq!(plan(daily(), &fresh, T0 - H, false), Plan::full());
        let listed_unreadable = LastListings {
            last_listed: Some("x".into()),
            ..fresh.clone()
        };
        assert_eq!(
            plan(daily(), &listed_unreadable, T0 + H, false),
            Plan::full()
        );
    }

    #[test]
    fn the_log_is_a_signal_only_when_followed_without_a_gap_since_the_last_full_listing() {
        let followed = last(Some(T0), Some(T0));
        assert_eq!(log_state(&followed), LogState::Followed);
        assert_eq!(signal(&followed, T0 + H), Some(Signal::Log));
        // A token that named no scopes recorded none: the log's own state decides.
        let unrecorded = LastListings {
            logs_granted: None,
            ..followed.clone()
        };
        assert_eq!(log_state(&unrecorded), LogState::Followed);
        let cases = [
            (Some(false), Some(T0 - H), None, LogState::NotGranted),
            // Never read (no checkpoint), or read first from after the listing.
            (Some(true), None, None, LogState::NotFollowed),
            (Some(true), Some(T0 + 1), None, LogState::NotFollowed),
            (Some(true), Some(T0), None, LogState::Followed),
            // A gap that ended before the listing lost nothing it did not see; one after did.
            (
                Some(true),
                Some(T0 - 9 * H),
                Some(T0 - H),
                LogState::Followed,
            ),
            (Some(true), Some(T0 - 9 * H), Some(T0), LogState::Gap),
            (Some(true), Some(T0 - 9 * H), Some(T0 + H), LogState::Gap),
        ];
        for (granted, since, gap, want) in cases {
            let l = LastListings {
                logs_granted: granted,
                log_tracking_since: since.map(iso_from_ms),
                log_gap_until: gap.map(iso_from_ms),
                ..followed.clone()
            };
            assert_eq!(log_state(&l), want, "{l:?}");
            assert_eq!(signal(&l, T0 + H).is_some(), want == LogState::Followed);
        }
        let unreadable = [
            LastListings {
                log_gap_until: Some("lost".into()),
                ..followed.clone()
            },
            LastListings {
                log_tracking_since: Some("?".into()),
                ..followed.clone()
            },
        ];
        assert_eq!(log_state(&unreadable[0]), LogState::Gap);
        assert_eq!(log_state(&unreadable[1]), LogState::NotFollowed);
        // No proven full listing: nothing to have followed the log since.
        assert_eq!(log_state(&last(None, None)), LogState::NotFollowed);
    }

    #[test]
    fn an_event_streams_delivery_in_the_last_24_hours_is_a_signal() {
        let pushed = |at: EpochMs| LastListings {
            last_push: Some(iso_from_ms(at)),
            ..seed(T0, 50)
        };
        let now = T0 + 30 * H;
        assert_eq!(signal(&seed(T0, 50), now), None);
        assert_eq!(
            signal(&pushed(now - 24 * H), now),
            Some(Signal::EventStream)
        );
        assert_eq!(signal(&pushed(now - 24 * H - 1), now), None);
        assert_eq!(signal(&pushed(now + H), now), Some(Signal::EventStream));
        let odd = LastListings {
            last_push: Some("soon".into()),
            ..seed(T0, 50)
        };
        assert_eq!(signal(&odd, now), None);
        // The log comes first when both are there.
        let both = LastListings {
            last_push: Some(iso_from_ms(now)),
            ..last(Some(T0), Some(T0))
        };
        assert_eq!(signal(&both, now), Some(Signal::Log));
        // With Event Streams only, the interval applies.
        let p = plan(daily(), &pushed(T0 + 10 * 60_000), T0 + 20 * 60_000, false);
        assert_eq!(p.kind, RunKind::Incremental);
    }

    #[test]
    fn without_a_signal_every_tick_lists_the_tenant_while_that_costs_little() {
        // The seed's scopes: the tick right after a full listing is full again.
        for cost in [1, 199, 200] {
            let p = plan(daily(), &seed(T0, cost), T0 + 10 * 60_000, false);
            assert_eq!(p, Plan::full(), "{cost}");
            assert_eq!(
                cadence(daily(), &seed(T0, cost), T0).reason,
                Reason::NoSignalCheap(LogState::NotGranted, cost)
            );
        }
        // No proven full listing to estimate from: the next run is one anyway.
        let first = LastListings {
            last_full_requests: None,
            ..seed(T0, 0)
        };
        assert_eq!(
            cadence(daily(), &first, T0).reason,
            Reason::NoSignalFirst(LogState::NotGranted)
        );
        assert_eq!(plan(daily(), &first, T0 + 60_000, false), Plan::full());
    }

    #[test]
    fn without_a_signal_a_costly_full_listing_runs_hourly() {
        let costly = seed(T0, 201);
        let c = cadence(daily(), &costly, T0);
        assert_eq!(c.every_hours, 1);
        assert_eq!(c.reason, Reason::NoSignalCostly(LogState::NotGranted, 201));
        for minutes in [10, 30, 50] {
            let p = plan(daily(), &costly, T0 + minutes * 60_000, false);
            assert_eq!(p.kind, RunKind::Incremental, "{minutes}");
        }
        assert_eq!(plan(daily(), &costly, T0 + H, false), Plan::full());
        // The tick a little before the hour is the hour's.
        assert_eq!(plan(daily(), &costly, T0 + H - 60_000, false), Plan::full());
        // A lower setting makes the same tenant costly; a higher one cheap.
        let strict = Schedule {
            auto_max_requests: 0,
            ..daily()
        };
        assert_eq!(cadence(strict, &seed(T0, 1), T0).every_hours, 1);
        let lax = Schedule {
            auto_max_requests: 10_000,
            ..daily()
        };
        assert_eq!(cadence(lax, &costly, T0).every_hours, 0);
        // With a signal, cost does not matter: the interval applies.
        let signalled = LastListings {
            last_full_requests: Some(5000),
            ..last(Some(T0), Some(T0))
        };
        assert_eq!(cadence(daily(), &signalled, T0).every_hours, 24);
        // FULL_SYNC_INTERVAL_HOURS=0 wins over everything.
        let every = Schedule {
            full_interval_hours: 0,
            ..daily()
        };
        assert_eq!(
            cadence(every, &costly, T0),
            Cadence {
                every_hours: 0,
                reason: Reason::EveryRunSet
            }
        );
    }

    #[test]
    fn the_outlook_says_how_soon_why_and_what_is_faster() {
        let now = T0 + 10 * 60_000;
        let o = outlook(daily(), &last(Some(T0), Some(T0)), now);
        assert_eq!(
            (o.within_hours, o.shows.as_str(), o.signal),
            (0, "at the next sync", Some("log"))
        );
        assert!(
            o.why.contains("sdu") && o.why.contains("24 hours"),
            "{}",
            o.why
        );
        assert_eq!((o.faster, o.full_listing_every_hours), (None, 24));

        let stream = LastListings {
            last_push: Some(iso_from_ms(now - H)),
            ..seed(T0, 50)
        };
        let o = outlook(daily(), &stream, now);
        assert_eq!(
            (o.within_hours, o.shows.as_str(), o.signal),
            (24, "within 24 hours", Some("event_stream"))
        );
        assert!(o.faster.unwrap().contains("read:logs"));

        let o = outlook(daily(), &seed(T0, 120), now);
        assert_eq!(
            (o.within_hours, o.shows.as_str(), o.signal),
            (0, "at the next sync", None)
        );
        assert_eq!(o.full_listing_requests, Some(120));
        assert!(
            o.why.contains("read:logs") && o.why.contains("120"),
            "{}",
            o.why
        );
        assert_eq!(o.faster, None);

        let o = outlook(daily(), &seed(T0, 900), now);
        assert_eq!(
            (o.within_hours, o.shows.as_str(), o.signal),
            (1, "within an hour", None)
        );
        assert!(
            o.why.contains("FULL_SYNC_AUTO_MAX_REQUESTS (200)"),
            "{}",
            o.why
        );
        let faster = o.faster.unwrap();
        assert!(
            faster.contains("read:logs") && faster.contains("Event Stream"),
            "{faster}"
        );

        let gap = LastListings {
            logs_granted: Some(true),
            log_tracking_since: Some(iso_from_ms(T0 - H)),
            log_gap_until: Some(iso_from_ms(T0 + 1)),
            ..seed(T0, 900)
        };
        let o = outlook(daily(), &gap, now);
        assert!(o.why.contains("retention"), "{}", o.why);
        assert!(o.faster.unwrap().contains("Event Stream"));
        let unread = LastListings {
            logs_granted: Some(true),
            ..seed(T0, 900)
        };
        assert!(
            outlook(daily(), &unread, now)
                .why
                .contains("not been followed")
        );

        let first = LastListings::default();
        let o = outlook(daily(), &first, now);
        assert_eq!((o.within_hours, o.full_listing_requests), (0, None));
        assert!(o.why.contains("no full listing yet"), "{}", o.why);

        let o = outlook(Schedule::default(), &seed(T0, 900), now);
        assert_eq!((o.within_hours, o.faster), (0, None));
        assert!(o.why.contains("FULL_SYNC_INTERVAL_HOURS is 0"));
    }

    #[test]
    fn delays_read_as_words() {
        assert_eq!(within_words(0), "at the next sync");
        assert_eq!(within_words(1), "within an hour");
        assert_eq!(within_words(24), "within 24 hours");
        assert_eq!(hours_words(1), "hour");
        assert_eq!(hours_words(6), "6 hours");
    }
}
