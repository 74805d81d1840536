//! Pacing and fairness: spaces take turns when leasing, a paced message is given back untouched,
//! and the send buckets keep their pace under concurrent reservations.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{MessageStatus, Timestamp};

use crate::conformance::{at, message, T0};
use crate::{Pace, Reservation, Retry, Store};

const LEASE: Duration = Duration::from_secs(30);

/// A backlog in one space does not hold back another space's messages: the limit is shared.
pub async fn dispatch_spaces_take_turns(store: Arc<dyn Store>) {
    let mut backlog = Vec::new();
    for i in 0..20 {
        backlog.push(message("space-a", &format!("a{i}"), "a"));
    }
    let order: Vec<String> = backlog.iter().map(|m| m.id.clone()).collect();
    store.insert_messages(backlog).await.unwrap();
    let b = message("space-b", "b0", "b");
    let b_id = b.id.clone();
    store.insert_message(b).await.unwrap();
    let c = message("space-c", "c0", "c");
    let c_id = c.id.clone();
    store.insert_message(c).await.unwrap();

    let leased = store.lease_due("w1", T0, 4, LEASE).await.unwrap();
    assert_eq!(leased.len(), 4);
    let of = |space: &str| leased.iter().filter(|m| m.space == space).count();
    assert_eq!((of("space-b"), of("space-c")), (1, 1), "{leased:?}");
    assert!(leased.iter().any(|m| m.id == b_id) && leased.iter().any(|m| m.id == c_id));
    // What the small spaces leave unused goes to the backlog, oldest first.
    let more = store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    assert_eq!(more.len(), 10);
    assert!(more.iter().all(|m| m.space == "space-a"));
    let first_a: Vec<&str> = leased
        .iter()
        .filter(|m| m.space == "space-a")
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(first_a, order[..2], "oldest first within a space");
    let mut later_a: Vec<&str> = more.iter().map(|m| m.id.as_str()).collect();
    later_a.sort_by_key(|id| order.iter().position(|o| o == id));
    assert_eq!(later_a, order[2..12]);
}

/// A deferred message goes back untouched: no status change, the attempt uncounted, due later;
/// only its lease holder may defer it.
pub async fn dispatch_defer_gives_back_untouched(store: Arc<dyn Store>) {
    let m = message("space-a", "R", "1");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let next = message("space-a", "R", "2");
    store.insert_message(next).await.unwrap();

    let leased = store.lease_due("w1", T0, 10, LEASE).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert!(!store.defer("space-a", &id, "w2", at(5)).await.unwrap());
    assert!(store.defer("space-a", &id, "w1", at(5)).await.unwrap());
    assert!(!store.defer("space-a", &id, "w1", at(5)).await.unwrap());
    let stored = store.get_message("space-a", &id).await.unwrap().unwrap();
    assert_eq!(stored.status, MessageStatus::Processing);
    assert_eq!(stored.status_history.len(), 1, "no status change");
    assert_eq!(stored.attempts, 0);
    assert_eq!(stored.lease, None);
    assert_eq!(stored.next_attempt_at, at(5));
    // Still the head of its recipient: nothing of R goes before it.
    assert!(store
        .lease_due("w1", at(4), 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    let again = store.lease_due("w1", at(5), 10, LEASE).await.unwrap();
    assert_eq!(
        again.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );
    assert_eq!(again[0].attempts, 1);
    // A release after a defer still counts as an orderly end of the attempt.
    let retry = Retry::at(at(6), at(5)).reason("graph 500");
    assert!(store.release("space-a", &id, "w1", retry).await.unwrap());
}

/// A bucket grants its burst at once, then one send per interval; beyond the horizon it takes
/// nothing and says when to ask again; buckets are independent.
pub async fn pacing_buckets_keep_the_pace(store: Arc<dyn Store>) {
    let pace = Pace::new(100, 2).unwrap();
    let horizon = Duration::from_millis(50);
    let granted = |r: Reservation| match r {
        Reservation::Granted(at) => at,
        Reservation::Busy(t) => panic!("busy until {t}"),
    };
    let at0 = granted(
        store
            .reserve_sends("P/standard", pace, 3, T0, horizon)
            .await
            .unwrap(),
    );
    assert_eq!(at0, [T0, T0, T0.add_millis(10)]);
    let next = granted(
        store
            .reserve_sends("P/standard", pace, 1, T0, horizon)
            .await
            .unwrap(),
    );
    assert_eq!(next, [T0.add_millis(20)]);
    for expected in [30, 40, 50] {
        let got = granted(
            store
                .reserve_sends("P/standard", pace, 1, T0, horizon)
                .await
                .unwrap(),
        );
        assert_eq!(got, [T0.add_millis(expected)]);
    }
    // Booked up to 50 ms: the next slot (60 ms) is beyond 50 ms; ask again at 10 ms.
    let busy = store
        .reserve_sends("P/standard", pace, 1, T0, horizon)
        .await
        .unwrap();
    assert_eq!(busy, Reservation::Busy(T0.add_millis(10)));
    let later = granted(
        store
            .reserve_sends("P/standard", pace, 1, T0.add_millis(10), horizon)
            .await
            .unwrap(),
    );
    assert_eq!(later, [T0.add_millis(60)]);
    // Another bucket is not affected.
    let media = granted(
        store
            .reserve_sends("P/media", pace, 1, T0, horizon)
            .await
            .unwrap(),
    );
    assert_eq!(media, [T0]);
    // After a quiet second, the burst is back.
    let quiet = at(2);
    let burst = granted(
        store
            .reserve_sends("P/standard", pace, 2, quiet, horizon)
            .await
            .unwrap(),
    );
    assert_eq!(burst, [quiet, quiet]);
}

/// Many concurrent reservations on one bucket never book two sends closer than the pace allows.
pub async fn pacing_concurrent_reservations_never_overbook(store: Arc<dyn Store>) {
    let pace = Pace::new(1_000, 1).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<Timestamp> = Vec::new();
            for _ in 0..25 {
                match store
                    .reserve_sends("Q/standard", pace, 1, T0, Duration::from_secs(10))
                    .await
                    .unwrap()
                {
                    Reservation::Granted(at) => got.extend(at),
                    Reservation::Busy(t) => panic!("busy until {t} within the horizon"),
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let expected: Vec<Timestamp> = (0..200).map(|i| T0.add_millis(i)).collect();
    assert_eq!(all, expected, "one send per millisecond, none booked twice");
}
