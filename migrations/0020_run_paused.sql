-- A sync run may end `paused` (issue 19): D1 refused a query because the account reached a
-- Free-plan daily limit (100,000 rows written, 5,000,000 rows read). The run keeps its cursor
-- and its held removals, and the first invocation after the next 00:00 UTC continues it; its
-- finished_at is when it paused.
--
-- SQLite cannot change a CHECK constraint in place, so sync_runs is rebuilt with every column
-- of 0001, 0002, 0004 and 0018 and every row (ids kept: held removals and members, and the
-- history's links, name runs by id). AUTOINCREMENT continues from the highest copied id.
CREATE TABLE sync_runs_new (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at           TEXT NOT NULL,
  finished_at          TEXT,
  status               TEXT NOT NULL
                       CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'paused')),
  trigger              TEXT NOT NULL DEFAULT 'cron',
  users_seen           INTEGER NOT NULL DEFAULT 0,
  users_added          INTEGER NOT NULL DEFAULT 0,
  users_updated        INTEGER NOT NULL DEFAULT 0,
  users_removed        INTEGER NOT NULL DEFAULT 0,
  api_requests         INTEGER NOT NULL DEFAULT 0,
  rate_limited         INTEGER NOT NULL DEFAULT 0,
  rows_written         INTEGER NOT NULL DEFAULT 0,
  error                TEXT,
  organizations_seen   INTEGER NOT NULL DEFAULT 0,
  memberships_seen     INTEGER NOT NULL DEFAULT 0,
  memberships_added    INTEGER NOT NULL DEFAULT 0,
  memberships_removed  INTEGER NOT NULL DEFAULT 0,
  cursor               TEXT,
  invocations          INTEGER NOT NULL DEFAULT 1,
  users_total_estimate INTEGER,
  d1_queries           INTEGER NOT NULL DEFAULT 0,
  kind                 TEXT NOT NULL DEFAULT 'full',
  updated_since        TEXT,
  listing_proven       INTEGER NOT NULL DEFAULT 0
);

INSERT INTO sync_runs_new (id, started_at, finished_at, status, trigger, users_seen, users_added,
  users_updated, users_removed, api_requests, rate_limited, rows_written, error,
  organizations_seen, memberships_seen, memberships_added, memberships_removed, cursor,
  invocations, users_total_estimate, d1_queries, kind, updated_since, listing_proven)
SELECT id, started_at, finished_at, status, trigger, users_seen, users_added,
  users_updated, users_removed, api_requests, rate_limited, rows_written, error,
  organizations_seen, memberships_seen, memberships_added, memberships_removed, cursor,
  invocations, users_total_estimate, d1_queries, kind, updated_since, listing_proven
FROM sync_runs;

DROP TABLE sync_runs;
ALTER TABLE sync_runs_new RENAME TO sync_runs;

-- As 0018: the newest proven listings, and the push row of the current hour.
CREATE INDEX sync_runs_kind ON sync_runs (kind, started_at);
