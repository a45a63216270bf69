//! Cloudflare Access JWT verification: settings, JWKS and token parsing, and claim checks.
//!
//! Everything here is pure; the RSA signature check is a seam ([`RsaVerifier`]) that the runtime
//! fills with WebCrypto, so the token rules are tested natively with a fake verifier.

use std::fmt;

use serde_json::{Map, Value};

use super::encoding::base64url_decode;
pub use crate::config::AccessConfig;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;

/// Why an Access token was refused. The messages are safe to show a viewer: they never include
/// token content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    /// The token is not a well-formed JWT; says which part is wrong.
    Malformed(&'static str),
    /// The token is not signed with RS256 (e.g. `none` or `HS256`).
    Algorithm,
    /// No published key has the token's `kid`.
    UnknownKey,
    /// The signature does not verify under the key.
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    NotYetValid,
    /// `aud` does not contain this application's AUD tag.
    WrongAudience,
    /// `iss` is not this team.
    WrongIssuer,
    /// The team's signing keys could not be fetched or read.
    Certs(String),
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "the Cloudflare Access token is malformed: {what}"),
            Self::Algorithm => f.write_str("the Cloudflare Access token is not signed with RS256"),
            Self::UnknownKey => f.write_str(
                "the Cloudflare Access token is signed with a key this team does not publish",
            ),
            Self::BadSignature => f.write_str("the Cloudflare Access token's signature is invalid"),
            Self::Expired => f.write_str(
                "the Cloudflare Access token has expired; reload the page to sign in again",
            ),
            Self::NotYetValid => f.write_str(
                "the Cloudflare Access token is not valid yet; check the clock and try again",
            ),
            Self::WrongAudience => f.write_str(
                "the Cloudflare Access token is for another application (check ACCESS_AUD)",
            ),
            Self::WrongIssuer => f.write_str(
                "the Cloudflare Access token is from another team (check ACCESS_TEAM_DOMAIN)",
            ),
            Self::Certs(why) => write!(f, "the Access signing keys could not be loaded: {why}"),
        }
    }
}

impl std::error::Error for AccessError {}

/// One RSA public key from the team's JWKS, in JWK form (base64url `n` and `e`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// The key id that tokens name in their header.
    pub kid: String,
    /// The modulus, base64url.
    pub n: String,
    /// The public exponent, base64url.
    pub e: String,
}

/// Reads the RSA signing keys from a certs document `{"keys":[...]}`.
///
/// Keys that are not RSA, are marked for another use or algorithm, or lack a usable `kid`, `n`
/// or `e` are skipped; Cloudflare's extra `public_cert`/`public_certs` fields are ignored.
///
/// # Errors
/// [`AccessError::Certs`] if the document is not JSON, has no `keys` list, or has no usable key.
pub fn parse_jwks(json: &str) -> Result<Vec<Jwk>, AccessError> {
    let doc = crate::fields::parse(json)
        .map_err(|_| AccessError::Certs("the certs document is not JSON".into()))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| AccessError::Certs("the certs document has no keys list".into()))?;
    let text = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_string);
    let usable: Vec<Jwk> = keys
        .iter()
        .filter(|k| text(k, "kty").as_deref() == Some("RSA"))
        .filter(|k| text(k, "use").is_none_or(|u| u == "sig"))
        .filter(|k| text(k, "alg").is_none_or(|a| a == "RS256"))
        .filter_map(|k| {
            let jwk = Jwk {
                kid: text(k, "kid")?,
                n: text(k, "n")?,
                e: text(k, "e")?,
            };
            let decodes = |s: &str| base64url_decode(s).is_some_and(|b| !b.is_empty());
            (!jwk.kid.is_empty() && decodes(&jwk.n) && decodes(&jwk.e)).then_some(jwk)
        })
        .collect();
    if usable.is_empty() {
        return Err(AccessError::Certs(
            "the certs document has no RSA signing keys".into(),
        ));
    }
    Ok(usable)
}

