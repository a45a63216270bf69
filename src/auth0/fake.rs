//! An in-memory Auth0 tenant behind the HTTP seam, for native tests of the client and the sync.
//!
//! It keeps the rules that matter: the 1000-result cap, `created_at` ranges, checkpoint paging
//! with an empty final page, scopes, token expiry, export jobs, and injectable faults. Like
//! Auth0's search engine, it may order users of equal `created_at` differently on every request.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{Value, json};

use crate::http::{HttpClient, HttpRequest, HttpResponse, Method, TransportError};

mod apps;
pub use apps::{FakeApps, FakeConnection};

/// A scripted fault: given the request number and request, maybe answer instead of the tenant.
pub type Fault = Box<dyn FnMut(u32, &HttpRequest) -> Option<Result<HttpResponse, TransportError>>>;

/// A change to the tenant made just before a listing request is answered (users created or
/// deleted while a sync lists them), given the listing request's number, counted from 1.
pub type Churn = Box<dyn FnMut(u64, &mut Vec<Value>)>;

/// The fake tenant.
pub struct FakeAuth0 {
    /// Users as Auth0 JSON.
    pub users: RefCell<Vec<Value>>,
    /// Organization id to member user ids.
    pub orgs: RefCell<Vec<(String, Vec<String>)>>,
    /// Scopes granted to tokens.
    pub scopes: RefCell<Vec<String>>,
    /// The only accepted client secret.
    pub secret: RefCell<String>,
    /// Tokens currently valid.
    pub valid_tokens: RefCell<Vec<String>>,
    /// Every request: method and URL.
    pub log: RefCell<Vec<String>>,
    /// Every Authorization header seen on export downloads (must stay empty).
    pub download_auth: RefCell<Vec<String>>,
    /// An injected fault.
    pub fault: RefCell<Option<Fault>>,
    /// Orders users of equal `created_at` differently on every listing request, as Elasticsearch's
    /// shards and replicas may.
    pub reorder_ties: Cell<bool>,
    /// Added to every `total` the listing reports (a tenant whose counts cannot be trusted).
    pub total_error: Cell<i64>,
    /// Leaves `total` out of listing answers.
    pub omit_total: Cell<bool>,
    /// Caps `total` at 1000, as some reports say Auth0 does; off, `total` counts every match.
    pub cap_totals: Cell<bool>,
    /// Changes the tenant before each listing request (see [`Churn`]).
    pub churn: RefCell<Option<Churn>>,
    /// Listing requests so far: the seed of each request's tie order.
    listings: Cell<u64>,
    /// Polls an export job answers `processing` before it completes.
    pub export_polls: Cell<u32>,
    issued: Cell<u32>,
    jobs: RefCell<HashMap<String, u32>>,
    /// The tenant's log, oldest first; `log_id`s are zero-padded numbers, so they sort as text.
    pub logs: RefCell<Vec<Value>>,
    /// Retention: events before this index are gone, and a checkpoint before it is refused.
    pub logs_kept_from: Cell<usize>,
    /// The largest `take` accepted (Auth0's overview names 50 for Public Cloud).
    pub logs_take_max: Cell<usize>,
    /// `GET /api/v2/stats/active-users`'s answer.
    pub active_users: Cell<u64>,
    /// `GET /api/v2/stats/daily`'s days, each `{date, logins, signups, leaked_passwords}` with
    /// `date` ISO-8601; answered for the days from `from` to `to`.
    pub daily_stats: RefCell<Vec<Value>>,
    /// Applications, connections and their wiring (`fake/apps.rs`).
    pub apps: RefCell<FakeApps>,
}

fn answer(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string(),
    }
}

fn split_url(url: &str) -> (String, HashMap<String, String>) {
    let path_q = url.splitn(4, '/').nth(3).map_or("", |p| p);
    let (path, q) = path_q.split_once('?').unwrap_or((path_q, ""));
    let params = crate::http::decode_form(q)
        .unwrap_or_default()
        .into_iter()
        .collect();
    (format!("/{path}"), params)
}

