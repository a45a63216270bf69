//! The session epoch: one number in D1 that every viewer session is signed under.
//!
//! "Sign out everywhere" adds one to it, which ends every session issued before (see
//! `auth::session`). Reading it costs one D1 query, only for requests that carry a session cookie.

use super::StoreError;
use super::row::FromRow;
use crate::fields::{FieldError, Fields};

/// The current epoch; no row reads as 0 (a database migrated before the row existed).
pub const READ_EPOCH: &str = "SELECT epoch FROM session_epoch WHERE id = 1";

/// Adds one to the epoch (creating the row if it is missing) and returns the new value.
pub const BUMP_EPOCH: &str = "INSERT INTO session_epoch (id, epoch) VALUES (1, 1) \
     ON CONFLICT (id) DO UPDATE SET epoch = epoch + 1 RETURNING epoch";

/// One row of [`READ_EPOCH`] or [`BUMP_EPOCH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRow {
    /// The epoch.
    pub epoch: u64,
}

impl FromRow for EpochRow {
    fn from_row(row: Fields<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            epoch: row.u64("epoch")?,
        })
    }
}

/// What viewer sessions need from storage.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait SessionStore {
    /// The epoch sessions are currently signed under.
    ///
    /// # Errors
    /// Any database failure.
    async fn session_epoch(&self) -> Result<u64, StoreError>;
    /// Ends every session: adds one to the epoch and returns the new value.
    ///
    /// # Errors
    /// Any database failure.
    async fn bump_session_epoch(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db() -> Connection {
        crate::testing::sqlite::migrated()
    }

    fn read(conn: &Connection) -> Option<u64> {
        conn.query_row(READ_EPOCH, [], |r| r.get(0)).ok()
    }

    fn bump(conn: &Connection) -> u64 {
        conn.query_row(BUMP_EPOCH, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_epoch_starts_at_zero_and_each_bump_adds_one() {
        let conn = db();
        assert_eq!(read(&conn), Some(0));
        assert_eq!(bump(&conn), 1);
        assert_eq!(bump(&conn), 2);
        assert_eq!(read(&conn), Some(2));
        let rows: u64 = conn
            .query_row("SELECT COUNT(*) FROM session_epoch", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn a_missing_row_reads_as_nothing_and_a_bump_recreates_it() {
        let conn = db();
        conn.execute("DELETE FROM session_epoch", []).unwrap();
        assert_eq!(read(&conn), None);
        assert_eq!(bump(&conn), 1);
        assert_eq!(read(&conn), Some(1));
        // Only the one row may exist.
        assert!(
            conn.execute("INSERT INTO session_epoch (id, epoch) VALUES (2, 0)", [])
                .is_err()
        );
    }
}