/// The claims this Worker uses from an Access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Audiences; JSON may give one string or an array.
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Not before, seconds since the epoch.
    pub nbf: Option<u64>,
    /// Issued at, seconds since the epoch.
    pub iat: Option<u64>,
    /// Issuer: the team URL.
    pub iss: String,
    /// The signed-in person's email (absent for service tokens).
    pub email: Option<String>,
    /// The subject: the user id, or empty for service tokens.
    pub sub: Option<String>,
}

/// A JWT split into what the signature check and the claim checks need. Not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJwt {
    /// The header's key id.
    pub kid: String,
    /// The bytes the signature covers: `header.payload` exactly as in the token.
    pub signing_input: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// The decoded payload.
    pub claims: Claims,
}

fn decode_json_object(part: &str, what: &'static str) -> Result<Map<String, Value>, AccessError> {
    let bytes = base64url_decode(part).ok_or(AccessError::Malformed(what))?;
    // Through `str`: the text parser is the one every other body uses (one copy in the wasm).
    let text = std::str::from_utf8(&bytes).map_err(|_| AccessError::Malformed(what))?;
    match crate::fields::parse(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(AccessError::Malformed(what)),
    }
}

/// A NumericDate (RFC 7519 section 2), which JSON may write with a fraction.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Option<u64>, AccessError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(AccessError::Malformed(what)),
    }
}

fn optional_string(
    claims: &Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Option<String>, AccessError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AccessError::Malformed(what)),
    }
}

fn parse_claims(claims: &Map<String, Value>) -> Result<Claims, AccessError> {
    let aud = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(AccessError::Malformed(
                "the audience is not a list of strings",
            ))?,
        _ => return Err(AccessError::Malformed("the token has no audience")),
    };
    let exp = numeric_date(claims, "exp", "the expiry is not a date")?
        .ok_or(AccessError::Malformed("the token has no expiry"))?;
    let iss = optional_string(claims, "iss", "the issuer is not a string")?
        .ok_or(AccessError::Malformed("the token has no issuer"))?;
    Ok(Claims {
        aud,
        exp,
        nbf: numeric_date(claims, "nbf", "the not-before time is not a date")?,
        iat: numeric_date(claims, "iat", "the issue time is not a date")?,
        iss,
        email: optional_string(claims, "email", "the email is not a string")?,
        sub: optional_string(claims, "sub", "the subject is not a string")?,
    })
}

/// Splits and decodes a compact JWS (RFC 7515 section 7.1) and checks its header.
///
/// # Errors
/// [`AccessError::Malformed`] unless the token is three base64url parts with JSON header and
/// payload, a `kid` and the claims [`Claims`] requires; [`AccessError::Algorithm`] unless `alg`
/// is `RS256`.
pub fn parse_jwt(token: &str) -> Result<ParsedJwt, AccessError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AccessError::Malformed(
            "the token is not three dot-separated parts",
        ));
    };
    let header_json = decode_json_object(header, "the header is not base64url JSON")?;
    // Only RS256: accepting the token's own choice would allow `none` or HS256 with the public key.
    if header_json.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(AccessError::Algorithm);
    }
    if header_json.contains_key("crit") {
        // RFC 7515 section 4.1.11: extensions we do not understand must not be ignored.
        return Err(AccessError::Malformed("the header has critical extensions"));
    }
    let kid = match header_json.get("kid") {
        Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
        _ => return Err(AccessError::Malformed("the header has no key id")),
    };
    let claims = parse_claims(&decode_json_object(
        payload,
        "the payload is not base64url JSON",
    )?)?;
    let signature = base64url_decode(signature)
        .filter(|s| !s.is_empty())
        .ok_or(AccessError::Malformed("the signature is not base64url"))?;
    Ok(ParsedJwt {
        kid,
        signing_input: format!("{header}.{payload}").into_bytes(),
        signature,
        claims,
    })
}

