//! The one seam between the store and a database: statements as SQL and bound [`Arg`]s, run by
//! D1 on wasm (`runtime::d1`) and by SQLite in native tests (`testing::sqlite`).
//!
//! Both runners implement only the raw calls; the checked calls every caller uses are written
//! here once, so no runner can skip them: each statement is held to D1's limits before it runs
//! ([`check`]), and each is counted ([`Meter`]) for the invocation's query budget.

use std::cell::Cell;

use serde::Serialize;

use super::row::{FromRow, read_rows};
use super::{RowsWritten, StoreError};

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// TEXT.
    Text(String),
    /// INTEGER.
    Int(i64),
    /// NULL.
    Null,
}

impl Arg {
    /// A text value.
    pub fn text(s: &str) -> Self {
        Self::Text(s.to_string())
    }

    /// Text, or NULL.
    pub fn opt_text(s: Option<&str>) -> Self {
        s.map_or(Self::Null, Self::text)
    }

    /// A count or an instant: every one the store binds is far below `i64::MAX`.
    pub fn int(n: u64) -> Self {
        Self::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// A value as JSON text, for `json_each`. Rows and ids always serialise.
    pub fn json(value: &impl Serialize) -> Self {
        Self::Text(serde_json::to_string(value).unwrap_or_else(|_| "[]".into()))
    }

    /// The bytes D1 receives for this value: a string's UTF-8 length, 8 for a number.
    pub fn bytes(&self) -> usize {
        match self {
            Self::Text(s) => s.len(),
            Self::Int(_) | Self::Null => 8,
        }
    }
}

/// A statement and its bound values, for [`SqlRunner::sql_batch`].
pub type Stmt = (String, Vec<Arg>);

/// What one write did: D1's `meta.rows_written` (rows and index entries) and `meta.changes`
/// (rows inserted, updated or deleted).
pub type Written = (RowsWritten, u64);

/// D1's limits on one statement, from Cloudflare's D1 limits page
/// (<https://developers.cloudflare.com/d1/platform/limits/>): every plan, local Miniflare
/// enforces none of them.
pub mod limits {
    /// Bound parameters in one query.
    pub const MAX_BOUND_PARAMETERS: usize = 100;
    /// Bytes of SQL in one statement.
    pub const MAX_SQL_BYTES: usize = 100_000;
    /// Bytes of one bound string or BLOB.
    pub const MAX_VALUE_BYTES: usize = 2_000_000;
    /// What a bulk write binds at most in one value: half of [`MAX_VALUE_BYTES`], so a row that
    /// grows between the count and the write never takes a chunk over the limit.
    pub const CHUNK_VALUE_BYTES: usize = 1_000_000;
}

/// `n` with thousands separators, as the limits are written.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The statement as a log names it: the op and the SQL's first words.
fn named(op: &str, sql: &str) -> String {
    let head: String = sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
    format!("`{op}` ({head} …)")
}

/// Holds one statement to D1's limits, before it runs.
///
/// # Errors
/// The statement binds too many parameters, is too long, or binds a value too large: the
/// detail names the statement, the figure and D1's limit.
pub fn check(op: &'static str, sql: &str, args: &[Arg]) -> Result<(), StoreError> {
    use limits::{MAX_BOUND_PARAMETERS, MAX_SQL_BYTES, MAX_VALUE_BYTES};
    let over = |what: String| {
        Err(StoreError {
            op,
            detail: format!("D1 limit: {} {what}", named(op, sql)),
        })
    };
    if args.len() > MAX_BOUND_PARAMETERS {
        return over(format!(
            "binds {} parameters; D1 allows {MAX_BOUND_PARAMETERS}",
            args.len()
        ));
    }
    if sql.len() > MAX_SQL_BYTES {
        return over(format!(
            "is {} bytes of SQL; D1 allows {}",
            grouped(sql.len()),
            grouped(MAX_SQL_BYTES)
        ));
    }
    if let Some(big) = args.iter().map(Arg::bytes).find(|&n| n > MAX_VALUE_BYTES) {
        return over(format!(
            "binds a value of {} bytes; D1 allows {} per string or BLOB",
            grouped(big),
            grouped(MAX_VALUE_BYTES)
        ));
    }
    Ok(())
}

/// Queries and rows written through a runner: the invocation's D1 budget reads it.
#[derive(Debug, Default)]
pub struct Meter {
    queries: Cell<u32>,
    rows_written: Cell<u64>,
}

impl Meter {
    /// Queries so far. A batch counts one per statement: how D1 counts a batch against the
    /// per-invocation query limit is not documented, and this is the cautious reading.
    pub fn queries(&self) -> u32 {
        self.queries.get()
    }

