//! Leasing messages for sending: due times, exclusivity, per-recipient order, retries, expiry.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use messenger_model::{MessageError, MessageStatus, Timestamp};

use crate::conformance::{at, message, T0};
use crate::{MessageRecord, NewMessage, Retry, StatusUpdate, Store, StoreError};

const A: &str = "space-a";
const LEASE: Duration = Duration::from_secs(30);

fn ids(v: &[MessageRecord]) -> Vec<String> {
    v.iter().map(|m| m.id.clone()).collect()
}

async fn insert(store: &Arc<dyn Store>, m: NewMessage) -> String {
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    id
}

async fn mark(store: &Arc<dyn Store>, id: &str, status: MessageStatus, now: Timestamp) {
    let out = store
        .update_status(A, id, StatusUpdate::new(status, now))
        .await
        .unwrap();
    assert!(out.applied, "{status} on {id}");
}

/// Due messages are leased once, with the attempt counted; future ones wait; limits hold.
pub async fn dispatch_leases_due_messages_once(store: Arc<dyn Store>) {
    let a = insert(&store, message(A, "r1", "a")).await;
    let b = insert(&store, message(A, "r2", "b")).await;
    let mut later = message(A, "r3", "later");
    later.not_before = at(10);
    let c = insert(&store, later).await;

    let leased = store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), [a.clone(), b.clone()]);
    for m in &leased {
        assert_eq!(m.attempts, 1);
        let lease = m.lease.as_ref().unwrap();
        assert_eq!((lease.holder.as_str(), lease.expires_at), ("w1", at(30)));
    }
    let stored = store.get_message(A, &a).await.unwrap().unwrap();
    assert_eq!(stored.lease, leased[0].lease);
    assert_eq!(stored.attempts, 1);

    assert!(store
        .lease_due("w2", at(1), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let leased = store.lease_due("w2", at(10), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), [c]);

    for i in 0..5 {
        insert(&store, message(A, &format!("x{i}"), "x")).await;
    }
    assert_eq!(
        store.lease_due("w3", at(10), 2, LEASE).await.unwrap().len(),
        2
    );
    assert!(store
        .lease_due("w3", at(10), 0, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .lease_due("w3", at(10), 10, LEASE)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// A recipient has one message in flight at most, and its messages go in acceptance order,
/// a retrying head holding back the rest.
pub async fn dispatch_keeps_recipient_order(store: Arc<dyn Store>) {
    let m1 = insert(&store, message(A, "R", "1")).await;
    let m2 = insert(&store, message(A, "R", "2")).await;
    let m3 = insert(&store, message(A, "R", "3")).await;
    let s1 = insert(&store, message(A, "S", "s")).await;
    // The same recipient key in another space is another recipient.
    let other = insert(&store, message("space-b", "R", "b")).await;

    let leased = store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), [m1.clone(), s1.clone(), other.clone()]);
    mark(&store, &s1, MessageStatus::Sent, at(1)).await;
    let done = StatusUpdate::new(MessageStatus::Sent, at(1));
    assert!(
        store
            .update_status("space-b", &other, done)
            .await
            .unwrap()
            .applied
    );
    assert!(store
        .lease_due("w2", T0, 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    mark(&store, &m1, MessageStatus::Sent, at(1)).await;
    let leased = store.lease_due("w2", at(1), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), vec![m2.clone()]);

    let retry = Retry::at(at(60), at(2)).reason("graph 500");
    assert!(store.release(A, &m2, "w2", retry).await.unwrap());
    assert!(store
        .lease_due("w2", at(3), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let leased = store.lease_due("w2", at(60), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), vec![m2.clone()]);
    assert_eq!(leased[0].attempts, 2);
    assert_eq!(leased[0].status, MessageStatus::Retrying);

    mark(&store, &m2, MessageStatus::Failed, at(61)).await;
    let leased = store.lease_due("w2", at(61), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), [m3]);
}

/// Only the lease holder can release; a release makes the message `retrying` with its reason.
pub async fn dispatch_release_requires_holder(store: Arc<dyn Store>) {
    let id = insert(&store, message(A, "R", "1")).await;
    store.lease_due("w1", T0, 10, LEASE).await.unwrap();

    let retry = || {
        Retry::at(at(30), at(1))
            .reason("Graph said 2 (temporary)")
            .error(MessageError {
                code: "graph.temporary".into(),
                message: "try later".into(),
            })
    };
    assert!(!store.release(A, &id, "w2", retry()).await.unwrap());
    let m = store.get_message(A, &id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Processing);
    assert_eq!(m.lease.as_ref().map(|l| l.holder.as_str()), Some("w1"));

    assert!(store.release(A, &id, "w1", retry()).await.unwrap());
    let m = store.get_message(A, &id).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Retrying);
    assert_eq!(m.lease, None);
    assert_eq!(m.next_attempt_at, at(30));
    assert_eq!(
        m.error.as_ref().map(|e| e.code.as_str()),
        Some("graph.temporary")
    );
    let last = m.status_history.last().unwrap();
    assert_eq!(
        (last.status, last.at, last.reason.as_deref()),
        (
            MessageStatus::Retrying,
            at(1),
            Some("Graph said 2 (temporary)")
        )
    );
    assert!(!store.release(A, &id, "w1", retry()).await.unwrap());

    let leased = store.lease_due("w1", at(30), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), vec![id.clone()]);
    mark(&store, &id, MessageStatus::Sent, at(31)).await;
    assert!(!store.release(A, &id, "w1", retry()).await.unwrap());
    assert_eq!(
        store.get_message(A, &id).await.unwrap().unwrap().status,
        MessageStatus::Sent
    );
}

