//! The API's JSON, written by hand into one string: no serde serializer per type on wasm.
//!
//! Each `#[derive(Serialize)]` type used to cost its own serializer instantiation (tens of KB of
//! wasm in all); this writer is one small non-generic piece of code. Text is written straight
//! out, as before, so a year of trend points never becomes a `Value` tree in memory. The golden
//! tests (`api/tests/json.rs`) check every writer against the serde derive it replaces: same
//! names, same null/omission, same number types.

use crate::render::applications::{Coverage, NotEnabled};
use crate::store::applications::{AppSummary, AppUser, UsageGap, UserApp};
use crate::store::{ChangeRecord, ConnectionCount, OrgRecord, RunRecord, SeatCounts, UserRecord};
use crate::trends::{Bucket, By, Point, Reclaim, Series, Trends, Week};

/// JSON text being written. Values after a key or inside an array get their commas themselves.
#[derive(Debug, Default)]
pub struct Json(String);

impl Json {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.0
    }

    /// A comma, unless this value opens its object or array or follows its key.
    fn sep(&mut self) {
        if !matches!(self.0.as_bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.0.push(',');
        }
    }

    /// Starts a member: its key and the colon; the value follows.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.0, key);
        self.0.push(':');
        self
    }

    /// `{`.
    pub fn obj(&mut self) -> &mut Self {
        self.sep();
        self.0.push('{');
        self
    }

    /// `}`.
    pub fn end_obj(&mut self) -> &mut Self {
        self.0.push('}');
        self
    }

    /// `[`.
    pub fn arr(&mut self) -> &mut Self {
        self.sep();
        self.0.push('[');
        self
    }

    /// `]`.
    pub fn end_arr(&mut self) -> &mut Self {
        self.0.push(']');
        self
    }

    /// A string.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.0, s);
        self
    }

    /// A string or `null`.
    pub fn opt_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.string(s),
            None => self.null(),
        }
    }

    /// A signed integer.
    pub fn int(&mut self, n: i64) -> &mut Self {
        self.sep();
        self.0.push_str(&n.to_string());
        self
    }

    /// An unsigned integer.
    pub fn uint(&mut self, n: u64) -> &mut Self {
        self.sep();
        self.0.push_str(&n.to_string());
        self
    }

    /// An integer or `null`.
    pub fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => self.int(n),
            None => self.null(),
        }
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.0.push_str(if b { "true" } else { "false" });
        self
    }

    /// `null`.
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.0.push_str("null");
        self
    }

    /// `"key": "s"`.
    pub fn str_at(&mut self, key: &str, s: &str) -> &mut Self {
        self.key(key).string(s)
    }

    /// `"key": "s"` or `"key": null`.
    pub fn opt_str_at(&mut self, key: &str, s: Option<&str>) -> &mut Self {
        self.key(key).opt_string(s)
    }

    /// `"key": n`.
    pub fn int_at(&mut self, key: &str, n: i64) -> &mut Self {
        self.key(key).int(n)
    }

    /// `"key": n` for an unsigned count.
    pub fn uint_at(&mut self, key: &str, n: u64) -> &mut Self {
        self.key(key).uint(n)
    }

    /// `"key": n` or `"key": null`.
    pub fn opt_int_at(&mut self, key: &str, n: Option<i64>) -> &mut Self {
        self.key(key).opt_int(n)
    }

    /// `"key": true|false`.
    pub fn bool_at(&mut self, key: &str, b: bool) -> &mut Self {
        self.key(key).boolean(b)
    }
}

