//! Batching: which leased events are posted now, together, and which wait for their batch to
//! fill.
//!
//! The store has no "peek" and counts an attempt on every lease, so a batch that is still
//! filling cannot be handed back to the store without inflating its attempt counts (and once
//! handed back with a later due time, its events are invisible until then, so "the batch is
//! full" could not be seen). Instead, events that wait stay leased by this forwarder and sit in
//! memory here; the lease is long enough to cover the window. If the process dies, the leases
//! lapse and any instance takes the events again: nothing is lost.

use std::collections::HashMap;

use messenger_model::Timestamp;
use messenger_store::OutboxEvent;

use super::duration_millis;
use super::target::WebhookTarget;

/// A leased event and the worker whose lease it is under.
#[derive(Debug, Clone)]
pub(super) struct Held {
    /// The event as leased.
    pub(super) event: OutboxEvent,
    /// The worker that leased it (the one to name when recording a failure).
    pub(super) worker: String,
}

impl Held {
    /// Whether the lease has lapsed by `at` (another worker may hold the event now).
    pub(super) fn lapsed(&self, at: Timestamp) -> bool {
        self.event
            .lease
            .as_ref()
            .is_some_and(|l| l.expires_at <= at)
    }
}

/// Events of one space to post in one request.
#[derive(Debug)]
pub(super) struct Batch {
    /// The API space.
    pub(super) space: String,
    /// The events, oldest first.
    pub(super) events: Vec<Held>,
}

/// What one planning step decided.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Batches to post now.
    pub(super) batches: Vec<Batch>,
    /// Waiting events dropped because their lease lapsed before their batch was ready.
    pub(super) lapsed: usize,
}

/// Per-space events waiting for their batch to fill (leased, not yet posted).
#[derive(Debug, Default)]
pub(super) struct Buffers {
    spaces: HashMap<String, Vec<Held>>,
}

impl Buffers {
    /// Events waiting, across spaces.
    pub(super) fn waiting(&self) -> usize {
        self.spaces.values().map(Vec::len).sum()
    }

