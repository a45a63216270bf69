//! The Workers runtime behind the core's seams: `fetch`, timers, D1, env, and the handlers.

pub mod access;
pub mod clock;
pub mod csv;
pub mod d1;
pub mod handlers;
pub mod http;
pub mod push;
pub mod random;
