//! The Management API client: one token per invocation, paced requests, bounded retries.
//!
//! Deciding (how long to wait, whether to retry) is in small pure functions; the client only
//! sends, sleeps and counts. What Auth0 promises is in the README (design notes).

use std::fmt;

use serde_json::Value;

use super::error::Auth0Error;
use super::types::{ApiErrorBody, OAuthError, TokenResponse};
use crate::clock::Clock;
use crate::config::Auth0Config;
use crate::fields::{self, FieldError};
use crate::http::{BodySink, HttpClient, HttpRequest, HttpResponse, Method};
use crate::time::EpochMs;

/// How hard the client tries, and how fast it may go. Defaults suit every Auth0 plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts for 5xx, timeouts and unreadable bodies, the first included.
    pub max_attempts: u32,
    /// 429s tolerated for one request before giving up.
    pub max_429_per_request: u32,
    /// 429s tolerated for the whole run.
    pub max_429_per_run: u32,
    /// The first backoff; it doubles per attempt.
    pub base_backoff_ms: u64,
    /// The longest single wait.
    pub max_wait_ms: u64,
    /// Each request's timeout.
    pub timeout_ms: u64,
    /// Requests this invocation may make (Workers' subrequest limit); `None` for no limit.
    pub max_requests: Option<u32>,
    /// A client-side token bucket (requests per second, burst). When set it paces alone, finer
    /// than Auth0's whole-second reset header; 429s are still waited out.
    pub pace: Option<(f64, u32)>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_429_per_request: 8,
            max_429_per_run: 100,
            base_backoff_ms: 500,
            max_wait_ms: 60_000,
            timeout_ms: 30_000,
            max_requests: None,
            pace: None,
        }
    }
}

/// What the run cost, for the sync history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Every HTTP request sent, the token's included.
    pub requests: u32,
    /// 429 answers met.
    pub rate_limited: u32,
    /// Requests sent again after a failure of any kind.
    pub retries: u32,
}

