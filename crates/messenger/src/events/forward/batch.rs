//! Batching: which leased events are posted now, together, and which wait for their batch to
//! fill.
//!
//! The store has no "peek" and counts an attempt on every lease, so a batch that is still
//! filling cannot be handed back to the store without inflating its attempt counts (and once
//! handed back with a later due time, its events are invisible until then, so "the batch is
//! full" could not be seen). Instead, events that wait stay leased by this forwarder and sit in
//! memory here; the lease is long enough to cover the window. If the process dies, the leases
//! lapse and any instance takes the events again: nothing is lost.

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

/// Takes out of `waiting` (one target's leased events) the batches ready at `now`, at most
/// `room` of them: full batches first, oldest events first; then the partial rest when its
/// oldest event has waited the target's window since it was queued, or the target does not
/// wait, or `flush` is set. Events whose lease lapsed by `now` are let go (another worker may
/// hold them); what is not taken stays in `waiting`.
pub(super) fn take_ready(
    waiting: &mut Vec<Held>,
    space: &str,
    target: &WebhookTarget,
    now: Timestamp,
    flush: bool,
    room: usize,
) -> Plan {
    let mut plan = Plan::default();
    let before = waiting.len();
    waiting.retain(|h| !h.lapsed(now));
    plan.lapsed = before - waiting.len();
    waiting.sort_by_key(|h| (h.event.created_at, h.event.id));
    let size = target.batch_size.max(1);
    let mut taken = 0;
    while plan.batches.len() < room && waiting.len() - taken >= size {
        plan.batches.push(Batch {
            space: space.to_owned(),
            events: waiting[taken..taken + size].to_vec(),
        });
        taken += size;
    }
    let rest = &waiting[taken..];
    if plan.batches.len() < room && !rest.is_empty() {
        let due = ready_at(rest, target).is_none_or(|at| at <= now);
        if flush || due {
            plan.batches.push(Batch {
                space: space.to_owned(),
                events: rest.to_vec(),
            });
            taken = waiting.len();
        }
    }
    waiting.drain(..taken);
    plan
}

/// When the partial batch starting with `events[0]` may go without filling up (`None`: at
/// once, the target does not wait).
pub(super) fn ready_at(events: &[Held], target: &WebhookTarget) -> Option<Timestamp> {
    if !target.waits() {
        return None;
    }
    let oldest = events.iter().map(|h| h.event.created_at).min()?;
    Some(oldest.add_millis(duration_millis(target.batch_window)))
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

    fn take(w: &mut Vec<Held>, t: &WebhookTarget, now: i64, flush: bool, room: usize) -> Plan {
        take_ready(w, "a", t, Timestamp::from_millis(now), flush, room)
    }

    #[test]
    fn waits_until_full_or_window() {
        let t = targets(3, 1_000);
        let mut w = vec![held(2, "a", 50, 9_999)];
        assert!(take(&mut w, &t, 100, false, 16).batches.is_empty());
        assert_eq!(w.len(), 1);
        // A second event, still inside the window: waits.
        w.push(held(1, "a", 40, 9_999));
        assert!(take(&mut w, &t, 100, false, 16).batches.is_empty());
        // A third fills it: one batch, oldest first.
        w.push(held(3, "a", 90, 9_999));
        assert_eq!(ids(&take(&mut w, &t, 100, false, 16)), vec![vec![1, 2, 3]]);
        assert!(w.is_empty());
        // A lone event goes when the oldest has waited the window since it was queued.
        w.push(held(4, "a", 500, 9_999));
        assert_eq!(ready_at(&w, &t), Some(Timestamp::from_millis(1_500)));
        assert!(take(&mut w, &t, 1_499, false, 16).batches.is_empty());
        assert_eq!(ids(&take(&mut w, &t, 1_500, false, 16)), vec![vec![4]]);
    }

    #[test]
    fn no_window_or_flush_sends_everything_in_chunks_within_the_room() {
        let t0 = targets(3, 0);
        let seven: Vec<Held> = (1..=7).map(|i| held(i, "a", i, 9_999)).collect();
        let mut w = seven.clone();
        assert_eq!(ready_at(&w, &t0), None);
        assert_eq!(
            ids(&take(&mut w, &t0, 10, false, 16)),
            vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]
        );
        // Room for two requests: two batches now, the rest stays for later.
        let mut w = seven.clone();
        assert_eq!(
            ids(&take(&mut w, &t0, 10, false, 2)),
            vec![vec![1, 2, 3], vec![4, 5, 6]]
        );
        assert_eq!(ids(&take(&mut w, &t0, 10, false, 2)), vec![vec![7]]);
        let t = targets(3, 60_000);
        let mut w = seven;
        assert_eq!(
            ids(&take(&mut w, &t, 10, false, 16)),
            vec![vec![1, 2, 3], vec![4, 5, 6]]
        );
        assert_eq!(ids(&take(&mut w, &t, 10, true, 16)), vec![vec![7]]);
    }

    #[test]
    fn lapsed_leases_are_let_go() {
        let t = targets(3, 60_000);
        let mut w = vec![held(1, "a", 0, 100)];
        assert!(take(&mut w, &t, 10, false, 16).batches.is_empty());
        let p = take(&mut w, &t, 100, false, 16);
        assert_eq!(p.lapsed, 1);
        assert!(p.batches.is_empty());
        assert!(w.is_empty());
    }
}
