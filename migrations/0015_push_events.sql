-- Auth0 Event Streams deliveries the worker has applied (POST /api/auth0/events), by event id.
-- Auth0 delivers at least once and in no promised order: a second delivery of an id changes
-- nothing, and the rows of user deletions and membership changes let a late, older event be
-- recognised as older (src/store/push.rs). Rows older than the retention are pruned as pushes
-- arrive; the full listing reconciles whatever a push missed.
CREATE TABLE push_events (
  id          TEXT PRIMARY KEY NOT NULL,        -- the CloudEvents id, e.g. evt_…
  received_at TEXT NOT NULL,                    -- ISO-8601 UTC ms; pruned by age
  kind        TEXT NOT NULL,                    -- user.created, user.deleted, … or ignored
  at          TEXT,                             -- the instant ordering it: updated_at, deleted_at or time
  user_id     TEXT,
  org_id      TEXT
) WITHOUT ROWID;

-- Pruning by age, and the tombstone and membership-order checks.
CREATE INDEX push_events_received ON push_events (received_at);
CREATE INDEX push_events_user ON push_events (user_id, kind, at);
