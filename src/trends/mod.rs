//! Trends from the daily snapshots: the series the charts draw and `/api/trends` serves, the
//! weekly logins derived from cumulative counts, and the reclaim curve. Pure, apart from
//! [`load`], which reads the snapshot rows through [`TrendStore`] (never the users table).

use crate::store::StoreError;
use crate::store::trends::{Scope, TrendRow, TrendStore};
use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

const MS_PER_DAY: u64 = 86_400_000;

/// Days `/api/trends` may ask for.
pub const MAX_DAYS: u32 = 1096;

/// The day number (days since 1970-01-01) of `YYYY-MM-DD`.
pub fn day_number(day: &str) -> Option<i64> {
    let ms = ms_from_iso(day.get(..10)?)?;
    i64::try_from(ms / MS_PER_DAY).ok()
}

/// `YYYY-MM-DD` of a day number.
pub fn day_text(n: i64) -> String {
    let ms = u64::try_from(n).unwrap_or(0).saturating_mul(MS_PER_DAY);
    iso_from_ms(ms).get(..10).unwrap_or_default().to_string() // ok: ISO text is ASCII
}

/// The Monday starting the week of day `n` (1970-01-01 was a Thursday).
pub fn week_start(n: i64) -> i64 {
    n - (n + 3).rem_euclid(7)
}

/// One day of a series.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Point {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// Backfilled from `created_at` before tracking began: only `seats` (users created by then
    /// that are known today) and `added` are set.
    pub derived: bool,
    /// Current seats (organizations: members; applications: users who used it).
    pub seats: Option<i64>,
    /// Not blocked.
    pub active: Option<i64>,
    /// Blocked.
    pub blocked: Option<i64>,
    /// Marked removed that day.
    pub removed: Option<i64>,
    /// Created that day (applications: first used).
    pub added: Option<i64>,
    /// Logged in within the 30 days before the snapshot.
    pub active_30: Option<i64>,
    /// Within 90 days.
    pub active_90: Option<i64>,
    /// Never logged in.
    pub never_logged_in: Option<i64>,
    /// Cumulative logins at the snapshot.
    pub logins_total: Option<i64>,
}

impl From<&TrendRow> for Point {
    fn from(r: &TrendRow) -> Self {
        Self {
            day: r.day.clone(),
            derived: r.derived,
            seats: r.seats,
            active: r.active,
            blocked: r.blocked,
            removed: r.removed,
            added: r.added,
            active_30: r.active_30,
            active_90: r.active_90,
            never_logged_in: r.never,
            logins_total: r.logins,
        }
    }
}

/// Logins in one week (Monday to Sunday, UTC).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Week {
    /// The Monday, `YYYY-MM-DD`.
    pub week: String,
    /// `None` when unknown: no snapshot in the week, or none before it to count from (weeks
    /// before tracking began are unknown, not zero).
    pub logins: Option<i64>,
}

/// Weekly logins from cumulative counts: the week's last count minus the last count before the
/// week. A count that went down (a user deleted and created again) gives 0, not a negative.
/// `points` are (day number, cumulative), any order; weeks cover `from..=to`.
pub fn weekly_logins(points: &[(i64, i64)], from: i64, to: i64) -> Vec<Week> {
    // Linear scans rather than a sort: a monomorphized sort would cost kilobytes of wasm.
    let last_at_or_before = |day: i64| {
        points
            .iter()
            .filter(|(d, _)| *d <= day)
            .max_by_key(|(d, _)| *d)
            .copied()
    };
    let mut out = Vec::new();
    let mut w = week_start(from);
    while w <= to {
        let end = w + 6;
        let logins = match (last_at_or_before(end), last_at_or_before(w - 1)) {
            (Some((d, now)), Some((_, before))) if d >= w => {
                Some(now.saturating_sub(before).max(0))
            }
            _ => None,
        };
        out.push(Week {
            week: day_text(w),
            logins,
        });
        w += 7;
    }
    out
}

/// One bar of the reclaim curve.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// `0–30`, …, `over 365`, `never`.
    pub label: &'static str,
    /// Seats (not removed) in it.
    pub users: i64,
    /// The user list filtered to it.
    pub href: &'static str,
}

/// Seats by days since last login, from the newest snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reclaim {
    /// The snapshot's day.
    pub day: String,
    /// The bars, youngest first, `never` last.
    pub buckets: Vec<Bucket>,
}

/// The reclaim curve of an observed tenant row.
pub fn reclaim(row: &TrendRow) -> Option<Reclaim> {
    if row.derived {
        return None;
    }
    let b = |label, users: Option<i64>, href| Bucket {
        label,
        users: users.unwrap_or(0),
        href,
    };
    Some(Reclaim {
        day: row.day.clone(),
        buckets: vec![
            b("0–30", row.active_30, "/?last_login_days=0-30#users"),
            b("31–60", row.login_31_60, "/?last_login_days=30-60#users"),
            b("61–90", row.login_61_90, "/?last_login_days=60-90#users"),
            b("91–180", row.login_91_180, "/?last_login_days=90-180#users"),
            b(
                "181–365",
                row.login_181_365,
                "/?last_login_days=180-365#users",
            ),
            b(
                "over 365",
                row.login_over_365,
                "/?last_login_days=365-#users",
            ),
            b("never", row.never, "/?never_logged_in=true#users"),
        ],
    })
}

