//! Which alerts are due, under which unique key, when a failed delivery is retried, and the
//! webhook bodies: pure decisions over facts the caller gathers. Sending is the runtime's.
//!
//! Exactly once: the caller records each due alert under its [`Alert::key`] (a unique key in
//! D1) before sending it, and passes the recorded keys back in, so overlapping invocations never
//! send one twice. The types carry tenant names, counts, months and links only: no token,
//! secret or client secret can reach a body.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use super::forecast::{Forecast, Method};
use super::month::{DAY_MS, Month};
use crate::time::{EpochMs, iso_from_ms};

/// Forecast thresholds, in percent of the quota, in the order they are crossed.
pub const FORECAST_THRESHOLDS: [u32; 2] = [80, 100];

/// Failed syncs in a row that make an alert.
pub const FAILURES_IN_A_ROW: u32 = 3;

/// A streak of failed syncs of one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailStreak {
    /// Failed runs in a row, newest last.
    pub count: u32,
    /// The id of the streak's first failed run: one alert per streak.
    pub first_run_id: u64,
}

/// One tenant's facts at this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantFacts {
    /// The tenant's name (its domain or label).
    pub tenant: String,
    /// The current month.
    pub month: Month,
    /// Distinct active users so far this month.
    pub mau: u64,
    /// The plan's MAU, if known.
    pub quota: Option<u64>,
    /// This month's forecast, if made.
    pub forecast: Option<Forecast>,
    /// The current streak of failed syncs, if any.
    pub failed: Option<FailStreak>,
}

/// One tenant's line in the weekly digest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigestTenant {
    /// The tenant.
    pub tenant: String,
    /// MAU so far this month.
    pub mau_so_far: u64,
    /// The forecast for the month's end, and how it was made.
    pub projected: u64,
    /// See [`Method`].
    pub method: Method,
    /// The plan's MAU, if known.
    pub quota: Option<u64>,
}

/// An access change shown as an example in the digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeExample {
    /// Who (user id or email).
    pub user: String,
    /// What changed, in words (e.g. "added to Admin app").
    pub what: String,
}

/// The weekly digest's facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Digest {
    /// Per tenant: MAU so far and forecast.
    pub tenants: Vec<DigestTenant>,
    /// Seats (users) held.
    pub seats: u64,
    /// Seats that became inactive this week.
    pub newly_inactive_seats: u64,
    /// Access changes this week.
    pub access_changes: u64,
    /// The top examples of those changes.
    pub examples: Vec<ChangeExample>,
}

/// A due alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The month's forecast reached a threshold of the quota.
    Forecast {
        /// The tenant.
        tenant: String,
        /// The month.
        month: Month,
        /// 80 or 100.
        threshold_percent: u32,
        /// The forecast.
        projected: u64,
        /// MAU so far.
        so_far: u64,
        /// The quota.
        quota: u64,
        /// How the forecast was made.
        method: Method,
    },
    /// The month's actual MAU reached the quota.
    OverQuota {
        /// The tenant.
        tenant: String,
        /// The month.
        month: Month,
        /// MAU so far.
        mau: u64,
        /// The quota.
        quota: u64,
    },
    /// A tenant's sync failed several times in a row.
    SyncFailing {
        /// The tenant.
        tenant: String,
        /// Failed runs in a row.
        failures: u32,
        /// The first failed run of the streak.
        since_run: u64,
    },
    /// The weekly digest.
    WeeklyDigest {
        /// The Monday it is for (`YYYY-MM-DD`).
        week_of: String,
        /// Its facts.
        #[serde(flatten)]
        digest: Digest,
    },
}

impl Alert {
    /// The unique key it is recorded under: one per tenant, month and threshold; per tenant and
    /// failure streak; per Monday.
    pub fn key(&self) -> String {
        match self {
            Self::Forecast {
                tenant,
                month,
                threshold_percent,
                ..
            } => format!("forecast:{tenant}:{month}:{threshold_percent}"),
            Self::OverQuota { tenant, month, .. } => format!("over_quota:{tenant}:{month}:100"),
            Self::SyncFailing {
                tenant, since_run, ..
            } => format!("sync_failing:{tenant}:{since_run}"),
            Self::WeeklyDigest { week_of, .. } => format!("digest:{week_of}"),
        }
    }
}

