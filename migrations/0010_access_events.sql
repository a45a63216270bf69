-- Append-only history of access changes a sync or the log observed, for access reviews.

CREATE TABLE access_events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        TEXT NOT NULL,                          -- when observed; ISO-8601 UTC ms
  run_id    INTEGER,                                -- the sync run that observed it; NULL for pushes
  type      TEXT NOT NULL,                          -- user_added, user_removed, … (src/changes)
  user_id   TEXT,
  email     TEXT,                                   -- the user's email when observed
  client_id TEXT,                                   -- for application events
  org_id    TEXT,                                   -- for membership events
  detail    TEXT NOT NULL,                          -- a sentence that reads on its own
  baseline  INTEGER NOT NULL DEFAULT 0,             -- 1: the first sync's baseline, not a change
  dedupe    TEXT NOT NULL UNIQUE                    -- a retried or resumed run's second write is ignored
);

-- /api/changes: newest first, by time, user or application.
CREATE INDEX access_events_at ON access_events (at, id);
CREATE INDEX access_events_user ON access_events (user_id, at);
CREATE INDEX access_events_client ON access_events (client_id, at);
