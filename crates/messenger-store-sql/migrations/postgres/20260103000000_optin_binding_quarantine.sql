-- Opt-in tokens are bound to the first Messenger user who redeems them.
ALTER TABLE optin_tokens
    ADD COLUMN bound_page_id TEXT,
    ADD COLUMN bound_psid TEXT,
    ADD COLUMN bound_at BIGINT;

-- Meta webhook events that could not be applied, kept for an operator.
CREATE TABLE webhook_quarantine (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    reason         TEXT NOT NULL,
    page_id        TEXT,
    raw            BYTEA NOT NULL,
    received_at    BIGINT NOT NULL,
    quarantined_at BIGINT NOT NULL
);
