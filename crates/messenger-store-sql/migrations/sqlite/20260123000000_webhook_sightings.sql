-- When Meta's signed webhook last delivered each field of a page, as every instance saw it
-- (docs/decisions/0022): the connection doctor of any instance, and the doctor command, read it
-- to say whether Meta calls the webhook. Each instance writes a page and field at most once a
-- minute, keeping the later time; a page id or field is at most 128 bytes.
CREATE TABLE webhook_sightings (
    page_id      TEXT NOT NULL,
    field        TEXT NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (page_id, field)
);
