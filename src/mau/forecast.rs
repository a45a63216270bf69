//! The current month's MAU forecast against the plan's quota, and the three-month average
//! (self-service plans are upgraded after three months over quota).

use serde::Serialize;

use super::month::{DAY_MS, Month};
use crate::time::EpochMs;

/// A complete month's curve: new distinct users by day of month (`ledger::new_users_by_day`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthCurve {
    /// The month.
    pub month: Month,
    /// Entry `d`: users first active on day `d + 1`.
    pub new_by_day: Vec<u64>,
}

/// How the projection was made: named next to the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// From the previous complete months' curve of new distinct users by day of month.
    DayOfMonthCurve,
    /// Fewer than two complete months with users: so far × days in month ÷ days elapsed.
    LinearRunRate,
}

/// The forecast for one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    /// The month forecast.
    pub month: Month,
    /// Distinct active users so far.
    pub so_far: u64,
    /// Projected distinct active users at the month's end (never below `so_far`).
    pub projected: u64,
    /// The plan's MAU, if known.
    pub quota: Option<u64>,
    /// `projected ÷ quota` as a fraction (1.0 = at quota); `None` without a quota.
    pub ratio: Option<f64>,
    /// How `projected` was made.
    pub method: Method,
    /// How many complete months the curve was taken from (0 for the run-rate).
    pub basis_months: u32,
}

fn ratio(value: f64, quota: Option<u64>) -> Option<f64> {
    quota.filter(|q| *q > 0).map(|q| value / q as f64)
}

/// Users first active by the fractional day `x` of a month (linear within a day).
fn reached_by(curve: &[u64], x: f64) -> f64 {
    let whole = (x.floor() as usize).min(curve.len());
    let done: u64 = curve[..whole].iter().sum();
    let part = curve
        .get(whole)
        .map_or(0.0, |n| *n as f64 * (x - x.floor()));
    done as f64 + part
}

/// Forecasts `month` at `now` from the users so far and the previous complete months' curves.
///
/// With two or more complete months that had users, the projection is `so_far ÷ f`, where `f`
/// is the share of those months' distinct users (pooled) already active by the same point of
/// the month (day of month and time of day): this month's remaining new users are expected in
/// the same proportion. Otherwise, or when the curves had no users yet by this point, it is a
/// linear run-rate, and `method` says so.
pub fn forecast(
    month: Month,
    so_far: u64,
    now: EpochMs,
    previous: &[MonthCurve],
    quota: Option<u64>,
) -> Forecast {
    let days = f64::from(month.days());
    let elapsed = (now.saturating_sub(month.start_ms()) as f64 / DAY_MS as f64).min(days);
    let usable: Vec<&MonthCurve> = previous
        .iter()
        .filter(|c| c.month < month && c.new_by_day.iter().sum::<u64>() > 0)
        .collect();
    let mut method = Method::LinearRunRate;
    let mut basis = 0;
    let mut projected = if elapsed > 0.0 {
        so_far as f64 * days / elapsed
    } else {
        so_far as f64
    };
    if usable.len() >= 2 {
        let total: u64 = usable
            .iter()
            .map(|c| c.new_by_day.iter().sum::<u64>())
            .sum();
        let reached: f64 = usable
            .iter()
            .map(|c| reached_by(&c.new_by_day, elapsed))
            .sum();
        let share = reached / total as f64;
        if share > 0.0 {
            projected = so_far as f64 / share;
            method = Method::DayOfMonthCurve;
            basis = usable.len() as u32;
        }
    }
    let projected = (projected.round() as u64).max(so_far);
    Forecast {
        month,
        so_far,
        projected,
        quota,
        ratio: ratio(projected as f64, quota),
        method,
        basis_months: basis,
    }
}

/// The average MAU of the last three complete months against the quota.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreeMonthAverage {
    /// The months averaged, oldest first (fewer than three while history is short).
    pub months: Vec<Month>,
    /// Their mean MAU.
    pub average: f64,
    /// The plan's MAU, if known.
    pub quota: Option<u64>,
    /// `average ÷ quota`; `None` without a quota.
    pub ratio: Option<f64>,
    /// True when there are three months and each was over the quota: what triggers an upgrade.
    pub all_three_over: bool,
}

