//! [`UsageStore`] over the runner: one page's gap, usage and checkpoint in one `batch` (a
//! transaction).

use super::{Db, opt_text, stmt, sum, text};
use crate::store::StoreError;
use crate::store::sql::{Arg, SqlRunner, Stmt, Written};
use crate::store::usage::{
    INSERT_GAP, LogCursorRow, PRUNE_SEEN, PushedUsage, PushedWritten, READ_LOG_CURSOR,
    RECORD_DELETIONS, RECORD_SEEN, REMOVE_DELETED_USERS, SAVE_LOG_CURSOR, UPSERT_USAGE, UsagePage,
    UsageStore, UsageWritten, deletions_json,
};
use crate::usage::Deletion;

impl<R: SqlRunner> Db<R> {
    /// The usage of items not yet counted and their ids (a pair of statements per chunk of
    /// items), then the pruning of old ids: while the checkpoint is `expected`, or always with
    /// `push`. Returns the indexes of the statements recording ids, whose changes are the
    /// events newly counted.
    fn usage_statements(
        &self,
        statements: &mut Vec<Stmt>,
        chunks: &[String],
        expected: Arg,
        push: bool,
        now: &str,
    ) -> Result<Vec<usize>, StoreError> {
        let unguarded = Arg::Int(i64::from(push));
        let mut recorded = Vec::with_capacity(chunks.len());
        for items in chunks {
            let args = [text(items), expected.clone(), unguarded.clone(), text(now)];
            statements.push(stmt(UPSERT_USAGE, args[..3].to_vec()));
            recorded.push(statements.len());
            statements.push(stmt(RECORD_SEEN, args.to_vec()));
        }
        statements.push(stmt(PRUNE_SEEN, vec![text(now)]));
        Ok(recorded)
    }

    /// The deletions' removals, then their record; `None` without any. Returns the index of
    /// the removal, whose changes are the users removed.
    fn deletion_statements(
        &self,
        statements: &mut Vec<Stmt>,
        deletions: &[Deletion],
        now: &str,
    ) -> Result<Option<usize>, StoreError> {
        if deletions.is_empty() {
            return Ok(None);
        }
        let args = [text(&deletions_json(deletions)), text(now)];
        let at = statements.len();
        statements.push(stmt(REMOVE_DELETED_USERS, args.to_vec()));
        statements.push(stmt(RECORD_DELETIONS, args.to_vec()));
        Ok(Some(at))
    }
}

/// The changes of statement `at`, if any.
fn changes_at(results: &[Written], at: Option<usize>) -> u64 {
    at.and_then(|i| results.get(i)).map_or(0, |r| r.1)
}

impl<R: SqlRunner> UsageStore for Db<R> {
    async fn log_cursor(&self) -> Result<Option<LogCursorRow>, StoreError> {
        let op = "read the log checkpoint";
        let rows: Vec<LogCursorRow> = self.rows(op, READ_LOG_CURSOR, &[]).await?;
        Ok(rows.into_iter().next())
    }

    async fn write_usage_page(&self, page: &UsagePage<'_>) -> Result<UsageWritten, StoreError> {
        let op = "write application usage";
        let expected = opt_text(page.expected);
        let mut statements = Vec::with_capacity(4);
        if let Some(gap) = &page.gap {
            statements.push(stmt(
                INSERT_GAP,
                vec![
                    Arg::Int(gap.run_id),
                    opt_text(gap.from),
                    text(gap.until),
                    text(page.now),
                    expected.clone(),
                ],
            ));
        }
        for chunk in page.events.chunks(crate::changes::EVENTS_PER_STATEMENT) {
            statements.push(Self::events_statement(chunk));
        }
        self.usage_statements(
            &mut statements,
            &page.deltas_chunks(),
            expected.clone(),
            false,
            page.now,
        )?;
        let removal = self.deletion_statements(&mut statements, page.deletions, page.now)?;
        statements.push(stmt(
            SAVE_LOG_CURSOR,
            vec![
                text(page.checkpoint),
                opt_text(page.oldest),
                opt_text(page.newest),
                Arg::Int(i64::from(page.take)),
                text(page.now),
                expected,
                opt_text(page.caught_up.then_some(page.now)),
            ],
        ));
        let results = self.batch(op, &statements).await?;
        // The checkpoint's move is the last statement's change.
        let moved = results.last().map_or(0, |r| r.1);
        Ok(UsageWritten {
            rows: sum(&results),
            applied: moved == 1,
            removed: changes_at(&results, removal),
        })
    }

    async fn write_pushed_usage(
        &self,
        push: &PushedUsage<'_>,
    ) -> Result<PushedWritten, StoreError> {
        let op = "write pushed application usage";
        let mut statements = Vec::with_capacity(4);
        let removal = self.deletion_statements(&mut statements, push.deletions, push.now)?;
        for chunk in push.events.chunks(crate::changes::EVENTS_PER_STATEMENT) {
            statements.push(Self::events_statement(chunk));
        }
        let recorded = self.usage_statements(
            &mut statements,
            &push.items_chunks(),
            Arg::Null,
            true,
            push.now,
        )?;
        let results = self.batch(op, &statements).await?;
        let counted = recorded
            .iter()
            .map(|&i| changes_at(&results, Some(i)))
            .sum();
        Ok(PushedWritten {
            rows: sum(&results),
            counted,
            removed: changes_at(&results, removal),
        })
    }
}
