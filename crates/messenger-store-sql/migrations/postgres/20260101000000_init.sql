-- messenger-store-sql, PostgreSQL: the initial schema (the same as SQLite's, column for column).
-- Text keys use the "C" collation so ORDER BY matches byte order on every backend.
-- Times are milliseconds since the Unix epoch; structured values are JSON text.

CREATE TABLE profiles (
    space           TEXT NOT NULL,
    id              TEXT COLLATE "C" NOT NULL,
    body            TEXT NOT NULL,
    fb_messenger_id TEXT,
    phone_number    TEXT,
    PRIMARY KEY (space, id)
);
CREATE INDEX profiles_fb_messenger_id ON profiles (space, fb_messenger_id, id)
    WHERE fb_messenger_id IS NOT NULL;
CREATE INDEX profiles_phone_number ON profiles (space, phone_number, id)
    WHERE phone_number IS NOT NULL;

CREATE TABLE messenger_links (
    space      TEXT NOT NULL,
    page_id    TEXT NOT NULL,
    psid       TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    PRIMARY KEY (space, page_id, psid)
);
CREATE INDEX messenger_links_profile ON messenger_links (space, profile_id);

CREATE TABLE inbound_window (
    space           TEXT NOT NULL,
    page_id         TEXT NOT NULL,
    psid            TEXT NOT NULL,
    last_inbound_at BIGINT NOT NULL,
    PRIMARY KEY (space, page_id, psid)
);

CREATE TABLE messages (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    space             TEXT NOT NULL,
    recipient_key     TEXT NOT NULL,
    request           TEXT NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT,
    status            TEXT NOT NULL,
    status_history    TEXT NOT NULL,
    rule_trace        TEXT NOT NULL,
    graph_message_ids TEXT NOT NULL,
    channel           TEXT,
    error             TEXT,
    created_at        BIGINT NOT NULL,
    sent_at           BIGINT,
    sent_page_id      TEXT,
    sent_psid         TEXT,
    next_attempt_at   BIGINT NOT NULL,
    attempts          BIGINT NOT NULL DEFAULT 0,
    lease_holder      TEXT,
    lease_expires_at  BIGINT,
    UNIQUE (space, idempotency_key)
);
-- The dispatch queue: unsent messages in acceptance order, and per recipient.
CREATE INDEX messages_unsent ON messages (seq)
    WHERE status IN ('processing', 'retrying');
CREATE INDEX messages_unsent_recipient ON messages (space, recipient_key, seq)
    WHERE status IN ('processing', 'retrying');
-- Receipt watermarks.
CREATE INDEX messages_watermark ON messages (space, sent_page_id, sent_psid, sent_at)
    WHERE status IN ('sent', 'delivered');

CREATE TABLE graph_message_ids (
    space      TEXT NOT NULL,
    mid        TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (space, mid)
);

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space            TEXT NOT NULL,
    target           TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    envelope         TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    lease_holder     TEXT,
    lease_expires_at BIGINT,
    UNIQUE (space, target, event_id)
);
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_dead ON outbox (space, id) WHERE state = 'dead';
CREATE INDEX outbox_event ON outbox (space, event_id);
CREATE INDEX outbox_delivered ON outbox (created_at) WHERE state = 'delivered';

CREATE TABLE seen_events (
    key     TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE INDEX seen_events_seen_at ON seen_events (seen_at);

CREATE TABLE optin_tokens (
    token      TEXT PRIMARY KEY,
    space      TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    data       TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX optin_tokens_expires_at ON optin_tokens (expires_at);
