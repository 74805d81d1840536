-- Each forwarding target leases its own pending events, oldest first (decision 0014).
CREATE INDEX outbox_pending_target ON outbox (space, target, id) WHERE state = 'pending';
