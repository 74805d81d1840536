-- Listing a space's messages newest first, by keyset cursor on (created_at, id) (the console and
-- the message listing API, decision 0013). Message ids compare in byte order, like every other
-- text key ("C"), so a cursor means the same position on every backend. Each index is read
-- backwards for the newest-first order; `(created_at, id) < (cursor)` is an index bound, so a
-- deep page costs what the first one does.
ALTER TABLE messages ALTER COLUMN id TYPE TEXT COLLATE "C";
CREATE INDEX messages_listing ON messages (space, created_at, id);
CREATE INDEX messages_listing_status ON messages (space, status, created_at, id);
CREATE INDEX messages_listing_recipient ON messages (space, recipient_key, created_at, id);
