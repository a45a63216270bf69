//! The clock seam: current time and sleeping, passed in because wasm has no `SystemTime`.

use crate::time::EpochMs;

/// Tells the time and waits. The runtime uses `Date.now()` and timers; tests a virtual clock.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> EpochMs;
    /// Waits this long.
    async fn sleep_ms(&self, ms: u64);
}

#[cfg(test)]
pub mod fake {
    //! A virtual clock whose sleeps advance time instantly.
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Starts at a fixed instant; `sleep_ms` adds to it and records the wait.
    pub struct FakeClock {
        now: Cell<EpochMs>,
        /// Every sleep, in order.
        pub sleeps: RefCell<Vec<u64>>,
    }

    impl FakeClock {
        /// A clock at `start`.
        pub fn at(start: EpochMs) -> Self {
            Self {
                now: Cell::new(start),
                sleeps: RefCell::new(Vec::new()),
            }
        }

        /// Moves time on without a sleep (work taking time).
        pub fn advance(&self, ms: u64) {
            self.now.set(self.now.get() + ms);
        }
    }

    impl Clock for FakeClock {
        fn now_ms(&self) -> EpochMs {
            self.now.get()
        }
        async fn sleep_ms(&self, ms: u64) {
            self.sleeps.borrow_mut().push(ms);
            self.advance(ms);
        }
    }
}

/// The setting that lets a test or the local demo run a sync at a simulated time.
pub const TEST_CLOCK_SETTING: &str = "TEST_CLOCK";

/// How far a sync's clock is shifted: from `scheduled_ms`, the cron event's `scheduledTime`
/// (which Miniflare's `scheduled({scheduledTime})` and `wrangler dev`'s `/__scheduled?time=`
/// let a test choose), to the real `now_ms`. Zero unless `TEST_CLOCK` is `scheduled-time` **and**
/// `AUTH0_BASE_URL` points at a local fake tenant (`http://127.0.0.1` or `http://localhost`):
/// production talks to a real tenant over https, so setting `TEST_CLOCK` there by mistake
/// changes nothing.
pub fn test_clock_offset(
    setting: Option<&str>,
    auth0_base_url: Option<&str>,
    scheduled_ms: EpochMs,
    now_ms: EpochMs,
) -> i64 {
    let local = auth0_base_url.is_some_and(|u| {
        let rest = u.trim().strip_prefix("http://").unwrap_or_default();
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        host == "127.0.0.1" || host == "localhost"
    });
    if setting.map(str::trim) != Some("scheduled-time") || !local || scheduled_ms == 0 {
        return 0;
    }
    let (s, n) = (i128::from(scheduled_ms), i128::from(now_ms));
    i64::try_from(s - n).unwrap_or(0)
}

/// The `at=<epoch ms>` of a `POST /api/sync` query, the manual sync's simulated time (0 when
/// absent or not a number). It matters only where [`test_clock_offset`] allows a shift, since
/// `wrangler dev`'s `/__scheduled` does not pass a time on.
pub fn simulated_at(query: &str) -> EpochMs {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("at="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod offset_tests {
    use super::{simulated_at, test_clock_offset};

    #[test]
    fn a_manual_sync_names_its_simulated_time_in_at() {
        assert_eq!(simulated_at("at=1700000000000"), 1_700_000_000_000);
        assert_eq!(simulated_at("x=1&at=5"), 5);
        for q in [
            "",
            "at=",
            "at=-5",
            "at=1e3",
            "at=99999999999999999999999",
            "cat=5",
            "at",
        ] {
            assert_eq!(simulated_at(q), 0, "{q}");
        }
    }

    #[test]
    fn only_a_local_fake_tenant_with_the_setting_shifts_the_clock() {
        let (s, n) = (1_000, 5_000);
        let local = Some("http://127.0.0.1:8788");
        assert_eq!(
            test_clock_offset(Some("scheduled-time"), local, s, n),
            -4_000
        );
        assert_eq!(
            test_clock_offset(Some("scheduled-time"), Some("http://localhost/"), n, s),
            4_000
        );
        for url in [
            None,
            Some("https://tenant.us.auth0.com"),
            Some("http://127.0.0.1.evil.example"),
            Some("https://127.0.0.1:8788"),
            Some("http://proxy.internal:8080"),
        ] {
            assert_eq!(
                test_clock_offset(Some("scheduled-time"), url, s, n),
                0,
                "{url:?}"
            );
        }
        for setting in [None, Some(""), Some("1"), Some("true")] {
            assert_eq!(test_clock_offset(setting, local, s, n), 0, "{setting:?}");
        }
        assert_eq!(test_clock_offset(Some("scheduled-time"), local, 0, n), 0);
        assert_eq!(
            test_clock_offset(Some("scheduled-time"), local, u64::MAX, 0),
            0
        );
    }
}
