-- Verified Meta webhook bodies between "200 answered" and "applied".
CREATE TABLE webhook_queue (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    body             BLOB NOT NULL,
    received_at      INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_holder     TEXT,
    lease_expires_at INTEGER
);
