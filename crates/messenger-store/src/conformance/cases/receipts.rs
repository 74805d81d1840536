//! Status changes recorded together with their events: settling with events, receipts in
//! batches, and the batched seen check.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{Channel, EventEnvelope, EventName, MessageStatus};
use serde_json::json;

use crate::conformance::{at, message};
use crate::{
    MessageRecord, MessengerRecipient, QueuedEvent, Receipt, Settlement, StatusUpdate, Store,
    StoreError,
};

pub(super) const A: &str = "space-a";

/// The rule the facade hands the store, in miniature: one event per status change, named by
/// message and status (event id `<message id>.<status>`), none for `processing`/`retrying`.
pub fn status_event(message: &MessageRecord) -> Option<QueuedEvent> {
    let name = match message.status {
        MessageStatus::Sent => EventName::MessageSent,
        MessageStatus::Delivered => EventName::MessageDelivered,
        MessageStatus::Read => EventName::MessageRead,
        MessageStatus::Failed => EventName::MessageFailed,
        _ => return None,
    };
    Some(QueuedEvent {
        target: "default".into(),
        envelope: EventEnvelope {
            event_id: format!("{}.{}", message.id, message.status),
            api_space_id: message.space.clone(),
            name,
            payload: json!({"messageId": message.id, "status": message.status}),
            revision: message.revision(),
            timestamp: at(50),
        },
    })
}

/// Every event id queued so far, in queue order.
pub(super) async fn queued_event_ids(store: &Arc<dyn Store>) -> Vec<String> {
    store
        .lease_due_events("reader", at(100), 1000, Duration::from_secs(60))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.envelope.event_id)
        .collect()
}

/// Inserts a message to `psid` and marks it sent at `sent_secs` with Graph id `mid`.
async fn sent(store: &Arc<dyn Store>, psid: &str, sent_secs: i64, mid: &str) -> String {
    let m = message(A, &format!("psid:{psid}"), "hello");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let update = StatusUpdate::new(MessageStatus::Sent, at(sent_secs))
        .channel(Channel::FbMessenger)
        .sent_to("page-1", psid);
    let settled = Settlement::new(A, &id, update).graph_message_ids([mid]);
    store.settle_messages(vec![settled]).await.unwrap();
    id
}

pub(super) async fn status(store: &Arc<dyn Store>, id: &str) -> MessageStatus {
    store.get_message(A, id).await.unwrap().unwrap().status
}

