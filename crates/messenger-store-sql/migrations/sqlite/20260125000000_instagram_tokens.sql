-- Instagram Login tokens, one per Instagram professional account (docs/decisions/0026): the
-- long-lived token an instance refreshed before its 60 days ended, so every instance sharing the
-- store sends with it and a restart does not go back to the configured one. A save keeps the
-- token issued latest; the last refresh that failed since the save is kept beside it. The token
-- is stored as it is (not encrypted); it is not customer data, so erasure and retention leave it.
CREATE TABLE instagram_tokens (
    account_id        TEXT PRIMARY KEY,
    token             TEXT NOT NULL,
    issued_at         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    refresh_failure   TEXT,
    refresh_failed_at BIGINT
);
