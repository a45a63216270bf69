//! The access change history in the store: appending events (`crate::changes` defines them)
//! and reading them back for viewers.
//!
//! Reads are newest first by `(at, id)`, paged by keyset on the same pair, so a page costs the
//! rows it returns whatever the history's size; every filter is a bound parameter.

use serde::{Deserialize, Serialize};

use super::row::FromRow;
use super::sql::Arg;
use super::{RowsWritten, StoreError};
use crate::changes::{EventType, NewEvent};
use crate::fields::{FieldError, Fields};

/// What writers of the change history need from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait ChangeStore {
    /// Appends these events in order, skipping any whose `dedupe` key is already stored (a
    /// retried or resumed run writing the same event again). One statement per
    /// `changes::EVENTS_PER_STATEMENT` events; returns the rows written.
    ///
    /// # Errors
    /// Any database failure.
    async fn record_events(&self, events: &[NewEvent]) -> Result<RowsWritten, StoreError>;
    /// Whether the history holds a baseline (a first sync that finished).
    ///
    /// # Errors
    /// Any database failure.
    async fn baseline_recorded(&self) -> Result<bool, StoreError>;
}

/// What the viewer needs from the change history.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait ChangeView {
    /// One page of changes, newest first.
    ///
    /// # Errors
    /// Any database failure.
    async fn list_changes(&self, query: &ChangesQuery) -> Result<Vec<ChangeRecord>, StoreError>;
}

/// Whether a baseline event is stored: one row `found` (0 or 1).
pub const BASELINE_RECORDED: &str =
    "SELECT EXISTS (SELECT 1 FROM access_events WHERE type = 'baseline') AS found";

/// Which changes a viewer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangesQuery {
    /// Page size.
    pub limit: u32,
    /// Changes older than this one (the cursor).
    pub after: Option<ChangePosition>,
    /// Observed at or after this instant (ISO-8601, canonical form).
    pub since: Option<String>,
    /// Observed before this instant.
    pub until: Option<String>,
    /// Only this type.
    pub kind: Option<EventType>,
    /// Only about this user.
    pub user_id: Option<String>,
    /// Only about this application.
    pub client_id: Option<String>,
}

/// Where a page ended: the last change's time and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePosition {
    /// Its `at`.
    pub at: String,
    /// Its `id`.
    pub id: i64,
}

/// A stored change as viewers see it (`GET /api/changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRecord {
    /// Its id: ascending in the order written.
    pub id: i64,
    /// When observed.
    pub at: String,
    /// The run that observed it.
    pub run_id: Option<i64>,
    /// The stored type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The user.
    pub user_id: Option<String>,
    /// The user's email when observed.
    pub email: Option<String>,
    /// The application.
    pub client_id: Option<String>,
    /// The organization.
    pub org_id: Option<String>,
    /// The sentence.
    pub detail: String,
    /// A first sync's baseline, not a change.
    pub baseline: bool,
}

// D1 hands booleans back as 0/1.
impl FromRow for ChangeRecord {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            id: row.i64("id")?,
            at: row.string("at")?,
            run_id: row.opt_i64("run_id")?,
            kind: row.string("type")?,
            user_id: row.opt_string("user_id")?,
            email: row.opt_string("email")?,
            client_id: row.opt_string("client_id")?,
            org_id: row.opt_string("org_id")?,
            detail: row.string("detail")?,
            baseline: row.flag("baseline")?,
        })
    }
}

impl ChangeRecord {
    /// Where this record stands, to continue after it.
    pub fn position(&self) -> ChangePosition {
        ChangePosition {
            at: self.at.clone(),
            id: self.id,
        }
    }
}

/// The columns viewers see, in order.
pub const CHANGE_COLUMNS: &str =
    "id, at, run_id, type, user_id, email, client_id, org_id, detail, baseline";

/// Builds the statement for one page, with `?N` placeholders and their values.
pub fn list_changes_sql(q: &ChangesQuery) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut bind = |v: Arg| {
        args.push(v);
        format!("?{}", args.len())
    };
    let mut conds: Vec<String> = Vec::new();
    if let Some(u) = &q.user_id {
        conds.push(format!("user_id = {}", bind(Arg::Text(u.clone()))));
    }
    if let Some(c) = &q.client_id {
        conds.push(format!("client_id = {}", bind(Arg::Text(c.clone()))));
    }
    if let Some(k) = q.kind {
        conds.push(format!("type = {}", bind(Arg::Text(k.as_str().into()))));
    }
    if let Some(s) = &q.since {
        conds.push(format!("at >= {}", bind(Arg::Text(s.clone()))));
    }
    if let Some(u) = &q.until {
        conds.push(format!("at < {}", bind(Arg::Text(u.clone()))));
    }
    if let Some(p) = &q.after {
        let at = bind(Arg::Text(p.at.clone()));
        let id = bind(Arg::Int(p.id));
        conds.push(format!("(at < {at} OR (at = {at} AND id < {id}))"));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let limit = bind(Arg::Int(i64::from(q.limit)));
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM access_events{filter} ORDER BY at DESC, id DESC LIMIT {limit}"
    );
    (sql, args)
}

