//! Test support: drives the core's futures natively, where every fake is ready at once, and
//! holds the test doubles (the SQLite runner and stores, with the real migrations).

pub mod memory;
pub mod push_sqlite;
pub mod sqlite;
pub mod usage_sqlite;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future to completion. The fakes never return `Pending` for long, so no reactor is needed.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future never completed: a fake is waiting on something that cannot happen");
}

/// A `VIEWER_TOKEN` of this value, which must be long enough to be accepted.
pub fn viewer_token(value: &str) -> crate::config::ViewerToken {
    crate::config::ViewerToken::from_settings(&settings(&[("VIEWER_TOKEN", value)]))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("VIEWER_TOKEN `{value}` is blank"))
}

/// A valid Auth0 configuration for the fake tenant, with this secret.
pub fn auth0_config(secret: &'static str) -> crate::config::Auth0Config {
    let settings = move |name: &str| match name {
        "AUTH0_DOMAIN" => Some("https://tenant.us.auth0.com/".to_string()),
        "AUTH0_CLIENT_ID" => Some("cid".to_string()),
        "AUTH0_CLIENT_SECRET" => Some(secret.to_string()),
        _ => None,
    };
    crate::config::Auth0Config::from_settings(&settings).expect("valid test config")
}

/// A sync configuration for the fake tenant with default limits.
pub fn sync_config(secret: &'static str) -> crate::sync::SyncConfig {
    crate::sync::SyncConfig::new(auth0_config(secret), crate::config::SyncLimits::default())
}

/// Settings from name/value pairs, as the runtime would read them from the environment.
pub fn settings(pairs: &[(&str, &str)]) -> impl crate::config::Settings {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

/// A small seeded generator (SplitMix64) for fuzz tests: the same seed gives the same cases, so
/// a failure names a case that can be replayed.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True about once in `n` calls.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Random bytes, `len` of them.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
