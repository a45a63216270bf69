-- Organizations and who belongs to each, with the same soft removal as users.

CREATE TABLE organizations (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT,
  display_name  TEXT,
  fingerprint   TEXT NOT NULL,                 -- hash of name and display_name: skips unchanged rows
  first_seen_at TEXT NOT NULL,
  removed_at    TEXT
);

CREATE TABLE memberships (
  org_id        TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  removed_at    TEXT,
  PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;

-- A user's organizations, and the organization filter on /api/users.
CREATE INDEX memberships_user ON memberships (user_id, org_id);

ALTER TABLE sync_runs ADD COLUMN organizations_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN memberships_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN memberships_added INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN memberships_removed INTEGER NOT NULL DEFAULT 0;
