//! Random numbers from the runtime's `crypto.getRandomValues` (no crate: it is one call).

use wasm_bindgen::prelude::*;
use worker::js_sys::{self, Function, Reflect, Uint8Array};

/// Eight random bytes as a number: the nonce that makes an invocation's lock name its own.
/// Falls back to `Math.random` should the runtime refuse (it does not, but a lock name must
/// never be what fails a sync).
pub fn nonce() -> u64 {
    crypto_u64().unwrap_or_else(|_| {
        let high = (js_sys::Math::random() * 4_294_967_296.0) as u64;
        let low = (js_sys::Math::random() * 4_294_967_296.0) as u64;
        (high << 32) | low
    })
}

fn crypto_u64() -> Result<u64, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    let fill: Function =
        Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))?.dyn_into()?;
    let bytes = Uint8Array::new_with_length(8);
    fill.call1(&crypto, &bytes)?;
    let mut out = [0u8; 8];
    bytes.copy_to(&mut out);
    Ok(u64::from_le_bytes(out))
}
