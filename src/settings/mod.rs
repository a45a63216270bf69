//! Tenant settings managed from the dashboard (issue 21): pure parts, not yet wired to routes.

pub mod audit;
pub mod form;
pub mod probe;
pub mod secret_box;
