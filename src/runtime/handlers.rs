//! The event handlers: build the runtime's seams, call the core, log what viewers must not see.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use worker::{Env, Request, Response, Result, console_error, console_log};

use crate::api::{
    self, AccessOutcome, ApiRequest, ApiResponse, Handled, SECURITY_HEADERS, ViewerAuth,
    content_security_policy,
};
use crate::auth::jwks::{JwksCache, verify_with_cached_keys};
use crate::auth::origin::{RequestSite, origin_of};
use crate::config::{Config, ConfigError, Settings, SyncSettings, ViewerConfig};
use crate::runtime::d1;
use crate::store::StoreError;
use crate::sync::schedule::Schedule;
use crate::sync::{SyncConfig, SyncResult, Trigger, run_sync_as};

use super::access::{SubtleRsa, WorkerKeys};
use super::clock::{ShiftedClock, WorkerClock};
use super::csv::csv_response;
use super::http::WorkerHttp;
use crate::api::applications::AppUsersCsv;
use crate::api::changes::ChangesCsv;

/// Settings from Worker secrets, falling back to vars.
struct EnvSettings<'a>(&'a Env);

impl Settings for EnvSettings<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .secret(name)
            .map(|s| s.to_string())
            .or_else(|_| self.0.var(name).map(|v| v.to_string()))
            .ok()
    }
}

/// The wasm instance's linear memory: it only grows, so this is the isolate's peak so far.
fn wasm_memory_mib() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536 / (1024 * 1024)
}

/// Runs one sync with the settings read for this event, and logs its outcome.
async fn sync(
    env: &Env,
    settings: &std::result::Result<SyncSettings, ConfigError>,
    trigger: Trigger,
    clock_offset: i64,
) -> std::result::Result<SyncResult, StoreError> {
    let store = d1::store(env)?;
    let config = settings.clone().map(|s| SyncConfig::new(s.auth0, s.limits));
    let result = run_sync_as(
        &WorkerHttp,
        &ShiftedClock(clock_offset),
        &store,
        config.as_ref(),
        trigger,
        super::random::nonce(),
    )
    .await;
    match &result {
        Ok(SyncResult::Ran { run, internal }) => {
            console_log!(
                "sync run {} {}: {} users seen, {} added, {} updated, {} removed, {} requests, {} rate-limited, {} rows written, {} D1 queries, invocation {}, wasm memory {} MiB{}",
                run.id,
                run.status.as_str(),
                run.users_seen,
                run.users_added,
                run.users_updated,
                run.users_removed,
                run.api_requests,
                run.rate_limited,
                run.rows_written,
                run.d1_queries,
                run.invocations,
                wasm_memory_mib(),
                run.error
                    .as_deref()
                    .map(|e| format!("; error: {e}"))
                    .unwrap_or_default()
            );
            if let Some(detail) = internal {
                console_error!("sync run {} internal detail: {detail}", run.id);
            }
        }
        Ok(SyncResult::Idle) => {}
        Ok(SyncResult::AlreadyRunning) => {
            console_log!(
                "sync ({}) stood down: another run holds the lock",
                trigger.as_str()
            );
        }
        Err(e) => console_error!(
            "sync ({}) could not start: {}: {}",
            trigger.as_str(),
            e.op,
            e.detail
        ),
    }
    result
}

/// The cron schedule that only continues paused runs (see wrangler.toml).
pub const CONTINUE_CRON: &str = "* * * * *";

/// The cron triggers: the frequent one continues a paused run, any other may start one.
pub async fn scheduled(env: Env, cron: &str, scheduled_ms: f64) {
    let trigger = if cron.trim() == CONTINUE_CRON {
        Trigger::Continue
    } else {
        Trigger::Cron
    };
    let env_settings = EnvSettings(&env);
    let settings = SyncSettings::from_settings(&env_settings);
    // Tests and the demo only (a local fake tenant): a sync at the event's simulated time.
    let offset = crate::clock::test_clock_offset(
        env_settings
            .get(crate::clock::TEST_CLOCK_SETTING)
            .as_deref(),
        env_settings.get("AUTH0_BASE_URL").as_deref(),
        scheduled_ms as u64,
        worker::Date::now().as_millis(),
    );
    if offset != 0 {
        console_log!(
            "sync ({}) at a simulated time: TEST_CLOCK shifts it by {offset} ms",
            trigger.as_str()
        );
    }
    let _ = sync(&env, &settings, trigger, offset).await;
}

thread_local! {
    // Per isolate: Access keys rotate rarely, and fetching them per request would be slow.
    static JWKS: Rc<RefCell<JwksCache>> = Rc::default();
}

/// Verifies the Cloudflare Access assertion, when Access is configured.
async fn access_outcome(viewer: &ViewerConfig, req: &Request) -> AccessOutcome {
    let cfg = match &viewer.access {
        Ok(None) => return AccessOutcome::Off,
        Ok(Some(cfg)) => cfg,
        Err(e) => {
            console_error!("Cloudflare Access is half configured: {e}");
            return AccessOutcome::Misconfigured(e.clone());
        }
    };
    let Ok(Some(token)) = req.headers().get("cf-access-jwt-assertion") else {
        return AccessOutcome::Absent;
    };
    let cache = JWKS.with(Rc::clone);
    match verify_with_cached_keys(&cache, &token, cfg, &WorkerClock, &WorkerKeys, &SubtleRsa).await
    {
        Ok(identity) => AccessOutcome::Verified(identity),
        Err(e) => {
            console_log!("Cloudflare Access assertion rejected: {e}");
            AccessOutcome::Rejected(e.to_string())
        }
    }
}

