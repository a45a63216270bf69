//! [`UsageStore`] on SQLite with the real migrations and the same SQL constants as D1, for
//! native tests: one engine for the write semantics. It can fail a write on demand.

use std::cell::{Cell, RefCell};

use rusqlite::{Connection, params};

use crate::store::StoreError;
use crate::store::usage::{
    INSERT_GAP, LogCursorRow, PRUNE_SEEN, PushedUsage, PushedWritten, READ_LOG_CURSOR,
    RECORD_DELETIONS, RECORD_SEEN, REMOVE_DELETED_USERS, SAVE_LOG_CURSOR, UPSERT_USAGE, UsagePage,
    UsageStore, UsageWritten, deletions_json,
};
use crate::usage::Deletion;

/// A private SQLite database with every migration applied.
pub struct SqliteUsage {
    /// The connection (tests read the tables through it).
    pub conn: RefCell<Connection>,
    /// Fail the nth page write from now (1 = the next), as a dead invocation would.
    pub fail_write_in: Cell<u32>,
    /// Page writes applied.
    pub writes: Cell<u32>,
}

impl Default for SqliteUsage {
    fn default() -> Self {
        let conn = crate::testing::sqlite::migrated();
        Self {
            conn: RefCell::new(conn),
            fail_write_in: Cell::new(0),
            writes: Cell::new(0),
        }
    }
}

/// A usage row as tests compare it: (user, client, last_login, logins, last_seen, first_used).
pub type UsageRow = (
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
);

/// An access event as tests compare it: (type, user, client, baseline, at, run).
pub type EventRow = (
    String,
    Option<String>,
    Option<String>,
    bool,
    String,
    Option<i64>,
);

impl SqliteUsage {
    /// Every row of `sql`, read by `row`: test support, so a failing query is a test bug.
    fn all<T>(
        &self,
        sql: &str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Vec<T> {
        let conn = self.conn.borrow();
        let mut st = conn.prepare(sql).expect("prepare"); // ok: test support, fixed SQL
        st.query_map([], row)
            .expect("query") // ok: test support, fixed SQL
            .map(|r| r.expect("row")) // ok: test support, typed columns
            .collect()
    }

    /// Every `app_usage` row, ordered.
    pub fn usage(&self) -> Vec<UsageRow> {
        self.all(
            "SELECT user_id, client_id, last_login, logins, last_seen, first_used FROM app_usage ORDER BY user_id, client_id",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
    }

    /// Every access event: (type, user, client, baseline, at, run).
    pub fn access_events(&self) -> Vec<EventRow> {
        self.all(
            "SELECT type, user_id, client_id, baseline, at, run_id FROM access_events ORDER BY id",
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
    }

    /// Every counted log id: (id, seen at), ordered.
    pub fn seen(&self) -> Vec<(String, String)> {
        self.all(
            "SELECT log_id, seen_at FROM log_seen ORDER BY log_id",
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Every gap: (run, from, until).
    pub fn gaps(&self) -> Vec<(Option<i64>, Option<String>, String)> {
        self.all(
            "SELECT run_id, gap_from, gap_until FROM usage_gaps ORDER BY id",
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}

/// The deletions' removal and record, as D1 runs them: (rows written, users removed).
fn delete_users(
    tx: &rusqlite::Transaction<'_>,
    deletions: &[Deletion],
    now: &str,
) -> Result<(usize, usize), StoreError> {
    if deletions.is_empty() {
        return Ok((0, 0));
    }
    let op = "remove deleted users";
    let json = deletions_json(deletions);
    let removed = tx
        .execute(REMOVE_DELETED_USERS, params![json, now])
        .map_err(fail(op))?;
    let recorded = tx
        .execute(RECORD_DELETIONS, params![json, now])
        .map_err(fail(op))?;
    Ok((removed + recorded, removed))
}

fn fail(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError {
        op,
        detail: e.to_string(),
    }
}

impl UsageStore for SqliteUsage {
    async fn log_cursor(&self) -> Result<Option<LogCursorRow>, StoreError> {
        let op = "read the log checkpoint";
        // Read as D1's rows are, through `FromRow`.
        let rows: Vec<LogCursorRow> =
            crate::testing::sqlite::query(&self.conn.borrow(), op, READ_LOG_CURSOR, &[])?;
        Ok(rows.into_iter().next())
    }

    async fn write_usage_page(&self, page: &UsagePage<'_>) -> Result<UsageWritten, StoreError> {
        let op = "write application usage";
        let n = self.fail_write_in.get();
        if n > 0 {
            self.fail_write_in.set(n - 1);
            if n == 1 {
                return Err(StoreError {
                    op,
                    detail: "injected failure".into(),
                });
            }
        }
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(fail(op))?;
        let mut rows = 0;
        if let Some(gap) = &page.gap {
            rows += tx
                .execute(
                    INSERT_GAP,
                    params![gap.run_id, gap.from, gap.until, page.now, page.expected],
                )
                .map_err(fail(op))?;
        }
        for chunk in page.events.chunks(crate::changes::EVENTS_PER_STATEMENT) {
            rows += tx
                .execute(
                    crate::changes::INSERT_EVENTS,
                    params![crate::changes::events_json(chunk)],
                )
                .map_err(fail(op))?;
        }
        for items in page.deltas_chunks() {
            rows += tx
                .execute(UPSERT_USAGE, params![items, page.expected, false])
                .map_err(fail(op))?;
            rows += tx
                .execute(RECORD_SEEN, params![items, page.expected, false, page.now])
                .map_err(fail(op))?;
        }
        rows += tx
            .execute(PRUNE_SEEN, params![page.now])
            .map_err(fail(op))?;
        let (deleted_rows, removed) = delete_users(&tx, page.deletions, page.now)?;
        rows += deleted_rows;
        let moved = tx
            .execute(
                SAVE_LOG_CURSOR,
                params![
                    page.checkpoint,
                    page.oldest,
                    page.newest,
                    page.take,
                    page.now,
                    page.expected,
                    page.caught_up.then_some(page.now)
                ],
            )
            .map_err(fail(op))?;
        tx.commit().map_err(fail(op))?;
        self.writes.set(self.writes.get() + 1);
        Ok(UsageWritten {
            rows: (rows + moved) as u64,
            applied: moved == 1,
            removed: removed as u64,
        })
    }

    async fn write_pushed_usage(
        &self,
        push: &PushedUsage<'_>,
    ) -> Result<PushedWritten, StoreError> {
        let op = "write pushed application usage";
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(fail(op))?;
        let (mut rows, removed) = delete_users(&tx, push.deletions, push.now)?;
        for chunk in push.events.chunks(crate::changes::EVENTS_PER_STATEMENT) {
            rows += tx
                .execute(
                    crate::changes::INSERT_EVENTS,
                    params![crate::changes::events_json(chunk)],
                )
                .map_err(fail(op))?;
        }
        let none: Option<&str> = None;
        let mut counted = 0;
        for items in push.items_chunks() {
            rows += tx
                .execute(UPSERT_USAGE, params![items, none, true])
                .map_err(fail(op))?;
            counted += tx
                .execute(RECORD_SEEN, params![items, none, true, push.now])
                .map_err(fail(op))?;
        }
        rows += tx
            .execute(PRUNE_SEEN, params![push.now])
            .map_err(fail(op))?;
        tx.commit().map_err(fail(op))?;
        Ok(PushedWritten {
            rows: (rows + counted) as u64,
            counted: counted as u64,
            removed: removed as u64,
        })
    }
}