    /// Adds newly leased events (all of spaces that have a target) and takes out every batch
    /// that is ready at `now`: full batches at once; the rest when the oldest event has waited
    /// its space's window since it was queued, or when the target does not wait, or when
    /// `flush` is set.
    pub(super) fn plan<'t>(
        &mut self,
        new: HashMap<String, Vec<Held>>,
        target_of: impl Fn(&str) -> Option<&'t WebhookTarget>,
        now: Timestamp,
        flush: bool,
    ) -> Plan {
        for (space, events) in new {
            self.spaces.entry(space).or_default().extend(events);
        }
        let mut plan = Plan::default();
        let spaces: Vec<String> = self.spaces.keys().cloned().collect();
        for space in spaces {
            let Some(mut events) = self.spaces.remove(&space) else {
                continue;
            };
            let before = events.len();
            events.retain(|h| !h.lapsed(now));
            plan.lapsed += before - events.len();
            let Some(target) = target_of(&space) else {
                // Not reachable: only routed events are buffered. Post nothing, hold nothing;
                // the leases lapse and the events are taken again.
                continue;
            };
            events.sort_by_key(|h| (h.event.created_at, h.event.id));
            let size = target.batch_size.max(1);
            let mut rest = events.as_slice();
            while rest.len() >= size {
                let (batch, tail) = rest.split_at(size);
                plan.batches.push(Batch {
                    space: space.clone(),
                    events: batch.to_vec(),
                });
                rest = tail;
            }
            let Some(oldest) = rest.first() else {
                continue;
            };
            let ready_at = oldest
                .event
                .created_at
                .add_millis(duration_millis(target.batch_window));
            if flush || !target.waits() || ready_at <= now {
                plan.batches.push(Batch {
                    space: space.clone(),
                    events: rest.to_vec(),
                });
            } else {
                self.spaces.insert(space, rest.to_vec());
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use messenger_model::{EventEnvelope, EventName};
    use messenger_store::{EventState, Lease};
    use serde_json::json;

    use super::*;

    fn held(id: i64, space: &str, created: i64, lease_until: i64) -> Held {
        Held {
            event: OutboxEvent {
                id,
                space: space.into(),
                target: "default".into(),
                envelope: EventEnvelope {
                    event_id: format!("evt-{id}"),
                    api_space_id: space.into(),
                    name: EventName::MessageSent,
                    payload: json!({}),
                    revision: 1,
                    timestamp: Timestamp::from_millis(created),
                },
                state: EventState::Pending,
                attempts: 1,
                next_attempt_at: Timestamp::from_millis(created),
                last_error: None,
                created_at: Timestamp::from_millis(created),
                lease: Some(Lease {
                    holder: "w".into(),
                    expires_at: Timestamp::from_millis(lease_until),
                }),
            },
            worker: "w".into(),
        }
    }

    fn targets(size: usize, window_ms: u64) -> WebhookTarget {
        WebhookTarget::new("http://127.0.0.1:1/", "s").batch(size, Duration::from_millis(window_ms))
    }

    fn ids(plan: &Plan) -> Vec<Vec<i64>> {
        plan.batches
            .iter()
            .map(|b| b.events.iter().map(|h| h.event.id).collect())
            .collect()
    }

    #[test]
    fn waits_until_full_or_window() {
        let t = targets(3, 1_000);
        let mut b = Buffers::default();
        let now = Timestamp::from_millis(100);
        let p = b.plan(
            HashMap::from([("a".into(), vec![held(2, "a", 50, 9_999)])]),
            |_: &str| Some(&t),
            now,
            false,
        );
        assert!(p.batches.is_empty());
        assert_eq!(b.waiting(), 1);
        // A second event, still inside the window: waits.
        let p = b.plan(
            HashMap::from([("a".into(), vec![held(1, "a", 40, 9_999)])]),
            |_: &str| Some(&t),
            now,
            false,
        );
        assert!(p.batches.is_empty());
        // A third fills it: one batch, oldest first.
        let p = b.plan(
            HashMap::from([("a".into(), vec![held(3, "a", 90, 9_999)])]),
            |_: &str| Some(&t),
            now,
            false,
        );
        assert_eq!(ids(&p), vec![vec![1, 2, 3]]);
        assert_eq!(b.waiting(), 0);
        // A lone event goes when the oldest has waited the window since it was queued.
        b.plan(
            HashMap::from([("a".into(), vec![held(4, "a", 500, 9_999)])]),
            |_: &str| Some(&t),
            Timestamp::from_millis(600),
            false,
        );
        assert!(b
            .plan(
                HashMap::new(),
                |_: &str| Some(&t),
                Timestamp::from_millis(1_499),
                false
            )
            .batches
            .is_empty());
        let p = b.plan(
            HashMap::new(),
            |_: &str| Some(&t),
            Timestamp::from_millis(1_500),
            false,
        );
        assert_eq!(ids(&p), vec![vec![4]]);
    }

    #[test]
    fn no_window_or_flush_sends_everything_in_chunks() {
        let mut b = Buffers::default();
        let t0 = targets(3, 0);
        let seven: Vec<Held> = (1..=7).map(|i| held(i, "a", i, 9_999)).collect();
        let p = b.plan(
            HashMap::from([("a".into(), seven.clone())]),
            |_: &str| Some(&t0),
            Timestamp::from_millis(10),
            false,
        );
        assert_eq!(ids(&p), vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
        let t = targets(3, 60_000);
        let p = b.plan(
            HashMap::from([("a".into(), seven)]),
            |_: &str| Some(&t),
            Timestamp::from_millis(10),
            false,
        );
        assert_eq!(ids(&p), vec![vec![1, 2, 3], vec![4, 5, 6]]);
        let p = b.plan(
            HashMap::new(),
            |_: &str| Some(&t),
            Timestamp::from_millis(10),
            true,
        );
        assert_eq!(ids(&p), vec![vec![7]]);
    }

    #[test]
    fn lapsed_leases_are_let_go() {
        let t = targets(3, 60_000);
        let mut b = Buffers::default();
        b.plan(
            HashMap::from([("a".into(), vec![held(1, "a", 0, 100)])]),
            |_: &str| Some(&t),
            Timestamp::from_millis(10),
            false,
        );
        let p = b.plan(
            HashMap::new(),
            |_: &str| Some(&t),
            Timestamp::from_millis(100),
            false,
        );
        assert_eq!(p.lapsed, 1);
        assert!(p.batches.is_empty());
        assert_eq!(b.waiting(), 0);
    }
}
