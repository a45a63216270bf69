-- Log events already counted in app_usage, by log_id: polling (src/sync/logs.rs) and Log Stream
-- pushes (POST /api/auth0/log-stream) count an event only when its id is not here, and record it
-- in the same D1 batch, so a delivery retried, delivered twice, or both pushed and polled counts
-- once. Rows older than the log's retention (30 days at most) can never be read again and are
-- pruned as new events are recorded.
CREATE TABLE log_seen (
  log_id  TEXT PRIMARY KEY NOT NULL,
  seen_at TEXT NOT NULL                         -- ISO-8601 UTC ms, when first counted
) WITHOUT ROWID;

CREATE INDEX log_seen_at ON log_seen (seen_at);
