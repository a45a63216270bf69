//! The in-memory store runs the application SQL in SQLite (one engine for query semantics): the
//! users, organizations and memberships it keeps in memory are copied in before each statement.

use super::MemoryStore;
use crate::store::applications::{Arg, SqlRunner, Stmt};
use crate::store::organizations::UPSERT_ORGS;
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
    async fn sql_rows<T: crate::store::FromRow>(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<Vec<T>, StoreError> {
        self.mirror();
        self.apps.sql_rows(op, sql, args).await
    }

    async fn sql_run(
        &self,
        op: &'static str,
        sql: &str,
        args: &[Arg],
    ) -> Result<RowsWritten, StoreError> {
        self.mirror();
        let n = self.apps.sql_run(op, sql, args).await?;
        self.wrote(n);
        Ok(n)
    }

    async fn sql_batch(&self, op: &'static str, stmts: &[Stmt]) -> Result<RowsWritten, StoreError> {
        self.mirror();
        let n = self.apps.sql_batch(op, stmts).await?;
        self.wrote(n);
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
