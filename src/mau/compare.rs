//! Auth0's "active users" figure beside the ledger's own rolling 30 days, with why the two may
//! differ: they count different things, so a difference is shown, never reconciled.

use serde::Serialize;

/// Why the figures differ. Sources: Auth0's Management API reference, "Get active users count"
/// (<https://auth0.com/docs/api/management/v2/stats/get-active-users>: "Retrieve the number of
/// active users that logged in during the last 30 days"; it does not say whether silent
/// authentication or refresh-token exchanges count), and Auth0's billing definition of MAU (a
/// user who logs in or refreshes a token within a calendar month, per tenant), as summarised in
/// the project's Auth0 notes, "Billing: monthly active users".
pub const WHY: &str = "Auth0 counts the users who logged in during the last 30 days (a rolling \
window). The ledger counts the users with a billable event (a login, \
silent authentication or a refresh-token exchange) in the log events it has read in the same \
30 days. They differ when the ledger has not read every event of the window (log retention, \
a sync gap), when token refreshes or silent logins count for one and not the other (Auth0 \
does not document which events its figure counts), and because Auth0 bills by calendar \
month, which neither figure is.";

/// The two figures side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Auth0's `stats/active-users`.
    pub active_users_30d: u64,
    /// The ledger's distinct active users in the last 30 days.
    pub ledger_active_30d: u64,
    /// Ledger minus Auth0: negative when the ledger counts fewer.
    pub difference: i64,
    /// Why the definitions differ.
    pub why: &'static str,
}

/// The comparison of Auth0's figure with the ledger's.
pub fn compare(active_users_30d: u64, ledger_active_30d: u64) -> Comparison {
    // Saturating: counts of users are far below i64's range; a junk figure must not panic.
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Comparison {
        active_users_30d,
        ledger_active_30d,
        difference: signed(ledger_active_30d).saturating_sub(signed(active_users_30d)),
        why: WHY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_is_ledger_minus_auth0_and_never_overflows() {
        let c = compare(120, 100);
        assert_eq!(
            (c.active_users_30d, c.ledger_active_30d, c.difference),
            (120, 100, -20)
        );
        assert_eq!(compare(100, 120).difference, 20);
        assert_eq!(compare(0, 0).difference, 0);
        assert_eq!(compare(u64::MAX, 0).difference, -i64::MAX);
        assert_eq!(compare(0, u64::MAX).difference, i64::MAX);
        assert!(c.why.contains("last 30 days"));
    }

    #[test]
    fn it_serializes_with_the_issue_s_field_names() {
        let v = serde_json::to_value(compare(5, 3)).unwrap();
        assert_eq!(v["active_users_30d"], 5);
        assert_eq!(v["ledger_active_30d"], 3);
        assert_eq!(v["difference"], -2);
        assert!(v["why"].as_str().unwrap().starts_with("Auth0 counts"));
    }
}