/// A bearer token with its lifetime and scopes. `Debug` never shows the token.
#[derive(Clone)]
pub struct AccessToken {
    value: String,
    expires_at: EpochMs,
    /// The granted scopes.
    pub scopes: Vec<String>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Rate-limit headers of the last answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RateHeaders {
    /// `x-ratelimit-limit`, the bucket's size.
    pub limit: Option<u64>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`, in epoch ms.
    pub reset_at: Option<EpochMs>,
}

impl RateHeaders {
    /// Reads the headers; absent or malformed ones are `None`.
    pub fn read(resp: &HttpResponse) -> Self {
        let num = |name: &str| resp.header(name).and_then(header_number);
        Self {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset_at: num("x-ratelimit-reset").map(|s| s.saturating_mul(1000)),
        }
    }
}

/// A header's non-negative number, rounded up to a whole one: `3`, ` 3 `, `2.5`. Huge values
/// saturate; negative, non-finite and non-numeric ones are `None`. Nothing here can overflow.
fn header_number(value: &str) -> Option<u64> {
    // `as` saturates at u64::MAX for values beyond it.
    crate::decimal::parse(value).map(|n| n.ceil() as u64)
}

/// The lifetime given to a token, from its `expires_in` (seconds): absent or malformed means
/// Auth0's default of a day; clamped so that a tiny value does not refetch before every request
/// (Auth0 still refuses an expired token, and the client then fetches one more) and a huge one
/// cannot overflow.
fn token_lifetime_ms(expires_in: Option<f64>) -> u64 {
    const DAY_S: f64 = 86_400.0;
    let secs = expires_in
        .filter(|s| s.is_finite())
        .unwrap_or(DAY_S)
        .clamp(TOKEN_MIN_LIFETIME_S, 30.0 * DAY_S);
    // In range by the clamp above.
    secs as u64 * 1000
}

/// The shortest lifetime a token is given: twice the margin at which it is renewed.
const TOKEN_MIN_LIFETIME_S: f64 = 120.0;
/// A token is renewed when it has less than this left.
const TOKEN_RENEW_MARGIN_MS: u64 = 60_000;

/// How long to wait before the next request, given the last answer's headers.
///
/// Waits only when the bucket is empty: until the reset, bounded by `max_wait`. (With nothing
/// learnt yet; see [`RateEstimate::wait`].)
#[cfg(test)]
fn pacing_wait(last: RateHeaders, now: EpochMs, max_wait: u64) -> u64 {
    RateEstimate::default().wait(last, now, max_wait)
}

/// A lower bound on Auth0's refill rate, learnt from the answers' headers and the local clock.
///
/// Over a window of answers, the bucket gained `rate × elapsed` tokens and lost one per request:
/// `tokens_now = tokens_then + rate × elapsed − requests − (tokens lost to a full bucket or taken
/// by other clients)`. `remaining` is the whole part of the tokens, so
/// `rate ≥ (remaining_now − remaining_then − 1 + requests) / elapsed`, whatever the losses. The
/// best such bound seen is kept; it tightens as the window grows. A 429 forgets it all.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct RateEstimate {
    /// The window's first answer: local time, `remaining` and `limit`.
    anchor: Option<(EpochMs, u64, Option<u64>)>,
    /// Answers since the anchor.
    answers: u64,
    /// The best lower bound so far, in tokens per ms.
    per_ms: Option<f64>,
    /// When the last answer came.
    last_at: EpochMs,
}

/// Answers arrive after Auth0 counted them: this much is added to each window's length so that
/// uneven latency cannot make the bound overshoot.
const RATE_WINDOW_SLACK_MS: u64 = 50;
/// No rate above this is believed (10,000 requests per second); junk cannot make pacing vanish.
const RATE_MAX_PER_MS: f64 = 10.0;

impl RateEstimate {
    /// The estimate after an answer (not a 429) with headers `h` came at `now`.
    #[must_use]
    fn observe(mut self, h: RateHeaders, now: EpochMs) -> Self {
        self.last_at = now;
        let Some(remaining) = h.remaining else {
            return self;
        };
        // Another limit is another bucket (the token endpoint's is not the Management API's): no
        // bound across the two.
        let same_bucket =
            |(at, _, limit): &(EpochMs, u64, Option<u64>)| now >= *at && *limit == h.limit;
        if let Some((at, then, _)) = self.anchor.filter(same_bucket) {
            self.answers = self.answers.saturating_add(1);
            let gained = remaining.saturating_add(self.answers) as f64 - then as f64 - 1.0;
            let elapsed = now.saturating_sub(at).saturating_add(RATE_WINDOW_SLACK_MS) as f64;
            let bound = (gained / elapsed).min(RATE_MAX_PER_MS);
            if bound > 0.0 && self.per_ms.is_none_or(|r| bound > r) {
                self.per_ms = Some(bound);
            }
        }
        // A bucket that is (nearly) full may have dropped refills: the bound above still holds,
        // but a fresh window starts here so that an idle stretch does not keep later ones loose.
        // An inconsistent limit (0, below remaining) is ignored.
        let nearly_full = h
            .limit
            .filter(|&l| l > 0 && remaining <= l)
            .is_some_and(|l| remaining.saturating_add(1) >= l);
        if nearly_full || !self.anchor.is_some_and(|a| same_bucket(&a)) {
            self.anchor = Some((now, remaining, h.limit));
            self.answers = 0;
        }
        self
    }

    /// The rate learnt so far, in requests per second (tests read it).
    #[cfg(test)]
    fn per_second(&self) -> Option<f64> {
        self.per_ms.map(|r| r * 1000.0)
    }

    /// How long to wait before the next request, given the last answer's headers.
    ///
    /// Tokens left: none. Empty bucket: until one token has refilled since the last answer at
    /// the learnt rate, or until the reset if that comes first (it is rounded up to whole
    /// seconds, so it is late, never early); bounded by `max_wait`.
    pub fn wait(&self, last: RateHeaders, now: EpochMs, max_wait: u64) -> u64 {
        if last.remaining != Some(0) {
            return 0;
        }
        let by_rate = self.per_ms.map(|r| {
            // `as` saturates; `r` is positive and finite by construction.
            let one = (1.0 / r).ceil() as u64;
            self.last_at.saturating_add(one).saturating_sub(now)
        });
        let by_reset = last
            .reset_at
            .map(|r| r.saturating_sub(now))
            .filter(|w| *w > 0);
        match (by_rate, by_reset) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(0),
        }
        .min(max_wait)
    }
}

/// How long to wait after a 429: `Retry-After`, else until the reset, else backoff; plus jitter.
fn wait_after_429(resp: &HttpResponse, now: EpochMs, attempt: u32, policy: &RetryPolicy) -> u64 {
    // Seconds; the HTTP-date form is not parsed and falls through to the reset or backoff.
    let retry_after = resp
        .header("retry-after")
        .and_then(header_number)
        .map(|s| s.saturating_mul(1000));
    let until_reset = RateHeaders::read(resp)
        .reset_at
        .map(|r| r.saturating_sub(now))
        .filter(|w| *w > 0);
    let base = retry_after
        .or(until_reset)
        .unwrap_or_else(|| backoff(policy.base_backoff_ms, attempt));
    // A huge Retry-After is capped: the request is tried again after the longest wait, and the
    // attempt counts towards the 429 budget like any other.
    base.saturating_add(jitter(now, base / 10 + 50))
        .min(policy.max_wait_ms)
}

/// Exponential backoff: base × 2^attempt, without overflow.
fn backoff(base_ms: u64, attempt: u32) -> u64 {
    base_ms.saturating_mul(1u64 << attempt.min(20))
}

/// A spread in `0..span` that differs between runs without a random source.
fn jitter(now: EpochMs, span: u64) -> u64 {
    if span == 0 {
        return 0;
    }
    now.wrapping_mul(0x9E37_79B9_7F4A_7C15) % span
}

/// A client-side token bucket.
#[derive(Debug, Clone)]
struct Bucket {
    per_ms: f64,
    burst: f64,
    tokens: f64,
    at: EpochMs,
}

impl Bucket {
    fn new(per_second: f64, burst: u32, now: EpochMs) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_ms: per_second / 1000.0,
            burst,
            tokens: burst,
            at: now,
        }
    }

    /// Takes a token, returning how long to wait for it first (at most `max_wait`).
    fn take(&mut self, now: EpochMs, max_wait: u64) -> u64 {
        let elapsed = now.saturating_sub(self.at) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.burst);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            0
        } else {
            // A float-to-int `as` saturates (a zero rate gives infinity, then u64::MAX).
            ((-self.tokens / self.per_ms).ceil() as u64).min(max_wait)
        }
    }
}

