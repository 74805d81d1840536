-- Listing a space's messages newest first, by keyset cursor on (created_at, id) (the console and
-- the message listing API, decision 0013). Each index is read backwards for the newest-first
-- order; the row value `(created_at, id) < (cursor)` is an index bound, so a deep page costs what
-- the first one does.
CREATE INDEX messages_listing ON messages (space, created_at, id);
CREATE INDEX messages_listing_status ON messages (space, status, created_at, id);
CREATE INDEX messages_listing_recipient ON messages (space, recipient_key, created_at, id);
