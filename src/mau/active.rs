//! The one list of log event types that make a user active for MAU (and "seen" for usage).

/// Event types that make their user active in the event's calendar month (UTC), each checked in
/// Auth0's log event type list (docs: Logs > Log Event Type Codes): successful login (`s`),
/// silent authentication (`ssa`), and the successful token exchanges a user's session makes:
/// refresh token (`sertft`), authorization code (`seacft`), password (`sepft`), password with an
/// OTP (`seotpft`) or OOB challenge (`seoobft`) or MFA recovery code (`sercft`), and native
/// social login (`sens`). Auth0 counts a user active on a login or a token refresh (its pricing
/// page's definition of an active user). Client credentials (`seccft`) have no user and never
/// count; neither do failures (`f`, `fp`, `fu`, …).
pub const ACTIVE_TYPES: &[&str] = &[
    "s", "ssa", "sertft", "seacft", "sepft", "seotpft", "seoobft", "sercft", "sens",
];

/// Whether an event of this type makes its user active.
pub fn is_active(kind: &str) -> bool {
    ACTIVE_TYPES.contains(&kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_client_credentials_never_count() {
        for kind in [
            "f", "fp", "fu", "fs", "fsa", "feacft", "fertft", "seccft", "sdu", "slo", "",
        ] {
            assert!(!is_active(kind), "{kind}");
        }
        for kind in [
            "s", "ssa", "sertft", "seacft", "sepft", "seotpft", "seoobft", "sercft", "sens",
        ] {
            assert!(is_active(kind), "{kind}");
        }
    }

    #[test]
    fn usage_sees_the_same_list() {
        assert_eq!(crate::usage::SEEN_TYPES, ACTIVE_TYPES);
    }
}
