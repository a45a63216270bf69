//! `fetch` behind the HTTP seam, with a timeout on every request, and bodies streamed (through
//! gzip decoding for export files) so a large file is never held whole.

use wasm_bindgen::prelude::*;
use worker::js_sys::{self, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Fetch, Headers, Request, ResponseBody, web_sys};

use crate::http::{BodySink, HttpClient, HttpRequest, HttpResponse, Method, TransportError};

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

impl WorkerHttp {
    /// Sends the request; the answer's body is still unread.
    async fn fetch(req: &HttpRequest) -> Result<(worker::Response, HttpResponse), TransportError> {
        let headers = Headers::new();
        for (k, v) in &req.headers {
            headers.set(k, v).map_err(|e| transport("header", e))?;
        }
        // web_sys's init, not worker's: worker's converts its `cf` options through
        // serde_wasm_bindgen, which would be this crate's only use of it.
        let init = web_sys::RequestInit::new();
        init.set_method(match req.method {
            Method::Get => "GET",
            Method::Post => "POST",
        });
        init.set_headers(&headers.0);
        if let Some(body) = &req.body {
            init.set_body(&JsValue::from_str(body));
        }
        let request = web_sys::Request::new_with_str_and_init(&req.url, &init)
            .map(Request::from)
            .map_err(|e| {
                let e = e
                    .as_string()
                    .unwrap_or_else(|| "invalid URL or options for Request".into());
                transport("request", worker::Error::JsError(e))
            })?;
        let signal = worker::AbortSignal::from(abort_signal_timeout(req.timeout_ms as f64));
        let resp = Fetch::Request(request)
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
        let head = HttpResponse {
            status: resp.status_code(),
            headers: resp
                .headers()
                .entries()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body: String::new(),
        };
        Ok((resp, head))
    }
}

impl HttpClient for WorkerHttp {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let (mut resp, mut head) = Self::fetch(req).await?;
        head.body = if req.gunzip {
            let mut bytes = Vec::new();
            stream_body(&resp, true, &mut bytes).await?;
            String::from_utf8(bytes)
                .map_err(|_| TransportError("the file is not UTF-8 text".into()))?
        } else {
            resp.text()
                .await
                .map_err(|_| TransportError("the answer broke off".into()))?
        };
        Ok(head)
    }

    async fn send_streamed(
        &self,
        req: &HttpRequest,
        sink: &mut dyn BodySink,
    ) -> Result<HttpResponse, TransportError> {
        let (mut resp, mut head) = Self::fetch(req).await?;
        if (200..300).contains(&head.status) {
            stream_body(&resp, req.gunzip, sink).await?;
        } else {
            head.body = resp
                .text()
                .await
                .map_err(|_| TransportError("the answer broke off".into()))?;
        }
        Ok(head)
    }
}

fn host(url: &str) -> &str {
    url.split('/').nth(2).unwrap_or(url)
}

fn broke(_: JsValue) -> TransportError {
    TransportError("the download broke off".into())
}

/// Hands the body to `sink` chunk by chunk, through the runtime's `DecompressionStream` when
/// `gunzip` is asked and the body starts as gzip (a server may already have decoded it).
async fn stream_body(
    resp: &worker::Response,
    gunzip: bool,
    sink: &mut dyn BodySink,
) -> Result<(), TransportError> {
    sink.restart();
    let raw = match resp.body() {
        ResponseBody::Stream(stream) => stream.clone(),
        ResponseBody::Body(bytes) => {
            // Only responses built in the Worker have a body in hand; fetch's stream.
            let source = js_sys::Uint8Array::from(bytes.as_slice());
            web_sys::Response::new_with_opt_buffer_source(Some(&source))
                .map_err(broke)?
                .body()
                .ok_or_else(|| TransportError("empty download".into()))?
        }
        ResponseBody::Empty => return Ok(()),
    };
    let stream = if gunzip { gunzipped(raw).await? } else { raw };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    loop {
        let next = JsFuture::from(reader.read()).await.map_err(broke)?;
        if Reflect::get(&next, &"done".into())
            .map_err(broke)?
            .is_truthy()
        {
            return Ok(());
        }
        let chunk: js_sys::Uint8Array = Reflect::get(&next, &"value".into())
            .map_err(broke)?
            .dyn_into()
            .map_err(broke)?;
        if !sink.chunk(&chunk.to_vec()) {
            // The sink has what it needs (or found the file unusable): stop reading.
            let _ = reader.cancel();
            return Ok(());
        }
    }
}

/// The body decoded from gzip as it streams, if its first bytes say gzip; else as it is.
async fn gunzipped(
    raw: web_sys::ReadableStream,
) -> Result<web_sys::ReadableStream, TransportError> {
    // Peek at the first chunk on one branch of a tee, then cancel that branch so the tee does
    // not buffer the file for it; the other branch carries the whole body.
    let branches = raw.tee();
    let peek: web_sys::ReadableStream = branches.get(0).unchecked_into();
    let body: web_sys::ReadableStream = branches.get(1).unchecked_into();
    let reader: web_sys::ReadableStreamDefaultReader = peek.get_reader().unchecked_into();
    let first = JsFuture::from(reader.read()).await.map_err(broke)?;
    let _ = reader.cancel();
    let head = Reflect::get(&first, &"value".into())
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
        .map(|a| a.to_vec())
        .unwrap_or_default();
    if !head.starts_with(&[0x1f]) || head.get(1).is_some_and(|b| *b != 0x8b) {
        return Ok(body);
    }
    let fail = |_| TransportError("the gzip file could not be decoded".into());
    let ctor: js_sys::Function = Reflect::get(&js_sys::global(), &"DecompressionStream".into())
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    let decoder = Reflect::construct(&ctor, &js_sys::Array::of1(&"gzip".into())).map_err(fail)?;
    let pipe: js_sys::Function = Reflect::get(&body, &"pipeThrough".into())
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)?;
    pipe.call1(&body, &decoder)
        .map_err(fail)?
        .dyn_into()
        .map_err(fail)
}
