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
