-- Incremental syncs and pushes (issue 11): what kind each sync history row is, and which listing
-- the next incremental run may start from.
--
-- kind: 'full' lists every user and may mark the absent removed; 'incremental' lists only users
-- updated since `updated_since` and never removes anyone from absence; 'push' summarises the
-- Event Streams and Log Streams deliveries of one UTC hour (no Auth0 requests).
-- listing_proven: 1 once the run's user listing ended with every range proven complete. The next
-- incremental run lists from the newest such run's start (minus the overlap), and a full listing
-- is due when no proven full listing started within FULL_SYNC_INTERVAL_HOURS. Rows from before
-- this migration read 0, so the first run after the deploy is a full listing.
ALTER TABLE sync_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sync_runs ADD COLUMN updated_since TEXT;
ALTER TABLE sync_runs ADD COLUMN listing_proven INTEGER NOT NULL DEFAULT 0;

-- The newest proven listings, and the push row of the current hour.
CREATE INDEX sync_runs_kind ON sync_runs (kind, started_at);