/// splitmix64: a seeded shuffle key.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Tests a user against `q`: `created_at:[a TO *]` / `{a TO *]`-style ranges, and an
/// incremental listing's `… AND updated_at:[s TO *]`.
fn matches(q: &str, user: &Value) -> bool {
    q.split(" AND ").all(|clause| {
        let field = |name: &str| user[name].as_str().unwrap_or("").to_string();
        match clause.split_once(':') {
            Some(("created_at", range)) => in_range(range, &field("created_at")),
            Some(("updated_at", range)) => in_range(range, &field("updated_at")),
            _ => true,
        }
    })
}

/// Tests one `[a TO b}`-style range against one value.
fn in_range(range: &str, created: &str) -> bool {
    let inclusive_low = range.starts_with('[');
    let inclusive_high = range.ends_with(']');
    let inner = &range[1..range.len() - 1];
    let (lo, hi) = inner.split_once(" TO ").expect("range"); // ok: test fake; the client sends ranges
    let lo_ok = lo == "*"
        || if inclusive_low {
            created >= lo
        } else {
            created > lo
        };
    let hi_ok = hi == "*"
        || if inclusive_high {
            created <= hi
        } else {
            created < hi
        };
    lo_ok && hi_ok
}

impl FakeAuth0 {
    /// A tenant with these users and all three scopes.
    pub fn with_users(users: Vec<Value>) -> Self {
        Self {
            users: RefCell::new(users),
            orgs: RefCell::new(Vec::new()),
            scopes: RefCell::new(
                [
                    "read:users",
                    "read:organizations",
                    "read:organization_members",
                ]
                .map(String::from)
                .to_vec(),
            ),
            secret: RefCell::new("test-secret".into()),
            valid_tokens: RefCell::new(Vec::new()),
            log: RefCell::new(Vec::new()),
            download_auth: RefCell::new(Vec::new()),
            fault: RefCell::new(None),
            reorder_ties: Cell::new(false),
            total_error: Cell::new(0),
            omit_total: Cell::new(false),
            cap_totals: Cell::new(true),
            churn: RefCell::new(None),
            listings: Cell::new(0),
            export_polls: Cell::new(1),
            issued: Cell::new(0),
            jobs: RefCell::new(HashMap::new()),
            logs: RefCell::new(Vec::new()),
            logs_kept_from: Cell::new(0),
            logs_take_max: Cell::new(100),
            active_users: Cell::new(0),
            daily_stats: RefCell::new(Vec::new()),
            apps: RefCell::new(FakeApps::default()),
        }
    }

