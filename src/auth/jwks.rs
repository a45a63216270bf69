//! The Cloudflare Access signing keys, cached per isolate, and when to fetch them again.
//!
//! Keys are fetched when missing or older than [`JWKS_TTL_MS`]. A token naming a key id the
//! cached set lacks may mean the team rotated its keys, so the set is fetched again at once, but
//! such refetches happen at most once per [`REFETCH_INTERVAL_MS`]: otherwise anyone could make
//! the Worker fetch the certs on every request by sending tokens with made-up key ids.
//!
//! With the certs endpoint down, each fetch may take its whole timeout ([`CERTS_TIMEOUT_MS`]).
//! So a failed fetch is remembered for [`FAILURE_MEMORY_MS`], and requests meanwhile get its
//! error at once; and one fetch runs at a time per isolate (single flight): requests that need
//! keys while it runs wait for its outcome instead of fetching too. What to do is decided by
//! [`JwksCache::next_step`], a pure function of the cache and the time.
//!
//! Waiters check the cache every [`WAIT_CHECK_MS`] on their own timers rather than being woken
//! by the fetching request: the Workers runtime cancels a request's continuations when another
//! request resolves them. A fetch whose request was abandoned without ending it stops counting
//! after [`FLIGHT_LIMIT_MS`], so nobody waits for it forever.

use std::cell::RefCell;

use super::access::{
    AccessConfig, AccessError, Identity, Jwk, RsaVerifier, parse_jwt, verify_access_jwt,
};
use crate::clock::Clock;
use crate::time::EpochMs;

/// How long fetched keys are trusted before they are fetched again.
pub const JWKS_TTL_MS: EpochMs = 10 * 60 * 1000;

/// The least time between two refetches caused by unknown key ids.
pub const REFETCH_INTERVAL_MS: EpochMs = 60 * 1000;

/// How long a failed fetch is remembered, from when it failed: requests meanwhile are refused
/// with its error and fetch nothing.
pub const FAILURE_MEMORY_MS: EpochMs = 30 * 1000;

/// How long the certs request may take, body included (the runtime's fetch enforces it).
pub const CERTS_TIMEOUT_MS: EpochMs = 10_000;

/// How long a fetch under way makes others wait: its timeout and a margin. Past that, it is
/// taken for abandoned and the next request fetches.
pub const FLIGHT_LIMIT_MS: EpochMs = CERTS_TIMEOUT_MS + 2_000;

/// How often a waiting request looks whether the fetch under way has ended.
pub const WAIT_CHECK_MS: u64 = 50;

/// Fetches a team's signing keys (WebCrypto's side of the runtime; a fake in tests).
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait KeySource {
    /// The team's current keys.
    ///
    /// # Errors
    /// [`AccessError::Certs`] if they cannot be fetched or read.
    async fn fetch_keys(&self, cfg: &AccessConfig) -> Result<Vec<Jwk>, AccessError>;
}

#[derive(Debug, Clone)]
struct Cached {
    team_url: String,
    keys: Vec<Jwk>,
    fetched_at: EpochMs,
}

#[derive(Debug, Clone)]
struct Failure {
    team_url: String,
    error: AccessError,
    at: EpochMs,
}

/// The keys of the last team fetched, the last failed fetch, the fetch under way (if any) and
/// when an unknown key id last caused a refetch.
#[derive(Debug, Default)]
pub struct JwksCache {
    cached: Option<Cached>,
    failure: Option<Failure>,
    last_refetch: Option<EpochMs>,
    /// When the fetch under way started; `None` when no fetch runs.
    in_flight: Option<EpochMs>,
}

/// What a request does to get the keys, by [`JwksCache::next_step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Use these keys: fetched for this team less than [`JWKS_TTL_MS`] ago.
    Use(Vec<Jwk>),
    /// Fetch them: nothing fresh, no fetch under way, no failure to remember.
    Fetch,
    /// Another request is fetching them (for less than [`FLIGHT_LIMIT_MS`]): wait a little,
    /// then decide again.
    Wait,
    /// A fetch for this team failed less than [`FAILURE_MEMORY_MS`] ago: refuse with its error.
    Fail(AccessError),
}

