-- Runs that pause at a per-invocation budget and continue on a later invocation.

-- Where a running run continues (JSON: the cursor and how many invocations died in a row there).
-- Set when the run pauses at its budget, and as a checkpoint while an invocation works (every
-- 5,000 users, and on picking up a paused run); NULL once the run ends. A run left `running` with
-- a cursor is continued from it; one left `running` without a cursor died before its first
-- checkpoint and is closed as failed by the next run.
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
