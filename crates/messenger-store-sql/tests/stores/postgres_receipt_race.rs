//! A receipt and the send it covers, recorded at the same moment by two instances on one
//! PostgreSQL: whichever commits second sees the other, so no delivery or read is lost, and each
//! message's events are queued once each.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::postgres::{in_schema, store_in_fresh_schema};
use messenger_model::{Channel, MessageStatus, SendRequest, Timestamp, To};
use messenger_store::conformance::cases::status_event;
use messenger_store::{
    MessageStore, MessengerRecipient, NewMessage, Receipt, Settlement, StatusUpdate, Store,
};
use messenger_store_sql::{PostgresStore, SqlOptions};

const SPACE: &str = "space-race";
const NOW: Timestamp = Timestamp::from_millis(1_767_225_600_000);
const PAIRS: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_racing_their_sends_are_never_lost() {
    let Some((sender, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let options = in_schema(&schema, SqlOptions::default());
    let receiver = PostgresStore::connect(schema.server_url(), &options)
        .await
        .expect("the second instance connects");
    // Recipients shared by several messages, so receipts and sends meet on the same rows.
    let recipient = |i: usize| format!("psid-{}", i % 40);
    let news: Vec<NewMessage> = (0..PAIRS)
        .map(|i| {
            let req = SendRequest::new(To::fb_messenger_id(recipient(i))).body(i.to_string());
            NewMessage::new(SPACE, format!("m{i}"), req, NOW)
        })
        .collect();
    let ids: Vec<String> = sender
        .insert_messages(news)
        .await
        .expect("insert")
        .iter()
        .map(|o| o.id().to_owned())
        .collect();

    let sender: Arc<dyn Store> = Arc::new(sender);
    let receiver: Arc<dyn Store> = Arc::new(receiver);
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (sender, receiver, id) = (sender.clone(), receiver.clone(), id.clone());
        let psid = recipient(i);
        tasks.push(tokio::spawn(async move {
            let sent_at = NOW.add_millis(i as i64);
            let mid = format!("m_{i}");
            let update = StatusUpdate::new(MessageStatus::Sent, sent_at)
                .channel(Channel::FbMessenger)
                .sent_to("page-1", &psid);
            let settle = Settlement::new(SPACE, &id, update).graph_message_ids([mid.clone()]);
            let to = MessengerRecipient::new("page-1", &psid);
            let receipts = vec![
                Receipt::delivered(SPACE, to.clone(), sent_at, sent_at).mids([mid]),
                Receipt::read(SPACE, to, sent_at, sent_at.add_millis(1)),
            ];
            // Which runs first is left to the scheduler: both orders and overlaps happen.
            let (settled, applied) = tokio::join!(
                sender.settle_and_queue(vec![settle], &status_event, sent_at),
                receiver.apply_receipts(receipts, &status_event, &[], sent_at),
            );
            settled.expect("settle");
            applied.expect("receipts");
        }));
    }
    for t in tasks {
        t.await.expect("no task panics");
    }

    for id in &ids {
        let m = sender.get_message(SPACE, id).await.unwrap().unwrap();
        assert_eq!(
            m.status,
            MessageStatus::Read,
            "message {id}: {:?}",
            m.status_history
        );
    }
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let leased = sender
            .lease_due_events(
                "reader",
                NOW.add_millis(10_000_000),
                1000,
                Duration::from_secs(600),
            )
            .await
            .unwrap();
        if leased.is_empty() {
            break;
        }
        for e in leased {
            let (id, status) = e.envelope.event_id.rsplit_once('.').unwrap();
            events
                .entry(id.to_owned())
                .or_default()
                .push(status.to_owned());
        }
    }
    for id in &ids {
        assert_eq!(events[id], ["sent", "delivered", "read"], "events of {id}");
    }
}
