//! Viewer authentication primitives: session cookies, Cloudflare Access JWTs and their keys,
//! and the cross-site check on state-changing requests.

pub mod access;
pub mod admin;
pub mod encoding;
pub mod jwks;
pub mod origin;
pub mod session;
pub mod sha256;
mod token_match;