/// The Monday whose digest is due at `now` (`YYYY-MM-DD`): Mondays from 08:00 UTC on.
pub fn digest_day(now: EpochMs) -> Option<String> {
    let days = now / DAY_MS;
    // 1970-01-01 was a Thursday, so day 4 (1970-01-05) was the first Monday.
    let monday = (days + 3).is_multiple_of(7);
    let after_eight = now % DAY_MS >= 8 * 3_600_000;
    // The date part of the one ISO shape `iso_from_ms` writes (ASCII, 24 bytes).
    (monday && after_eight).then(|| iso_from_ms(days * DAY_MS)[..10].to_string())
}

/// The alerts due at `now` whose keys are not in `recorded`, in a stable order: per tenant,
/// forecast thresholds (80 before 100; both when a forecast jumps past both), then actual MAU,
/// then a failure streak; the digest last (given only when gathered for [`digest_day`]).
pub fn due(
    now: EpochMs,
    tenants: &[TenantFacts],
    digest: Option<&Digest>,
    recorded: &BTreeSet<String>,
) -> Vec<Alert> {
    let mut out = Vec::new();
    for t in tenants {
        let forecast = t.forecast.as_ref().filter(|f| f.month == t.month);
        if let Some((f, quota)) = forecast.and_then(|f| f.quota.filter(|q| *q > 0).map(|q| (f, q)))
        {
            for threshold in FORECAST_THRESHOLDS {
                // Integer comparison: projected ≥ threshold % of quota, without rounding.
                if u128::from(f.projected) * 100 >= u128::from(quota) * u128::from(threshold) {
                    out.push(Alert::Forecast {
                        tenant: t.tenant.clone(),
                        month: t.month,
                        threshold_percent: threshold,
                        projected: f.projected,
                        so_far: f.so_far,
                        quota,
                        method: f.method,
                    });
                }
            }
        }
        if let Some(quota) = t.quota.filter(|q| *q > 0 && t.mau >= *q) {
            out.push(Alert::OverQuota {
                tenant: t.tenant.clone(),
                month: t.month,
                mau: t.mau,
                quota,
            });
        }
        if let Some(streak) = t.failed.filter(|s| s.count >= FAILURES_IN_A_ROW) {
            out.push(Alert::SyncFailing {
                tenant: t.tenant.clone(),
                failures: streak.count,
                since_run: streak.first_run_id,
            });
        }
    }
    if let (Some(week_of), Some(digest)) = (digest_day(now), digest) {
        out.push(Alert::WeeklyDigest {
            week_of,
            digest: digest.clone(),
        });
    }
    out.retain(|a| !recorded.contains(&a.key()));
    out
}

/// How long a failed delivery is retried.
pub const RETRY_FOR_MS: EpochMs = DAY_MS;
/// The least time between two attempts, so overlapping ticks don't retry at once.
pub const RETRY_EVERY_MS: EpochMs = 10 * 60_000;

/// A recorded alert's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Recorded, not yet delivered.
    Pending,
    /// Delivered.
    Sent,
    /// Not delivered within [`RETRY_FOR_MS`].
    Failed,
}

/// A recorded alert's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// When it was recorded.
    pub recorded_at: EpochMs,
    /// Attempts so far.
    pub attempts: u32,
    /// The last attempt.
    pub last_attempt_at: Option<EpochMs>,
    /// Where it stands.
    pub state: State,
}

impl Delivery {
    /// A delivery recorded at `now`, not yet tried.
    pub fn new(now: EpochMs) -> Self {
        Self {
            recorded_at: now,
            attempts: 0,
            last_attempt_at: None,
            state: State::Pending,
        }
    }
}

/// What to do with a delivery at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Try it now (one bounded request).
    Send,
    /// Nothing now: delivered, given up, or tried too recently.
    Wait,
    /// Too old: mark it failed without trying.
    GiveUp,
}

