//! Whether a month's MAU is exact or a lower bound, from the facts the store keeps about how the
//! log was followed: since when (`log_cursor.tracking_since`), up to when, and the spans that were
//! never read (`usage_gaps`: the checkpoint fell out of the log's retention between two reads).
//! Never extrapolated: a lower bound says from when it counts and why.

use serde::Serialize;

use super::month::Month;
use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

/// A span of the log that was never read (a `usage_gaps` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The date of the newest event read before the gap; `None`: unknown, so the gap may reach
    /// back to any time.
    pub from: Option<String>,
    /// The date of the oldest event read after it.
    pub until: String,
}

/// What the store knows about how the log was followed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFacts {
    /// The date of the oldest event ever read (`log_cursor.tracking_since`); `None`: never read.
    pub tracking_since: Option<String>,
    /// True when that oldest event is the tenant's own first event (the tenant is younger than
    /// the log's retention), so nothing before it was lost.
    pub since_tenant_start: bool,
    /// Up to when the log is known read without a gap: the time of the last read that reached
    /// the log's end.
    pub followed_to: Option<String>,
    /// The spans never read.
    pub gaps: Vec<Gap>,
}

/// Why a month is a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The month began before the oldest event the log still held when following began.
    Retention,
    /// The log was not read for a span between two checkpoints.
    Gap,
    /// The log has not been read to the month's end (or was never read).
    NotFollowed,
}

/// A month's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// True when every event of the month up to `counted_to` was read.
    pub exact: bool,
    /// From when the count holds without a gap (ISO-8601 UTC ms); `None` when nothing was read.
    pub counted_from: Option<String>,
    /// Up to when: the month's end, or the last read for the current month.
    pub counted_to: Option<String>,
    /// Why it is a lower bound; `None` when exact.
    pub reason: Option<Reason>,
}

/// The coverage of `month`, at `now`. The month is exact when the log was followed without a
/// gap from its start (or the tenant's first event) to its end, or to the last read if the
/// month is not over.
pub fn coverage(month: Month, facts: &LogFacts, now: EpochMs) -> Coverage {
    let start = month.start_ms();
    let end = month.end_ms();
    let since = facts.tracking_since.as_deref().and_then(ms_from_iso);
    let followed = facts.followed_to.as_deref().and_then(ms_from_iso);
    let (Some(since), Some(followed)) = (since, followed) else {
        return Coverage {
            exact: false,
            counted_from: None,
            counted_to: None,
            reason: Some(Reason::NotFollowed),
        };
    };
    // The last instant that could hold events of the month: its end, or now.
    let last = end.min(now.max(start));
    let to = followed.min(last);
    let mut from = start;
    let mut reason = None;
    if since > start && !facts.since_tenant_start {
        from = since;
        reason = Some(Reason::Retention);
    }
    for gap in &facts.gaps {
        let Some(until) = ms_from_iso(&gap.until) else {
            continue;
        };
        let gap_from = gap.from.as_deref().and_then(ms_from_iso).unwrap_or(0);
        // A gap overlapping the counted span moves its start past the gap.
        if gap_from < to && until > from {
            from = from.max(until);
            reason = Some(Reason::Gap);
        }
    }
    // A month not yet over is exact up to the last read (`counted_to` says when that was).
    if reason.is_none() && end <= now && followed < end {
        reason = Some(Reason::NotFollowed);
    }
    Coverage {
        exact: reason.is_none(),
        counted_from: Some(iso_from_ms(from)),
        counted_to: Some(iso_from_ms(to.max(from))),
        reason,
    }
}

#[cfg(test)]
mod tests;