/// Builds a caller's type out of a 2xx answer parsed once into a [`Value`] (e.g.
/// `UsersPage::from_value`). A refused answer is retried like one that is not JSON.
pub type Read<T> = fn(&Value) -> Result<T, FieldError>;

/// Whether an answer is worth another attempt.
enum Verdict<T> {
    Done(T),
    Retry(String),
    Fail(Auth0Error),
}

/// The Management API client for one run.
pub struct Auth0Client<'a, H: HttpClient, C: Clock> {
    http: &'a H,
    clock: &'a C,
    config: &'a Auth0Config,
    policy: RetryPolicy,
    token: Option<AccessToken>,
    last_rate: RateHeaders,
    estimate: RateEstimate,
    bucket: Option<Bucket>,
    /// What the run has cost so far.
    pub stats: RequestStats,
}

impl<'a, H: HttpClient, C: Clock> Auth0Client<'a, H, C> {
    /// A client that has not yet fetched a token.
    pub fn new(http: &'a H, clock: &'a C, config: &'a Auth0Config, policy: RetryPolicy) -> Self {
        let bucket = policy
            .pace
            .map(|(rate, burst)| Bucket::new(rate, burst, clock.now_ms()));
        Self {
            http,
            clock,
            config,
            policy,
            token: None,
            last_rate: RateHeaders::default(),
            estimate: RateEstimate::default(),
            bucket,
            stats: RequestStats::default(),
        }
    }

    /// Sleeps on the run's clock (export polling).
    pub async fn wait(&self, ms: u64) {
        self.clock.sleep_ms(ms).await;
    }

