-- Who could reach each application as of the last wiring write that touched it: the "before"
-- side of the app_reachable / app_unreachable events. A wiring write runs in one D1 batch with
-- statements that first bring the pairs of the applications it touches up to the derived reach
-- (users and memberships change between wiring writes, and those record user and membership
-- events, not reach events), then append an event per pair that moved, then store the new reach:
-- all computed in SQL from tables, so nothing in proportion to the users is bound. Only current
-- for the applications of the last wiring write: read reach itself (store::applications::REACH)
-- or app_reach for anything else.

CREATE TABLE reach_snapshot (
  client_id TEXT NOT NULL,
  user_id   TEXT NOT NULL,
  PRIMARY KEY (client_id, user_id)
) WITHOUT ROWID;
