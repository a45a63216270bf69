-- Users of the Auth0 tenant, the sync history, and the lock that keeps two runs from writing.

CREATE TABLE users (
  user_id        TEXT PRIMARY KEY NOT NULL,
  email          TEXT,
  name           TEXT,
  connection     TEXT,                          -- identities[0].connection
  connections    TEXT NOT NULL DEFAULT '[]',    -- JSON array of every identity's connection
  last_login     TEXT,                          -- ISO-8601 UTC; NULL before the first login
  logins_count   INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,                 -- ISO-8601 UTC; sorts as time
  updated_at     TEXT,
  blocked        INTEGER NOT NULL DEFAULT 0,    -- 0/1
  email_verified INTEGER,                       -- 0/1/NULL
  fingerprint    TEXT NOT NULL,                 -- hash of the fields above: skips unchanged rows
  first_seen_at  TEXT NOT NULL,
  removed_at     TEXT                           -- set when a complete listing lacks the user
);

-- The sync compares each created_at block with what is stored.
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE sync_runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial')),
  trigger       TEXT NOT NULL DEFAULT 'cron',
  users_seen    INTEGER NOT NULL DEFAULT 0,
  users_added   INTEGER NOT NULL DEFAULT 0,
  users_updated INTEGER NOT NULL DEFAULT 0,
  users_removed INTEGER NOT NULL DEFAULT 0,
  api_requests  INTEGER NOT NULL DEFAULT 0,
  rate_limited  INTEGER NOT NULL DEFAULT 0,
  rows_written  INTEGER NOT NULL DEFAULT 0,
  error         TEXT
);

-- One row at most: the run that may write, until its lease expires.
CREATE TABLE sync_lock (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL                   -- epoch ms
);
