//! The Cloudflare Access signing keys, cached per isolate, and when to fetch them again.
//!
//! Keys are fetched when missing or older than [`JWKS_TTL_MS`]. A token naming a key id the
//! cached set lacks may mean the team rotated its keys, so the set is fetched again at once, but
//! such refetches happen at most once per [`REFETCH_INTERVAL_MS`]: otherwise anyone could make
//! the Worker fetch the certs on every request by sending tokens with made-up key ids.

use std::cell::RefCell;

use super::access::{
    AccessConfig, AccessError, Identity, Jwk, RsaVerifier, parse_jwt, verify_access_jwt,
};
use crate::time::EpochMs;

/// How long fetched keys are trusted before they are fetched again.
pub const JWKS_TTL_MS: EpochMs = 10 * 60 * 1000;

/// The least time between two refetches caused by unknown key ids.
pub const REFETCH_INTERVAL_MS: EpochMs = 60 * 1000;

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

/// The keys of the last team fetched, and when an unknown key id last caused a refetch.
#[derive(Debug, Clone, Default)]
pub struct JwksCache {
    cached: Option<Cached>,
    last_refetch: Option<EpochMs>,
}

impl JwksCache {
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
}

async fn fetch_into<K: KeySource>(
    cache: &RefCell<JwksCache>,
    cfg: &AccessConfig,
    now: EpochMs,
    source: &K,
) -> Result<Vec<Jwk>, AccessError> {
    let keys = source.fetch_keys(cfg).await?;
    cache.borrow_mut().cached = Some(Cached {
        team_url: cfg.team_url.as_str().to_string(),
        keys: keys.clone(),
        fetched_at: now,
    });
    Ok(keys)
}

/// Verifies an Access token against the team's keys, fetching them as the module doc says.
///
/// The cache is borrowed only between awaits, so concurrent requests in one isolate share it.
///
/// # Errors
/// Why the token was refused, as [`verify_access_jwt`] says, or why the keys could not be read.
pub async fn verify_with_cached_keys<K: KeySource, V: RsaVerifier>(
    cache: &RefCell<JwksCache>,
    token: &str,
    cfg: &AccessConfig,
    now: EpochMs,
    source: &K,
    verifier: &V,
) -> Result<Identity, AccessError> {
    // A token that is not even a JWT costs no fetch.
    parse_jwt(token)?;
    let cached = cache.borrow().fresh(cfg, now);
    let fetched_now = cached.is_none();
    let keys = match cached {
        Some((keys, _)) => keys,
        None => fetch_into(cache, cfg, now, source).await?,
    };
    let result = verify_access_jwt(token, &keys, cfg, now / 1000, verifier).await;
    let refetch = matches!(result, Err(AccessError::UnknownKey))
        && !fetched_now
        && cache.borrow().may_refetch(now);
    if !refetch {
        return result;
    }
    // Counted before the fetch, so a failing certs endpoint is not asked again within the minute.
    cache.borrow_mut().last_refetch = Some(now);
    let keys = fetch_into(cache, cfg, now, source).await?;
    verify_access_jwt(token, &keys, cfg, now / 1000, verifier).await
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

    /// The team's published keys, which tests rotate; counts fetches and can fail them.
    struct FakeTeam {
        keys: RefCell<Vec<Jwk>>,
        fetches: Cell<u32>,
        down: Cell<bool>,
    }

    impl FakeTeam {
        fn with(kids: &[&str]) -> Self {
            Self {
                keys: RefCell::new(kids.iter().map(|k| jwk(k)).collect()),
                fetches: Cell::new(0),
                down: Cell::new(false),
            }
        }
    }

    impl KeySource for FakeTeam {
        async fn fetch_keys(&self, _cfg: &AccessConfig) -> Result<Vec<Jwk>, AccessError> {
            self.fetches.set(self.fetches.get() + 1);
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
        let now = clock.now_ms();
        block_on(verify_with_cached_keys(
            cache,
            &token(kid, now),
            &cfg(TEAM),
            now,
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
            START,
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
            START,
            &team,
            &FakeRsa,
        ));
        // Fetched for the other team (whose issuer then does not match).
        assert_eq!(other, Err(AccessError::WrongIssuer));
        assert_eq!(team.fetches.get(), 2);
    }
}
