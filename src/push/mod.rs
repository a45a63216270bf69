//! Pushes from Auth0 to the worker: Event Streams webhooks (`POST /api/auth0/events`).
//!
//! Pure logic: authenticate, bound and parse a delivery, map it to the store's writes and
//! answer in a way Auth0's delivery rules can live with (see [`events`]). The runtime reads the
//! body (capped) and logs what this module hands back.

pub mod events;