    /// The scopes of the current token, once one was fetched.
    pub fn granted_scopes(&self) -> Option<&[String]> {
        self.token.as_ref().map(|t| t.scopes.as_slice())
    }

    /// Fetches a token unless a valid one is held.
    ///
    /// # Errors
    /// Bad credentials (401), no grant for the API (403), or Auth0 unavailable.
    pub async fn connect(&mut self) -> Result<&AccessToken, Auth0Error> {
        let renew_at = self.clock.now_ms().saturating_add(TOKEN_RENEW_MARGIN_MS);
        let token = match self.token.take() {
            Some(t) if t.expires_at > renew_at => t,
            _ => self.fetch_token().await?,
        };
        Ok(self.token.insert(token))
    }

    async fn fetch_token(&mut self) -> Result<AccessToken, Auth0Error> {
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": self.config.client_id.as_str(),
            "client_secret": self.config.client_secret.expose(),
            "audience": self.config.domain.audience(),
        })
        .to_string();
        let req = HttpRequest {
            method: Method::Post,
            url: format!("{}/oauth/token", self.config.base.as_str()),
            headers: vec![("content-type", "application/json".into())],
            body: Some(body),
            gunzip: false,
            timeout_ms: self.policy.timeout_ms,
        };
        let now = self.clock.now_ms();
        self.send_with_retries(&req, |resp| match resp.status {
            200..=299 => match fields::parse(&resp.body)
                .ok()
                .and_then(|v| TokenResponse::from_value(&v).ok())
            {
                Some(t) => Verdict::Done(AccessToken {
                    value: t.access_token,
                    expires_at: now.saturating_add(token_lifetime_ms(t.expires_in)),
                    scopes: t
                        .scope
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                }),
                None => Verdict::Retry("invalid JSON from the token endpoint".into()),
            },
            401 => Verdict::Fail(Auth0Error::InvalidCredentials {
                code: oauth_error(resp)
                    .error
                    .unwrap_or_else(|| "access_denied".into()),
            }),
            403 => {
                let e = oauth_error(resp);
                Verdict::Fail(Auth0Error::NotAuthorizedForApi {
                    description: e
                        .error_description
                        .or(e.error)
                        .unwrap_or_else(|| "access denied".into()),
                })
            }
            s => classify_other(s, resp),
        })
        .await
    }

    /// GETs `path_and_query` (starting with `/api/v2/`) and builds `T` out of the JSON answer
    /// with `read` (e.g. `UsersPage::from_value`).
    ///
    /// # Errors
    /// See [`Auth0Error`]; transient failures are retried first, an answer `read` refuses
    /// among them.
    pub async fn get<T>(&mut self, path_and_query: &str, read: Read<T>) -> Result<T, Auth0Error> {
        Ok(self.call(Method::Get, path_and_query, None, read).await?.0)
    }

    /// [`Self::get`], with the answer's `Link` header (checkpoint paging of the log).
    ///
    /// # Errors
    /// See [`Auth0Error`]; transient failures are retried first.
    pub async fn get_with_link<T>(
        &mut self,
        path_and_query: &str,
        read: Read<T>,
    ) -> Result<(T, Option<String>), Auth0Error> {
        self.call(Method::Get, path_and_query, None, read).await
    }

    /// POSTs a JSON body to `path` and builds `T` out of the JSON answer with `read`.
    ///
    /// # Errors
    /// See [`Auth0Error`].
    pub async fn post<T>(
        &mut self,
        path: &str,
        body: &Value,
        read: Read<T>,
    ) -> Result<T, Auth0Error> {
        Ok(self
            .call(Method::Post, path, Some(body.to_string()), read)
            .await?
            .0)
    }

    /// The one place generic over the answer's type, and a thin one: the request itself
    /// ([`Self::api`]) is compiled once, not per type.
    async fn call<T>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        read: Read<T>,
    ) -> Result<(T, Option<String>), Auth0Error> {
        let mut out = None;
        let link = self
            .api(method, path, body, &mut |v| {
                out = Some(read(v)?);
                Ok(())
            })
            .await?;
        // `api` succeeds only once `read` has.
        out.map(|t| (t, link)).ok_or(Auth0Error::Unavailable {
            last: "no answer was read".into(),
            attempts: 0,
        })
    }

    /// Sends until a 2xx answer parses as JSON and `read` takes it; returns its `Link` header.
    async fn api(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
        read: &mut dyn FnMut(&Value) -> Result<(), FieldError>,
    ) -> Result<Option<String>, Auth0Error> {
        let mut refreshed = false;
        loop {
            let token = self.connect().await?.value.clone();
            let mut headers = vec![("authorization", format!("Bearer {token}"))];
            if body.is_some() {
                headers.push(("content-type", "application/json".into()));
            }
            let req = HttpRequest {
                method,
                url: format!("{}{path}", self.config.base.as_str()),
                headers,
                body: body.clone(),
                gunzip: false,
                timeout_ms: self.policy.timeout_ms,
            };
            let result = self
                .send_with_retries(&req, |resp| match resp.status {
                    200..=299 => match fields::parse(&resp.body) {
                        Ok(v) => match read(&v) {
                            Ok(()) => Verdict::Done(resp.header("link").map(str::to_string)),
                            Err(e) => Verdict::Retry(format!("unexpected JSON ({e})")),
                        },
                        Err(_) => Verdict::Retry("invalid JSON".into()),
                    },
                    401 => Verdict::Fail(Auth0Error::TokenRejected {
                        message: api_error(resp)
                            .message
                            .unwrap_or_else(|| "Unauthorized".into()),
                    }),
                    403 => {
                        let e = api_error(resp);
                        let message = e.message.unwrap_or_else(|| "no message".into());
                        match e.error_code.as_deref() {
                            Some("insufficient_scope") => Verdict::Fail(Auth0Error::MissingScope {
                                scope: scope_from_message(&message),
                            }),
                            _ => Verdict::Fail(Auth0Error::Forbidden { message }),
                        }
                    }
                    s => classify_other(s, resp),
                })
                .await;
            match result {
                // An expired or revoked token: one fresh token, then a clear failure.
                Err(Auth0Error::TokenRejected { .. }) if !refreshed => {
                    refreshed = true;
                    self.token = None;
                }
                other => return other,
            }
        }
    }

    /// Downloads a signed URL (an export file) without the bearer token, gunzipping it and
    /// handing it to `sink` as it streams in; a retry restarts the sink.
    ///
    /// # Errors
    /// [`Auth0Error::Unavailable`] once retries are spent; `Rejected` for an expired link (403).
    pub async fn download_gzip_into(
        &mut self,
        url: &str,
        sink: &mut dyn BodySink,
    ) -> Result<(), Auth0Error> {
        let req = HttpRequest {
            method: Method::Get,
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
            gunzip: true,
            timeout_ms: self.policy.timeout_ms * 4,
        };
        self.send_with_retries_into(&req, Some(sink), |resp| match resp.status {
            200..=299 => Verdict::Done(()),
            s => classify_other(s, resp),
        })
        .await
    }

    /// Sends, sleeping for pacing, 429s and transient failures as the policy allows.
    async fn send_with_retries<T>(
        &mut self,
        req: &HttpRequest,
        judge: impl FnMut(&HttpResponse) -> Verdict<T>,
    ) -> Result<T, Auth0Error> {
        self.send_with_retries_into(req, None, judge).await
    }

    /// [`Self::send_with_retries`], a 2xx body streamed into `sink` when one is given.
    async fn send_with_retries_into<T>(
        &mut self,
        req: &HttpRequest,
        mut sink: Option<&mut dyn BodySink>,
        mut judge: impl FnMut(&HttpResponse) -> Verdict<T>,
    ) -> Result<T, Auth0Error> {
        let mut transient = 0u32;
        let mut limited = 0u32;
        loop {
            self.pace().await;
            if let Some(max) = self.policy.max_requests
                && self.stats.requests >= max
            {
                return Err(Auth0Error::BudgetSpent);
            }
            if transient + limited > 0 {
                self.stats.retries = self.stats.retries.saturating_add(1);
            }
            self.stats.requests = self.stats.requests.saturating_add(1);
            let failure = match self.transport(req, sink.as_deref_mut()).await {
                Err(e) => e.0,
                Ok(resp) => {
                    self.last_rate = RateHeaders::read(&resp);
                    if resp.status != 429 {
                        let now = self.clock.now_ms();
                        self.estimate = self.estimate.observe(self.last_rate, now);
                    }
                    if resp.status == 429 {
                        self.stats.rate_limited = self.stats.rate_limited.saturating_add(1);
                        limited += 1;
                        if limited > self.policy.max_429_per_request
                            || self.stats.rate_limited > self.policy.max_429_per_run
                        {
                            return Err(Auth0Error::RateLimited { retries: limited });
                        }
                        let now = self.clock.now_ms();
                        let wait = wait_after_429(&resp, now, limited - 1, &self.policy);
                        // The headers' bucket state is stale once we have waited it out, and the
                        // learnt rate was too high (or the bucket is shared): start again.
                        self.last_rate = RateHeaders::default();
                        self.estimate = RateEstimate::default();
                        self.clock.sleep_ms(wait).await;
                        continue;
                    }
                    match judge(&resp) {
                        Verdict::Done(v) => return Ok(v),
                        Verdict::Fail(e) => return Err(e),
                        Verdict::Retry(why) => why,
                    }
                }
            };
            transient += 1;
            if transient >= self.policy.max_attempts {
                return Err(Auth0Error::Unavailable {
                    last: failure,
                    attempts: transient,
                });
            }
            let now = self.clock.now_ms();
            let base = backoff(self.policy.base_backoff_ms, transient - 1);
            let wait = base
                .saturating_add(jitter(now, base / 4 + 1))
                .min(self.policy.max_wait_ms);
            self.clock.sleep_ms(wait).await;
        }
    }

    /// One send, its body streamed into `sink` when one is given. Not generic over the answer's
    /// type, so the wasm holds one copy of it.
    async fn transport<'s, 'd: 's>(
        &self,
        req: &HttpRequest,
        sink: Option<&'s mut (dyn BodySink + 'd)>,
    ) -> Result<HttpResponse, crate::http::TransportError> {
        match sink {
            Some(sink) => self.http.send_streamed(req, sink).await,
            None => self.http.send(req).await,
        }
    }

    async fn pace(&mut self) {
        let now = self.clock.now_ms();
        // A configured bucket knows the refill rate to the millisecond; Auth0's reset header is
        // rounded up to whole seconds, so following it would send on the second and waste up to
        // a second per wait. Without a configured rate, the rate is learnt from the headers.
        let wait = match self.bucket.as_mut() {
            Some(bucket) => bucket.take(now, self.policy.max_wait_ms),
            None => self
                .estimate
                .wait(self.last_rate, now, self.policy.max_wait_ms),
        };
        if wait > 0 {
            self.clock.sleep_ms(wait).await;
        }
    }
}

fn oauth_error(resp: &HttpResponse) -> OAuthError {
    OAuthError::read(&resp.body)
}

fn api_error(resp: &HttpResponse) -> ApiErrorBody {
    ApiErrorBody::read(&resp.body)
}

/// 5xx is worth retrying; any other status is final.
fn classify_other<T>(status: u16, resp: &HttpResponse) -> Verdict<T> {
    if status >= 500 {
        return Verdict::Retry(format!("HTTP {status}"));
    }
    let e = api_error(resp);
    Verdict::Fail(Auth0Error::Rejected {
        status,
        code: e.error_code,
        message: e
            .message
            .unwrap_or_else(|| format!("HTTP {status} with no message")),
    })
}

/// Pulls `read:users` out of "Insufficient scope, expected any of: read:users".
fn scope_from_message(message: &str) -> String {
    message
        .split_once("expected any of:")
        .map(|(_, scopes)| scopes.trim().trim_end_matches('.').to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("the scope named by Auth0 (\"{message}\")"))
}

/// Takes any JSON answer as it is: for tests of the sending, not of a type.
#[cfg(test)]
fn any_json(v: &Value) -> Result<Value, FieldError> {
    Ok(v.clone())
}

#[cfg(test)]
mod tests;
