//! D1 runs the application SQL ([`SqlRunner`]).

use worker::wasm_bindgen::JsValue;

use super::D1Store;
use crate::store::applications::{Arg, SqlRunner, Stmt};
use crate::store::{RowsWritten, StoreError};

fn bind(args: &[Arg]) -> Vec<JsValue> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => JsValue::from_str(s),
            // Page sizes and flags: far below 2^53.
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Null => JsValue::NULL,
        })
        .collect()
}

impl SqlRunner for D1Store {
    async fn sql_rows<T: crate::store::FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, StoreError> {
        self.rows(op, sql, &bind(args)).await
    }

    async fn sql_run(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<RowsWritten, StoreError> {
        self.written(op, sql, &bind(args)).await
    }

    async fn sql_batch(&self, op: &'static str, stmts: &[Stmt]) -> Result<RowsWritten, StoreError> {
        let prepared = stmts
            .iter()
            .map(|(sql, args)| self.stmt(op, sql, &bind(args)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.batch(op, prepared).await?.iter().map(|r| r.0).sum())
    }
}