    /// `n` users; `cluster` of them share one millisecond.
    pub fn generate(n: usize, cluster: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                let created = if i < cluster {
                    "2022-06-01T00:00:00.000Z".to_string()
                } else {
                    // Several users per millisecond now and then, as real tenants have.
                    crate::time::iso_from_ms(1_600_000_000_000 + (i as u64 / 3) * 7_919)
                };
                json!({
                    "user_id": format!("auth0|{i:08}"),
                    "email": format!("user{i}@example.com"),
                    "name": format!("User {i}"),
                    "created_at": created,
                    "identities": [{"connection": "Username-Password-Authentication"}],
                    "logins_count": i % 7,
                })
            })
            .collect()
    }

    /// `n` users in runs of 1 to `max_run` per millisecond (bulk imports and provisioning all
    /// over the tenant's history), the run lengths drawn from `seed`.
    pub fn generate_runs(n: usize, max_run: usize, seed: u64) -> Vec<Value> {
        let mut users = Self::generate(n, 0);
        let (mut i, mut ms, mut state) = (0, 1_600_000_000_000u64, seed);
        while i < n {
            state = mix(state);
            let run = 1 + (state % max_run.max(1) as u64) as usize;
            for u in users.iter_mut().skip(i).take(run) {
                u["created_at"] = crate::time::iso_from_ms(ms).into();
            }
            i += run;
            ms += 1 + state % 5_000;
        }
        users
    }

    /// Counts logged requests whose URL contains `part`.
    pub fn count(&self, part: &str) -> usize {
        self.log
            .borrow()
            .iter()
            .filter(|l| l.contains(part))
            .count()
    }

    fn authorized(&self, req: &HttpRequest) -> bool {
        req.headers.iter().any(|(k, v)| {
            *k == "authorization"
                && v.strip_prefix("Bearer ")
                    .is_some_and(|t| self.valid_tokens.borrow().iter().any(|x| x == t))
        })
    }

    fn scope_needed(&self, scope: &str) -> Option<HttpResponse> {
        (!self.scopes.borrow().iter().any(|s| s == scope)).then(|| {
            answer(
                403,
                json!({"statusCode": 403, "error": "Forbidden",
                       "message": format!("Insufficient scope, expected any of: {scope}"),
                       "errorCode": "insufficient_scope"}),
            )
        })
    }

    fn token(&self, req: &HttpRequest) -> HttpResponse {
        let body: Value =
            serde_json::from_str(req.body.as_deref().unwrap_or("{}")).unwrap_or_default();
        if body["client_secret"] != *self.secret.borrow() {
            return answer(
                401,
                json!({"error": "access_denied", "error_description": "Unauthorized"}),
            );
        }
        self.issued.set(self.issued.get() + 1);
        let token = format!("tok-{}", self.issued.get());
        self.valid_tokens.borrow_mut().push(token.clone());
        answer(
            200,
            json!({"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                   "scope": self.scopes.borrow().join(" ")}),
        )
    }

    fn list_users(&self, p: &HashMap<String, String>) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:users") {
            return denied;
        }
        let page: usize = p.get("page").map_or(0, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        let per_page: usize = p.get("per_page").map_or(50, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        if per_page > 100 || p.get("search_engine").map(String::as_str) != Some("v3") {
            return answer(
                400,
                json!({"statusCode": 400, "errorCode": "invalid_query_string", "message": "bad query"}),
            );
        }
        if (page + 1) * per_page > 1000 {
            return answer(
                400,
                json!({"statusCode": 400, "error": "Bad Request",
                       "message": "You can only page through the first 1000 records.",
                       "errorCode": "invalid_paging"}),
            );
        }
        let q = p.get("q").cloned().unwrap_or_default();
        // Ties in created_at come back in an arbitrary order: reversed ids, or a new order on
        // every request.
        self.listings.set(self.listings.get() + 1);
        if let Some(churn) = self.churn.borrow_mut().as_mut() {
            churn(self.listings.get(), &mut self.users.borrow_mut());
        }
        let seed = self.reorder_ties.get().then(|| self.listings.get());
        let users = self.users.borrow();
        let mut matched: Vec<(&str, Option<u64>, std::cmp::Reverse<&str>, &Value)> = users
            .iter()
            .map(|u| {
                let created = u["created_at"].as_str().unwrap_or("");
                let id = u["user_id"].as_str().unwrap_or("");
                (
                    created,
                    seed.map(|s| mix(s ^ fnv(id))),
                    std::cmp::Reverse(id),
                    u,
                )
            })
            .filter(|(.., u)| matches(&q, u))
            .collect();
        matched.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let matches = if self.cap_totals.get() {
            matched.len().min(1000)
        } else {
            matched.len()
        };
        let total = (matches as i64 + self.total_error.get()).max(0);
        let users: Vec<Value> = matched
            .into_iter()
            .skip(page * per_page)
            .take(per_page)
            .map(|(.., u)| u.clone())
            .collect();
        let mut body = json!({"start": page * per_page, "limit": per_page, "length": users.len(), "users": users, "total": total});
        if self.omit_total.get() {
            body.as_object_mut().map(|b| b.remove("total"));
        }
        answer(200, body)
    }

    fn export(&self, path: &str, req: &HttpRequest) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:users") {
            return denied;
        }
        if req.method == Method::Post {
            let id = format!("job_{}", self.jobs.borrow().len());
            self.jobs.borrow_mut().insert(id.clone(), 0);
            return answer(
                201,
                json!({"type": "users_export", "status": "pending", "id": id}),
            );
        }
        let id = path.rsplit('/').next().unwrap_or_default().to_string();
        let mut jobs = self.jobs.borrow_mut();
        let polls = jobs.entry(id.clone()).or_insert(0);
        *polls += 1;
        if *polls <= self.export_polls.get() {
            return answer(200, json!({"id": id, "status": "processing"}));
        }
        answer(
            200,
            json!({"id": id, "status": "completed", "location": format!("https://files.example/{id}.json.gz")}),
        )
    }

    fn members(&self, org: &str, p: &HashMap<String, String>) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:organization_members") {
            return denied;
        }
        let orgs = self.orgs.borrow();
        let Some((_, members)) = orgs.iter().find(|(id, _)| id == org) else {
            return answer(
                404,
                json!({"statusCode": 404, "errorCode": "inexistent_organization", "message": "No organization found"}),
            );
        };
        let take: usize = p.get("take").map_or(50, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        let from: usize = p.get("from").map_or(0, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        let page: Vec<Value> = members
            .iter()
            .skip(from)
            .take(take)
            .map(|m| json!({"user_id": m}))
            .collect();
        // A full last page still carries `next`; the page after it is empty.
        let next = (page.len() == take).then(|| (from + take).to_string());
        answer(200, json!({"members": page, "next": next}))
    }

    fn organizations(&self, p: &HashMap<String, String>) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:organizations") {
            return denied;
        }
        let take: usize = p.get("take").map_or(50, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        let from: usize = p.get("from").map_or(0, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        let orgs = self.orgs.borrow();
        let page: Vec<Value> = orgs
            .iter()
            .skip(from)
            .take(take)
            .map(|(id, _)| json!({"id": id, "name": id, "display_name": format!("Org {id}")}))
            .collect();
        let more = from + take < orgs.len();
        let mut body = json!({"organizations": page});
        if more {
            body["next"] = json!((from + take).to_string());
        }
        answer(200, body)
    }

    /// Appends a log event: `n` is its sequence number (the `log_id`), `ms` its date.
    pub fn log_event(&self, n: u64, kind: &str, ms: u64, client: &str, user: Option<&str>) {
        let mut e = json!({"log_id": format!("{n:020}"), "type": kind,
            "date": crate::time::iso_from_ms(ms), "client_id": client, "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0", "description": "", "details": {"q": 1}});
        if let Some(u) = user {
            e["user_id"] = json!(u);
        }
        self.logs.borrow_mut().push(e);
    }

    /// `GET /api/v2/logs`: the search mode's oldest event, or checkpoint paging with `Link`.
    fn logs(&self, url: &str, p: &HashMap<String, String>) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:logs") {
            return denied;
        }
        let logs = self.logs.borrow();
        let kept = logs.get(self.logs_kept_from.get()..).unwrap_or_default();
        let id = |e: &Value| e["log_id"].as_str().unwrap_or_default().to_string();
        let Some(from) = p.get("from") else {
            // Search mode: only sort=date:1 with one event is used.
            assert_eq!(p.get("sort").map(String::as_str), Some("date:1"));
            return answer(200, json!(kept.iter().take(1).collect::<Vec<_>>()));
        };
        let take: usize = p.get("take").map_or(50, |v| v.parse().unwrap()); // ok: test fake; the client under test sends numbers
        if take > self.logs_take_max.get() {
            return answer(
                400,
                json!({"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_query_string",
                       "message": format!("Query validation error: 'take' must be at most {}", self.logs_take_max.get())}),
            );
        }
        if self.logs_kept_from.get() > 0 && kept.first().is_none_or(|first| *from < id(first)) {
            return answer(
                400,
                json!({"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_query_string",
                       "message": "The log_id is invalid or older than the retention period"}),
            );
        }
        let page: Vec<Value> = kept
            .iter()
            .filter(|e| id(e) > *from)
            .take(take)
            .cloned()
            .collect();
        let next = page.last().map_or(url.to_string(), |last| {
            format!(
                "https://tenant.us.auth0.com/api/v2/logs?from={}&take={take}",
                id(last)
            )
        });
        let mut resp = answer(200, json!(page));
        resp.headers
            .push(("link".into(), format!("<{next}>; rel=\"next\"")));
        resp
    }

    /// `GET /api/v2/stats/active-users` and `/daily?from=YYYYMMDD&to=YYYYMMDD` (`read:stats`).
    fn stats(&self, path: &str, p: &HashMap<String, String>) -> HttpResponse {
        if let Some(denied) = self.scope_needed("read:stats") {
            return denied;
        }
        if path == "/api/v2/stats/active-users" {
            return answer(200, json!(self.active_users.get()));
        }
        if path != "/api/v2/stats/daily" {
            return answer(404, json!({"statusCode": 404, "message": "Not Found"}));
        }
        let key = |v: &Value| -> String {
            v["date"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(10)
                .filter(|c| *c != '-')
                .collect()
        };
        let within = |d: &str, bound: &str, after: bool| {
            p.get(bound).is_none_or(|b| {
                if after {
                    d >= b.as_str()
                } else {
                    d <= b.as_str()
                }
            })
        };
        let days: Vec<Value> = self
            .daily_stats
            .borrow()
            .iter()
            .filter(|v| within(&key(v), "from", true) && within(&key(v), "to", false))
            .cloned()
            .collect();
        answer(200, Value::Array(days))
    }

    fn route(&self, req: &HttpRequest) -> HttpResponse {
        let (path, params) = split_url(&req.url);
        if path == "/oauth/token" {
            return self.token(req);
        }
        if path.starts_with("/job_") {
            let auth: Vec<String> = req
                .headers
                .iter()
                .filter(|(k, _)| *k == "authorization")
                .map(|(_, v)| v.clone())
                .collect();
            self.download_auth.borrow_mut().extend(auth);
            let lines: Vec<String> = self.users.borrow().iter().map(Value::to_string).collect();
            return HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: lines.join("\n"),
            };
        }
        if !self.authorized(req) {
            return answer(
                401,
                json!({"statusCode": 401, "error": "Unauthorized", "message": "Expired token received for JSON Web Token validation"}),
            );
        }
        if let Some(r) = self.apps_route(&path, &params) {
            r
        } else if path == "/api/v2/users" {
            self.list_users(&params)
        } else if path.starts_with("/api/v2/jobs") {
            self.export(&path, req)
        } else if path == "/api/v2/logs" {
            self.logs(&req.url, &params)
        } else if path.starts_with("/api/v2/stats/") {
            self.stats(&path, &params)
        } else if path == "/api/v2/organizations" {
            self.organizations(&params)
        } else if let Some(rest) = path.strip_prefix("/api/v2/organizations/") {
            // Auth0 decodes the path: the client percent-encodes the id.
            let org = crate::http::decode_path_segment(rest.trim_end_matches("/members"));
            self.members(&org.unwrap_or_default(), &params)
        } else {
            answer(404, json!({"statusCode": 404, "message": "Not Found"}))
        }
    }
}

impl HttpClient for FakeAuth0 {
    async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let n = self.log.borrow().len() as u32 + 1;
        self.log
            .borrow_mut()
            .push(format!("{:?} {}", req.method, req.url));
        if let Some(fault) = self.fault.borrow_mut().as_mut()
            && let Some(r) = fault(n, req)
        {
            return r;
        }
        Ok(self.route(req))
    }
}
