//! [`TrendStore`] for the in-memory store: its tables are copied into SQLite (the engine under
//! D1) with the real migrations, and the very snapshot and read SQL run there, so native tests
//! check one set of semantics rather than a Rust re-implementation.

use std::cell::{RefCell, RefMut};

use rusqlite::{Connection, params_from_iter};

use super::MemoryStore;
use crate::store::StoreError;
use crate::store::applications::Arg;
use crate::store::trends::{SNAPSHOT, Scope, SnapshotAt, TREND_ROWS, TrendRow, TrendStore};

/// The snapshot table (and the tables it reads) of a [`MemoryStore`], in SQLite.
#[derive(Default)]
pub struct TrendDb(RefCell<Option<Connection>>);

impl TrendDb {
    /// The database, migrated on first use. Tests insert `app_usage` or `applications` rows here.
    pub fn conn(&self) -> RefMut<'_, Connection> {
        RefMut::map(self.0.borrow_mut(), |c| {
            c.get_or_insert_with(crate::testing::sqlite::migrated)
        })
    }
}

fn failed(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError {
        op,
        detail: e.to_string(),
    }
}

impl MemoryStore {
    /// Copies users, organizations and memberships into the trend database.
    fn mirror_trend_tables(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "DELETE FROM users; DELETE FROM organizations; DELETE FROM memberships;",
        )?;
        for u in self.users.borrow().values() {
            let r = &u.row;
            conn.execute(
                "INSERT INTO users (user_id, email, name, connection, connections, last_login, \
                 logins_count, created_at, updated_at, blocked, email_verified, fingerprint, \
                 first_seen_at, removed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
                 ?12, ?13, ?14)",
                rusqlite::params![
                    r.user_id,
                    r.email,
                    r.name,
                    r.connection,
                    r.connections,
                    r.last_login,
                    r.logins_count,
                    r.created_at,
                    r.updated_at,
                    r.blocked,
                    r.email_verified,
                    r.fingerprint,
                    u.first_seen_at,
                    u.removed_at
                ],
            )?;
        }
        for (row, removed) in self.orgs.borrow().values() {
            conn.execute(
                "INSERT INTO organizations (id, name, display_name, fingerprint, first_seen_at, \
                 removed_at) VALUES (?1, ?2, ?3, ?4, '', ?5)",
                rusqlite::params![row.id, row.name, row.display_name, row.fingerprint, removed],
            )?;
        }
        for ((org, user), removed) in self.memberships.borrow().iter() {
            conn.execute(
                "INSERT INTO memberships (org_id, user_id, first_seen_at, removed_at) \
                 VALUES (?1, ?2, '', ?3)",
                rusqlite::params![org, user, removed],
            )?;
        }
        Ok(())
    }
}

impl TrendStore for MemoryStore {
    async fn take_snapshot(&self, at: &SnapshotAt) -> Result<u64, StoreError> {
        let op = "take the trend snapshot";
        let mut conn = self.trends.conn();
        // One transaction, as D1's batch is (and fast: one commit for the copied rows).
        let tx = conn.transaction().map_err(failed(op))?;
        self.mirror_trend_tables(&tx).map_err(failed(op))?;
        let mut written = 0;
        for sql in SNAPSHOT {
            written += tx
                .execute(sql, params_from_iter(at.args()))
                .map_err(failed(op))? as u64;
        }
        tx.commit().map_err(failed(op))?;
        Ok(written)
    }

    async fn trend_rows(&self, scope: Scope, from_day: &str) -> Result<Vec<TrendRow>, StoreError> {
        let op = "read the trend snapshots";
        // Read as D1's rows are, through `FromRow`.
        let args = [Arg::text(scope.as_str()), Arg::text(from_day)];
        crate::testing::sqlite::query(&self.trends.conn(), op, TREND_ROWS, &args)
    }
}
