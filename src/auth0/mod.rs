//! The Auth0 Management API v2: token, requests with retries and pacing, and the listings.

pub mod applications;
pub mod client;
pub mod error;
pub mod export;
#[cfg(test)]
pub mod fake;
pub mod logs;
pub mod organizations;
pub mod stats;
pub mod types;
pub mod users;

pub use client::{Auth0Client, RequestStats, RetryPolicy};
pub use error::Auth0Error;
