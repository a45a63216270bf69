//! The Workers runtime behind the core's seams: `fetch`, timers, D1, env, and the handlers.

pub mod access;
pub mod app_csv;
pub mod changes;
pub mod clock;
pub mod handlers;
pub mod http;
pub mod push;
pub mod random;
