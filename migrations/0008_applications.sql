-- The tenant's applications (Auth0 clients), its connections, and which applications each
-- connection is enabled for: what "user U can reach application X" is derived from.
-- Filled by the sync when read:clients and read:connections are granted; empty otherwise.

CREATE TABLE applications (
  client_id          TEXT PRIMARY KEY NOT NULL,
  name               TEXT,
  app_type           TEXT,                          -- spa, native, regular_web, non_interactive (M2M), …; NULL when unset
  is_first_party     INTEGER NOT NULL DEFAULT 1,    -- 0/1
  organization_usage TEXT,                          -- deny | allow | require; NULL when unset (deny)
  fingerprint        TEXT NOT NULL,                 -- hash of the fields above: skips unchanged rows
  first_seen_at      TEXT NOT NULL,
  removed_at         TEXT                           -- set when a complete listing lacks it
);

CREATE TABLE connections (
  connection_id TEXT PRIMARY KEY NOT NULL,          -- con_…
  name          TEXT NOT NULL,                      -- what users.connections holds
  strategy      TEXT,
  fingerprint   TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  removed_at    TEXT
);

-- Users name their connections by name: reach joins on it.
CREATE INDEX connections_name ON connections (name);

-- Which applications each connection is enabled for (GET /api/v2/connections/{id}/clients).
CREATE TABLE connection_clients (
  connection_id TEXT NOT NULL,
  client_id     TEXT NOT NULL,
  PRIMARY KEY (connection_id, client_id)
) WITHOUT ROWID;

CREATE INDEX connection_clients_client ON connection_clients (client_id, connection_id);

-- Which connections each organization has enabled: for applications that require an
-- organization (GET /api/v2/organizations/{id}/enabled_connections).
CREATE TABLE organization_connections (
  org_id        TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  PRIMARY KEY (org_id, connection_id)
) WITHOUT ROWID;

-- Which optional scopes (read:clients, read:connections, read:logs, …) the sync's token was
-- granted, as of the newest run: the viewer says "not enabled: grant …" for each one missing.
CREATE TABLE optional_scopes (
  scope      TEXT PRIMARY KEY NOT NULL,
  granted    INTEGER NOT NULL,                      -- 0/1
  checked_at TEXT NOT NULL                          -- the run's start; ISO-8601 UTC
) WITHOUT ROWID;
