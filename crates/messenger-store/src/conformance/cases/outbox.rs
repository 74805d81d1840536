//! The outbox of webhook events, seen Meta events and opt-in tokens.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{EventEnvelope, EventName};
use serde_json::json;

use crate::conformance::{at, T0};
use crate::{EventFailure, EventScope, EventState, OptinToken, OutboxEvent, Store, StoreError};

const A: &str = "space-a";
const LEASE: Duration = Duration::from_secs(30);

fn envelope(event_id: &str) -> EventEnvelope {
    EventEnvelope {
        event_id: event_id.into(),
        api_space_id: A.into(),
        name: EventName::MessageDelivered,
        payload: json!({"messageId": "m-1", "metadata": {"order": 42}}),
        revision: 3,
        timestamp: T0,
    }
}

fn event_ids(v: &[OutboxEvent]) -> Vec<(String, String)> {
    v.iter()
        .map(|e| (e.envelope.event_id.clone(), e.target.clone()))
        .collect()
}

fn pair(event: &str, target: &str) -> (String, String) {
    (event.to_owned(), target.to_owned())
}

/// Events are stored once per (event id, target), leased exclusively, and delivered.
pub async fn outbox_enqueue_lease_deliver(store: Arc<dyn Store>) {
    assert!(store
        .enqueue_event("default", envelope("e1"), T0)
        .await
        .unwrap());
    assert!(!store
        .enqueue_event("default", envelope("e1"), at(1))
        .await
        .unwrap());
    assert!(store
        .enqueue_event("audit", envelope("e1"), T0)
        .await
        .unwrap());
    assert!(store
        .enqueue_event("default", envelope("e2"), T0)
        .await
        .unwrap());

    let leased = store.lease_due_events("w1", T0, 10, LEASE).await.unwrap();
    assert_eq!(
        event_ids(&leased),
        [
            pair("e1", "default"),
            pair("e1", "audit"),
            pair("e2", "default")
        ]
    );
    for e in &leased {
        assert_eq!(e.envelope, envelope(&e.envelope.event_id));
        assert_eq!(
            (e.space.as_str(), e.state, e.attempts),
            (A, EventState::Pending, 1)
        );
        assert_eq!(e.lease.as_ref().map(|l| l.expires_at), Some(at(30)));
        assert_eq!(e.created_at, T0);
    }
    assert!(store
        .lease_due_events("w2", at(1), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let done = [leased[0].id, leased[1].id];
    assert_eq!(store.mark_delivered(&done, at(2)).await.unwrap(), 2);
    assert_eq!(store.mark_delivered(&done, at(2)).await.unwrap(), 0);
    let again = store
        .lease_due_events("w2", at(30), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(event_ids(&again), [pair("e2", "default")]);
    assert_eq!(again[0].attempts, 2);
    // Delivered by a worker whose lease lapsed: still delivered, never sent again.
    assert_eq!(
        store.mark_delivered(&[again[0].id], at(31)).await.unwrap(),
        1
    );
    assert!(store
        .lease_due_events("w3", at(1000), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.purge_delivered(T0).await.unwrap(), 0);
    assert_eq!(store.purge_delivered(at(1)).await.unwrap(), 3);
}

/// Failed attempts are retried at the given time, then dead; dead events are listed and
/// redriven.
pub async fn outbox_retry_dead_and_redrive(store: Arc<dyn Store>) {
    store
        .enqueue_event("default", envelope("e1"), T0)
        .await
        .unwrap();
    let id = store.lease_due_events("w1", T0, 10, LEASE).await.unwrap()[0].id;

    let retry = EventFailure::RetryAt(at(5));
    assert!(!store
        .mark_failed(id, "w2", "HTTP 500", retry.clone())
        .await
        .unwrap());
    assert!(store
        .mark_failed(id, "w1", "HTTP 500", retry)
        .await
        .unwrap());
    assert!(store
        .lease_due_events("w1", at(4), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let leased = store
        .lease_due_events("w1", at(5), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].attempts, 2);
    assert_eq!(leased[0].last_error.as_deref(), Some("HTTP 500"));

    assert!(store
        .mark_failed(id, "w1", "HTTP 400", EventFailure::Dead)
        .await
        .unwrap());
    assert!(!store
        .mark_failed(id, "w1", "again", EventFailure::Dead)
        .await
        .unwrap());
    assert!(store
        .lease_due_events("w1", at(1000), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let dead = store.list_dead(A, 10).await.unwrap();
    assert_eq!(event_ids(&dead), [pair("e1", "default")]);
    assert_eq!(dead[0].state, EventState::Dead);
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 400"));
    assert!(store.list_dead("space-b", 10).await.unwrap().is_empty());
    assert_eq!(store.list_dead(A, 0).await.unwrap(), []);
    let wanted = ["e1".to_owned(), "e9".to_owned()];
    let by_id = store.events_by_id(A, &wanted).await.unwrap();
    assert_eq!(
        by_id, dead,
        "events by id: every state, with their attempts"
    );
    assert!(store
        .events_by_id("space-b", &wanted)
        .await
        .unwrap()
        .is_empty());
    assert!(store.events_by_id(A, &[]).await.unwrap().is_empty());

    assert_eq!(store.redrive(A, "e1", at(2000)).await.unwrap(), 1);
    assert_eq!(store.redrive(A, "e1", at(2000)).await.unwrap(), 0);
    assert!(store.list_dead(A, 10).await.unwrap().is_empty());
    assert!(store
        .lease_due_events("w1", at(1999), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let leased = store
        .lease_due_events("w1", at(2000), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(event_ids(&leased), [pair("e1", "default")]);
    assert_eq!(leased[0].attempts, 1);
    assert_eq!(
        store.redrive(A, "no-such-event", at(2000)).await.unwrap(),
        0
    );
}

/// A Meta event key is new once.
pub async fn inbox_marks_seen_once(store: Arc<dyn Store>) {
    assert!(!store.is_seen("mid:1").await.unwrap());
    assert!(store.mark_seen("mid:1", T0).await.unwrap());
    assert!(!store.mark_seen("mid:1", at(1)).await.unwrap());
    assert!(store.is_seen("mid:1").await.unwrap());
    assert!(store.mark_seen("mid:2", at(10)).await.unwrap());
    assert_eq!(store.purge_seen(at(5)).await.unwrap(), 1);
    assert!(!store.is_seen("mid:1").await.unwrap());
    assert!(store.is_seen("mid:2").await.unwrap());
}

/// Opt-in tokens resolve in their space until they expire.
pub async fn optin_tokens_expire_and_are_scoped(store: Arc<dyn Store>) {
    let token = OptinToken {
        token: "tok-AbC.123_x".into(),
        space: A.into(),
        profile_id: "alice".into(),
        data: Some(json!({"campaign": "spring"})),
        created_at: T0,
        expires_at: at(600),
        bound_to: None,
    };
    store.put_optin_token(token.clone()).await.unwrap();
    let other = OptinToken {
        token: "tok-2".into(),
        profile_id: "bob".into(),
        data: None,
        expires_at: at(60),
        ..token.clone()
    };
    store.put_optin_token(other).await.unwrap();

    let get = |space: &'static str, tok: &'static str, secs| {
        let store = store.clone();
        async move { store.get_optin_token(space, tok, at(secs)).await.unwrap() }
    };
    assert_eq!(get(A, "tok-AbC.123_x", 0).await, Some(token.clone()));
    assert_eq!(get(A, "tok-AbC.123_x", 599).await, Some(token.clone()));
    assert_eq!(get(A, "tok-AbC.123_x", 600).await, None);
    assert_eq!(get("space-b", "tok-AbC.123_x", 0).await, None);
    assert_eq!(get(A, "tok-unknown", 0).await, None);
    let err = store.put_optin_token(token).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    assert_eq!(store.purge_expired_optin_tokens(at(59)).await.unwrap(), 0);
    assert_eq!(store.purge_expired_optin_tokens(at(60)).await.unwrap(), 1);
    assert_eq!(get(A, "tok-2", 0).await, None);
    assert!(get(A, "tok-AbC.123_x", 0).await.is_some());
}

/// The queue depths for metrics: unsent messages (every space), pending and dead events.
pub async fn queue_depths_are_counted(store: Arc<dyn Store>) {
    use messenger_model::MessageStatus;
    assert_eq!(store.unsent_count().await.unwrap(), 0);
    assert_eq!(store.event_counts().await.unwrap(), (0, 0));
    let mut ids = Vec::new();
    for (space, psid) in [(A, "psid:1"), (A, "psid:2"), ("space-b", "psid:3")] {
        let m = crate::conformance::message(space, psid, "hi");
        ids.push((space, m.id.clone()));
        store.insert_message(m).await.unwrap();
    }
    assert_eq!(store.unsent_count().await.unwrap(), 3);
    assert_eq!(
        store.unsent_by_space().await.unwrap(),
        [(A.to_owned(), 2), ("space-b".to_owned(), 1)]
    );
    let sent = crate::StatusUpdate::new(MessageStatus::Sent, at(1)).sent_to("page-1", "1");
    store.update_status(A, &ids[0].1, sent).await.unwrap();
    let failed = crate::StatusUpdate::new(MessageStatus::Failed, at(1));
    store
        .update_status("space-b", &ids[2].1, failed)
        .await
        .unwrap();
    assert_eq!(store.unsent_count().await.unwrap(), 1);
    assert_eq!(store.unsent_by_space().await.unwrap(), [(A.to_owned(), 1)]);

    for id in ["e-1", "e-2", "e-3"] {
        store
            .enqueue_event("default", envelope(id), T0)
            .await
            .unwrap();
    }
    let leased = store
        .lease_due_events("w1", at(1), 1, Duration::from_secs(60))
        .await
        .unwrap();
    store
        .mark_failed(leased[0].id, "w1", "HTTP 400", EventFailure::Dead)
        .await
        .unwrap();
    assert_eq!(store.event_counts().await.unwrap(), (2, 1));
}

/// Each target's events are leased on their own, oldest first; `Except` leases the rest; the
/// pending events are counted per target with the oldest's time.
pub async fn outbox_leases_by_target(store: Arc<dyn Store>) {
    let queue = |space: &str, target: &str, id: &str, when: i64| {
        let store = Arc::clone(&store);
        let (space, target, id) = (space.to_owned(), target.to_owned(), id.to_owned());
        async move {
            let mut e = envelope(&id);
            e.api_space_id = space;
            assert!(store.enqueue_event(&target, e, at(when)).await.unwrap());
        }
    };
    queue("space-b", "default", "b1", 0).await;
    queue(A, "default", "a1", 1).await;
    queue(A, "audit", "x1", 2).await;
    queue(A, "default", "a2", 3).await;
    queue("space-b", "default", "b2", 4).await;
    queue(A, "default", "a3", 5).await;

    let a = EventScope::Target {
        space: A.into(),
        target: "default".into(),
    };
    let now = at(10);
    let first = store
        .lease_due_events_in(&a, "w1", now, 2, LEASE)
        .await
        .unwrap();
    assert_eq!(
        event_ids(&first),
        [pair("a1", "default"), pair("a2", "default")]
    );
    assert!(first.iter().all(|e| e.attempts == 1 && e.space == A));
    let rest = store
        .lease_due_events_in(&a, "w2", now, 10, LEASE)
        .await
        .unwrap();
    assert_eq!(event_ids(&rest), [pair("a3", "default")]);
    assert!(store
        .lease_due_events_in(&a, "w2", now, 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    // Everything but space-a's default target: space-b's events and the audit one.
    let others = EventScope::Except(vec![(A.to_owned(), "default".to_owned())]);
    let leased = store
        .lease_due_events_in(&others, "w3", now, 10, LEASE)
        .await
        .unwrap();
    assert_eq!(
        event_ids(&leased),
        [
            pair("b1", "default"),
            pair("x1", "audit"),
            pair("b2", "default")
        ]
    );

    store.mark_delivered(&[first[0].id], now).await.unwrap();
    let pending = store.pending_by_target().await.unwrap();
    let seen: Vec<(&str, &str, u64, i64)> = pending
        .iter()
        .map(|p| {
            (
                p.space.as_str(),
                p.target.as_str(),
                p.count,
                p.oldest.millis(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (A, "audit", 1, at(2).millis()),
            (A, "default", 2, at(3).millis()),
            ("space-b", "default", 2, at(0).millis()),
        ]
    );
    // A lapsed lease makes a target's event leasable again, within its scope only.
    let later = now.add_millis(crate::implementors::lease_millis(LEASE));
    let again = store
        .lease_due_events_in(&a, "w4", later, 10, LEASE)
        .await
        .unwrap();
    assert_eq!(
        event_ids(&again),
        [pair("a2", "default"), pair("a3", "default")]
    );
    assert!(again.iter().all(|e| e.attempts == 2));
}