impl ChangesQuery {
    /// Whether a record passes the filters and comes after the cursor, as the SQL states it.
    pub fn admits(&self, r: &ChangeRecord) -> bool {
        let after = self
            .after
            .as_ref()
            .is_none_or(|p| (r.at.as_str(), r.id) < (p.at.as_str(), p.id));
        after
            && self.kind.is_none_or(|k| r.kind == k.as_str())
            && self
                .user_id
                .as_ref()
                .is_none_or(|u| r.user_id.as_ref() == Some(u))
            && self
                .client_id
                .as_ref()
                .is_none_or(|c| r.client_id.as_ref() == Some(c))
            && self.since.as_ref().is_none_or(|s| r.at >= *s)
            && self.until.as_ref().is_none_or(|u| r.at < *u)
    }

    /// The same query asking one row more, to learn whether another page follows.
    pub fn fetch_one_more(&self) -> Self {
        Self {
            limit: self.limit + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{Origin, Subject};
    use crate::testing::block_on;
    use crate::testing::memory::MemoryStore;

    #[test]
    fn memory_skips_a_stored_key_as_the_sql_does() {
        let store = MemoryStore::default();
        let e = |run, user: &str| {
            NewEvent::new(
                &Origin::Run(run),
                "t",
                EventType::UserAdded,
                Subject {
                    user_id: Some(user.into()),
                    ..Subject::default()
                },
                format!("added: {user}"),
            )
        };
        let first = [e(1, "a"), e(1, "b")];
        assert_eq!(block_on(store.record_events(&first)).unwrap(), 2);
        assert_eq!(
            block_on(store.record_events(&[e(1, "b"), e(2, "b")])).unwrap(),
            1
        );
        let stored = store.access_events.borrow();
        let keys: Vec<_> = stored.iter().map(|s| s.dedupe.as_str()).collect();
        assert_eq!(
            keys,
            [&first[0].dedupe, &first[1].dedupe, &e(2, "b").dedupe]
        );
    }

    #[test]
    fn viewer_input_is_bound_never_spliced_into_sql() {
        let q = ChangesQuery {
            limit: 10,
            user_id: Some("u'); DROP TABLE access_events;--".into()),
            client_id: Some("c'".into()),
            kind: Some(EventType::UserBlocked),
            since: Some("2026-01-01T00:00:00.000Z".into()),
            until: Some("2026-02-01T00:00:00.000Z".into()),
            after: Some(ChangePosition {
                at: "x'".into(),
                id: 5,
            }),
        };
        let (sql, args) = list_changes_sql(&q);
        assert!(
            !sql.contains("DROP") && !sql.contains("user_blocked"),
            "{sql}"
        );
        assert_eq!(args.len(), 8);
        assert!(
            sql.ends_with("(at < ?6 OR (at = ?6 AND id < ?7)) ORDER BY at DESC, id DESC LIMIT ?8"),
            "{sql}"
        );
        let (sql, args) = list_changes_sql(&ChangesQuery {
            limit: 3,
            ..ChangesQuery::default()
        });
        assert_eq!(
            sql,
            format!(
                "SELECT {CHANGE_COLUMNS} FROM access_events ORDER BY at DESC, id DESC LIMIT ?1"
            )
        );
        assert_eq!(args, [Arg::Int(3)]);
    }

    #[test]
    fn records_read_d1_booleans() {
        let v = serde_json::json!({
            "id": 1, "at": "t", "run_id": null, "type": "baseline", "user_id": null,
            "email": null, "client_id": null, "org_id": null, "detail": "d", "baseline": 1
        });
        let r = ChangeRecord::from_row(Fields::of(&v).unwrap()).unwrap();
        assert!(r.baseline);
        assert_eq!((r.run_id, r.kind.as_str()), (None, "baseline"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["type"], "baseline");
        assert_eq!(v["baseline"], true);
    }
}
