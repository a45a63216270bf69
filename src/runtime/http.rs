//! `fetch` behind the HTTP seam, with a timeout on every request and gzip decoding.

use wasm_bindgen::prelude::*;
use worker::js_sys::{self, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Fetch, Headers, Request, RequestInit, web_sys};

use crate::http::{HttpClient, HttpRequest, HttpResponse, Method, TransportError};

#[wasm_bindgen]
extern "C" {
    // Aborts the fetch, body included, once the time is up.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: f64) -> web_sys::AbortSignal;
}

/// Outbound HTTP through the Workers `fetch`.
pub struct WorkerHttp;

fn transport(what: &str, e: impl std::fmt::Debug) -> TransportError {
    // Runtime errors name the URL at most; headers and bodies never reach them.
    TransportError(format!("{what}: {e:?}"))
}

impl HttpClient for WorkerHttp {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let headers = Headers::new();
        for (k, v) in &req.headers {
            headers.set(k, v).map_err(|e| transport("header", e))?;
        }
        let mut init = RequestInit::new();
        init.with_method(match req.method {
            Method::Get => worker::Method::Get,
            Method::Post => worker::Method::Post,
        })
        .with_headers(headers);
        if let Some(body) = &req.body {
            init.with_body(Some(JsValue::from_str(body)));
        }
        let request =
            Request::new_with_init(&req.url, &init).map_err(|e| transport("request", e))?;
        let signal = worker::AbortSignal::from(abort_signal_timeout(req.timeout_ms as f64));
        let mut resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|e| {
                // The runtime's own cap, not the network: say which setting avoids it.
                if e.to_string().contains("Too many subrequests") {
                    TransportError(crate::sync::SUBREQUEST_LIMIT_HIT.into())
                } else {
                    TransportError(format!(
                        "no answer from {} (timeout or connection failure)",
                        host(&req.url)
                    ))
                }
            })?;
        let status = resp.status_code();
        let headers = resp
            .headers()
            .entries()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let body = if req.gunzip {
            let bytes = resp
                .bytes()
                .await
                .map_err(|_| TransportError("the download broke off".into()))?;
            gunzip_text(&bytes).await?
        } else {
            resp.text()
                .await
                .map_err(|_| TransportError("the answer broke off".into()))?
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn host(url: &str) -> &str {
    url.split('/').nth(2).unwrap_or(url)
}

/// Decodes gzip with the runtime's `DecompressionStream`; plain text passes through.
async fn gunzip_text(bytes: &[u8]) -> Result<String, TransportError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return String::from_utf8(bytes.to_vec())
            .map_err(|_| TransportError("the file is not UTF-8 text".into()));
    }
    let fail = |_| TransportError("the gzip file could not be decoded".into());
    let global = js_sys::global();
    let ctor: js_sys::Function = Reflect::get(&global, &"DecompressionStream".into())
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let stream = Reflect::construct(&ctor, &js_sys::Array::of1(&"gzip".into())).map_err(fail)?;
    let array = js_sys::Uint8Array::from(bytes);
    let source = web_sys::Response::new_with_opt_buffer_source(Some(&array)).map_err(fail)?;
    let body = source
        .body()
        .ok_or_else(|| TransportError("empty download".into()))?;
    let pipe: js_sys::Function = Reflect::get(&body, &"pipeThrough".into())
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let decoded: web_sys::ReadableStream = pipe
        .call1(&body, &stream)
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let out = web_sys::Response::new_with_opt_readable_stream(Some(&decoded)).map_err(fail)?;
    let text = JsFuture::from(out.text().map_err(fail)?)
        .await
        .map_err(fail)?;
    text.as_string()
        .ok_or_else(|| TransportError("the gzip file is not text".into()))
}