/// A connection's, organization's or application's series.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Series {
    /// Connection name, organization id or client id.
    pub key: String,
    /// A readable name (the organization's or application's), else the key.
    pub label: String,
    /// The days in the window, oldest first.
    pub points: Vec<Point>,
    /// Weekly logins.
    pub logins_per_week: Vec<Week>,
}

/// What `by` groups the extra series by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// Primary connection.
    Connection,
    /// Organization (members).
    Organization,
    /// Application (tracked usage).
    Application,
}

impl By {
    /// Parses `connection`, `organization` or `application`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connection" => Some(Self::Connection),
            "organization" => Some(Self::Organization),
            "application" => Some(Self::Application),
            _ => None,
        }
    }

    /// The snapshot scope.
    pub fn scope(self) -> Scope {
        match self {
            Self::Connection => Scope::Connection,
            Self::Organization => Scope::Organization,
            Self::Application => Scope::Application,
        }
    }
}

/// Everything `/api/trends` returns, and the charts draw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trends {
    /// The window's length in days.
    pub days: u32,
    /// Its first day.
    pub from: String,
    /// Its last day (today, UTC).
    pub to: String,
    /// The first observed snapshot, when it lies in the window (earlier days are derived or
    /// unknown); `None` when every day of the window was observed or none was.
    pub tracking_since: Option<String>,
    /// The tenant, one point per day with a snapshot (derived days before tracking began).
    pub tenant: Vec<Point>,
    /// Tenant logins per week, from `users.logins_count` sums.
    pub logins_per_week: Vec<Week>,
    /// Seats by days since last login, from the newest snapshot.
    pub reclaim: Option<Reclaim>,
    /// The grouping asked for.
    pub by: Option<By>,
    /// One series per connection, organization or application (empty without `by`).
    pub series: Vec<Series>,
}

fn cumulative(points: &[&TrendRow]) -> Vec<(i64, i64)> {
    points
        .iter()
        .filter(|r| !r.derived)
        .filter_map(|r| Some((day_number(&r.day)?, r.logins?)))
        .collect()
}

/// Builds the trends of the `days` days ending on `now`'s day from snapshot rows read from
/// `days + 7` days back (the extra week is the baseline of the first week's logins).
pub fn build(
    now: EpochMs,
    days: u32,
    tenant_rows: &[TrendRow],
    by: Option<(By, &[TrendRow])>,
) -> Trends {
    let to = i64::try_from(now / MS_PER_DAY).unwrap_or(0);
    let from = to - i64::from(days.max(1)) + 1;
    let in_window = |r: &&&TrendRow| day_number(&r.day).is_some_and(|d| d >= from && d <= to);
    let tenant_all: Vec<&TrendRow> = tenant_rows.iter().collect();
    let tenant: Vec<Point> = tenant_all
        .iter()
        .filter(in_window)
        .map(|r| Point::from(*r))
        .collect();
    let first_observed = tenant_all.iter().find(|r| !r.derived);
    let tracking_since = first_observed
        .map(|r| r.day.clone())
        .filter(|d| day_number(d).is_some_and(|n| n > from));
    let reclaim = tenant_all
        .iter()
        .rev()
        .find(|r| !r.derived)
        .and_then(|r| reclaim(r));
    let mut series = Vec::new();
    if let Some((_, rows)) = by {
        for group in rows.chunk_by(|a, b| a.key == b.key) {
            let group: Vec<&TrendRow> = group.iter().collect();
            let Some(first) = group.first() else {
                continue;
            };
            let key = first.key.clone();
            let label = group
                .iter()
                .rev()
                .find_map(|r| r.label.clone())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| {
                    if key.is_empty() {
                        "(none)".into()
                    } else {
                        key.clone()
                    }
                });
            let points: Vec<Point> = group
                .iter()
                .filter(in_window)
                .map(|r| Point::from(*r))
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    logins_per_week: weekly_logins(&cumulative(&group), from, to),
                    key,
                    label,
                    points,
                });
            }
        }
    }
    Trends {
        days,
        from: day_text(from),
        to: day_text(to),
        tracking_since,
        tenant,
        logins_per_week: weekly_logins(&cumulative(&tenant_all), from, to),
        reclaim,
        by: by.map(|(b, _)| b),
        series,
    }
}

/// Reads the snapshot rows and builds [`Trends`]: one query for the tenant, one more with `by`.
///
/// # Errors
/// A storage failure.
pub async fn load<S: TrendStore>(
    store: &S,
    now: EpochMs,
    days: u32,
    by: Option<By>,
) -> Result<Trends, StoreError> {
    let to = i64::try_from(now / MS_PER_DAY).unwrap_or(0);
    // A week more, for the first week's baseline.
    let since = day_text(to - i64::from(days.max(1)) - 7);
    let tenant = store.trend_rows(Scope::Tenant, &since).await?;
    let grouped = match by {
        Some(b) => Some((b, store.trend_rows(b.scope(), &since).await?)),
        None => None,
    };
    Ok(build(
        now,
        days,
        &tenant,
        grouped.as_ref().map(|(b, rows)| (*b, rows.as_slice())),
    ))
}

#[cfg(test)]
mod tests;
