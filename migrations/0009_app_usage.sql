-- Per-user, per-application usage read from the tenant's log (read:logs), where the log is read
-- from, and the spans whose usage is unknown because the log's retention dropped them.

CREATE TABLE app_usage (
  user_id    TEXT NOT NULL,
  client_id  TEXT NOT NULL,
  last_login TEXT,                                  -- newest successful login (type s); ISO-8601 UTC ms
  logins     INTEGER NOT NULL DEFAULT 0,            -- successful logins since tracking began
  last_seen  TEXT,                                  -- newest event of any "seen" type (logins, silent auth, token refresh, …)
  first_used TEXT,                                  -- oldest event counted: "first use since tracking began"
  PRIMARY KEY (user_id, client_id)
) WITHOUT ROWID;

-- Per-application activity counts and user lists.
CREATE INDEX app_usage_client ON app_usage (client_id, last_seen);

-- One row at most: the log checkpoint and since when usage is tracked.
CREATE TABLE log_cursor (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  checkpoint     TEXT,                              -- log_id of the newest event read; NULL before the first read
  tracking_since TEXT,                              -- date of the oldest event ever read
  updated_at     TEXT
);

-- Spans of the log that were never read (the checkpoint fell out of retention): usage in them
-- is unknown. Shown in the sync history and on the applications pages.
CREATE TABLE usage_gaps (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     INTEGER,
  gap_from   TEXT,                                  -- date of the newest event read before the gap; NULL if unknown
  gap_until  TEXT NOT NULL,                         -- date of the oldest event read after it
  noted_at   TEXT NOT NULL
);
