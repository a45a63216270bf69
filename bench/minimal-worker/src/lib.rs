//! The cold-start baseline: one fetch handler that runs one D1 query and answers.

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // `/no-d1` answers without the query: the bench's like-for-like baseline for our /healthz,
    // which does not touch D1 either (the first D1 query starts local D1, a cost of its own).
    if req.path() == "/no-d1" {
        return Response::ok("ok");
    }
    let db = env.d1("DB")?;
    let row: Option<u32> = db.prepare("SELECT 1 AS ok").first(Some("ok")).await?;
    Response::ok(format!("ok {}", row.unwrap_or(0)))
}
