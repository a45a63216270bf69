//! A calendar month in UTC (`YYYY-MM`): the unit Auth0 bills MAU by.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::time::{EpochMs, iso_from_ms, ms_from_iso};

/// One calendar month; orders as time does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u16,
    month: u8,
}

/// A month that is not `YYYY-MM`: the text given, to name it in a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthError {
    /// What was given.
    pub given: String,
}

impl fmt::Display for MonthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a month: expected YYYY-MM", self.given)
    }
}

impl std::error::Error for MonthError {}

impl Month {
    /// The month `year`-`month` (1..=12), if both are in range (years 1970..=9999).
    pub fn new(year: u16, month: u8) -> Option<Self> {
        ((1970..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// Parses exactly `YYYY-MM`.
    ///
    /// # Errors
    /// [`MonthError`] naming the text for anything else (`2026-1`, `2026-13`, `2026-01-05`).
    pub fn parse(text: &str) -> Result<Self, MonthError> {
        let err = || MonthError {
            given: text.to_string(),
        };
        let b = text.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(err());
        }
        let year = text[..4].parse().map_err(|_| err())?;
        let month = text[5..].parse().map_err(|_| err())?;
        Self::new(year, month).ok_or_else(err)
    }

    /// The month an instant falls in (UTC).
    pub fn of_ms(ms: EpochMs) -> Option<Self> {
        Self::of_date(&iso_from_ms(ms))
    }

    /// The month of an ISO-8601 UTC date (any shape `time::ms_from_iso` reads).
    pub fn of_date(date: &str) -> Option<Self> {
        let normal = iso_from_ms(ms_from_iso(date)?);
        Self::parse(normal.get(..7)?).ok()
    }

    /// The month after.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    /// The month before (January 1970 is its own: nothing is tracked before it).
    pub fn prev(self) -> Self {
        match self.month {
            1 if self.year > 1970 => Self {
                year: self.year - 1,
                month: 12,
            },
            1 => self,
            m => Self {
                month: m - 1,
                ..self
            },
        }
    }

    /// The first instant of the month (00:00:00.000 UTC on the 1st).
    pub fn start_ms(self) -> EpochMs {
        // A valid month (1970..=9999) always parses, so the fallback is never taken.
        ms_from_iso(&format!("{:04}-{:02}-01", self.year, self.month)).unwrap_or(0)
    }

    /// The first instant after the month.
    pub fn end_ms(self) -> EpochMs {
        self.next().start_ms()
    }

    /// How many days the month has.
    pub fn days(self) -> u32 {
        ((self.end_ms() - self.start_ms()) / DAY_MS) as u32
    }
}

/// Milliseconds in a day.
pub const DAY_MS: EpochMs = 86_400_000;

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_year_dash_month() {
        assert_eq!(
            Month::parse("2026-02").map(|m| m.to_string()),
            Ok("2026-02".into())
        );
        for bad in [
            "2026-2",
            "2026-13",
            "2026-00",
            "2026-02-01",
            "26-02",
            "2026/02",
            "",
            "２０２６-02",
            "1969-12",
        ] {
            let err = Month::parse(bad).expect_err(bad);
            assert_eq!(err.given, bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn bounds_are_utc_calendar_months() {
        let feb = Month::parse("2024-02").unwrap();
        assert_eq!(iso_from_ms(feb.start_ms()), "2024-02-01T00:00:00.000Z");
        assert_eq!(iso_from_ms(feb.end_ms()), "2024-03-01T00:00:00.000Z");
        assert_eq!(feb.days(), 29);
        assert_eq!(Month::parse("2025-02").unwrap().days(), 28);
        assert_eq!(
            Month::parse("2025-12").unwrap().next().to_string(),
            "2026-01"
        );
        assert_eq!(
            Month::parse("2026-01").unwrap().prev().to_string(),
            "2025-12"
        );
        assert_eq!(
            Month::of_date("2026-01-31T23:59:59.999Z")
                .unwrap()
                .to_string(),
            "2026-01"
        );
        assert_eq!(
            Month::of_date("2026-02-01T00:00:00.000Z")
                .unwrap()
                .to_string(),
            "2026-02"
        );
        assert_eq!(Month::of_date("2026-02-30T00:00:00.000Z"), None);
    }
}
