//! A [`SqlRunner`] on SQLite with the real migrations, for native tests: the same SQL constants
//! D1 runs, in the engine under D1.

use std::cell::RefCell;

use rusqlite::Connection;
use rusqlite::types::{Value as Sql, ValueRef};

use crate::store::StoreError;
use crate::store::row::{FromRow, read_rows};
use crate::store::sql::{Arg, Meter, SqlRunner, Stmt, Written};

/// A fresh in-memory database with every migration applied.
pub fn migrated() -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite opens in memory"); // ok: test support
    migrate(&conn, |_| true);
    conn
}

/// Applies, in order, the migrations whose file name `pick` accepts.
pub fn migrate(conn: &Connection, pick: impl Fn(&str) -> bool) {
    let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations folder") // ok: test support, the repo's own folder
        .map(|e| e.expect("migration file").path()) // ok: test support
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&pick))
        .collect();
    files.sort();
    for f in files {
        let sql = std::fs::read_to_string(&f).expect("migration readable"); // ok: test support
        conn.execute_batch(&sql)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

/// `args` as SQLite values.
pub fn bind(args: &[Arg]) -> Vec<Sql> {
    args.iter()
        .map(|a| match a {
            Arg::Text(s) => Sql::Text(s.clone()),
            Arg::Int(n) => Sql::Integer(*n),
            Arg::Null => Sql::Null,
        })
        .collect()
}

fn fail(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError {
        op,
        detail: e.to_string(),
    }
}

/// Runs a query on `conn`, the rows made a JSON array of objects by column name as D1 gives
/// them.
///
/// # Errors
/// SQLite's.
pub fn query_json(
    conn: &Connection,
    op: &'static str,
    sql: &str,
    args: &[Arg],
) -> Result<serde_json::Value, StoreError> {
    let mut stmt = conn.prepare(sql).map_err(fail(op))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(bind(args)))
        .map_err(fail(op))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(fail(op))? {
        let mut obj = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match row.get_ref(i).map_err(fail(op))? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(_) => serde_json::Value::Null,
            };
            obj.insert(name.clone(), v);
        }
        out.push(serde_json::Value::Object(obj));
    }
    Ok(serde_json::Value::Array(out))
}

/// Runs a query on `conn` and reads its rows by [`FromRow`], held to D1's limits first.
///
/// # Errors
/// A D1 limit, SQLite's, or a row that does not read (`detail` names the field).
pub fn query<T: FromRow>(
    conn: &Connection,
    op: &'static str,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<T>, StoreError> {
    crate::store::sql::check(op, sql, args)?;
    read_rows(op, &query_json(conn, op, sql, args)?)
}

/// One write on `conn`: the rows it changed, counted as both D1 figures (SQLite has no count
/// of index entries written; `store::tests::rows_written` measures D1's own).
fn write(
    conn: &Connection,
    op: &'static str,
    sql: &str,
    args: &[Arg],
) -> Result<Written, StoreError> {
    let n = conn
        .execute(sql, rusqlite::params_from_iter(bind(args)))
        .map_err(fail(op))? as u64;
    Ok((n, n))
}

/// A SQLite database behind [`SqlRunner`]. The third field, when set to `Some(n)`, makes the
/// batch that would run the `n+1`th batched statement from now fail there (rolled back, as D1
/// rolls back a batch an invocation dies in); the fourth holds the length of the largest value
/// bound so far; the fifth counts queries and rows written.
pub struct SqliteDb(
    pub RefCell<Connection>,
    pub std::cell::Cell<Option<[u64; 4]>>,
    pub std::cell::Cell<Option<usize>>,
    pub std::cell::Cell<usize>,
    pub Meter,
);

impl Default for SqliteDb {
    fn default() -> Self {
        Self(
            RefCell::new(migrated()),
            std::cell::Cell::new(None),
            std::cell::Cell::new(None),
            std::cell::Cell::new(0),
            Meter::default(),
        )
    }
}

impl SqliteDb {
    /// Notes the largest of `args`.
    fn bound(&self, args: &[Arg]) {
        self.3
            .set(args.iter().map(Arg::bytes).fold(self.3.get(), usize::max));
    }
}

impl SqlRunner for SqliteDb {
    fn meter(&self) -> &Meter {
        &self.4
    }

    async fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<serde_json::Value, StoreError> {
        self.bound(args);
        query_json(&self.0.borrow(), op, sql, args)
    }

    async fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Written, StoreError> {
        self.bound(args);
        write(&self.0.borrow(), op, sql, args)
    }

    async fn raw_batch(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> Result<Vec<Written>, StoreError> {
        let conn = self.0.borrow();
        // Dropped without a commit (any error below), the transaction rolls back: D1's batch.
        let tx = conn.unchecked_transaction().map_err(fail(op))?;
        let mut out = Vec::with_capacity(stmts.len());
        for (sql, args) in stmts {
            match self.2.get() {
                Some(0) => {
                    self.2.set(None);
                    return Err(StoreError {
                        op,
                        detail: "injected failure".into(),
                    });
                }
                Some(left) => self.2.set(Some(left - 1)),
                None => {}
            }
            self.bound(args);
            out.push(write(&tx, op, sql, args)?);
        }
        tx.commit().map_err(fail(op))?;
        Ok(out)
    }
}
