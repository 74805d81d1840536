-- Opt-in tokens are bound to the first Messenger user who redeems them.
ALTER TABLE optin_tokens ADD COLUMN bound_page_id TEXT;
ALTER TABLE optin_tokens ADD COLUMN bound_psid TEXT;
ALTER TABLE optin_tokens ADD COLUMN bound_at INTEGER;

-- Meta webhook events that could not be applied, kept for an operator.
CREATE TABLE webhook_quarantine (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    key            TEXT NOT NULL UNIQUE,
    reason         TEXT NOT NULL,
    page_id        TEXT,
    raw            BLOB NOT NULL,
    received_at    INTEGER NOT NULL,
    quarantined_at INTEGER NOT NULL
);
