//! Likely test accounts among a month's active users: `MAU_TEST_PATTERNS`, comma-separated
//! substrings of the email matched case-insensitively. Auth0 bills them too; this only counts.

use super::ledger::UserMonth;
use super::month::Month;

/// The patterns used when `MAU_TEST_PATTERNS` is unset or blank.
pub const DEFAULT_PATTERNS: &[&str] = &["+test@", "test@", "@example.com", "@mailinator.com"];

/// Parsed patterns, lowercased; never empty of meaning: blank entries are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPatterns(Vec<String>);

impl TestPatterns {
    /// From the setting's value; unset or blank gives [`DEFAULT_PATTERNS`].
    pub fn parse(setting: Option<&str>) -> Self {
        let given: Vec<String> = setting
            .unwrap_or_default()
            .split(',')
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        if given.is_empty() {
            Self(DEFAULT_PATTERNS.iter().map(|p| (*p).to_string()).collect())
        } else {
            Self(given)
        }
    }

    /// The patterns in use.
    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether an email looks like a test account.
    pub fn matches(&self, email: &str) -> bool {
        let email = email.to_lowercase();
        self.0.iter().any(|p| email.contains(p.as_str()))
    }

    /// How many of `month`'s active users look like test accounts (users without an email don't).
    pub fn count<'a>(&self, month: Month, rows: impl IntoIterator<Item = &'a UserMonth>) -> u64 {
        rows.into_iter()
            .filter(|r| r.month == month && r.email.as_deref().is_some_and(|e| self.matches(e)))
            .count() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mau::ledger::{ActivityEvent, Ledger, fold};

    #[test]
    fn default_and_custom_patterns_match_case_insensitively() {
        let d = TestPatterns::parse(None);
        assert_eq!(d, TestPatterns::parse(Some(" , ")));
        for email in [
            "Ann+TEST@corp.com",
            "qa-test@corp.com",
            "x@Example.COM",
            "y@mailinator.com",
        ] {
            assert!(d.matches(email), "{email}");
        }
        for email in ["ann@corp.com", "tester@corp.com", "x@example.co"] {
            assert!(!d.matches(email), "{email}");
        }
        let custom = TestPatterns::parse(Some(" @QA.corp.com ,, +load@"));
        assert_eq!(custom.patterns(), ["@qa.corp.com", "+load@"]);
        assert!(custom.matches("bob@qa.CORP.com"));
        assert!(!custom.matches("bob+test@corp.com"));
    }

    #[test]
    fn counts_per_month() {
        let e = |id: &str, date: &str, user: &str, email: Option<&str>| ActivityEvent {
            log_id: Some(id.into()),
            kind: Some("s".into()),
            date: Some(date.into()),
            user_id: Some(user.into()),
            email: email.map(str::to_string),
            ..ActivityEvent::default()
        };
        let mut ledger = Ledger::default();
        ledger.apply(&fold(&[
            e("1", "2026-01-03T00:00:00Z", "a", Some("a+test@corp.com")),
            e("2", "2026-01-04T00:00:00Z", "a", Some("a+test@corp.com")),
            e("3", "2026-01-04T00:00:00Z", "b", Some("b@corp.com")),
            e("4", "2026-01-04T00:00:00Z", "c", None),
            e("5", "2026-02-04T00:00:00Z", "d", Some("d@example.com")),
            e("6", "2026-02-05T00:00:00Z", "e", Some("e@mailinator.com")),
        ]));
        let p = TestPatterns::parse(None);
        let jan = Month::parse("2026-01").unwrap();
        assert_eq!(p.count(jan, ledger.rows()), 1);
        assert_eq!(p.count(jan.next(), ledger.rows()), 2);
    }
}
