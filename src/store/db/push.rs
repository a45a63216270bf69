//! [`PushStore`] over the runner: an event's change and its id's record in one batch.

use super::{Db, stmt};
use crate::store::StoreError;
use crate::store::push::{
    Applied, EventWrite, PUSH_PRIOR, Prior, PushStore, applied, prior_args, push_statements,
};
use crate::store::sql::{SqlRunner, Stmt};
use crate::time::EpochMs;

impl<R: SqlRunner> PushStore for Db<R> {
    async fn apply_push(&self, write: &EventWrite, now: EpochMs) -> Result<Applied, StoreError> {
        let op = "apply a pushed event";
        let statements: Vec<Stmt> = push_statements(write, now)
            .into_iter()
            .map(|st| stmt(st.sql, st.args))
            .collect();
        // One batch is one transaction: the change and the id's record commit together.
        let results = self.batch(op, &statements).await?;
        let mut counts = [(0, 0); 3];
        for (slot, result) in counts.iter_mut().zip(&results) {
            *slot = *result;
        }
        Ok(applied(&counts))
    }

    async fn prior(&self, write: &EventWrite) -> Result<Prior, StoreError> {
        let op = "read what a pushed event changes";
        let rows: Vec<Prior> = self.rows(op, PUSH_PRIOR, &prior_args(write)).await?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }
}
