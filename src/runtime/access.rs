//! Cloudflare Access on the Workers runtime: RS256 checks with WebCrypto and the team's keys.
//!
//! WebCrypto is reached through `js_sys::Reflect` because the `web-sys` that `worker` builds
//! does not enable the `SubtleCrypto` bindings.

use wasm_bindgen::prelude::*;
use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;

use super::http::WorkerHttp;
use crate::auth::access::{AccessConfig, AccessError, Jwk, RsaVerifier, parse_jwks};
use crate::auth::jwks::{CERTS_TIMEOUT_MS, KeySource};
use crate::http::{HttpClient, HttpRequest, Method};

/// RSASSA-PKCS1-v1_5 with SHA-256 through the runtime's `crypto.subtle`.
pub struct SubtleRsa;

impl RsaVerifier for SubtleRsa {
    async fn verify(&self, key: &Jwk, signing_input: &[u8], signature: &[u8]) -> bool {
        // A key WebCrypto cannot import, or any other JS error, is simply not a valid signature.
        subtle_verify(key, signing_input, signature)
            .await
            .unwrap_or(false)
    }
}

fn set(target: &Object, name: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(target, &JsValue::from_str(name), value).map(|_| ())
}

/// Calls `subtle[method](...args)` and awaits the promise it returns.
async fn call_subtle(subtle: &JsValue, method: &str, args: &Array) -> Result<JsValue, JsValue> {
    let function: Function = Reflect::get(subtle, &JsValue::from_str(method))?.dyn_into()?;
    let promise: Promise = Reflect::apply(&function, subtle, args)?.dyn_into()?;
    JsFuture::from(promise).await
}

async fn subtle_verify(key: &Jwk, data: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle"))?;

    let jwk = Object::new();
    set(&jwk, "kty", &"RSA".into())?;
    set(&jwk, "n", &key.n.as_str().into())?;
    set(&jwk, "e", &key.e.as_str().into())?;
    set(&jwk, "alg", &"RS256".into())?;
    set(&jwk, "ext", &JsValue::TRUE)?;
    let algorithm = Object::new();
    set(&algorithm, "name", &"RSASSA-PKCS1-v1_5".into())?;
    set(&algorithm, "hash", &"SHA-256".into())?;
    let usages = Array::of1(&"verify".into());
    let import_args = Array::of5(&"jwk".into(), &jwk, &algorithm, &JsValue::FALSE, &usages);
    let crypto_key = call_subtle(&subtle, "importKey", &import_args).await?;

    let verify_args = Array::of4(
        &"RSASSA-PKCS1-v1_5".into(),
        &crypto_key,
        &Uint8Array::from(signature),
        &Uint8Array::from(data),
    );
    let valid = call_subtle(&subtle, "verify", &verify_args).await?;
    Ok(valid.as_bool() == Some(true))
}

/// The team's keys over `fetch`.
pub struct WorkerKeys;

impl KeySource for WorkerKeys {
    async fn fetch_keys(&self, cfg: &AccessConfig) -> Result<Vec<Jwk>, AccessError> {
        fetch_jwks(cfg).await
    }
}

/// Fetches and parses the team's signing keys from [`AccessConfig::certs_url`].
///
/// # Errors
/// [`AccessError::Certs`] if the request fails or times out (10 s), the answer is not 200, or
/// the document has no usable RSA key.
async fn fetch_jwks(cfg: &AccessConfig) -> Result<Vec<Jwk>, AccessError> {
    let certs_url = cfg.certs_url();
    let req = HttpRequest {
        method: Method::Get,
        url: certs_url.clone(),
        headers: Vec::new(),
        body: None,
        gunzip: false,
        timeout_ms: CERTS_TIMEOUT_MS,
    };
    let resp = WorkerHttp
        .send(&req)
        .await
        .map_err(|e| AccessError::Certs(e.to_string()))?;
    if resp.status != 200 {
        return Err(AccessError::Certs(format!(
            "{certs_url} answered HTTP {}",
            resp.status
        )));
    }
    parse_jwks(&resp.body)
}