impl JwksCache {
    /// What to do for `cfg`'s keys at `now`. `refetch` asks for newer keys than the cached ones
    /// (an unknown key id); a remembered failure or a fetch under way still apply to it.
    pub fn next_step(&self, cfg: &AccessConfig, now: EpochMs, refetch: bool) -> Step {
        let team = cfg.team_url.as_str();
        if !refetch && let Some((keys, _)) = self.fresh(cfg, now) {
            return Step::Use(keys);
        }
        if self
            .in_flight
            .is_some_and(|at| at <= now && now - at < FLIGHT_LIMIT_MS)
        {
            return Step::Wait;
        }
        match &self.failure {
            // A clock that went backwards does not stretch the memory: `at <= now`.
            Some(f) if f.team_url == team && f.at <= now && now - f.at < FAILURE_MEMORY_MS => {
                Step::Fail(f.error.clone())
            }
            _ => Step::Fetch,
        }
    }

    fn fresh(&self, cfg: &AccessConfig, now: EpochMs) -> Option<(Vec<Jwk>, EpochMs)> {
        self.cached
            .as_ref()
            .filter(|c| {
                c.team_url == cfg.team_url.as_str()
                    && now.saturating_sub(c.fetched_at) < JWKS_TTL_MS
                    && c.fetched_at <= now
            })
            .map(|c| (c.keys.clone(), c.fetched_at))
    }

    fn may_refetch(&self, now: EpochMs) -> bool {
        self.last_refetch
            .is_none_or(|at| now.saturating_sub(at) >= REFETCH_INTERVAL_MS || at > now)
    }

    /// Records a fetch's outcome at `at`, when it ended.
    fn record(&mut self, cfg: &AccessConfig, outcome: &Result<Vec<Jwk>, AccessError>, at: EpochMs) {
        let team_url = cfg.team_url.as_str().to_string();
        match outcome {
            Ok(keys) => {
                self.cached = Some(Cached {
                    team_url,
                    keys: keys.clone(),
                    fetched_at: at,
                });
                self.failure = None;
            }
            Err(error) => {
                self.failure = Some(Failure {
                    team_url,
                    error: error.clone(),
                    at,
                });
            }
        }
    }
}

/// Ends the flight when dropped, however the fetch ended (also when the request that ran it
/// was dropped mid-fetch), so waiters decide again at their next look.
struct Flight<'a>(&'a RefCell<JwksCache>);

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        // No borrow of the cache spans an await, so this borrow cannot clash.
        if let Ok(mut cache) = self.0.try_borrow_mut() {
            cache.in_flight = None;
        }
    }
}

/// The keys for `cfg`, as [`JwksCache::next_step`] says, and whether they are as new as they
/// can be (fetched or waited for by this call, so refetching for an unknown key id is pointless).
async fn keys_for<K: KeySource, C: Clock>(
    cache: &RefCell<JwksCache>,
    cfg: &AccessConfig,
    clock: &C,
    source: &K,
    mut refetch: bool,
) -> Result<(Vec<Jwk>, bool), AccessError> {
    let mut waited = false;
    loop {
        let now = clock.now_ms();
        let step = cache.borrow().next_step(cfg, now, refetch);
        match step {
            Step::Use(keys) => return Ok((keys, waited)),
            Step::Fail(e) => return Err(e),
            Step::Wait => {
                clock.sleep_ms(WAIT_CHECK_MS).await;
                // What that fetch brings is as new as a refetch would be.
                (refetch, waited) = (false, true);
            }
            Step::Fetch => {
                cache.borrow_mut().in_flight = Some(now);
                let flight = Flight(cache);
                let outcome = source.fetch_keys(cfg).await;
                cache.borrow_mut().record(cfg, &outcome, clock.now_ms());
                drop(flight);
                return outcome.map(|keys| (keys, true));
            }
        }
    }
}

