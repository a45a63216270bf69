-- The session epoch: every viewer session cookie is signed under the current value, so adding one
-- ("sign out everywhere", POST /logout?everywhere=1) ends every session issued before, including a
-- stolen cookie that a plain logout cannot reach. One row, created here.
CREATE TABLE session_epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch INTEGER NOT NULL DEFAULT 0
);

INSERT INTO session_epoch (id, epoch) VALUES (1, 0);
