-- When Messenger's time to deliver a message runs out (channelOptions.fbMessenger.deliveryTimeout
-- after it was sent); NULL when there is none or it was met or claimed. Decision 0012.
ALTER TABLE messages ADD COLUMN delivery_deadline BIGINT;
CREATE INDEX messages_delivery_deadline ON messages (delivery_deadline)
    WHERE delivery_deadline IS NOT NULL;
