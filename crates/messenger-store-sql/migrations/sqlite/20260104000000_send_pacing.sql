-- Per-page send pacing shared by every instance: one token bucket per page and kind of send,
-- kept as its theoretical arrival time in microseconds since the epoch (docs/decisions/0011).
CREATE TABLE send_buckets (
    bucket TEXT PRIMARY KEY,
    tat    INTEGER NOT NULL
);

-- Leasing takes from each space in turn (docs/decisions/0011): each space's unsent messages in
-- acceptance order. The redundant `next_attempt_at IS NOT NULL` (the column is NOT NULL) keeps
-- the index to the lease's own walk: the head check (is there an earlier unsent message of the
-- recipient?) does not say it, so it cannot pick this index and scan a whole space per row; it
-- keeps using messages_unsent_recipient.
CREATE INDEX messages_unsent_space ON messages (space, seq)
    WHERE status IN ('processing', 'retrying') AND next_attempt_at IS NOT NULL;
