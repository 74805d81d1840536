//! Receipts that arrive before the send they cover is recorded: held, then applied when the
//! send is settled, each change with its event.

use std::sync::Arc;

use messenger_model::{Channel, MessageStatus};

use super::receipts::{queued_event_ids, status, status_event, A};
use crate::conformance::{at, message};
use crate::{MessengerRecipient, Receipt, Settlement, StatusUpdate, Store};

/// Settles a new message to `psid` as sent on Messenger at `sent_secs` with Graph id `mid`,
/// with its events; returns its id.
async fn settle_sent(
    store: &Arc<dyn Store>,
    space: &str,
    psid: &str,
    sent_secs: i64,
    mid: &str,
) -> String {
    let m = message(space, &format!("psid:{psid}"), "hello");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let update = StatusUpdate::new(MessageStatus::Sent, at(sent_secs))
        .channel(Channel::FbMessenger)
        .sent_to("page-1", psid);
    let settled = Settlement::new(space, &id, update).graph_message_ids([mid]);
    let outcomes = store
        .settle_and_queue(vec![settled], &status_event, at(sent_secs))
        .await
        .unwrap();
    assert!(outcomes[0].applied);
    assert_eq!(
        outcomes[0].message.status,
        MessageStatus::Sent,
        "the outcome shows the settlement's change"
    );
    id
}

/// A delivery naming a mid no message carries yet, and watermarks for a recipient with nothing
/// sent, are held: the send recorded afterwards becomes delivered and read, with an event for
/// each change after its `sent` event. A later send the watermark does not cover, and a send of
/// another space, stay `sent`; a lower watermark never lowers the one held.
pub async fn receipts_before_the_send_are_held(store: Arc<dyn Store>) {
    let user = MessengerRecipient::new("page-1", "psid-1");
    let early = vec![
        Receipt::delivered(A, user.clone(), at(1), at(4)).mids(["m_early"]),
        Receipt::read(A, user.clone(), at(5), at(6)),
        // Lower than the read watermark held: changes nothing.
        Receipt::read(A, user.clone(), at(2), at(7)),
    ];
    let changed = store
        .apply_receipts(early, &status_event, &[], at(7))
        .await
        .unwrap();
    assert!(changed.is_empty(), "nothing was sent yet");

    let covered = settle_sent(&store, A, "psid-1", 3, "m_early").await;
    let record = store.get_message(A, &covered).await.unwrap().unwrap();
    assert_eq!(record.status, MessageStatus::Read);
    let reasons: Vec<(MessageStatus, Option<&str>)> = record
        .status_history
        .iter()
        .map(|c| (c.status, c.reason.as_deref()))
        .skip_while(|(s, _)| *s != MessageStatus::Sent)
        .collect();
    assert_eq!(
        reasons,
        [
            (MessageStatus::Sent, None),
            (
                MessageStatus::Delivered,
                Some("delivery receipt for m_early")
            ),
            (
                MessageStatus::Read,
                Some(format!("watermark {}", at(5)).as_str())
            ),
        ]
    );
    assert_eq!(
        queued_event_ids(&store).await,
        [
            format!("{covered}.sent"),
            format!("{covered}.delivered"),
            format!("{covered}.read"),
        ]
    );

    // Sent after the read watermark, with a mid nobody named: only `sent`.
    let later = settle_sent(&store, A, "psid-1", 9, "m_later").await;
    assert_eq!(status(&store, &later).await, MessageStatus::Sent);
    // The same user and mid in another space: nothing held there.
    let other = settle_sent(&store, "space-b", "psid-1", 3, "m_early").await;
    let other = store.get_message("space-b", &other).await.unwrap().unwrap();
    assert_eq!(other.status, MessageStatus::Sent);
}

/// Held receipts are forgotten by the purge: a send recorded after it stays `sent`.
pub async fn held_receipts_are_purged(store: Arc<dyn Store>) {
    let user = MessengerRecipient::new("page-1", "psid-1");
    store
        .apply_receipts(
            vec![Receipt::delivered(A, user, at(5), at(5)).mids(["m_1"])],
            &status_event,
            &[],
            at(10),
        )
        .await
        .unwrap();
    assert_eq!(store.purge_held_receipts(at(10)).await.unwrap(), 0);
    // The mid and the watermark.
    assert_eq!(store.purge_held_receipts(at(11)).await.unwrap(), 2);
    let id = settle_sent(&store, A, "psid-1", 3, "m_1").await;
    assert_eq!(status(&store, &id).await, MessageStatus::Sent);
}
