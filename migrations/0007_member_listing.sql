-- The members a run has read of an organization whose listing spans invocations, held here
-- (not in the run's cursor, whose one JSON value D1 caps at 2 MB) until the listing is complete:
-- only then are the stored members it did not see marked removed, and the rows forgotten.
-- Rows of runs no longer `running` are cleared when the next run starts, like pending removals.
CREATE TABLE sync_member_seen (
  run_id  INTEGER NOT NULL,
  org_id  TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (run_id, org_id, user_id)
) WITHOUT ROWID;
