//! Test support: drives the core's futures natively, where every fake is ready at once.

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
