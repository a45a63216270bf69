//! D1's daily limits on the Workers Free plan: recognising the refusal, and when it lifts.
//!
//! Since 2026-09-01 D1 refuses every query of a Free account that exceeded its daily rows read
//! (5,000,000) or rows written (100,000) until midnight UTC. Cloudflare's changelog entry
//! "D1 enforces free tier daily query limits" (cloudflare-docs,
//! `src/content/changelog/d1/2026-09-01-d1-free-tier-limit-enforcement.mdx`) gives the errors:
//!
//! > Your account has exceeded D1's free tier daily row read limit. Upgrade to a paid plan or
//! > wait until tomorrow (midnight UTC) to continue.
//! >
//! > Your account has exceeded D1's free tier daily row write limit. Upgrade to a paid plan or
//! > wait until tomorrow (midnight UTC) to continue.
//!
//! The binding may prefix them (`D1_ERROR: …`), so only the distinctive part is matched.

use crate::time::{EpochMs, iso_from_ms};

const DAY_MS: EpochMs = 86_400_000;

/// Which of D1's daily Free-plan limits refused a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyLimit {
    /// 5,000,000 rows read a day.
    RowsRead,
    /// 100,000 rows written a day.
    RowsWritten,
}

impl DailyLimit {
    /// The limit D1's message `detail` names, if it is one of the daily limits.
    pub fn of(detail: &str) -> Option<Self> {
        let lower = detail.to_ascii_lowercase();
        if !lower.contains("exceeded d1's free tier daily row") {
            return None;
        }
        if lower.contains("daily row write limit") {
            Some(Self::RowsWritten)
        } else if lower.contains("daily row read limit") {
            Some(Self::RowsRead)
        } else {
            None
        }
    }

    /// How the limit reads in a message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::RowsRead => "daily limit of 5,000,000 rows read",
            Self::RowsWritten => "daily limit of 100,000 rows written",
        }
    }
}

/// The next 00:00 UTC after `now`: when D1's daily counts start again.
pub fn resets_at(now: EpochMs) -> EpochMs {
    (now / DAY_MS + 1) * DAY_MS
}

/// The history's message for a run paused at `now` by `limit`.
pub fn paused_message(limit: DailyLimit, now: EpochMs) -> String {
    format!(
        "Paused: D1 refused a query because this Cloudflare account reached D1's Free-plan {} \
         (counted over all its databases). Nothing is lost: the sync continues where it \
         stopped after the limit resets at {} (00:00 UTC). The Workers Paid plan has no daily \
         limit.",
        limit.describe(),
        iso_from_ms(resets_at(now))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITE: &str = "Your account has exceeded D1's free tier daily row write limit. Upgrade to \
         a paid plan or wait until tomorrow (midnight UTC) to continue.";
    const READ: &str = "Your account has exceeded D1's free tier daily row read limit. Upgrade to \
         a paid plan or wait until tomorrow (midnight UTC) to continue.";

    #[test]
    fn recognises_both_documented_errors_with_or_without_a_prefix() {
        assert_eq!(DailyLimit::of(WRITE), Some(DailyLimit::RowsWritten));
        assert_eq!(
            DailyLimit::of(&format!("D1_ERROR: {WRITE}")),
            Some(DailyLimit::RowsWritten)
        );
        assert_eq!(DailyLimit::of(READ), Some(DailyLimit::RowsRead));
        for other in [
            "injected failure",
            "D1 DB is overloaded. Too many requests queued.",
            "Too many API requests by single worker invocation.",
            "daily row write limit",
        ] {
            assert_eq!(DailyLimit::of(other), None, "{other}");
        }
    }

    #[test]
    fn resets_at_the_next_utc_midnight() {
        let midnight = crate::time::ms_from_iso("2026-12-08T00:00:00.000Z").unwrap();
        assert_eq!(resets_at(midnight - 1), midnight);
        assert_eq!(resets_at(midnight - DAY_MS + 1), midnight);
        // At midnight exactly the new day has begun: the next reset is a day on.
        assert_eq!(resets_at(midnight), midnight + DAY_MS);
        let m = paused_message(DailyLimit::RowsWritten, midnight - 3_600_000);
        assert!(m.contains("100,000 rows written"), "{m}");
        assert!(m.contains("2026-12-08T00:00:00"), "{m}");
    }
}
