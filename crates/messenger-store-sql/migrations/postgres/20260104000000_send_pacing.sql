-- Per-page send pacing shared by every instance: one token bucket per page and kind of send,
-- kept as its theoretical arrival time in microseconds since the epoch (docs/decisions/0011).
CREATE TABLE send_buckets (
    bucket TEXT PRIMARY KEY,
    tat    BIGINT NOT NULL
);

-- Leasing takes from each space in turn (docs/decisions/0011): each space's unsent messages in
-- acceptance order.
CREATE INDEX messages_unsent_space ON messages (space, seq)
    WHERE status IN ('processing', 'retrying');
