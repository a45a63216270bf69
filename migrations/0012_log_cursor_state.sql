-- The log follower's own state beside its checkpoint (additive to 0009): the date of the newest
-- event read, so that a checkpoint lost to retention records a gap from that date; and the page
-- size Auth0 accepted, so that a tenant refusing take=100 costs that refusal once, not every tick;
-- and when the log was first read to its end, so that the first read of the retained backlog
-- records its first uses of applications as a baseline, not as thousands of changes.

ALTER TABLE log_cursor ADD COLUMN newest_date TEXT;     -- date of the newest event read; NULL before the first read
ALTER TABLE log_cursor ADD COLUMN take INTEGER;         -- page size in use (100, or 50 after a refusal); NULL: 100
ALTER TABLE log_cursor ADD COLUMN caught_up_at TEXT;    -- when the log was first read to its end; first uses found before are the baseline
