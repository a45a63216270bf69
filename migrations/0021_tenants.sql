-- Auth0 tenants added on the Settings page, and the Settings audit log (issue 21). Additive: the
-- tenant in Worker secrets has no row here, and no existing table changes.
--
-- Secrets are stored sealed (AES-256-GCM under SETTINGS_KEY, the tenant id as associated data,
-- as text with a version prefix); only the last four characters are kept in the clear, for the
-- page. last_test is the Test connection checklist as the API returns it (JSON).
CREATE TABLE tenants (
  id                      TEXT PRIMARY KEY
                          CHECK (length(id) BETWEEN 1 AND 64 AND id NOT GLOB '*[^a-z0-9-]*'
                                 AND id <> 'default'),
  label                   TEXT NOT NULL CHECK (length(label) <= 200),
  domain                  TEXT NOT NULL CHECK (domain <> ''),
  client_id               TEXT NOT NULL CHECK (client_id <> ''),
  secret_sealed           TEXT NOT NULL,
  secret_last4            TEXT NOT NULL CHECK (length(secret_last4) <= 4),
  environment             TEXT NOT NULL
                          CHECK (environment IN ('production', 'staging', 'development', 'other')),
  enabled                 INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  disabled_reason         TEXT,
  mau_quota               INTEGER CHECK (mau_quota IS NULL OR mau_quota >= 0),
  log_stream_token_sealed TEXT,
  events_token_sealed     TEXT,
  last_test               TEXT,
  last_tested_at          TEXT,
  created_at              TEXT NOT NULL,
  updated_at              TEXT NOT NULL
);

-- Who changed what, newest first on the page. No foreign key: a removed tenant's history stays.
-- changed is a JSON array of field names, never values.
CREATE TABLE settings_audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms   INTEGER NOT NULL,
  who     TEXT NOT NULL,
  action  TEXT NOT NULL
          CHECK (action IN ('add', 'edit', 'rotate_secret', 'test', 'disable', 'enable', 'remove')),
  tenant  TEXT NOT NULL,
  changed TEXT NOT NULL DEFAULT '[]'
);

CREATE INDEX settings_audit_at ON settings_audit (at_ms, id);
