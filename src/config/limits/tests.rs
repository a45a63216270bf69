use super::*;
use crate::testing::settings;

#[test]
fn limits_are_optional_and_named_when_malformed() {
    let defaults = SyncLimits::from_settings(&settings(&[])).unwrap();
    assert_eq!((defaults.rate_per_second, defaults.burst), (None, None));
    assert_eq!(
        defaults.max_auth0_requests,
        Some(DEFAULT_MAX_AUTH0_REQUESTS)
    );
    let free = SyncLimits::from_settings(&settings(&[
        ("SYNC_MAX_AUTH0_REQUESTS", "45"),
        ("SYNC_MAX_D1_QUERIES", "45"),
    ]))
    .unwrap();
    assert_eq!(
        (free.max_auth0_requests, free.max_d1_queries),
        (Some(45), Some(45))
    );
    let e = SyncLimits::from_settings(&settings(&[("SYNC_MAX_D1_QUERIES", "5")])).unwrap_err();
    assert_eq!(e.setting, "SYNC_MAX_D1_QUERIES");
    let l = SyncLimits::from_settings(&settings(&[
        ("AUTH0_RATE_LIMIT_PER_SECOND", "2"),
        ("AUTH0_RATE_LIMIT_BURST", " 40 "),
    ]))
    .unwrap();
    assert_eq!((l.rate_per_second, l.burst), (Some(2.0), Some(40)));
    for (name, bad) in [
        ("AUTH0_RATE_LIMIT_PER_SECOND", "fast"),
        ("AUTH0_RATE_LIMIT_PER_SECOND", "0"),
        ("AUTH0_RATE_LIMIT_BURST", "2.5"),
        ("AUTH0_RATE_LIMIT_BURST", "0"),
    ] {
        let e = SyncLimits::from_settings(&settings(&[(name, bad)])).unwrap_err();
        assert_eq!(e.setting, name);
        assert!(
            e.problem.contains(bad) && e.problem.contains("[vars]"),
            "{e}"
        );
    }
}

#[test]
fn the_full_listing_interval_and_overlap_default_and_are_checked() {
    let d = SyncLimits::from_settings(&settings(&[])).unwrap();
    assert_eq!(
        (
            d.full_sync_interval_hours,
            d.incremental_overlap_seconds,
            d.full_sync_auto_max_requests
        ),
        (24, 300, 200)
    );
    for (raw, want) in [("0", 0), (" 5000 ", 5000)] {
        let l =
            SyncLimits::from_settings(&settings(&[("FULL_SYNC_AUTO_MAX_REQUESTS", raw)])).unwrap();
        assert_eq!(l.full_sync_auto_max_requests, want);
    }
    let every = SyncLimits::from_settings(&settings(&[
        ("FULL_SYNC_INTERVAL_HOURS", "0"),
        ("INCREMENTAL_OVERLAP_SECONDS", " 900 "),
    ]))
    .unwrap();
    assert_eq!(
        (
            every.full_sync_interval_hours,
            every.incremental_overlap_seconds
        ),
        (0, 900)
    );
    for (name, bad) in [
        ("FULL_SYNC_INTERVAL_HOURS", "-1"),
        ("FULL_SYNC_INTERVAL_HOURS", "8761"),
        ("FULL_SYNC_INTERVAL_HOURS", "1.5"),
        ("FULL_SYNC_INTERVAL_HOURS", "daily"),
        ("INCREMENTAL_OVERLAP_SECONDS", "86401"),
        ("INCREMENTAL_OVERLAP_SECONDS", "5m"),
        ("FULL_SYNC_AUTO_MAX_REQUESTS", "-1"),
        ("FULL_SYNC_AUTO_MAX_REQUESTS", "1000001"),
        ("FULL_SYNC_AUTO_MAX_REQUESTS", "2e2"),
        ("FULL_SYNC_AUTO_MAX_REQUESTS", "many"),
    ] {
        let e = SyncLimits::from_settings(&settings(&[(name, bad)])).unwrap_err();
        assert_eq!(e.setting, name);
        assert!(e.problem.contains(bad), "{e}");
    }
}
