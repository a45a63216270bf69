-- Search by email or name, case-insensitively in every script: SQLite's lower() folds only
-- ASCII, so the sync stores the text already lower-cased by Rust's Unicode rules. Rows stored
-- before this get an ASCII-folded value now, and the exact one on the next sync (their
-- fingerprint now covers this column, so each is rewritten once).
ALTER TABLE users ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE users SET search_text = lower(COALESCE(email, '') || char(10) || COALESCE(name, ''));