/// Settling with events queues one event per applied status change, and none for a change the
/// rules refuse.
pub async fn receipts_settle_and_queue(store: Arc<dyn Store>) {
    let (one, two) = (message(A, "psid:1", "one"), message(A, "psid:2", "two"));
    let (id1, id2) = (one.id.clone(), two.id.clone());
    store.insert_messages(vec![one, two]).await.unwrap();
    let sent = |id: &str| {
        Settlement::new(
            A,
            id,
            StatusUpdate::new(MessageStatus::Sent, at(1)).sent_to("page-1", "1"),
        )
        .graph_message_ids([format!("m_{id}")])
    };
    let outcomes = store
        .settle_and_queue(vec![sent(&id1), sent(&id2)], &status_event, at(1))
        .await
        .unwrap();
    assert!(outcomes.iter().all(|o| o.applied));
    assert_eq!(outcomes[0].message.graph_message_ids, [format!("m_{id1}")]);
    // Back to processing: refused, so no event.
    let back = Settlement::new(A, &id1, StatusUpdate::new(MessageStatus::Processing, at(2)));
    let outcomes = store
        .settle_and_queue(vec![back], &status_event, at(2))
        .await
        .unwrap();
    assert!(!outcomes[0].applied);
    assert_eq!(
        queued_event_ids(&store).await,
        [format!("{id1}.sent"), format!("{id2}.sent")]
    );
    // An unknown message fails the call.
    let unknown = Settlement::new(A, "no-such", StatusUpdate::new(MessageStatus::Sent, at(3)));
    let err = store
        .settle_and_queue(vec![unknown], &status_event, at(3))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// Receipts apply in order like the single operations: mids deliver what they name, watermarks
/// move what was sent before them, every change queues its event (twice changed, two events),
/// and the seen keys are marked.
pub async fn receipts_apply_in_order_with_events(store: Arc<dyn Store>) {
    let user = MessengerRecipient::new("page-1", "psid-1");
    let a = sent(&store, "psid-1", 1, "m_a").await;
    let b = sent(&store, "psid-1", 2, "m_b").await;
    let c = sent(&store, "psid-1", 3, "m_c").await;
    let other = sent(&store, "psid-2", 1, "m_other").await;
    let receipts = vec![
        // Delivers c by its mid (its time is after the watermark), and a, b by the watermark.
        Receipt::delivered(A, user.clone(), at(2), at(10)).mids(["m_c", "m_unknown"]),
        // Then read up to 1 s: only a.
        Receipt::read(A, user.clone(), at(1), at(11)),
        // A watermark of another space changes nothing.
        Receipt::read("space-b", user.clone(), at(9), at(12)),
    ];
    let seen = ["delivery:1".to_owned(), "read:1".to_owned()];
    let changed = store
        .apply_receipts(receipts, &status_event, &seen, at(20))
        .await
        .unwrap();
    let changes: Vec<(String, MessageStatus)> =
        changed.iter().map(|m| (m.id.clone(), m.status)).collect();
    assert_eq!(
        changes,
        [
            (c.clone(), MessageStatus::Delivered),
            (a.clone(), MessageStatus::Delivered),
            (b.clone(), MessageStatus::Delivered),
            (a.clone(), MessageStatus::Read),
        ]
    );
    assert_eq!(status(&store, &a).await, MessageStatus::Read);
    assert_eq!(status(&store, &b).await, MessageStatus::Delivered);
    assert_eq!(status(&store, &c).await, MessageStatus::Delivered);
    assert_eq!(status(&store, &other).await, MessageStatus::Sent);
    let a_record = store.get_message(A, &a).await.unwrap().unwrap();
    let last = a_record.status_history.last().unwrap();
    assert_eq!(last.at, at(11));
    let c_record = store.get_message(A, &c).await.unwrap().unwrap();
    assert_eq!(
        c_record.status_history.last().unwrap().reason.as_deref(),
        Some("delivery receipt for m_c")
    );
    assert_eq!(
        queued_event_ids(&store).await,
        [
            format!("{c}.delivered"),
            format!("{a}.delivered"),
            format!("{b}.delivered"),
            format!("{a}.read"),
        ]
    );
    assert!(store.is_seen("delivery:1").await.unwrap());
    assert!(store.is_seen("read:1").await.unwrap());

    // Applied again (a redelivery that got past the seen check): nothing changes, nothing new
    // is queued.
    let again = store
        .apply_receipts(
            vec![Receipt::read(A, user, at(1), at(13))],
            &status_event,
            &seen,
            at(21),
        )
        .await
        .unwrap();
    assert!(again.is_empty());
    assert!(queued_event_ids(&store).await.is_empty());
}

/// A receipt the rules cannot apply (a watermark that would set `sent`) fails the whole call and
/// nothing of it is kept; an empty call is fine.
pub async fn receipts_invalid_fail_whole_call(store: Arc<dyn Store>) {
    let user = MessengerRecipient::new("page-1", "psid-1");
    let a = sent(&store, "psid-1", 1, "m_a").await;
    assert!(store
        .apply_receipts(Vec::new(), &status_event, &[], at(5))
        .await
        .unwrap()
        .is_empty());
    let mut bad = Receipt::read(A, user.clone(), at(9), at(10));
    bad.status = MessageStatus::Sent;
    let err = store
        .apply_receipts(
            vec![Receipt::delivered(A, user, at(9), at(10)), bad],
            &status_event,
            &["k".to_owned()],
            at(10),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert_eq!(status(&store, &a).await, MessageStatus::Sent);
    assert!(!store.is_seen("k").await.unwrap());
    assert!(queued_event_ids(&store).await.is_empty());
}

/// `seen_among` answers for many keys at once, exactly the seen ones.
pub async fn inbox_seen_among(store: Arc<dyn Store>) {
    assert!(store.seen_among(&[]).await.unwrap().is_empty());
    for key in ["k1", "k3"] {
        store.mark_seen(key, at(1)).await.unwrap();
    }
    let keys: Vec<String> = (0..700).map(|i| format!("k{i}")).collect();
    let seen = store.seen_among(&keys).await.unwrap();
    let mut seen: Vec<String> = seen.into_iter().collect();
    seen.sort();
    assert_eq!(seen, ["k1", "k3"]);
}
