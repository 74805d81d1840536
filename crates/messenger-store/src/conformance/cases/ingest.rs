//! Cases for the webhook queue.

use std::sync::Arc;
use std::time::Duration;

use crate::conformance::{at, T0};
use crate::Store;

/// Queued webhook bodies come back byte for byte, oldest first, leased once at a time; released
/// ones wait for their retry time; completed ones are gone; expired leases are taken over.
pub async fn webhook_queue_leases_in_order(store: Arc<dyn Store>) {
    let bodies = vec![
        b"{\"a\":1}".to_vec(),
        vec![0, 159, 146, 150],
        b"third".to_vec(),
    ];
    let ids = store.enqueue_webhooks(bodies.clone(), T0).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    assert_eq!(store.webhook_backlog().await.unwrap(), 3);

    let lease = Duration::from_secs(30);
    let first = store.lease_webhooks("w1", T0, 2, lease).await.unwrap();
    assert_eq!(
        first.iter().map(|w| w.id).collect::<Vec<_>>(),
        ids[..2].to_vec()
    );
    assert_eq!(first[0].body, bodies[0]);
    assert_eq!(first[1].body, bodies[1], "binary bodies survive");
    assert_eq!(first[0].attempts, 1);
    let second = store.lease_webhooks("w2", T0, 10, lease).await.unwrap();
    assert_eq!(
        second.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![ids[2]]
    );
    assert!(store
        .lease_webhooks("w3", at(1), 10, lease)
        .await
        .unwrap()
        .is_empty());

    assert!(
        !store.release_webhook(ids[0], "w2", at(5)).await.unwrap(),
        "only the holder releases"
    );
    assert!(store.release_webhook(ids[0], "w1", at(5)).await.unwrap());
    assert!(store
        .lease_webhooks("w3", at(4), 10, lease)
        .await
        .unwrap()
        .is_empty());
    let again = store.lease_webhooks("w3", at(5), 10, lease).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);

    assert_eq!(store.complete_webhooks(&[ids[1], ids[2]]).await.unwrap(), 2);
    assert_eq!(store.complete_webhooks(&[ids[1]]).await.unwrap(), 0);
    assert_eq!(store.webhook_backlog().await.unwrap(), 1);
    // w3's lease on ids[0] lapses: another worker takes it over.
    let taken = store.lease_webhooks("w4", at(40), 10, lease).await.unwrap();
    assert_eq!(taken.iter().map(|w| w.id).collect::<Vec<_>>(), vec![ids[0]]);
    assert!(store
        .enqueue_webhooks(Vec::new(), T0)
        .await
        .unwrap()
        .is_empty());
}

/// A queued body is found by what it contains until it is removed, only if it was received by
/// the time asked; an instance taking back its own leases frees only the bodies held under its
/// prefix, and refuses an empty prefix; taking back every lease frees them all.
pub async fn webhook_queue_leases_of_an_instance_are_taken_back(store: Arc<dyn Store>) {
    let echo = |id: &str| format!("{{\"metadata\":\"mx1:{id}:0\"}}").into_bytes();
    let first = store
        .enqueue_webhooks(vec![echo("msg-1"), vec![0, 255, b'm', 0]], at(1))
        .await
        .unwrap();
    let later = store
        .enqueue_webhooks(vec![echo("msg-2")], at(2))
        .await
        .unwrap();
    let mentions = |needle: &'static str, by| {
        let store = Arc::clone(&store);
        async move {
            store
                .webhook_queued_mentioning(needle.as_bytes(), by)
                .await
                .unwrap()
        }
    };
    assert!(mentions("msg-1", at(1)).await);
    assert!(
        !mentions("msg-2", at(1)).await,
        "received after the time asked"
    );
    assert!(mentions("msg-2", at(2)).await);
    assert!(!mentions("msg-3", at(9)).await);
    assert!(store.webhook_queued_mentioning(b"", at(9)).await.is_err());

    let lease = Duration::from_secs(60);
    assert_eq!(
        store
            .lease_webhooks("gw-1/webhooks", at(2), 2, lease)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .lease_webhooks("gw-10/webhooks", at(2), 1, lease)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        mentions("msg-1", at(2)).await,
        "a leased body is still queued"
    );
    assert!(
        store.recover_webhook_leases_of("").await.is_err(),
        "an empty prefix would take every instance's leases"
    );
    assert_eq!(store.recover_webhook_leases_of("gw-1/").await.unwrap(), 2);
    assert_eq!(store.recover_webhook_leases_of("gw-1/").await.unwrap(), 0);
    // The freed bodies are due again at once; gw-10's lease still holds.
    let again = store
        .lease_webhooks("gw-1/webhooks", at(3), 10, lease)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|w| w.id).collect::<Vec<_>>(), first);
    assert_eq!(again[0].attempts, 2);

    assert_eq!(store.complete_webhooks(&first).await.unwrap(), 2);
    assert!(!mentions("msg-1", at(9)).await);
    assert!(mentions("msg-2", at(9)).await);
    assert_eq!(store.complete_webhooks(&later).await.unwrap(), 1);
    assert!(!mentions("msg-2", at(9)).await);

    // A store one process owns: every lease is its own, whoever's name it carries.
    let queued = store
        .enqueue_webhooks(vec![echo("msg-3"), echo("msg-4")], at(10))
        .await
        .unwrap();
    for (holder, n) in [("gw-4/webhooks", 1), ("other/webhooks", 1)] {
        let held = store
            .lease_webhooks(holder, at(10), n, lease)
            .await
            .unwrap();
        assert_eq!(held.len(), n);
    }
    assert_eq!(store.recover_all_webhook_leases().await.unwrap(), 2);
    assert_eq!(store.recover_all_webhook_leases().await.unwrap(), 0);
    let again = store
        .lease_webhooks("gw-5/webhooks", at(11), 10, lease)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|w| w.id).collect::<Vec<_>>(),
        queued,
        "due again at once"
    );
}
