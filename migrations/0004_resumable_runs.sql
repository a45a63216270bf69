-- Runs that pause at a per-invocation budget and continue on a later invocation.

-- Where a paused run continues (JSON); NULL while an invocation is working on it, so a run left
-- `running` without a cursor is one whose invocation died.
ALTER TABLE sync_runs ADD COLUMN cursor TEXT;
ALTER TABLE sync_runs ADD COLUMN invocations INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sync_runs ADD COLUMN users_total_estimate INTEGER;
ALTER TABLE sync_runs ADD COLUMN d1_queries INTEGER NOT NULL DEFAULT 0;

-- Users a run found gone, held until its listing is complete: only then are they marked removed.
CREATE TABLE sync_pending_removals (
  run_id  INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (run_id, user_id)
) WITHOUT ROWID;
