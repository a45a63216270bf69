-- Daily snapshots for the trend charts: one row per UTC day and series (the tenant, each
-- connection, organization and application), written by a few aggregate statements at the end of
-- each complete sync; the day's last sync overwrites its earlier figures, so a day holds the state
-- at its end. Pages and /api/trends read these rows only, never the users table.

CREATE TABLE trend_days (
  day           TEXT NOT NULL,                   -- YYYY-MM-DD, UTC
  scope         TEXT NOT NULL CHECK (scope IN ('tenant', 'connection', 'organization', 'application')),
  key           TEXT NOT NULL DEFAULT '',        -- connection name, organization id or client_id; '' for the tenant
  seats         INTEGER,                         -- not removed (organizations: current members; applications: users who used it)
  active        INTEGER,                         -- not removed and not blocked
  blocked       INTEGER,
  removed       INTEGER,                         -- marked removed that day
  added         INTEGER,                         -- created that day (applications: first used that day)
  active_30     INTEGER,                         -- last login within 30 days of the snapshot
  active_90     INTEGER,
  never         INTEGER,                         -- never logged in
  login_31_60   INTEGER,                         -- the reclaim curve: last login this many days before the snapshot
  login_61_90   INTEGER,
  login_91_180  INTEGER,
  login_181_365 INTEGER,
  login_over_365 INTEGER,
  logins        INTEGER,                         -- cumulative logins (users.logins_count; app_usage.logins)
  derived       INTEGER NOT NULL DEFAULT 0,      -- 1: backfilled from created_at before tracking began, not observed
  taken_at      TEXT NOT NULL,                   -- ISO-8601 UTC of the sync end that wrote it
  PRIMARY KEY (scope, key, day)
) WITHOUT ROWID;

-- The charts read one scope over a window of days.
CREATE INDEX trend_days_scope_day ON trend_days (scope, day);
