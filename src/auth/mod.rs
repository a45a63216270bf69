//! Viewer authentication primitives: session cookies and Cloudflare Access JWTs.

pub mod access;
pub mod encoding;
pub mod session;
pub mod sha256;
