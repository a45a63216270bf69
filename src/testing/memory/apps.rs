//! The in-memory store runs the application SQL in SQLite (one engine for query semantics): the
//! users, organizations and memberships it keeps in memory are copied in before each statement.

use super::MemoryStore;
use crate::store::organizations::UPSERT_ORGS;
use crate::store::sql::{Arg, Meter, SqlRunner, Stmt, Written};
use crate::store::users::UPSERT_USERS;
use crate::store::{RowsWritten, StoreError};

impl MemoryStore {
    /// Copies users, organizations and memberships into the SQLite tables.
    fn mirror(&self) {
        let users = self.users.borrow();
        // Unchanged since the last copy: nothing to do (every write counts rows).
        let stamp = [
            self.rows_written.get(),
            users.len() as u64,
            self.memberships.borrow().len() as u64,
            self.orgs.borrow().len() as u64,
        ];
        if self.apps.1.replace(Some(stamp)) == Some(stamp) {
            return;
        }
        let conn = self.apps.0.borrow();
        let rows: Vec<_> = users.values().map(|u| &u.row).collect();
        let orgs = self.orgs.borrow();
        let org_rows: Vec<_> = orgs.values().map(|(r, _)| r).collect();
        let sql = |s: &str, p: &[&dyn rusqlite::ToSql]| {
            conn.execute(s, p).expect("mirror statement"); // ok: test support, fixed SQL
        };
        sql("DELETE FROM users", &[]);
        sql("DELETE FROM organizations", &[]);
        sql("DELETE FROM memberships", &[]);
        let json = serde_json::to_string(&rows).expect("rows serialise"); // ok: test support, plain rows
        sql(UPSERT_USERS, &[&json, &"mirror"]);
        for u in users.values() {
            sql(
                "UPDATE users SET first_seen_at = ?2, removed_at = ?3 WHERE user_id = ?1",
                &[&u.row.user_id, &u.first_seen_at, &u.removed_at],
            );
        }
        let json = serde_json::to_string(&org_rows).expect("rows serialise"); // ok: test support, plain rows
        sql(UPSERT_ORGS, &[&json, &"mirror"]);
        for (id, (_, removed)) in orgs.iter() {
            sql(
                "UPDATE organizations SET removed_at = ?2 WHERE id = ?1",
                &[id, removed],
            );
        }
        for ((org, user), removed) in self.memberships.borrow().iter() {
            sql(
                "INSERT INTO memberships (org_id, user_id, first_seen_at, removed_at) \
                 VALUES (?1, ?2, 'mirror', ?3)",
                &[org, user, removed],
            );
        }
    }
}

impl SqlRunner for MemoryStore {
    fn meter(&self) -> &Meter {
        self.apps.meter()
    }

    async fn raw_rows(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<serde_json::Value, StoreError> {
        self.mirror();
        self.apps.raw_rows(op, sql, args).await
    }

    async fn raw_write(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Written, StoreError> {
        self.mirror();
        let n = self.apps.raw_write(op, sql, args).await?;
        self.wrote(n.0);
        Ok(n)
    }

    async fn raw_batch(
        &self,
        op: &'static str,
        stmts: &[Stmt],
    ) -> Result<Vec<Written>, StoreError> {
        self.mirror();
        let n = self.apps.raw_batch(op, stmts).await?;
        self.wrote(n.iter().map(|w| w.0).sum());
        Ok(n)
    }
}

impl MemoryStore {
    /// Counts the rows an application write wrote.
    fn wrote(&self, n: RowsWritten) {
        self.rows_written.set(self.rows_written.get() + n);
        if let Some([_, u, m, o]) = self.apps.1.get() {
            // This write did not touch the copied tables.
            self.apps.1.set(Some([self.rows_written.get(), u, m, o]));
        }
    }
}
