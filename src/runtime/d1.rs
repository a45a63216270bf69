//! The D1 runner: the store's [`SqlRunner`] on the `DB` binding. Everything above it
//! (`store::db`) is plain Rust; this file only binds values, runs statements and reads D1's
//! answers.
//!
//! Statements run through the JS objects themselves (`all`, `run`, `batch`): the rows come back
//! as JSON text, parsed once and read by `FromRow`, and `meta`'s counts are read as numbers;
//! worker's typed results would instantiate a JS-value deserializer per row type.

use worker::js_sys::{self, Array, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::D1Database as D1DatabaseSys;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::store::db::Db;
use crate::store::sql::{Arg, Meter, SqlRunner, Stmt, Written};
use crate::store::{RowsWritten, StoreError};

/// The store on D1.
pub type D1Store = Db<D1>;

/// The `DB` binding, and its count of queries and rows written in this invocation.
pub struct D1 {
    db: D1Database,
    meter: Meter,
}

/// Binds to `DB`.
///
/// # Errors
/// The binding is missing from wrangler.toml.
pub fn store(env: &Env) -> Result<D1Store, StoreError> {
    env.d1("DB")
        .map(|db| {
            Db(D1 {
                db,
                meter: Meter::default(),
            })
        })
        .map_err(|e| StoreError {
            op: "find the D1 binding DB (see wrangler.toml)",
            detail: e.to_string(),
        })
}

/// `args` as the JS values D1 binds.
fn bind(args: &[Arg]) -> Vec<JsValue> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => JsValue::from_str(s),
            // Counts, ids and instants: far below 2^53, where JS numbers stop being exact.
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Null => JsValue::NULL,
        })
        .collect()
}

/// A JS failure as text: the error's name and message, and its cause's message where that adds
/// to it (D1 puts SQLite's own message in the cause).
fn js_detail(e: &JsValue) -> String {
    let Some(err) = e.dyn_ref::<js_sys::Error>() else {
        return e.as_string().unwrap_or_else(|| format!("{e:?}"));
    };
    let mut detail = format!(
        "{}: {}",
        String::from(err.name()),
        String::from(err.message())
    );
    if let Some(cause) = err.cause().dyn_ref::<js_sys::Error>() {
        let cause = String::from(cause.message());
        if !detail.contains(&cause) {
            detail.push_str(&format!(" (cause: {cause})"));
        }
    }
    detail
}

fn js_fail(op: &'static str) -> impl Fn(JsValue) -> StoreError {
    move |e| StoreError {
        op,
        detail: js_detail(&e),
    }
}

/// Awaits one of D1's promises.
async fn settle(
    op: &'static str,
    promise: Result<Promise, JsValue>,
) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(js_fail(op))?)
        .await
        .map_err(js_fail(op))
}

/// `meta.rows_written` and `meta.changes` of one D1 result; 0 where D1 leaves them out.
fn counts(result: &JsValue) -> Written {
    let meta = Reflect::get(result, &JsValue::from_str("meta")).unwrap_or(JsValue::UNDEFINED);
    let count = |key: &str| {
        Reflect::get(&meta, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
            // Counts are whole and far below 2^53; anything else reads as 0.
            .map_or(0, |n| n as u64)
    };
    (count("rows_written") as RowsWritten, count("changes"))
}

impl D1 {
    fn prepare(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<D1PreparedStatement, StoreError> {
        self.db
            .prepare(sql)
            .bind(&bind(args))
            .map_err(|e| StoreError {
                op,
                detail: e.to_string(),
            })
    }
}

impl SqlRunner for D1 {
    fn meter(&self) -> &Meter {
        &self.meter
    }

    async fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<serde_json::Value, StoreError> {
        let stmt = self.prepare(op, sql, args)?;
        let result = settle(op, stmt.inner().all()).await?;
        let rows = Reflect::get(&result, &JsValue::from_str("results")).map_err(js_fail(op))?;
        if rows.is_null_or_undefined() {
            return Ok(serde_json::Value::Array(Vec::new()));
        }
        let json = String::from(js_sys::JSON::stringify(&rows).map_err(js_fail(op))?);
        crate::fields::parse(&json).map_err(|e| StoreError {
            op,
            detail: format!("D1's rows are not JSON: {e}"),
        })
    }

    async fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Written, StoreError> {
        let stmt = self.prepare(op, sql, args)?;
        Ok(counts(&settle(op, stmt.inner().run()).await?))
    }

    async fn raw_batch(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> Result<Vec<Written>, StoreError> {
        let prepared = stmts
            .iter()
            .map(|(sql, args)| self.prepare(op, sql, args))
            .collect::<Result<Vec<_>, _>>()?;
        let statements: Array = prepared.iter().map(D1PreparedStatement::inner).collect();
        let db: &D1DatabaseSys = self.db.as_ref().unchecked_ref();
        let results = settle(op, db.batch(statements)).await?;
        let results = results.dyn_into::<Array>().map_err(|_| StoreError {
            op,
            detail: "the batch answered no array".into(),
        })?;
        Ok(results.iter().map(|r| counts(&r)).collect())
    }
}
