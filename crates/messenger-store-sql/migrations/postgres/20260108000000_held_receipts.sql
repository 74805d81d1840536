-- Receipts that arrived before the send they cover was recorded (messenger_store::HeldReceipts):
-- applied when the send is settled, forgotten an hour after they were held.

-- A delivery receipt named this mid before any message carried it.
CREATE TABLE held_receipt_mids (
    space        TEXT NOT NULL,
    mid          TEXT NOT NULL,
    delivered_at BIGINT NOT NULL,
    held_at      BIGINT NOT NULL,
    PRIMARY KEY (space, mid)
);
CREATE INDEX held_receipt_mids_age ON held_receipt_mids (held_at);

-- The highest delivery and read watermarks received for a recipient (0: none). Receipts and
-- settlements write the recipient's row before they read messages or held receipts, so on
-- PostgreSQL the row lock orders a receipt and a send to the same recipient: whichever commits
-- second sees the other.
CREATE TABLE held_watermarks (
    space               TEXT NOT NULL,
    page_id             TEXT NOT NULL,
    psid                TEXT NOT NULL,
    delivered_watermark BIGINT NOT NULL,
    delivered_at        BIGINT NOT NULL,
    read_watermark      BIGINT NOT NULL,
    read_at             BIGINT NOT NULL,
    held_at             BIGINT NOT NULL,
    PRIMARY KEY (space, page_id, psid)
);
CREATE INDEX held_watermarks_age ON held_watermarks (held_at);
