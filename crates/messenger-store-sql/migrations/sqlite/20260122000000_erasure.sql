-- Erasures of a customer's data on request (docs/decisions/0019). What stays of each is when,
-- in which space and how much, under a random id: no profile id, identifier or hash of one.
CREATE TABLE erasures (
    id        TEXT PRIMARY KEY,
    space     TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    counts    TEXT NOT NULL
);
CREATE INDEX erasures_space ON erasures (space, erased_at);
