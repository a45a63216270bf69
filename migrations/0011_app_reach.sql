-- How many current users can reach each application, and how many of those have no login since
-- usage tracking began: computed in one pass over users at the end of a sync run that wrote
-- anything, so that a page view reads one small row per application instead of every user.

CREATE TABLE app_reach (
  client_id       TEXT PRIMARY KEY NOT NULL,
  users_can_reach INTEGER NOT NULL,
  never_used      INTEGER NOT NULL,
  computed_at     TEXT NOT NULL                     -- when these counts last changed; ISO-8601 UTC
) WITHOUT ROWID;
