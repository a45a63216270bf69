//! The clock on Workers: `Date.now()` and timers.

use std::time::Duration;

use crate::clock::Clock;
use crate::time::EpochMs;

/// The runtime's clock.
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> EpochMs {
        worker::Date::now().as_millis()
    }

    async fn sleep_ms(&self, ms: u64) {
        worker::Delay::from(Duration::from_millis(ms)).await;
    }
}
