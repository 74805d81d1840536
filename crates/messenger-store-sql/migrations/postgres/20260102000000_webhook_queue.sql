-- Verified Meta webhook bodies between "200 answered" and "applied".
CREATE TABLE webhook_queue (
    id               BIGSERIAL PRIMARY KEY,
    body             BYTEA NOT NULL,
    received_at      BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_holder     TEXT,
    lease_expires_at BIGINT
);
