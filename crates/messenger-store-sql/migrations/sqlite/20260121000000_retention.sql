-- Retention (docs/decisions/0020): every table that grows with traffic has a limit, purged in
-- bounded batches by the gateway's housekeeping.

-- When a message last changed status after it left the queue (NULL while processing or
-- retrying): its content is redacted, and later the row deleted, that long after. Rows written
-- before this migration take their send time (or acceptance time) instead.
ALTER TABLE messages ADD COLUMN settled_at INTEGER;
-- When its content was redacted (NULL: whole).
ALTER TABLE messages ADD COLUMN redacted_at INTEGER;
UPDATE messages SET settled_at = COALESCE(sent_at, created_at)
    WHERE status NOT IN ('processing', 'retrying');
CREATE INDEX messages_settled ON messages (settled_at) WHERE settled_at IS NOT NULL;
CREATE INDEX messages_unredacted ON messages (settled_at)
    WHERE settled_at IS NOT NULL AND redacted_at IS NULL;
-- Idempotency keys are forgotten by acceptance time.
CREATE INDEX messages_idempotency_age ON messages (created_at)
    WHERE idempotency_key IS NOT NULL;
-- A purged message's Graph ids go with it.
CREATE INDEX graph_message_ids_message ON graph_message_ids (message_id);
CREATE INDEX outbox_dead_age ON outbox (created_at) WHERE state = 'dead';
CREATE INDEX webhook_quarantine_age ON webhook_quarantine (quarantined_at);
CREATE INDEX inbound_window_age ON inbound_window (last_inbound_at);
CREATE INDEX optin_tokens_created ON optin_tokens (created_at);