/// Every HTTP request.
///
/// # Errors
/// Only if a response cannot be built at all.
pub async fn fetch(mut req: Request, env: Env) -> Result<Response> {
    // The raw URL string: parsing it with the `url` crate would ship its IDNA tables in the wasm.
    let raw_url = req.inner().url();
    let (path, query) = crate::http::split_url(&raw_url);
    let method = req.method().to_string();
    let authorization = req.headers().get("authorization")?;
    let cookie = req.headers().get("cookie")?;
    let real_now = worker::Date::now().as_millis();
    // Tests only (see `clock::test_clock_offset`): `x-test-clock: <ms>` answers as of that time,
    // so a test's "today" does not depend on the wall clock.
    let now = {
        let settings = EnvSettings(&env);
        let at = req
            .headers()
            .get("x-test-clock")?
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let offset = crate::clock::test_clock_offset(
            settings.get(crate::clock::TEST_CLOCK_SETTING).as_deref(),
            settings.get("AUTH0_BASE_URL").as_deref(),
            at,
            real_now,
        );
        real_now.saturating_add_signed(offset)
    };
    // Only the login form posts a body worth reading; it is tiny.
    let body = if method == "POST" && path == "/login" {
        read_small_body(&mut req).await
    } else {
        String::new()
    };
    let origin = req.headers().get("origin")?;
    let sec_fetch_site = req.headers().get("sec-fetch-site")?;
    // Every setting, once for this request.
    let config = Config::from_settings(&EnvSettings(&env));
    if let Err(e) = &config.viewer.token {
        console_error!("viewer routes are closed: {e}");
    }
    let access = access_outcome(&config.viewer, &req).await;
    let auth = ViewerAuth::new(&config.viewer, access);
    let api_req = ApiRequest {
        method: &method,
        path,
        query,
        authorization: authorization.as_deref(),
        cookie: cookie.as_deref(),
        body: &body,
        now_ms: now,
        site: RequestSite {
            own_origin: origin_of(&raw_url).unwrap_or_default(),
            origin: origin.as_deref(),
            sec_fetch_site: sec_fetch_site.as_deref(),
        },
        schedule: config
            .sync
            .as_ref()
            .map(|s| Schedule::from_limits(&s.limits))
            .unwrap_or_default(),
    };
    let answer = match d1::store(&env) {
        Err(e) => {
            console_error!("{}: {}", e.op, e.detail);
            ApiResponse::error(&api::ApiError::Store(e))
        }
        Ok(store) => match api::handle(&api_req, &store, &auth).await {
            Handled::Respond(r) => r,
            Handled::RunSync => {
                // Tests and the local demo only (see `clock::test_clock_offset`): `?at=<ms>`.
                let env_settings = EnvSettings(&env);
                let offset = crate::clock::test_clock_offset(
                    env_settings
                        .get(crate::clock::TEST_CLOCK_SETTING)
                        .as_deref(),
                    env_settings.get("AUTH0_BASE_URL").as_deref(),
                    crate::clock::simulated_at(query),
                    real_now,
                );
                api::sync_response(&sync(&env, &config.sync, Trigger::Manual, offset).await)
            }
            Handled::Csv(query) => {
                let first = api::users_csv_query(query);
                return csv_response(api::UsersCsv, store, first, "auth0-users.csv");
            }
            Handled::ChangesCsv(query) => {
                let first = api::changes::csv_query(query);
                return csv_response(ChangesCsv, store, first, "auth0-access-changes.csv");
            }
            Handled::AppUsersCsv(query) => {
                return csv_response(AppUsersCsv, store, query, "application-users.csv");
            }
            Handled::Auth0Events => {
                let auth = authorization.as_deref();
                super::push::auth0_event(&mut req, &config, &store, &method, auth, now).await
            }
            Handled::Auth0LogStream => {
                let auth = authorization.as_deref();
                super::push::auth0_log_stream(&mut req, &config, &store, &method, auth, now).await
            }
        },
    };
    if answer.status >= 500 {
        console_error!("{} {} answered {}", method, path, answer.status);
    }
    respond(answer)
}

/// The most of a form body read: one viewer token fits many times over.
const MAX_FORM_BYTES: usize = 4096;

/// The body, if it is at most [`MAX_FORM_BYTES`]; else empty. Anyone may post to `/login`, and a
/// body read whole (up to 100 MB) could exhaust the isolate's memory, ending every request it
/// serves, a running sync included. Past the limit, chunks are read and dropped, so memory stays
/// bounded and the client still gets its answer.
async fn read_small_body(req: &mut Request) -> String {
    let Ok(mut chunks) = req.stream() else {
        return String::new();
    };
    let mut bytes = Vec::new();
    let mut too_big = false;
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return String::new();
        };
        too_big |= bytes.len().saturating_add(chunk.len()) > MAX_FORM_BYTES;
        if !too_big {
            bytes.extend_from_slice(&chunk);
        }
    }
    if too_big {
        return String::new();
    }
    // Invalid UTF-8 becomes U+FFFD here, as `text()` would; such a token matches nothing.
    String::from_utf8_lossy(&bytes).into_owned()
}

fn respond(a: ApiResponse) -> Result<Response> {
    let mut resp = Response::ok(a.body)?.with_status(a.status);
    let headers = resp.headers_mut();
    headers.set("content-type", a.content_type)?;
    headers.set(
        "content-security-policy",
        &content_security_policy(a.content_type),
    )?;
    for (k, v) in SECURITY_HEADERS {
        headers.set(k, v)?;
    }
    for (k, v) in &a.headers {
        headers.append(k, v)?;
    }
    Ok(resp)
}
