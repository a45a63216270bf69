//! Pushes from Auth0 to the worker: Event Streams webhooks (`POST /api/auth0/events`) and Log
//! Streams (`POST /api/auth0/log-stream`, [`log_stream`]).
//!
//! Pure logic: authenticate, bound and parse a delivery, map it to the store's writes and
//! answer in a way Auth0's delivery rules can live with (see [`events`]), and add to the
//! change history what an applied event changed ([`changes`]). The runtime reads the
//! body (capped) and logs what this module hands back.

pub mod changes;
pub mod events;
pub mod log_stream;