/// What to do at `now`.
pub fn next_step(d: &Delivery, now: EpochMs) -> Step {
    if d.state != State::Pending {
        return Step::Wait;
    }
    if now.saturating_sub(d.recorded_at) >= RETRY_FOR_MS {
        return Step::GiveUp;
    }
    match d.last_attempt_at {
        Some(last) if now.saturating_sub(last) < RETRY_EVERY_MS => Step::Wait,
        _ => Step::Send,
    }
}

/// The delivery after an attempt at `now` (`delivered`: the receiver answered 2xx).
pub fn after_attempt(d: &Delivery, delivered: bool, now: EpochMs) -> Delivery {
    let state = if delivered {
        State::Sent
    } else if now.saturating_sub(d.recorded_at) >= RETRY_FOR_MS {
        State::Failed
    } else {
        State::Pending
    };
    Delivery {
        recorded_at: d.recorded_at,
        attempts: d.attempts + 1,
        last_attempt_at: Some(now),
        state,
    }
}

/// `ALERT_WEBHOOK_FORMAT`: Slack-compatible `{"text": …}` unless `json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"text": …}`: Slack, Teams workflows and most chat tools.
    Slack,
    /// `{"key", "alert": {…}}`, structured.
    Json,
}

impl Format {
    /// From the setting; anything but `json` (any case) is Slack.
    pub fn parse(setting: Option<&str>) -> Self {
        match setting.map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Slack,
        }
    }
}

fn percent(n: u64, quota: u64) -> String {
    format!("{:.0} %", n as f64 * 100.0 / quota.max(1) as f64)
}

fn method_words(method: Method) -> &'static str {
    match method {
        Method::DayOfMonthCurve => "from previous months' curve",
        Method::LinearRunRate => "linear run-rate",
    }
}

/// The alert in words, with links under `base_url` (the dashboard's origin) when given.
pub fn text(alert: &Alert, base_url: Option<&str>) -> String {
    let link = |path: &str| {
        base_url
            .map(|b| format!("\n{}{path}", b.trim_end_matches('/')))
            .unwrap_or_default()
    };
    match alert {
        Alert::Forecast {
            tenant,
            month,
            threshold_percent,
            projected,
            so_far,
            quota,
            method,
        } => format!(
            "MAU forecast for {tenant} in {month} is {projected} of {quota} ({}), past {threshold_percent} % ({}); {so_far} so far.{}",
            percent(*projected, *quota),
            method_words(*method),
            link("/mau")
        ),
        Alert::OverQuota {
            tenant,
            month,
            mau,
            quota,
        } => format!(
            "MAU for {tenant} in {month} reached {mau} of {quota} ({}).{}",
            percent(*mau, *quota),
            link("/mau")
        ),
        Alert::SyncFailing {
            tenant,
            failures,
            since_run,
        } => format!(
            "Sync of {tenant} failed {failures} times in a row (since run {since_run}).{}",
            link("/runs")
        ),
        Alert::WeeklyDigest { week_of, digest } => {
            let mut s = format!("Weekly digest, week of {week_of}");
            for t in &digest.tenants {
                let quota = t
                    .quota
                    .map(|q| format!(" of {q} ({})", percent(t.projected, q)))
                    .unwrap_or_default();
                s.push_str(&format!(
                    "\n{}: {} MAU so far, forecast {}{quota} ({})",
                    t.tenant,
                    t.mau_so_far,
                    t.projected,
                    method_words(t.method)
                ));
            }
            s.push_str(&format!(
                "\nSeats: {}, newly inactive: {}\nAccess changes: {}",
                digest.seats, digest.newly_inactive_seats, digest.access_changes
            ));
            for e in &digest.examples {
                s.push_str(&format!("\n• {}: {}", e.user, e.what));
            }
            s.push_str(&link("/mau"));
            s.push_str(&link("/changes"));
            s
        }
    }
}

/// The webhook body.
pub fn body(alert: &Alert, format: Format, base_url: Option<&str>) -> Value {
    match format {
        Format::Slack => json!({ "text": text(alert, base_url) }),
        Format::Json => {
            json!({ "key": alert.key(), "alert": alert, "text": text(alert, base_url) })
        }
    }
}

#[cfg(test)]
mod tests;