/// An instance restarted under its name takes back the leases its dead run held (not
/// another instance's, not one whose name merely starts the same), before they expire; the
/// attempt stays counted. A process that owns its store takes back every lease.
pub async fn dispatch_instance_takes_back_its_own_leases(store: Arc<dyn Store>) {
    let mine = insert(&store, message(A, "R1", "1")).await;
    let also_mine = insert(&store, message(A, "R2", "1")).await;
    let theirs = insert(&store, message(A, "R3", "1")).await;
    let similar = insert(&store, message(A, "R4", "1")).await;
    let sent = insert(&store, message(A, "R5", "1")).await;
    let lease = |worker: &'static str, n: usize| {
        let store = Arc::clone(&store);
        async move { store.lease_due(worker, T0, n, LEASE).await.unwrap() }
    };
    assert_eq!(ids(&lease("gw-1/dispatch-0", 1).await), [mine.as_str()]);
    assert_eq!(
        ids(&lease("gw-1/dispatch-1", 1).await),
        [also_mine.as_str()]
    );
    assert_eq!(ids(&lease("gw-2/dispatch-0", 1).await), [theirs.as_str()]);
    assert_eq!(ids(&lease("gw-10/dispatch-0", 1).await), [similar.as_str()]);
    assert_eq!(ids(&lease("gw-1/dispatch-0", 1).await), [sent.as_str()]);
    mark(&store, &sent, MessageStatus::Sent, at(1)).await;

    assert!(matches!(
        store.recover_leases_of("").await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.recover_leases_of("gw-1/").await.unwrap(), 2);
    assert_eq!(store.recover_leases_of("gw-1/").await.unwrap(), 0);
    // Due again at once, long before the lease would have expired; the attempt counted.
    let again = store
        .lease_due("gw-1/dispatch-0", at(1), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&again), [mine.clone(), also_mine.clone()]);
    assert!(again.iter().all(|m| m.attempts == 2));
    for id in [&theirs, &similar] {
        let m = store.get_message(A, id).await.unwrap().unwrap();
        assert!(m.lease.is_some(), "another instance's lease is kept");
    }
    let m = store.get_message(A, &sent).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Sent);

    // A store one process owns: every lease is its own, whoever's name it carries.
    assert_eq!(store.recover_all_leases().await.unwrap(), 4);
    assert_eq!(store.recover_all_leases().await.unwrap(), 0);
    let all = store
        .lease_due("gw-3/dispatch-0", at(2), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&all), [mine, also_mine, theirs, similar]);
    let m = store.get_message(A, &sent).await.unwrap().unwrap();
    assert_eq!(
        m.status,
        MessageStatus::Sent,
        "a sent message is not touched"
    );
}