/// Checks audience, issuer and validity period, with [`LEEWAY_SECS`] for clock skew.
///
/// # Errors
/// The first check that fails, in that order.
pub fn check_claims(claims: &Claims, cfg: &AccessConfig, now_secs: u64) -> Result<(), AccessError> {
    if !claims.aud.iter().any(|a| a == cfg.aud.as_str()) {
        return Err(AccessError::WrongAudience);
    }
    // A trailing slash on `iss` names the same origin; anything else is another issuer.
    if claims.iss.strip_suffix('/').unwrap_or(&claims.iss) != cfg.team_url.as_str() {
        return Err(AccessError::WrongIssuer);
    }
    if claims.exp.saturating_add(LEEWAY_SECS) <= now_secs {
        return Err(AccessError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now_secs.saturating_add(LEEWAY_SECS))
    {
        return Err(AccessError::NotYetValid);
    }
    Ok(())
}

/// Checks an RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) under a JWK.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait RsaVerifier {
    /// Whether `signature` is valid for `signing_input` under `key`; any failure is `false`.
    async fn verify(&self, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool;
}

/// Who a verified Access token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The signed-in person's email (absent for service tokens).
    pub email: Option<String>,
    /// The token's subject.
    pub subject: Option<String>,
}

/// Verifies an Access token (the `Cf-Access-Jwt-Assertion` header, which Access adds to every
/// request it lets through; the `CF_Authorization` cookie is not read) against the team's keys
/// and this application's settings.
///
/// # Errors
/// Why the token was refused: malformed, wrong algorithm, unknown `kid` (refetch the keys once:
/// they rotate), bad signature, or a failed claim check.
pub async fn verify_access_jwt<V: RsaVerifier>(
    token: &str,
    jwks: &[Jwk],
    cfg: &AccessConfig,
    now_secs: u64,
    verifier: &V,
) -> Result<Identity, AccessError> {
    let jwt = parse_jwt(token)?;
    let key = jwks
        .iter()
        .find(|k| k.kid == jwt.kid)
        .ok_or(AccessError::UnknownKey)?;
    // Signature before claims, so nothing about an unsigned token's claims is revealed.
    if !verifier
        .verify(key, &jwt.signing_input, &jwt.signature)
        .await
    {
        return Err(AccessError::BadSignature);
    }
    check_claims(&jwt.claims, cfg, now_secs)?;
    Ok(Identity {
        email: jwt.claims.email,
        subject: jwt.claims.sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::encoding::base64url_encode;
    use crate::auth::sha256::hmac_sha256;
    use crate::testing::block_on;
    use crate::testing::settings;
    use serde_json::json;

    const TEAM: &str = "https://myteam.cloudflareaccess.com";
    const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
    const NOW: u64 = 1_700_000_000;

    fn cfg() -> AccessConfig {
        AccessConfig::from_settings(&settings(&[
            ("ACCESS_TEAM_DOMAIN", TEAM),
            ("ACCESS_AUD", AUD),
        ]))
        .unwrap()
        .unwrap()
    }

    fn jwks() -> Vec<Jwk> {
        vec![
            Jwk {
                kid: "k1".into(),
                n: "bW9kdWx1cy0x".into(),
                e: "AQAB".into(),
            },
            Jwk {
                kid: "k2".into(),
                n: "bW9kdWx1cy0y".into(),
                e: "AQAB".into(),
            },
        ]
    }

    /// Stands in for RSA: a "signature" is the HMAC of the signing input keyed by the key's `n`,
    /// so it is bound to both the key and the exact bytes signed.
    struct FakeRsa;

    fn fake_sign(key: &Jwk, input: &[u8]) -> Vec<u8> {
        hmac_sha256(key.n.as_bytes(), input).to_vec()
    }

    impl RsaVerifier for FakeRsa {
        async fn verify(&self, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
            fake_sign(key, signing_input) == signature
        }
    }

    fn b64json(v: &Value) -> String {
        base64url_encode(v.to_string().as_bytes())
    }

    fn claims_json() -> Value {
        json!({
            "aud": [AUD],
            "email": "viewer@example.com",
            "exp": NOW + 3600,
            "iat": NOW - 10,
            "nbf": NOW - 10,
            "iss": TEAM,
            "type": "app",
            "identity_nonce": "x",
            "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
            "country": "US"
        })
    }

    fn token_with(header: &Value, payload: &Value, signer: &Jwk) -> String {
        let input = format!("{}.{}", b64json(header), b64json(payload));
        let sig = base64url_encode(&fake_sign(signer, input.as_bytes()));
        format!("{input}.{sig}")
    }

    fn token(payload: &Value) -> String {
        token_with(
            &json!({"alg": "RS256", "kid": "k2", "typ": "JWT"}),
            payload,
            &jwks()[1],
        )
    }

    fn verify(token: &str) -> Result<Identity, AccessError> {
        block_on(verify_access_jwt(token, &jwks(), &cfg(), NOW, &FakeRsa))
    }

    #[test]
    fn jwks_keeps_rsa_signing_keys_and_ignores_the_rest() {
        let doc = json!({
            "keys": [
                {"kid": "k1", "kty": "RSA", "alg": "RS256", "use": "sig", "e": "AQAB", "n": "bW9kdWx1cy0x"},
                {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
                {"kid": "enc", "kty": "RSA", "use": "enc", "e": "AQAB", "n": "bW9k"},
                {"kid": "ps", "kty": "RSA", "alg": "PS256", "e": "AQAB", "n": "bW9k"},
                {"kid": "nokey", "kty": "RSA"},
                {"kid": "badn", "kty": "RSA", "e": "AQAB", "n": "not base64!"},
                {"kid": "k2", "kty": "RSA", "e": "AQAB", "n": "bW9kdWx1cy0y"}
            ],
            "public_cert": {"kid": "k1", "cert": "-----BEGIN CERTIFICATE-----\n..."},
            "public_certs": [{"kid": "k1", "cert": "..."}]
        });
        assert_eq!(parse_jwks(&doc.to_string()).unwrap(), jwks());
    }

    #[test]
    fn jwks_errors() {
        for (doc, hint) in [
            ("<html>", "not JSON"),
            ("{\"public_certs\": []}", "no keys list"),
            ("{\"keys\": {}}", "no keys list"),
            (
                "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"a\"}]}",
                "no RSA signing keys",
            ),
        ] {
            match parse_jwks(doc) {
                Err(AccessError::Certs(why)) => assert!(why.contains(hint), "{doc}: {why}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
    }

    #[test]
    fn parse_jwt_reads_header_claims_and_signing_input() {
        let t = token(&claims_json());
        let jwt = parse_jwt(&t).unwrap();
        assert_eq!(jwt.kid, "k2");
        let (input, sig) = t.rsplit_once('.').unwrap();
        assert_eq!(jwt.signing_input, input.as_bytes());
        assert_eq!(jwt.signature, base64url_decode(sig).unwrap());
        assert_eq!(
            jwt.claims,
            Claims {
                aud: vec![AUD.into()],
                exp: NOW + 3600,
                nbf: Some(NOW - 10),
                iat: Some(NOW - 10),
                iss: TEAM.into(),
                email: Some("viewer@example.com".into()),
                sub: Some("7335d417-61da-459d-899c-0a01c76a2f94".into()),
            }
        );
    }

    #[test]
    fn parse_jwt_accepts_a_single_audience_and_missing_optionals() {
        let t = token(&json!({"aud": AUD, "exp": 1.5e9, "iss": TEAM}));
        let c = parse_jwt(&t).unwrap().claims;
        assert_eq!(c.aud, vec![AUD.to_string()]);
        assert_eq!(c.exp, 1_500_000_000);
        assert_eq!((c.nbf, c.iat, c.email, c.sub), (None, None, None, None));
    }

    #[test]
    fn parse_jwt_refuses_other_algorithms() {
        for header in [
            json!({"alg": "none", "kid": "k2"}),
            json!({"alg": "HS256", "kid": "k2"}),
            json!({"alg": "RS512", "kid": "k2"}),
            json!({"alg": "rs256", "kid": "k2"}),
            json!({"kid": "k2"}),
        ] {
            let t = token_with(&header, &claims_json(), &jwks()[1]);
            assert_eq!(
                parse_jwt(&t).unwrap_err(),
                AccessError::Algorithm,
                "{header}"
            );
        }
        // An unsigned token, as `alg: none` sends it.
        let unsigned = format!(
            "{}.{}.",
            b64json(&json!({"alg": "none"})),
            b64json(&claims_json())
        );
        assert_eq!(parse_jwt(&unsigned).unwrap_err(), AccessError::Algorithm);
    }

    #[test]
    fn parse_jwt_malformed_cases() {
        let good = token(&claims_json());
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let rs = |v: Value| b64json(&v);
        let cases = [
            (String::new(), "three"),
            (format!("{h}.{p}"), "three"),
            (format!("{good}.x"), "three"),
            (format!("!!.{p}.{s}"), "header"),
            (
                format!("{}.{p}.{s}", base64url_encode(b"not json")),
                "header",
            ),
            (format!("{}.{p}.{s}", rs(json!(["RS256"]))), "header"),
            (format!("{}.{p}.{s}", rs(json!({"alg": "RS256"}))), "key id"),
            (
                format!("{}.{p}.{s}", rs(json!({"alg": "RS256", "kid": ""}))),
                "key id",
            ),
            (
                format!(
                    "{}.{p}.{s}",
                    rs(json!({"alg": "RS256", "kid": "k2", "crit": ["b64"]}))
                ),
                "critical",
            ),
            (format!("{h}.%%.{s}"), "payload"),
            (
                format!("{h}.{}.{s}", base64url_encode(b"{\"aud\": \"\xff\"}")),
                "payload",
            ),
            (
                format!("{}.{p}.{s}", base64url_encode(&[b'"'; 200])),
                "header",
            ),
            (format!("{h}.{p}."), "signature"),
            (format!("{h}.{p}.a+b/"), "signature"),
            (
                format!("{h}.{}.{s}", rs(json!({"exp": NOW, "iss": TEAM}))),
                "audience",
            ),
            (
                format!(
                    "{h}.{}.{s}",
                    rs(json!({"aud": [1], "exp": NOW, "iss": TEAM}))
                ),
                "audience",
            ),
            (
                format!("{h}.{}.{s}", rs(json!({"aud": AUD, "iss": TEAM}))),
                "expiry",
            ),
            (
                format!(
                    "{h}.{}.{s}",
                    rs(json!({"aud": AUD, "exp": "soon", "iss": TEAM}))
                ),
                "expiry",
            ),
            (
                format!(
                    "{h}.{}.{s}",
                    rs(json!({"aud": AUD, "exp": -1, "iss": TEAM}))
                ),
                "expiry",
            ),
            (
                format!("{h}.{}.{s}", rs(json!({"aud": AUD, "exp": NOW}))),
                "issuer",
            ),
            (
                format!(
                    "{h}.{}.{s}",
                    rs(json!({"aud": AUD, "exp": NOW, "iss": TEAM, "nbf": "x"}))
                ),
                "not-before",
            ),
            (
                format!(
                    "{h}.{}.{s}",
                    rs(json!({"aud": AUD, "exp": NOW, "iss": TEAM, "email": 5}))
                ),
                "email",
            ),
        ];
        for (t, hint) in cases {
            match parse_jwt(&t) {
                Err(AccessError::Malformed(why)) => assert!(why.contains(hint), "{t}: {why}"),
                other => panic!("{t}: {other:?}"),
            }
        }
    }

    #[test]
    fn check_claims_each_rule() {
        let base = parse_jwt(&token(&claims_json())).unwrap().claims;
        assert_eq!(check_claims(&base, &cfg(), NOW), Ok(()));
        let with = |f: &dyn Fn(&mut Claims)| {
            let mut c = base.clone();
            f(&mut c);
            check_claims(&c, &cfg(), NOW)
        };
        assert_eq!(
            with(&|c| c.aud = vec!["other".into()]),
            Err(AccessError::WrongAudience)
        );
        assert_eq!(with(&|c| c.aud = vec![]), Err(AccessError::WrongAudience));
        assert_eq!(with(&|c| c.aud = vec!["other".into(), AUD.into()]), Ok(()));
        assert_eq!(
            with(&|c| c.iss = "https://evil.cloudflareaccess.com".into()),
            Err(AccessError::WrongIssuer)
        );
        assert_eq!(
            with(&|c| c.iss = "http://myteam.cloudflareaccess.com".into()),
            Err(AccessError::WrongIssuer)
        );
        assert_eq!(with(&|c| c.iss = format!("{TEAM}/")), Ok(()));
        // exp must be later than now - 60.
        assert_eq!(with(&|c| c.exp = NOW - 59), Ok(()));
        assert_eq!(with(&|c| c.exp = NOW - 60), Err(AccessError::Expired));
        assert_eq!(with(&|c| c.exp = 0), Err(AccessError::Expired));
        // nbf may be at most now + 60.
        assert_eq!(with(&|c| c.nbf = Some(NOW + 60)), Ok(()));
        assert_eq!(
            with(&|c| c.nbf = Some(NOW + 61)),
            Err(AccessError::NotYetValid)
        );
        assert_eq!(with(&|c| c.nbf = None), Ok(()));
    }

    #[test]
    fn verify_accepts_a_good_token() {
        assert_eq!(
            verify(&token(&claims_json())).unwrap(),
            Identity {
                email: Some("viewer@example.com".into()),
                subject: Some("7335d417-61da-459d-899c-0a01c76a2f94".into()),
            }
        );
    }

    #[test]
    fn verify_refuses_unknown_keys_and_bad_signatures() {
        let unknown = token_with(
            &json!({"alg": "RS256", "kid": "k9"}),
            &claims_json(),
            &jwks()[1],
        );
        assert_eq!(verify(&unknown), Err(AccessError::UnknownKey));
        // Signed by k1 but claiming k2.
        let wrong_key = token_with(
            &json!({"alg": "RS256", "kid": "k2"}),
            &claims_json(),
            &jwks()[0],
        );
        assert_eq!(verify(&wrong_key), Err(AccessError::BadSignature));
        // Payload swapped after signing.
        let good = token(&claims_json());
        let (h, rest) = good.split_once('.').unwrap();
        let s = rest.rsplit_once('.').unwrap().1;
        let mut forged = claims_json();
        forged["email"] = json!("admin@example.com");
        let tampered = format!("{h}.{}.{s}", b64json(&forged));
        assert_eq!(verify(&tampered), Err(AccessError::BadSignature));
    }

    #[test]
    fn verify_checks_claims_after_the_signature() {
        let mut c = claims_json();
        c["exp"] = json!(NOW - 3600);
        assert_eq!(verify(&token(&c)), Err(AccessError::Expired));
        let mut c = claims_json();
        c["nbf"] = json!(NOW + 3600);
        assert_eq!(verify(&token(&c)), Err(AccessError::NotYetValid));
        let mut c = claims_json();
        c["aud"] = json!("another-app");
        assert_eq!(verify(&token(&c)), Err(AccessError::WrongAudience));
        let mut c = claims_json();
        c["iss"] = json!("https://other.cloudflareaccess.com");
        assert_eq!(verify(&token(&c)), Err(AccessError::WrongIssuer));
        let alg_none = token_with(&json!({"alg": "none", "kid": "k2"}), &c, &jwks()[1]);
        assert_eq!(verify(&alg_none), Err(AccessError::Algorithm));
    }

    #[test]
    fn error_messages_never_echo_the_token() {
        let mut c = claims_json();
        c["email"] = json!("secret-person@example.com");
        c["exp"] = json!(NOW - 3600);
        let t = token(&c);
        let errors = [
            verify(&t).unwrap_err(),
            verify(&format!("{t}.extra")).unwrap_err(),
            AccessError::Algorithm,
            AccessError::UnknownKey,
            AccessError::BadSignature,
            AccessError::NotYetValid,
            AccessError::WrongAudience,
            AccessError::WrongIssuer,
            AccessError::Certs("HTTP 503".into()),
        ];
        for e in errors {
            let shown = e.to_string();
            assert!(shown.starts_with("the "), "{shown}");
            assert!(
                !shown.contains("secret-person") && !shown.contains(&t[..20]),
                "{shown}"
            );
        }
    }
}
