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

/// The runtime's clock moved by a fixed offset: a sync at a simulated time (tests and the demo
/// only; see `clock::test_clock_offset`). Offset 0 is [`WorkerClock`].
pub struct ShiftedClock(pub i64);

impl Clock for ShiftedClock {
    fn now_ms(&self) -> EpochMs {
        WorkerClock.now_ms().saturating_add_signed(self.0)
    }

    async fn sleep_ms(&self, ms: u64) {
        WorkerClock.sleep_ms(ms).await;
    }
}