/// Verifies an Access token against the team's keys, fetching them as the module doc says.
///
/// The cache is borrowed only between awaits, so concurrent requests in one isolate share it,
/// and share one fetch.
///
/// # Errors
/// Why the token was refused, as [`verify_access_jwt`] says, or why the keys could not be read
/// (also when a fetch failed less than [`FAILURE_MEMORY_MS`] ago).
pub async fn verify_with_cached_keys<K: KeySource, V: RsaVerifier, C: Clock>(
    cache: &RefCell<JwksCache>,
    token: &str,
    cfg: &AccessConfig,
    clock: &C,
    source: &K,
    verifier: &V,
) -> Result<Identity, AccessError> {
    // A token that is not even a JWT costs no fetch.
    parse_jwt(token)?;
    let (keys, newest) = keys_for(cache, cfg, clock, source, false).await?;
    let now = clock.now_ms();
    let result = verify_access_jwt(token, &keys, cfg, now / 1000, verifier).await;
    let refetch = matches!(result, Err(AccessError::UnknownKey))
        && !newest
        && cache.borrow().may_refetch(now);
    if !refetch {
        return result;
    }
    // Counted before the fetch, so a failing certs endpoint is not asked again within the minute.
    cache.borrow_mut().last_refetch = Some(now);
    let (keys, _) = keys_for(cache, cfg, clock, source, true).await?;
    verify_access_jwt(token, &keys, cfg, clock.now_ms() / 1000, verifier).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::encoding::base64url_encode;
    use crate::auth::sha256::hmac_sha256;
    use crate::clock::Clock;
    use crate::clock::fake::FakeClock;
    use crate::testing::{block_on, settings};
    use serde_json::json;
    use std::cell::Cell;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    const TEAM: &str = "https://myteam.cloudflareaccess.com";
    const AUD: &str = "app-aud";
    const START: EpochMs = 1_700_000_000_000;

    fn cfg(team: &str) -> AccessConfig {
        AccessConfig::from_settings(&settings(&[
            ("ACCESS_TEAM_DOMAIN", team),
            ("ACCESS_AUD", AUD),
        ]))
        .unwrap()
        .unwrap()
    }

    fn jwk(kid: &str) -> Jwk {
        Jwk {
            kid: kid.into(),
            n: format!("modulus-{kid}"),
            e: "AQAB".into(),
        }
    }

    /// The team's published keys, which tests rotate; counts fetches and can fail them, or hold
    /// them (a fetch under way) until `answering` is set.
    struct FakeTeam {
        keys: RefCell<Vec<Jwk>>,
        fetches: Cell<u32>,
        down: Cell<bool>,
        answering: Cell<bool>,
    }

    impl FakeTeam {
        fn with(kids: &[&str]) -> Self {
            Self {
                keys: RefCell::new(kids.iter().map(|k| jwk(k)).collect()),
                fetches: Cell::new(0),
                down: Cell::new(false),
                answering: Cell::new(true),
            }
        }
    }

    impl KeySource for FakeTeam {
        async fn fetch_keys(&self, _cfg: &AccessConfig) -> Result<Vec<Jwk>, AccessError> {
            self.fetches.set(self.fetches.get() + 1);
            std::future::poll_fn(|_| {
                if self.answering.get() {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
            if self.down.get() {
                return Err(AccessError::Certs("HTTP 503".into()));
            }
            Ok(self.keys.borrow().clone())
        }
    }

    /// A "signature" is the HMAC of the input keyed by the key's modulus.
    struct FakeRsa;

    impl RsaVerifier for FakeRsa {
        async fn verify(&self, key: &Jwk, input: &[u8], signature: &[u8]) -> bool {
            hmac_sha256(key.n.as_bytes(), input).as_slice() == signature
        }
    }

    fn token(kid: &str, now: EpochMs) -> String {
        let part = |v: serde_json::Value| base64url_encode(v.to_string().as_bytes());
        let input = format!(
            "{}.{}",
            part(json!({"alg": "RS256", "kid": kid})),
            part(json!({"aud": AUD, "iss": TEAM, "exp": now / 1000 + 3600, "email": "v@x.io"}))
        );
        let sig = base64url_encode(&hmac_sha256(jwk(kid).n.as_bytes(), input.as_bytes()));
        format!("{input}.{sig}")
    }

    fn verify(
        cache: &RefCell<JwksCache>,
        team: &FakeTeam,
        clock: &FakeClock,
        kid: &str,
    ) -> Result<Identity, AccessError> {
        block_on(verify_with_cached_keys(
            cache,
            &token(kid, clock.now_ms()),
            &cfg(TEAM),
            clock,
            team,
            &FakeRsa,
        ))
    }

    #[test]
    fn keys_are_fetched_once_and_reused_until_they_expire() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        for _ in 0..5 {
            assert!(verify(&cache, &team, &clock, "k1").is_ok());
            clock.advance(60_000);
        }
        assert_eq!(team.fetches.get(), 1);
        clock.advance(JWKS_TTL_MS);
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        assert_eq!(team.fetches.get(), 2);
    }

    #[test]
    fn unknown_key_ids_refetch_at_most_once_a_minute() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        assert_eq!(team.fetches.get(), 1);
        // The first unknown key id refetches at once: the keys may have rotated.
        clock.advance(1_000);
        assert_eq!(
            verify(&cache, &team, &clock, "made-up"),
            Err(AccessError::UnknownKey)
        );
        assert_eq!(team.fetches.get(), 2);
        // A flood of made-up key ids within the minute costs nothing more.
        for i in 0..59 {
            clock.advance(1_000);
            let kid = format!("made-up-{i}");
            assert_eq!(
                verify(&cache, &team, &clock, &kid),
                Err(AccessError::UnknownKey)
            );
        }
        assert_eq!(team.fetches.get(), 2, "refetched within a minute");
        // A minute after that refetch, one more; then quiet again.
        clock.advance(1_000);
        assert_eq!(
            verify(&cache, &team, &clock, "made-up"),
            Err(AccessError::UnknownKey)
        );
        assert_eq!(team.fetches.get(), 3);
        for _ in 0..30 {
            clock.advance(1_000);
            let _ = verify(&cache, &team, &clock, "made-up");
        }
        assert_eq!(team.fetches.get(), 3);
        // Good tokens keep verifying from the cache meanwhile.
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        assert_eq!(team.fetches.get(), 3);
    }

    #[test]
    fn a_rotated_key_is_picked_up_by_a_refetch() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        // Someone probes with k2 before the team publishes it: that uses up the refetch.
        clock.advance(1_000);
        assert_eq!(
            verify(&cache, &team, &clock, "k2"),
            Err(AccessError::UnknownKey)
        );
        assert_eq!(team.fetches.get(), 2);
        *team.keys.borrow_mut() = vec![jwk("k1"), jwk("k2")];
        clock.advance(10_000);
        // Too soon after that refetch: refused, no fetch.
        assert_eq!(
            verify(&cache, &team, &clock, "k2"),
            Err(AccessError::UnknownKey)
        );
        assert_eq!(team.fetches.get(), 2);
        clock.advance(REFETCH_INTERVAL_MS);
        let id = verify(&cache, &team, &clock, "k2").unwrap();
        assert_eq!(id.email.as_deref(), Some("v@x.io"));
        assert_eq!(team.fetches.get(), 3);
        // Now cached.
        clock.advance(1_000);
        assert!(verify(&cache, &team, &clock, "k2").is_ok());
        assert_eq!(team.fetches.get(), 3);
    }

    #[test]
    fn a_failed_refetch_also_waits_a_minute_and_says_why() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        team.down.set(true);
        clock.advance(1_000);
        assert_eq!(
            verify(&cache, &team, &clock, "k9"),
            Err(AccessError::Certs("HTTP 503".into()))
        );
        clock.advance(1_000);
        assert_eq!(
            verify(&cache, &team, &clock, "k9"),
            Err(AccessError::UnknownKey)
        );
        assert_eq!(team.fetches.get(), 2);
        // The cached keys still serve.
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
    }

    #[test]
    fn malformed_tokens_fetch_nothing_and_another_team_is_not_served_from_the_cache() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        let r = block_on(verify_with_cached_keys(
            &cache,
            "not.a.jwt",
            &cfg(TEAM),
            &clock,
            &team,
            &FakeRsa,
        ));
        assert!(matches!(r, Err(AccessError::Malformed(_))), "{r:?}");
        assert_eq!(team.fetches.get(), 0);
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        let other = block_on(verify_with_cached_keys(
            &cache,
            &token("k1", START),
            &cfg("other.cloudflareaccess.com"),
            &clock,
            &team,
            &FakeRsa,
        ));
        // Fetched for the other team (whose issuer then does not match).
        assert_eq!(other, Err(AccessError::WrongIssuer));
        assert_eq!(team.fetches.get(), 2);
    }

    /// Polls once, as the runtime would when the future's I/O has not answered yet.
    fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A virtual clock whose sleeps advance time and yield once, as a runtime timer does, so
    /// that other requests run meanwhile.
    struct TimerClock(FakeClock);

    impl Clock for TimerClock {
        fn now_ms(&self) -> EpochMs {
            self.0.now_ms()
        }
        async fn sleep_ms(&self, ms: u64) {
            self.0.advance(ms);
            let mut yielded = false;
            std::future::poll_fn(|_| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    Poll::Pending
                }
            })
            .await;
        }
    }

    fn verifying<'a, C: Clock>(
        cache: &'a RefCell<JwksCache>,
        team: &'a FakeTeam,
        clock: &'a C,
        token: &'a str,
    ) -> Pin<Box<impl Future<Output = Result<Identity, AccessError>> + 'a>> {
        Box::pin(verify_with_cached_keys(
            cache, token, &CFG, clock, team, &FakeRsa,
        ))
    }

    static CFG: std::sync::LazyLock<AccessConfig> = std::sync::LazyLock::new(|| cfg(TEAM));

    #[test]
    fn next_step_uses_fresh_keys_waits_for_a_flight_and_remembers_a_failure_for_30_s() {
        let c = cfg(TEAM);
        let failed = |at: EpochMs, team: &str| {
            Some(Failure {
                team_url: team.to_string(),
                error: AccessError::Certs("HTTP 503".into()),
                at,
            })
        };
        let down = AccessError::Certs("HTTP 503".into());
        let mut cache = JwksCache::default();
        assert_eq!(cache.next_step(&c, START, false), Step::Fetch);
        cache.in_flight = Some(START);
        assert_eq!(cache.next_step(&c, START, false), Step::Wait);
        assert_eq!(cache.next_step(&c, START, true), Step::Wait);
        // A fetch that never ended (its request abandoned) stops counting; so does one from the
        // future (a clock gone backwards).
        assert_eq!(
            cache.next_step(&c, START + FLIGHT_LIMIT_MS - 1, false),
            Step::Wait
        );
        assert_eq!(
            cache.next_step(&c, START + FLIGHT_LIMIT_MS, false),
            Step::Fetch
        );
        assert_eq!(cache.next_step(&c, START - 1, false), Step::Fetch);
        cache.in_flight = None;
        cache.failure = failed(START, TEAM);
        for (later, step) in [
            (0, Step::Fail(down.clone())),
            (FAILURE_MEMORY_MS - 1, Step::Fail(down.clone())),
            (FAILURE_MEMORY_MS, Step::Fetch),
        ] {
            assert_eq!(cache.next_step(&c, START + later, false), step, "{later}");
            assert_eq!(cache.next_step(&c, START + later, true), step, "{later}");
        }
        // A clock gone backwards does not stretch the memory; another team's failure is not ours.
        assert_eq!(cache.next_step(&c, START - 1, false), Step::Fetch);
        cache.failure = failed(START, "https://other.cloudflareaccess.com");
        assert_eq!(cache.next_step(&c, START, false), Step::Fetch);
        // Fresh keys serve whatever else holds; a refetch waits or fails like a first fetch.
        cache.cached = Some(Cached {
            team_url: TEAM.into(),
            keys: vec![jwk("k1")],
            fetched_at: START,
        });
        cache.failure = failed(START, TEAM);
        cache.in_flight = Some(START);
        assert_eq!(
            cache.next_step(&c, START, false),
            Step::Use(vec![jwk("k1")])
        );
        assert_eq!(cache.next_step(&c, START, true), Step::Wait);
        cache.in_flight = None;
        assert_eq!(cache.next_step(&c, START, true), Step::Fail(down));
        // Expired keys and a forgotten failure: fetch.
        assert_eq!(cache.next_step(&c, START + JWKS_TTL_MS, false), Step::Fetch);
    }

    #[test]
    fn a_failed_fetch_is_remembered_for_30_s_from_when_it_failed() {
        // Issue 19 §5: with the certs endpoint down, every request fetched again (10 s each).
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            FakeClock::at(START),
        );
        team.down.set(true);
        team.answering.set(false);
        let first_token = token("k1", START);
        let mut first = verifying(&cache, &team, &clock, &first_token);
        assert!(poll_once(first.as_mut()).is_pending());
        // The request times out after 10 s.
        clock.advance(10_000);
        team.answering.set(true);
        let down = Err(AccessError::Certs("HTTP 503".into()));
        assert_eq!(poll_once(first.as_mut()), Poll::Ready(down.clone()));
        assert_eq!(team.fetches.get(), 1);
        // For 30 s from the failure, requests get its error at once and fetch nothing, even
        // once the endpoint is back.
        for _ in 0..29 {
            clock.advance(1_000);
            assert_eq!(verify(&cache, &team, &clock, "k1"), down);
        }
        team.down.set(false);
        clock.advance(999);
        assert_eq!(verify(&cache, &team, &clock, "k1"), down);
        assert_eq!(team.fetches.get(), 1);
        clock.advance(1);
        assert!(verify(&cache, &team, &clock, "k1").is_ok());
        assert_eq!(team.fetches.get(), 2);
        // Down again when the keys expire: one fetch, then 30 s of quiet again.
        team.down.set(true);
        clock.advance(JWKS_TTL_MS);
        for _ in 0..30 {
            assert_eq!(verify(&cache, &team, &clock, "k1"), down);
            clock.advance(999);
        }
        assert_eq!(team.fetches.get(), 3);
    }

    #[test]
    fn concurrent_requests_wait_for_one_fetch_and_share_its_outcome() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            TimerClock(FakeClock::at(START)),
        );
        for (round, down) in [(1, false), (2, true)] {
            team.down.set(down);
            team.answering.set(false);
            let tokens: Vec<String> = (0..5).map(|_| token("k1", clock.now_ms())).collect();
            let mut requests: Vec<_> = tokens
                .iter()
                .map(|t| verifying(&cache, &team, &clock, t))
                .collect();
            for r in &mut requests {
                assert!(poll_once(r.as_mut()).is_pending());
            }
            assert_eq!(team.fetches.get(), round, "one fetch while it is under way");
            clock.0.advance(2_000);
            team.answering.set(true);
            // The waiters are polled first, round after round: they must not start fetches of
            // their own while the first request's fetch has not been polled to its end.
            let mut outcomes: Vec<Option<Result<Identity, AccessError>>> = vec![None; 5];
            for _ in 0..100 {
                for (r, o) in requests.iter_mut().zip(&mut outcomes).rev() {
                    if o.is_none()
                        && let Poll::Ready(done) = poll_once(r.as_mut())
                    {
                        *o = Some(done);
                    }
                }
            }
            for outcome in outcomes {
                let outcome = outcome.expect("every request ends");
                if down {
                    assert_eq!(outcome, Err(AccessError::Certs("HTTP 503".into())));
                } else {
                    assert_eq!(outcome.unwrap().email.as_deref(), Some("v@x.io"));
                }
            }
            assert_eq!(team.fetches.get(), round, "the waiters shared the outcome");
            clock.0.advance(JWKS_TTL_MS);
        }
    }

    #[test]
    fn a_request_abandoned_mid_fetch_hands_the_fetch_to_a_waiter() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            TimerClock(FakeClock::at(START)),
        );
        team.answering.set(false);
        let t = token("k1", START);
        let mut fetching = verifying(&cache, &team, &clock, &t);
        let mut waiting = verifying(&cache, &team, &clock, &t);
        assert!(poll_once(fetching.as_mut()).is_pending());
        assert!(poll_once(waiting.as_mut()).is_pending());
        assert_eq!(team.fetches.get(), 1);
        drop(fetching);
        team.answering.set(true);
        assert!(matches!(poll_once(waiting.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(team.fetches.get(), 2);
    }

    #[test]
    fn a_fetch_that_never_ends_makes_others_wait_no_longer_than_its_limit() {
        let (cache, team, clock) = (
            RefCell::default(),
            FakeTeam::with(&["k1"]),
            TimerClock(FakeClock::at(START)),
        );
        team.answering.set(false);
        let t = token("k1", START);
        let mut stuck = verifying(&cache, &team, &clock, &t);
        assert!(poll_once(stuck.as_mut()).is_pending());
        // The runtime may never poll nor drop an abandoned request's future.
        std::mem::forget(stuck);
        let mut waiting = verifying(&cache, &team, &clock, &t);
        let waits = FLIGHT_LIMIT_MS / WAIT_CHECK_MS;
        for _ in 0..waits {
            assert!(poll_once(waiting.as_mut()).is_pending());
        }
        assert_eq!(
            team.fetches.get(),
            1,
            "waited while the fetch could still end"
        );
        team.answering.set(true);
        assert!(matches!(poll_once(waiting.as_mut()), Poll::Ready(Ok(_))));
        assert_eq!(team.fetches.get(), 2);
        assert_eq!(clock.now_ms(), START + FLIGHT_LIMIT_MS);
    }
}
