-- Fewer rows written (issue 19 §2): D1 Free allows 100,000 rows written a day, and D1 counts
-- a written row for the table row and one more for each index entry the write inserts or moves
-- (measured in workerd: an INSERT counts 1 + one per index, a rowid table's text PRIMARY KEY
-- included, being an index of its own; an UPDATE counts 1 + one per index on a column it sets;
-- a DELETE counts 1). A first sync wrote 6 rows per user (row, primary-key index, 4 indexes)
-- and following the log about 3.6 rows per event. After this: 2 per user (and 2 per
-- membership, unchanged); 1 per counted event and 1 per user-application pair a write touches
-- (src/sync/logs.rs now folds up to 100 pages into one write).
--
-- Each table below is rebuilt (CREATE new, INSERT … SELECT every row, DROP old, RENAME), which
-- D1 runs inside the migration's transaction. No table here has or is named by a foreign key,
-- trigger or view, so the DROP and RENAME leave nothing dangling (and D1's foreign-key checks,
-- on by default, have nothing to check).

-- users: WITHOUT ROWID, keyed by user_id (no separate primary-key index), and one secondary
-- index, (created_at, user_id): the sync reads each listing block's stored users by created_at
-- range (store::users::USERS_IN_*), and the viewer's created_at sort walks it.
-- Dropped, with what serves their queries now (store::users::list_users_sql):
-- * users_connection (connection, user_id): the connection filter walks the primary key in
--   user_id order and stops at the page's limit; CONNECTION_COUNTS and the trend snapshot
--   group every current user anyway (one scan either way).
-- * users_email, users_last_login (the COALESCE sort keys): the email and last-login sorts
--   read the current users once and keep the page's rows in SQLite's top-N sorter (LIMIT ≤ 100
--   rows held), so a page costs one read of the table instead of one index range. Rows read
--   are 50 times more plentiful than rows written on D1 Free (5 M against 100,000 a day), and
--   these indexes cost a row on every insert and on every login a sync writes. The inactive /
--   never-logged-in / last-login filters already read every user they did not return.
CREATE TABLE users_v19 (
  user_id        TEXT PRIMARY KEY NOT NULL,
  email          TEXT,
  name           TEXT,
  connection     TEXT,
  connections    TEXT NOT NULL DEFAULT '[]',
  last_login     TEXT,
  logins_count   INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  updated_at     TEXT,
  blocked        INTEGER NOT NULL DEFAULT 0,
  email_verified INTEGER,
  fingerprint    TEXT NOT NULL,
  first_seen_at  TEXT NOT NULL,
  removed_at     TEXT,
  search_text    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

INSERT INTO users_v19 (user_id, email, name, connection, connections, last_login, logins_count,
  created_at, updated_at, blocked, email_verified, fingerprint, first_seen_at, removed_at,
  search_text)
SELECT user_id, email, name, connection, connections, last_login, logins_count,
  created_at, updated_at, blocked, email_verified, fingerprint, first_seen_at, removed_at,
  search_text
FROM users;

DROP TABLE users;
ALTER TABLE users_v19 RENAME TO users;

CREATE INDEX users_created_user ON users (created_at, user_id);

-- app_usage: keyed (client_id, user_id) instead of (user_id, client_id), and app_usage_client
-- (client_id, last_seen) dropped: each per-application read (LIST_APPS' counts, the
-- application's users, the reach's never-used count, the trend snapshot) names the application,
-- and every per-pair lookup names both. The activity counts now read the application's pairs
-- (its key range) instead of an index range; the index cost a second row on every pair write,
-- since every write moves last_seen.
CREATE TABLE app_usage_v19 (                   -- the columns in their old order
  user_id    TEXT NOT NULL,
  client_id  TEXT NOT NULL,
  last_login TEXT,
  logins     INTEGER NOT NULL DEFAULT 0,
  last_seen  TEXT,
  first_used TEXT,
  PRIMARY KEY (client_id, user_id)
) WITHOUT ROWID;

INSERT INTO app_usage_v19 (user_id, client_id, last_login, logins, last_seen, first_used)
SELECT user_id, client_id, last_login, logins, last_seen, first_used FROM app_usage;

DROP TABLE app_usage;
ALTER TABLE app_usage_v19 RENAME TO app_usage;

-- log_seen: keyed by the event's own date and its id, and log_seen_at (seen_at) dropped. An
-- event's date is the same whichever path brings it (poll or push), so the dedupe lookup is a
-- key lookup; and the log keeps an event 30 days from its date, so pruning reads the key range
-- of events dated over 31 days ago (and forgets those also recorded over 31 days ago). Ids
-- counted before this migration have no stored event date: they keep at = '~' (after every
-- date) and are looked up and pruned by that key and seen_at (store::usage::UPSERT_USAGE,
-- RECORD_SEEN, PRUNE_SEEN); none remains 31 days after the deploy.
CREATE TABLE log_seen_v19 (                    -- the old columns in their order, then `at`
  log_id  TEXT NOT NULL,
  seen_at TEXT NOT NULL,                        -- ISO-8601 UTC ms, when first counted
  at      TEXT NOT NULL,                        -- the event's date, ISO-8601 UTC ms; '~' before 0019
  PRIMARY KEY (at, log_id)
) WITHOUT ROWID;

INSERT INTO log_seen_v19 (log_id, seen_at, at) SELECT log_id, seen_at, '~' FROM log_seen;

DROP TABLE log_seen;
ALTER TABLE log_seen_v19 RENAME TO log_seen;
