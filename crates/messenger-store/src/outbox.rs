//! Events for the business's webhook: the [`Outbox`] trait.
//!
//! Each event is stored per `(space, target, event id)`; `target` names the receiving webhook
//! (the space's webhook configuration id; `"default"` when a space has one). Enqueueing the same
//! event id twice stores it once, so an event derived from a redelivered Meta webhook is not sent
//! twice. Delivery is at least once: a leased event whose worker dies is leased again when the
//! lease lapses.

use std::time::Duration;

use async_trait::async_trait;
use messenger_model::{EventEnvelope, Timestamp};

use crate::{Lease, StoreError};

/// Where an outbox event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventState {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up on: attempts exhausted or refused for good. Can be redriven.
    Dead,
}

impl EventState {
    /// The state's stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// An event in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    /// The store's id for this row (for [`Outbox::mark_delivered`] and
    /// [`Outbox::mark_failed`]).
    pub id: i64,
    /// The API space (also `envelope.api_space_id`).
    pub space: String,
    /// The receiving webhook.
    pub target: String,
    /// The event.
    pub envelope: EventEnvelope,
    /// Where it is.
    pub state: EventState,
    /// Delivery attempts so far (counted when leased).
    pub attempts: u32,
    /// When it may next be leased.
    pub next_attempt_at: Timestamp,
    /// The last attempt's failure.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// The current lease.
    pub lease: Option<Lease>,
}

/// What to do with an event whose delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFailure {
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// Give up: the event becomes dead.
    Dead,
}

/// Which events [`Outbox::lease_due_events_in`] may lease.
///
/// ```
/// use messenger_store::EventScope;
/// let one = EventScope::Target { space: "acme".into(), target: "default".into() };
/// assert!(one.contains("acme", "default") && !one.contains("acme", "crm"));
/// let rest = EventScope::Except(vec![("acme".into(), "default".into())]);
/// assert!(!rest.contains("acme", "default") && rest.contains("other", "default"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventScope {
    /// The events of one space queued for one target (a forwarding target's own queue).
    Target {
        /// The API space.
        space: String,
        /// The target name.
        target: String,
    },
    /// The events of every `(space, target)` pair except those listed (events nobody forwards;
    /// an empty list means every event).
    Except(Vec<(String, String)>),
}

impl EventScope {
    /// Whether an event of `space` queued for `target` is in the scope.
    pub fn contains(&self, space: &str, target: &str) -> bool {
        match self {
            Self::Target {
                space: s,
                target: t,
            } => s == space && t == target,
            Self::Except(pairs) => !pairs.iter().any(|(s, t)| s == space && t == target),
        }
    }
}

/// The events waiting for one target: how many, and since when (for metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvents {
    /// The API space.
    pub space: String,
    /// The target name.
    pub target: String,
    /// Pending events (due now or later, leased or not).
    pub count: u64,
    /// When the oldest of them was enqueued.
    pub oldest: Timestamp,
}

/// The outbox of events for the business's webhook.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Stores an event for `target`, due at `now`. Returns `false` (and stores nothing) when
    /// the event id is already in the outbox for that space and target.
    async fn enqueue_event(
        &self,
        target: &str,
        envelope: EventEnvelope,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Leases up to `limit` pending due events (oldest first) to `worker` until
    /// `now + lease_for`, counting an attempt on each. Two callers never get the same event while
    /// its lease runs. By default [`lease_due_events_in`](Outbox::lease_due_events_in) with a
    /// scope of every event (`EventScope::Except` of nothing).
    async fn lease_due_events(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let all = EventScope::Except(Vec::new());
        self.lease_due_events_in(&all, worker, now, limit, lease_for)
            .await
    }

    /// [`lease_due_events`](Outbox::lease_due_events) restricted to `scope`: up to `limit`
    /// pending due events of the scope, oldest first, leased to `worker` until
    /// `now + lease_for`, an attempt counted on each. A forwarder leases each target's events on
    /// its own this way, so one target's backlog never stands in front of another's.
    async fn lease_due_events_in(
        &self,
        scope: &EventScope,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<OutboxEvent>, StoreError>;

    /// Per `(space, target)` with pending events: their number and the oldest's creation time,
    /// ordered by space and target.
    async fn pending_by_target(&self) -> Result<Vec<PendingEvents>, StoreError>;

    /// Marks events delivered (whoever holds them: a delivered event must not be sent again).
    /// Returns how many pending events changed.
    async fn mark_delivered(&self, ids: &[i64], now: Timestamp) -> Result<u64, StoreError>;

    /// Records a failed attempt by `worker`: the event is due again at the given time, or dead.
    /// Returns `false` (and changes nothing) when `worker` does not hold the event's lease.
    async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        failure: EventFailure,
    ) -> Result<bool, StoreError>;

    /// Dead events of `space`, oldest first, at most `limit`.
    async fn list_dead(&self, space: &str, limit: usize) -> Result<Vec<OutboxEvent>, StoreError>;

    /// The events of `space` whose event id is one of `event_ids` (every target, every state),
    /// in the order they were enqueued: what became of the events about one message.
    async fn events_by_id(
        &self,
        space: &str,
        event_ids: &[String],
    ) -> Result<Vec<OutboxEvent>, StoreError>;

    /// Makes the dead event `event_id` of `space` (for every target) pending again, due at
    /// `now`, with its attempts reset. Returns how many were redriven (0: no such dead event).
    async fn redrive(&self, space: &str, event_id: &str, now: Timestamp)
        -> Result<u64, StoreError>;

    /// Deletes delivered events enqueued before `before`; returns how many.
    async fn purge_delivered(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// How many events (every space and target) wait for delivery (`pending`), and how many are
    /// dead: the forwarding queue's depth and its dead letters, for metrics.
    async fn event_counts(&self) -> Result<(u64, u64), StoreError>;
}