/// A lease whose holder died lapses: the message is leased again (or recovered), and the old
/// holder can no longer release or extend it.
pub async fn dispatch_expired_leases_are_recovered(store: Arc<dyn Store>) {
    let id = insert(&store, message(A, "R", "1")).await;
    store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    assert!(store
        .lease_due("w2", at(29), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let leased = store.lease_due("w2", at(30), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), vec![id.clone()]);
    assert_eq!(leased[0].attempts, 2);

    let retry = Retry::at(at(40), at(31));
    assert!(!store.release(A, &id, "w1", retry).await.unwrap());
    assert!(!store
        .extend_lease(A, &id, "w1", at(31), at(120))
        .await
        .unwrap());
    assert!(store
        .extend_lease(A, &id, "w2", at(31), at(120))
        .await
        .unwrap());
    assert!(store
        .lease_due("w3", at(61), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    // An expired lease cannot be extended, even by its holder.
    assert!(!store
        .extend_lease(A, &id, "w2", at(120), at(200))
        .await
        .unwrap());

    let other = insert(&store, message(A, "S", "2")).await;
    let leased = store
        .lease_due("w4", at(100), 10, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(ids(&leased), vec![other.clone()]);
    assert_eq!(store.recover_expired_leases(at(105)).await.unwrap(), 0);
    assert_eq!(store.recover_expired_leases(at(110)).await.unwrap(), 1);
    let m = store.get_message(A, &other).await.unwrap().unwrap();
    assert_eq!(m.lease, None);
    assert_eq!(store.recover_expired_leases(at(121)).await.unwrap(), 1);
    let leased = store.lease_due("w5", at(121), 10, LEASE).await.unwrap();
    assert_eq!(ids(&leased), [id, other]);
}

/// A message that leaves `processing`/`retrying` loses its lease and is never leased again.
pub async fn dispatch_final_status_ends_lease(store: Arc<dyn Store>) {
    let sent = insert(&store, message(A, "R", "1")).await;
    let expired = insert(&store, message(A, "S", "2")).await;
    store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    mark(&store, &sent, MessageStatus::Sent, at(1)).await;
    mark(&store, &expired, MessageStatus::Expired, at(1)).await;
    for id in [&sent, &expired] {
        assert_eq!(store.get_message(A, id).await.unwrap().unwrap().lease, None);
    }
    assert!(store
        .lease_due("w2", at(100), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.recover_expired_leases(at(100)).await.unwrap(), 0);
}

/// Several workers leasing at once: every message is leased exactly once, one at a time per
/// recipient, in acceptance order.
pub async fn dispatch_concurrent_workers_never_share(store: Arc<dyn Store>) {
    const RECIPIENTS: usize = 6;
    const PER_RECIPIENT: usize = 40;
    const TOTAL: usize = RECIPIENTS * PER_RECIPIENT;
    let batch: Vec<NewMessage> = (0..TOTAL)
        .map(|i| message(A, &format!("r{}", i % RECIPIENTS), &i.to_string()))
        .collect();
    // Per recipient, its message ids in acceptance order.
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for m in &batch {
        expected
            .entry(m.recipient_key.clone())
            .or_default()
            .push(m.id.clone());
    }
    store.insert_messages(batch).await.unwrap();

    // Per recipient, the ids in the order workers leased them.
    let leased: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    // Recipients with a message held by a worker.
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        let leased = leased.clone();
        let in_flight = in_flight.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut idle_rounds = 0;
            while idle_rounds < 200 {
                let got = store
                    .lease_due(&worker, T0, 7, Duration::from_secs(600))
                    .await
                    .unwrap();
                if got.is_empty() {
                    idle_rounds += 1;
                    tokio::task::yield_now().await;
                    continue;
                }
                idle_rounds = 0;
                for m in &got {
                    assert!(
                        in_flight.lock().unwrap().insert(m.recipient_key.clone()),
                        "two messages of {} in flight",
                        m.recipient_key
                    );
                    let mut map = leased.lock().unwrap();
                    map.entry(m.recipient_key.clone())
                        .or_default()
                        .push(m.id.clone());
                }
                for m in got {
                    if let Some(prev) = leased_before(&leased, &m) {
                        let p = store.get_message(A, &prev).await.unwrap().unwrap();
                        assert_eq!(p.status, MessageStatus::Sent, "{prev} still in flight");
                    }
                    // Done with it before the store hears so: no false alarm from a worker
                    // that leases the next message the moment the store allows it.
                    in_flight.lock().unwrap().remove(&m.recipient_key);
                    let sent = StatusUpdate::new(MessageStatus::Sent, at(1));
                    assert!(store.update_status(A, &m.id, sent).await.unwrap().applied);
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let leased = leased.lock().unwrap().clone();
    assert_eq!(leased, expected);
    for ids in expected.values() {
        for id in ids {
            let m = store.get_message(A, id).await.unwrap().unwrap();
            assert_eq!((m.status, m.attempts), (MessageStatus::Sent, 1), "{id}");
        }
    }
}

/// The message leased just before `m` for the same recipient, if any.
fn leased_before(
    leased: &Mutex<HashMap<String, Vec<String>>>,
    m: &MessageRecord,
) -> Option<String> {
    let map = leased.lock().unwrap();
    let seq = map.get(&m.recipient_key)?;
    let pos = seq.iter().position(|id| id == &m.id)?;
    pos.checked_sub(1).map(|p| seq[p].clone())
}