/// Averages the three complete months before `current` found in `months` (month, MAU).
/// `None` when there is none.
pub fn three_month_average(
    current: Month,
    months: &[(Month, u64)],
    quota: Option<u64>,
) -> Option<ThreeMonthAverage> {
    let mut before: Vec<(Month, u64)> = months
        .iter()
        .copied()
        .filter(|(m, _)| *m < current)
        .collect();
    before.sort();
    before.dedup_by_key(|(m, _)| *m);
    let last: Vec<(Month, u64)> = before.into_iter().rev().take(3).rev().collect();
    if last.is_empty() {
        return None;
    }
    let average = last.iter().map(|(_, n)| *n as f64).sum::<f64>() / last.len() as f64;
    let all_three_over = last.len() == 3 && quota.is_some_and(|q| last.iter().all(|(_, n)| *n > q));
    Some(ThreeMonthAverage {
        months: last.iter().map(|(m, _)| *m).collect(),
        average,
        quota,
        ratio: ratio(average, quota),
        all_three_over,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ms_from_iso;

    fn m(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    fn at(date: &str) -> EpochMs {
        ms_from_iso(date).unwrap()
    }

    /// December and January, 100 users each: half (Dec) or 30 (Jan) on the 1st, the rest on the 16th.
    fn curves() -> Vec<MonthCurve> {
        let curve = |month: &str, first: u64| {
            let mut new_by_day = vec![0; 31];
            new_by_day[0] = first;
            new_by_day[15] = 100 - first;
            MonthCurve {
                month: m(month),
                new_by_day,
            }
        };
        vec![curve("2025-12", 50), curve("2026-01", 30)]
    }

    #[test]
    fn fewer_than_two_complete_months_is_a_labelled_run_rate() {
        // February 2026 has 28 days; 7 have passed: 70 × 28 ÷ 7 = 280.
        let f = forecast(
            m("2026-02"),
            70,
            at("2026-02-08T00:00:00Z"),
            &curves()[..1],
            Some(200),
        );
        assert_eq!(f.method, Method::LinearRunRate);
        assert_eq!(
            (f.so_far, f.projected, f.quota, f.ratio),
            (70, 280, Some(200), Some(1.4))
        );
        assert_eq!(f.basis_months, 0);
    }

    #[test]
    fn two_complete_months_project_by_their_curve() {
        // By day 7: 50 + 30 of 200 users had come (0.4), so 60 so far projects to 150.
        let f = forecast(
            m("2026-02"),
            60,
            at("2026-02-08T00:00:00Z"),
            &curves(),
            Some(100),
        );
        assert_eq!(f.method, Method::DayOfMonthCurve);
        assert_eq!((f.projected, f.ratio, f.basis_months), (150, Some(1.5), 2));
        // Half a day in: half of each month's first day, (25 + 15) ÷ 200 = 0.2; 10 → 50.
        let f = forecast(
            m("2026-02"),
            10,
            at("2026-02-01T12:00:00Z"),
            &curves(),
            None,
        );
        assert_eq!((f.projected, f.ratio), (50, None));
        // After both curves are complete, nothing more is expected.
        let f = forecast(
            m("2026-02"),
            90,
            at("2026-02-20T00:00:00Z"),
            &curves(),
            Some(0),
        );
        assert_eq!((f.projected, f.ratio), (90, None));
    }

    #[test]
    fn the_month_itself_and_empty_months_are_no_basis() {
        let mut cs = curves();
        cs[1].new_by_day = vec![0; 31];
        cs.push(MonthCurve {
            month: m("2026-02"),
            new_by_day: vec![1; 28],
        });
        let f = forecast(m("2026-02"), 5, at("2026-02-01T00:00:00Z"), &cs, Some(10));
        assert_eq!((f.method, f.projected), (Method::LinearRunRate, 5));
    }

    #[test]
    fn three_month_average_against_quota() {
        let months = [
            (m("2025-10"), 999),
            (m("2025-11"), 120),
            (m("2025-12"), 150),
            (m("2026-01"), 180),
            (m("2026-02"), 5),
        ];
        let avg = three_month_average(m("2026-02"), &months, Some(100)).unwrap();
        assert_eq!(avg.months, [m("2025-11"), m("2025-12"), m("2026-01")]);
        assert_eq!(
            (avg.average, avg.ratio, avg.all_three_over),
            (150.0, Some(1.5), true)
        );
        let avg = three_month_average(m("2026-02"), &months[3..], Some(200)).unwrap();
        assert_eq!(
            (avg.average, avg.ratio, avg.all_three_over),
            (180.0, Some(0.9), false)
        );
        assert_eq!(three_month_average(m("2025-10"), &months, None), None);
    }
}
