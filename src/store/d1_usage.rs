//! [`UsageStore`] on D1: one page's gap, usage and checkpoint in one `batch` (a transaction).

use worker::wasm_bindgen::JsValue;

use super::{D1Store, opt_text, text};
use crate::store::StoreError;
use crate::store::usage::{
    INSERT_GAP, LogCursorRow, PRUNE_SEEN, PushedUsage, PushedWritten, READ_LOG_CURSOR,
    RECORD_DELETIONS, RECORD_SEEN, REMOVE_DELETED_USERS, SAVE_LOG_CURSOR, UPSERT_USAGE, UsagePage,
    UsageStore, UsageWritten, deletions_json,
};
use crate::usage::Deletion;

impl D1Store {
    /// The usage of items not yet counted and their ids (a pair of statements per chunk of
    /// items), then the pruning of old ids: while the checkpoint is `expected`, or always with
    /// `push`. Returns the indexes of the statements recording ids, whose changes are the
    /// events newly counted.
    fn usage_statements(
        &self,
        statements: &mut Vec<worker::D1PreparedStatement>,
        chunks: &[String],
        expected: JsValue,
        push: bool,
        now: &str,
    ) -> Result<Vec<usize>, StoreError> {
        let op = "write application usage";
        let unguarded = JsValue::from_f64(f64::from(u8::from(push)));
        let mut recorded = Vec::with_capacity(chunks.len());
        for items in chunks {
            let args = [text(items), expected.clone(), unguarded.clone(), text(now)];
            statements.push(self.stmt(op, UPSERT_USAGE, &args[..3])?);
            recorded.push(statements.len());
            statements.push(self.stmt(op, RECORD_SEEN, &args)?);
        }
        statements.push(self.stmt(op, PRUNE_SEEN, &[text(now)])?);
        Ok(recorded)
    }

    /// The deletions' removals, then their record; `None` without any. Returns the index of
    /// the removal, whose changes are the users removed.
    fn deletion_statements(
        &self,
        statements: &mut Vec<worker::D1PreparedStatement>,
        deletions: &[Deletion],
        now: &str,
    ) -> Result<Option<usize>, StoreError> {
        if deletions.is_empty() {
            return Ok(None);
        }
        let op = "remove deleted users";
        let args = [text(&deletions_json(deletions)), text(now)];
        let at = statements.len();
        statements.push(self.stmt(op, REMOVE_DELETED_USERS, &args)?);
        statements.push(self.stmt(op, RECORD_DELETIONS, &args)?);
        Ok(Some(at))
    }
}

/// The changes of statement `at`, if any.
fn changes_at(results: &[(u64, u64)], at: Option<usize>) -> u64 {
    at.and_then(|i| results.get(i)).map_or(0, |r| r.1)
}

impl UsageStore for D1Store {
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
            statements.push(self.stmt(
                op,
                INSERT_GAP,
                &[
                    JsValue::from_f64(gap.run_id as f64),
                    opt_text(gap.from),
                    text(gap.until),
                    text(page.now),
                    expected.clone(),
                ],
            )?);
        }
        for chunk in page.events.chunks(crate::changes::EVENTS_PER_STATEMENT) {
            statements.push(self.events_statement(chunk)?);
        }
        self.usage_statements(
            &mut statements,
            &page.deltas_chunks(),
            expected.clone(),
            false,
            page.now,
        )?;
        let removal = self.deletion_statements(&mut statements, page.deletions, page.now)?;
        statements.push(self.stmt(
            op,
            SAVE_LOG_CURSOR,
            &[
                text(page.checkpoint),
                opt_text(page.oldest),
                opt_text(page.newest),
                JsValue::from_f64(f64::from(page.take)),
                text(page.now),
                expected,
                opt_text(page.caught_up.then_some(page.now)),
            ],
        )?);
        let results = self.batch(op, statements).await?;
        // The checkpoint's move is the last statement's change.
        let moved = results.last().map_or(0, |r| r.1);
        Ok(UsageWritten {
            rows: results.iter().map(|r| r.0).sum(),
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
            statements.push(self.events_statement(chunk)?);
        }
        let recorded = self.usage_statements(
            &mut statements,
            &push.items_chunks(),
            JsValue::NULL,
            true,
            push.now,
        )?;
        let results = self.batch(op, statements).await?;
        let counted = recorded
            .iter()
            .map(|&i| changes_at(&results, Some(i)))
            .sum();
        Ok(PushedWritten {
            rows: results.iter().map(|r| r.0).sum(),
            counted,
            removed: changes_at(&results, removal),
        })
    }
}
