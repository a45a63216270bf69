//! The event handlers: build the runtime's seams, call the core, log what viewers must not see.

use worker::{Env, Request, Response, Result, console_error, console_log};

use crate::api::{self, ApiRequest, ApiResponse, Handled, SECURITY_HEADERS};
use crate::config::{Auth0Config, Settings, SyncLimits, ViewerToken};
use crate::store::StoreError;
use crate::store::d1::D1Store;
use crate::sync::{SyncConfig, SyncResult, Trigger, run_sync};

use super::clock::WorkerClock;
use super::http::WorkerHttp;

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

/// Runs one sync and logs its outcome.
async fn sync(env: &Env, trigger: Trigger) -> std::result::Result<SyncResult, StoreError> {
    let store = D1Store::from_env(env)?;
    let settings = EnvSettings(env);
    let config = Auth0Config::from_settings(&settings).and_then(|auth0| {
        let limits = SyncLimits::from_settings(&settings)?;
        Ok(SyncConfig::new(auth0, limits))
    });
    let result = run_sync(&WorkerHttp, &WorkerClock, &store, config.as_ref(), trigger).await;
    match &result {
        Ok(SyncResult::Ran { run, internal }) => {
            console_log!(
                "sync run {} {}: {} users seen, {} added, {} updated, {} removed, {} requests, {} rate-limited, {} rows written{}",
                run.id,
                run.status.as_str(),
                run.users_seen,
                run.users_added,
                run.users_updated,
                run.users_removed,
                run.api_requests,
                run.rate_limited,
                run.rows_written,
                run.error
                    .as_deref()
                    .map(|e| format!("; error: {e}"))
                    .unwrap_or_default()
            );
            if let Some(detail) = internal {
                console_error!("sync run {} internal detail: {detail}", run.id);
            }
        }
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

/// The cron trigger.
pub async fn scheduled(env: Env) {
    let _ = sync(&env, Trigger::Cron).await;
}

/// Every HTTP request.
///
/// # Errors
/// Only if a response cannot be built at all.
pub async fn fetch(req: Request, env: Env) -> Result<Response> {
    let url = req.url()?;
    let method = req.method().to_string();
    let authorization = req.headers().get("authorization")?;
    let api_req = ApiRequest {
        method: &method,
        path: url.path(),
        query: url.query().unwrap_or(""),
        authorization: authorization.as_deref(),
        now_ms: worker::Date::now().as_millis(),
    };
    let viewer = ViewerToken::from_settings(&EnvSettings(&env));
    let answer = match D1Store::from_env(&env) {
        Err(e) => {
            console_error!("{}: {}", e.op, e.detail);
            ApiResponse::error(&api::ApiError::Store(e))
        }
        Ok(store) => match api::handle(&api_req, &store, viewer.as_ref()).await {
            Handled::Respond(r) => r,
            Handled::RunSync => api::sync_response(&sync(&env, Trigger::Manual).await),
        },
    };
    if answer.status >= 500 {
        console_error!("{} {} answered {}", method, url.path(), answer.status);
    }
    respond(answer)
}

fn respond(a: ApiResponse) -> Result<Response> {
    let mut resp = Response::ok(a.body)?.with_status(a.status);
    let headers = resp.headers_mut();
    headers.set("content-type", a.content_type)?;
    for (k, v) in SECURITY_HEADERS {
        headers.set(k, v)?;
    }
    for (k, v) in &a.headers {
        headers.set(k, v)?;
    }
    Ok(resp)
}
