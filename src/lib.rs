//! auth0-license-sync: a Cloudflare Worker that keeps an Auth0 tenant's users in D1 for
//! license and access reviews. This file holds only the event entry points; the logic lives in
//! plain-Rust modules that are tested natively.

pub mod api;
pub mod auth;
pub mod auth0;
pub mod changes;
pub mod clock;
pub mod config;
pub mod decimal;
pub mod fields;
pub mod http;
pub mod lowercase;
pub mod mau;
pub mod push;
pub mod reach;
pub mod render;
pub mod settings;
pub mod store;
pub mod sync;
pub mod time;
pub mod trends;
pub mod usage;

#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(test)]
pub mod testing;

#[cfg(target_arch = "wasm32")]
use worker::{Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent, event};

/// Serves every HTTP route; the table is `api::route`. The HTML pages (`/`, `/runs`, `/changes`,
/// `/users/{id}`, `/applications`, `/applications/{id}`), `/login` and `/logout`; the CSV exports
/// (`/users.csv`, `/changes.csv`, `/applications.csv`, `/applications/{id}/users.csv`); the
/// viewer JSON API under `/api/` and `POST /api/sync`; the Auth0 pushes (`POST /api/auth0/events`,
/// `POST /api/auth0/log-stream`); and `/healthz`.
#[cfg(target_arch = "wasm32")]
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    runtime::handlers::fetch(req, env).await
}

/// Runs the cron sync. Workers report a scheduled event as a success whatever happens, so the
/// outcome is recorded in the sync history instead.
#[cfg(target_arch = "wasm32")]
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    runtime::handlers::scheduled(env, &event.cron(), event.schedule()).await;
}