/// Writes `s` as a JSON string, escaped exactly as serde_json does: `"`, `\` and control
/// characters below U+0020 only (short forms where JSON has them, else `\u00XX`).
pub fn escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        // `i` is an ASCII byte's index: both ends are character boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)])); // ok: b < 0x20
            out.push(char::from(HEX[usize::from(b & 0xf)])); // ok: masked to 0..16
        } else {
            out.push_str(short);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// `{"error": message}`.
pub fn error(message: &str) -> String {
    let mut j = Json::new();
    j.obj().str_at("error", message).end_obj();
    j.finish()
}

/// An array of `items`, each written by `one`.
pub fn list<T>(j: &mut Json, items: &[T], one: fn(&mut Json, &T)) {
    j.arr();
    for item in items {
        one(j, item);
    }
    j.end_arr();
}

/// A user as `/api/users` serves it.
pub fn user(j: &mut Json, u: &UserRecord) {
    j.obj()
        .str_at("user_id", &u.user_id)
        .opt_str_at("email", u.email.as_deref())
        .opt_str_at("name", u.name.as_deref())
        .opt_str_at("connection", u.connection.as_deref());
    j.key("connections");
    strings(j, &u.connections);
    j.opt_str_at("last_login", u.last_login.as_deref())
        .int_at("logins_count", u.logins_count)
        .str_at("created_at", &u.created_at)
        .opt_str_at("updated_at", u.updated_at.as_deref())
        .bool_at("blocked", u.blocked);
    j.key("email_verified");
    match u.email_verified {
        Some(b) => j.boolean(b),
        None => j.null(),
    };
    j.str_at("first_seen_at", &u.first_seen_at)
        .opt_str_at("removed_at", u.removed_at.as_deref());
    j.key("organizations");
    strings(j, &u.organizations);
    j.end_obj();
}

fn strings(j: &mut Json, items: &[String]) {
    j.arr();
    for s in items {
        j.string(s);
    }
    j.end_arr();
}

/// An organization with its member count.
pub fn organization(j: &mut Json, o: &OrgRecord) {
    j.obj()
        .str_at("id", &o.id)
        .opt_str_at("name", o.name.as_deref())
        .opt_str_at("display_name", o.display_name.as_deref())
        .int_at("member_count", o.member_count)
        .opt_str_at("removed_at", o.removed_at.as_deref())
        .end_obj();
}

/// A sync run; its internal `cursor` is never served.
pub fn run(j: &mut Json, r: &RunRecord) {
    j.obj()
        .int_at("id", r.id)
        .str_at("started_at", &r.started_at)
        .opt_str_at("finished_at", r.finished_at.as_deref())
        .str_at("status", r.status.as_str())
        .str_at("trigger", &r.trigger)
        .str_at("kind", r.kind.as_str())
        .opt_str_at("updated_since", r.updated_since.as_deref())
        .uint_at("users_seen", r.users_seen)
        .uint_at("users_added", r.users_added)
        .uint_at("users_updated", r.users_updated)
        .uint_at("users_removed", r.users_removed)
        .uint_at("api_requests", r.api_requests)
        .uint_at("rate_limited", r.rate_limited)
        .uint_at("rows_written", r.rows_written)
        .uint_at("organizations_seen", r.organizations_seen)
        .uint_at("memberships_seen", r.memberships_seen)
        .uint_at("memberships_added", r.memberships_added)
        .uint_at("memberships_removed", r.memberships_removed)
        .uint_at("invocations", r.invocations);
    j.key("users_total_estimate");
    match r.users_total_estimate {
        Some(n) => j.uint(n),
        None => j.null(),
    };
    j.uint_at("d1_queries", r.d1_queries)
        .opt_str_at("error", r.error.as_deref())
        .end_obj();
}

/// A run or `null`.
pub fn opt_run(j: &mut Json, r: Option<&RunRecord>) {
    match r {
        Some(r) => run(j, r),
        None => {
            j.null();
        }
    }
}

/// Seat counts by state.
pub fn seat_counts(j: &mut Json, c: &SeatCounts) {
    j.obj()
        .int_at("current", c.current)
        .int_at("active", c.active)
        .int_at("blocked", c.blocked)
        .int_at("removed", c.removed)
        .int_at("never_logged_in", c.never_logged_in)
        .int_at("inactive_30", c.inactive_30)
        .int_at("inactive_60", c.inactive_60)
        .int_at("inactive_90", c.inactive_90)
        .end_obj();
}

/// Users per connection.
pub fn connection_count(j: &mut Json, c: &ConnectionCount) {
    j.obj()
        .opt_str_at("connection", c.connection.as_deref())
        .int_at("users", c.users)
        .end_obj();
}

/// `/api/summary`.
pub fn summary(j: &mut Json, s: &super::Summary) {
    j.obj().key("counts");
    seat_counts(j, &s.counts);
    j.key("by_connection");
    list(j, &s.by_connection, connection_count);
    j.key("by_organization");
    list(j, &s.by_organization, organization);
    j.key("last_sync");
    opt_run(j, s.last_sync.as_ref());
    j.key("last_complete_sync");
    opt_run(j, s.last_complete_sync.as_ref());
    j.str_at("generated_at", &s.generated_at).key("deletions");
    deletion_outlook(j, &s.deletions);
    j.end_obj();
}

/// How soon a deletion shows (`/api/summary`'s `deletions`).
pub fn deletion_outlook(j: &mut Json, o: &crate::sync::schedule::Outlook) {
    j.obj()
        .int_at("within_hours", i64::from(o.within_hours))
        .str_at("shows", &o.shows)
        .opt_str_at("signal", o.signal)
        .int_at(
            "full_listing_every_hours",
            i64::from(o.full_listing_every_hours),
        )
        .opt_int_at(
            "full_listing_requests",
            o.full_listing_requests
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        )
        .str_at("why", &o.why)
        .opt_str_at("faster", o.faster.as_deref())
        .end_obj();
}

/// A stored change.
pub fn change(j: &mut Json, c: &ChangeRecord) {
    j.obj()
        .int_at("id", c.id)
        .str_at("at", &c.at)
        .opt_int_at("run_id", c.run_id)
        .str_at("type", &c.kind)
        .opt_str_at("user_id", c.user_id.as_deref())
        .opt_str_at("email", c.email.as_deref())
        .opt_str_at("client_id", c.client_id.as_deref())
        .opt_str_at("org_id", c.org_id.as_deref())
        .str_at("detail", &c.detail)
        .bool_at("baseline", c.baseline)
        .end_obj();
}

/// An application with its reach and usage.
pub fn app_summary(j: &mut Json, a: &AppSummary) {
    j.obj()
        .str_at("client_id", &a.client_id)
        .opt_str_at("name", a.name.as_deref())
        .opt_str_at("app_type", a.app_type.as_deref())
        .int_at("users_can_reach", a.users_can_reach)
        .int_at("active_30d", a.active_30d)
        .int_at("active_90d", a.active_90d)
        .int_at("never_used", a.never_used)
        .opt_str_at("last_login", a.last_login.as_deref())
        .opt_str_at("usage_since", a.usage_since.as_deref())
        .end_obj();
}

/// A user of an application.
pub fn app_user(j: &mut Json, u: &AppUser) {
    j.obj()
        .str_at("user_id", &u.user_id)
        .opt_str_at("email", u.email.as_deref())
        .opt_str_at("name", u.name.as_deref())
        .opt_str_at("connection", u.connection.as_deref())
        .bool_at("can_reach", u.can_reach)
        .opt_str_at("last_login", u.last_login.as_deref())
        .int_at("logins", u.logins)
        .opt_str_at("last_seen", u.last_seen.as_deref())
        .end_obj();
}

/// An application of a user.
pub fn user_app(j: &mut Json, a: &UserApp) {
    j.obj()
        .str_at("client_id", &a.client_id)
        .opt_str_at("name", a.name.as_deref())
        .bool_at("can_reach", a.can_reach)
        .opt_str_at("last_login", a.last_login.as_deref())
        .int_at("logins", a.logins)
        .opt_str_at("last_seen", a.last_seen.as_deref())
        .end_obj();
}

fn not_enabled(j: &mut Json, n: &NotEnabled) {
    j.obj()
        .str_at("scope", &n.scope)
        .str_at("message", &n.message)
        .end_obj();
}

fn usage_gap(j: &mut Json, g: &UsageGap) {
    j.obj()
        .opt_str_at("gap_from", g.gap_from.as_deref())
        .str_at("gap_until", &g.gap_until)
        .end_obj();
}

/// The `not_enabled` and `usage_gaps` members of the application answers (inside an object).
pub fn coverage_members(j: &mut Json, c: &Coverage) {
    j.key("not_enabled");
    list(j, &c.not_enabled, not_enabled);
    j.key("usage_gaps");
    list(j, &c.usage_gaps, usage_gap);
}

/// `Coverage` as an object (its derive's shape).
pub fn coverage(j: &mut Json, c: &Coverage) {
    j.obj();
    coverage_members(j, c);
    j.end_obj();
}

fn point(j: &mut Json, p: &Point) {
    j.obj()
        .str_at("day", &p.day)
        .bool_at("derived", p.derived)
        .opt_int_at("seats", p.seats)
        .opt_int_at("active", p.active)
        .opt_int_at("blocked", p.blocked)
        .opt_int_at("removed", p.removed)
        .opt_int_at("added", p.added)
        .opt_int_at("active_30", p.active_30)
        .opt_int_at("active_90", p.active_90)
        .opt_int_at("never_logged_in", p.never_logged_in)
        .opt_int_at("logins_total", p.logins_total)
        .end_obj();
}

fn week(j: &mut Json, w: &Week) {
    j.obj()
        .str_at("week", &w.week)
        .opt_int_at("logins", w.logins)
        .end_obj();
}

fn bucket(j: &mut Json, b: &Bucket) {
    j.obj()
        .str_at("label", b.label)
        .int_at("users", b.users)
        .str_at("href", b.href)
        .end_obj();
}

fn reclaim(j: &mut Json, r: &Reclaim) {
    j.obj().str_at("day", &r.day).key("buckets");
    list(j, &r.buckets, bucket);
    j.end_obj();
}

fn series(j: &mut Json, s: &Series) {
    j.obj()
        .str_at("key", &s.key)
        .str_at("label", &s.label)
        .key("points");
    list(j, &s.points, point);
    j.key("logins_per_week");
    list(j, &s.logins_per_week, week);
    j.end_obj();
}

/// The grouping's name.
pub fn by_name(b: By) -> &'static str {
    match b {
        By::Connection => "connection",
        By::Organization => "organization",
        By::Application => "application",
    }
}

/// `/api/trends`.
pub fn trends(j: &mut Json, t: &Trends) {
    j.obj()
        .uint_at("days", u64::from(t.days))
        .str_at("from", &t.from)
        .str_at("to", &t.to)
        .opt_str_at("tracking_since", t.tracking_since.as_deref())
        .key("tenant");
    list(j, &t.tenant, point);
    j.key("logins_per_week");
    list(j, &t.logins_per_week, week);
    j.key("reclaim");
    match &t.reclaim {
        Some(r) => reclaim(j, r),
        None => {
            j.null();
        }
    }
    j.opt_str_at("by", t.by.map(by_name)).key("series");
    list(j, &t.series, series);
    j.end_obj();
}
