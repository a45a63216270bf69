//! UTC timestamps as epoch milliseconds and ISO-8601 strings, without a date crate.
//!
//! Auth0 and D1 both use `2023-01-25T17:48:14.784Z`; strings of that one shape sort as time does,
//! which the store's range queries rely on.

/// Milliseconds since the Unix epoch.
pub type EpochMs = u64;

const MS_PER_DAY: i64 = 86_400_000;

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_from_ms(ms: EpochMs) -> String {
    let ms = ms as i64;
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Parses an ISO-8601 UTC timestamp (`Z` suffix, optional fraction) or a bare date.
pub fn ms_from_iso(s: &str) -> Option<EpochMs> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) && !part.is_empty() {
            part.parse().ok()
        } else {
            None
        }
    };
    let at = |i: usize| b.get(i).copied();
    if b.len() < 10 || at(4) != Some(b'-') || at(7) != Some(b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * MS_PER_DAY;
    if b.len() > 10 {
        if b.len() < 20 || at(10) != Some(b'T') || at(13) != Some(b':') || at(16) != Some(b':') {
            return None;
        }
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        ms += (h * 3600 + mi * 60 + se) * 1000;
        let rest = s.get(19..)?;
        let rest = match rest.strip_prefix('.') {
            Some(frac_and_z) => {
                let digits = frac_and_z.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                // Only the first three digits count: milliseconds.
                let frac = frac_and_z.get(..digits.min(3))?;
                let scale = 10_i64.pow(3 - u32::try_from(frac.len()).ok()?);
                ms += frac.parse::<i64>().ok()? * scale;
                frac_and_z.get(digits..)?
            }
            None => rest,
        };
        if rest != "Z" {
            return None;
        }
    }
    u64::try_from(ms).ok()
}

/// How many days month `m` (1..=12) of year `y` has, in the proleptic Gregorian calendar.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-calendar algorithms: exact for every proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso_from_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_ms(1_674_668_894_784), "2023-01-25T17:48:14.784Z");
        assert_eq!(iso_from_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        // Out of range, but no panic: a clock or a stored value gone wrong shows as odd text.
        assert!(!iso_from_ms(u64::MAX).is_empty());
    }

    #[test]
    fn parses_what_it_formats_across_many_days() {
        for ms in (0..20_000u64).map(|i| i * 86_400_000 / 7 + i * 13) {
            assert_eq!(ms_from_iso(&iso_from_ms(ms)), Some(ms), "{ms}");
        }
    }

    #[test]
    fn every_day_from_1970_to_2100_round_trips_and_no_other_date_is_accepted() {
        // Every (year, month, day) with day 1..=31: the accepted ones must be exactly the days
        // that exist, each one format back to itself, and each be one day after the previous.
        let mut previous: Option<EpochMs> = None;
        let mut accepted = 0;
        for y in 1970..=2100 {
            for m in 1..=12 {
                for d in 1..=31 {
                    let text = format!("{y:04}-{m:02}-{d:02}");
                    let parsed = ms_from_iso(&text);
                    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
                    let exists = match m {
                        2 => d <= if leap { 29 } else { 28 },
                        4 | 6 | 9 | 11 => d <= 30,
                        _ => true,
                    };
                    assert_eq!(parsed.is_some(), exists, "{text}");
                    let Some(ms) = parsed else { continue };
                    accepted += 1;
                    assert_eq!(iso_from_ms(ms), format!("{text}T00:00:00.000Z"));
                    if let Some(p) = previous {
                        assert_eq!(ms - p, 86_400_000, "{text} does not follow the day before");
                    }
                    previous = Some(ms);
                    // The same day with a time of day parses to the same instant plus that time.
                    let noon = format!("{text}T12:34:56.789Z");
                    assert_eq!(ms_from_iso(&noon), Some(ms + 45_296_789), "{noon}");
                    assert_eq!(iso_from_ms(ms + 45_296_789), noon);
                }
            }
        }
        // 131 years, 32 of them leap years (2100 is not one).
        assert_eq!(accepted, 131 * 365 + 32);
    }

    #[test]
    fn days_that_are_not_in_the_month_are_rejected() {
        for bad in [
            "2024-02-30",
            "2024-02-31",
            "2023-02-29",
            "1900-02-29",
            "2100-02-29",
            "2023-04-31",
            "2023-06-31",
            "2023-09-31",
            "2023-11-31",
            "2023-01-00",
            "2023-01-32",
            "2024-02-31T00:00:00.000Z",
            "2023-11-31T23:59:59Z",
        ] {
            assert_eq!(ms_from_iso(bad), None, "{bad}");
        }
        for good in [
            "2024-02-29",
            "2000-02-29",
            "2023-01-31",
            "2023-12-31",
            "2023-04-30",
        ] {
            assert!(ms_from_iso(good).is_some(), "{good}");
        }
    }

    #[test]
    fn parses_dates_and_short_fractions_and_rejects_junk() {
        assert_eq!(ms_from_iso("2023-01-25"), Some(1_674_604_800_000));
        assert_eq!(ms_from_iso("2023-01-25T17:48:14Z"), Some(1_674_668_894_000));
        assert_eq!(
            ms_from_iso("2023-01-25T17:48:14.7Z"),
            Some(1_674_668_894_700)
        );
        // Digits past the millisecond are read and dropped, however many.
        assert_eq!(
            ms_from_iso("2023-01-25T17:48:14.7899999999999999999999Z"),
            Some(1_674_668_894_789)
        );
        for bad in [
            "",
            "2023-13-01",
            "2023-01-25T17:48",
            "yesterday",
            "2023-01-25T17:48:14+01:00",
            "2023-01-25T17:48:14.Z",
            "2023-01-25T17:48:1é.000Z",
            "é023-01-25",
            "2023-01-2é",
            "+2023-01-25",
        ] {
            assert_eq!(ms_from_iso(bad), None, "{bad}");
        }
    }
}
