-- Indexes behind the viewer's filters and sorts. Each sort expression matches the one the
-- query builder uses (src/store/users.rs), so ORDER BY … LIMIT reads the index in order.

CREATE INDEX users_connection ON users (connection, user_id);
CREATE INDEX users_last_login ON users (COALESCE(last_login, ''), user_id);
CREATE INDEX users_email ON users (COALESCE(email, ''), user_id);
CREATE INDEX users_created_user ON users (created_at, user_id);
-- The composite index above serves every range query the old single-column one did.
DROP INDEX users_created_at;