    /// Rows written so far, as the database reported them.
    pub fn rows_written(&self) -> u64 {
        self.rows_written.get()
    }

    fn count(&self, queries: usize, written: &[Written]) {
        let queries = u32::try_from(queries).unwrap_or(u32::MAX);
        self.queries.set(self.queries.get().saturating_add(queries));
        let rows: u64 = written.iter().map(|w| w.0).sum();
        self.rows_written.set(self.rows_written.get() + rows);
    }
}

/// Runs SQL: D1 on wasm, SQLite in tests. A runner implements the raw calls; everyone calls the
/// checked ones (`sql_*`), which hold each statement to D1's limits and count it.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait SqlRunner {
    /// The runner's count of queries and rows written.
    fn meter(&self) -> &Meter;

    /// Runs a query; its rows as one JSON array of objects keyed by column name.
    ///
    /// # Errors
    /// Any database failure.
    async fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<serde_json::Value, StoreError>;

    /// Runs a write.
    ///
    /// # Errors
    /// Any database failure.
    async fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Written, StoreError>;

    /// Runs writes as one batch: one transaction, all or nothing. One result per statement.
    ///
    /// # Errors
    /// Any database failure; then none of the statements took effect.
    async fn raw_batch(&self, op: &'static str, stmts: &[Stmt])
    -> Result<Vec<Written>, StoreError>;

    /// Runs a query and reads its rows ([`FromRow`]).
    ///
    /// # Errors
    /// A D1 limit, any database failure, or a row that does not read.
    async fn sql_rows<T: FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, StoreError> {
        check(op, sql, args)?;
        self.meter().count(1, &[]);
        read_rows(op, &self.raw_rows(op, sql, args).await?)
    }

    /// Runs a write and returns what it did.
    ///
    /// # Errors
    /// A D1 limit, or any database failure.
    async fn sql_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Written, StoreError> {
        check(op, sql, args)?;
        let written = self.raw_write(op, sql, args).await;
        self.meter()
            .count(1, written.as_ref().map_or(&[][..], std::slice::from_ref));
        written
    }

    /// Runs a write and returns the rows it wrote.
    ///
    /// # Errors
    /// A D1 limit, or any database failure.
    async fn sql_run(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<RowsWritten, StoreError> {
        Ok(self.sql_write(op, sql, args).await?.0)
    }

    /// Runs writes as one batch (one transaction) and returns what each did.
    ///
    /// # Errors
    /// A D1 limit (then nothing runs), or any database failure (then nothing took effect).
    async fn sql_batch_each(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> Result<Vec<Written>, StoreError> {
        for (sql, args) in stmts {
            check(op, sql, args)?;
        }
        let written = self.raw_batch(op, stmts).await;
        self.meter()
            .count(stmts.len(), written.as_deref().unwrap_or_default());
        let written = written?;
        if written.len() != stmts.len() {
            return Err(StoreError {
                op,
                detail: format!(
                    "the batch answered {} results for {} statements",
                    written.len(),
                    stmts.len()
                ),
            });
        }
        Ok(written)
    }

    /// Runs writes as one batch (one transaction) and returns the rows they wrote.
    ///
    /// # Errors
    /// A D1 limit (then nothing runs), or any database failure (then nothing took effect).
    async fn sql_batch(&self, op: &'static str, stmts: &[Stmt]) -> Result<RowsWritten, StoreError> {
        Ok(self
            .sql_batch_each(op, stmts)
            .await?
            .iter()
            .map(|w| w.0)
            .sum())
    }
}

/// Splits `items` into runs of at most `max_count` whose JSON stays within
/// [`limits::CHUNK_VALUE_BYTES`], in order: what one bulk statement binds as one value. An item
/// larger than that on its own is a run by itself (the limit check then names it). Always at
/// least one run, so a write of nothing still runs once where callers rely on it.
pub fn chunks<T: Serialize>(items: &[T], max_count: usize) -> Vec<&[T]> {
    let max_count = max_count.max(1);
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 2); // the array's brackets
    for (i, item) in items.iter().enumerate() {
        // The item and its comma; an item that does not serialise binds as `[]` anyway.
        let size = serde_json::to_string(item).map_or(2, |s| s.len()) + 1;
        let full = i - start == max_count || bytes + size > limits::CHUNK_VALUE_BYTES;
        if full && i > start {
            out.push(&items[start..i]);
            (start, bytes) = (i, 2);
        }
        bytes += size;
    }
    out.push(&items[start..]);
    out
}

#[cfg(test)]
mod tests;
