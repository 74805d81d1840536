//! Queued webhook bodies applied together: receipts are gathered into runs, yet every event takes
//! effect in the order Meta sent it, redeliveries are skipped, and each status change queues
//! its event.

use std::time::Duration;

use crate::common::{body, harness, PAGE, SPACE};
use messenger::send::SendTag;
use messenger_model::{EventName, MessageStatus, Timestamp};
use messenger_store::{DispatchQueue, WebhookQueue};
use serde_json::{json, Value};

const PSID: &str = "24000000003001";

fn event(kind: &str, value: Value, sender: &str, recipient: &str, t: i64) -> Value {
    json!({"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": t, kind: value})
}

fn webhook(events: Vec<Value>) -> Vec<u8> {
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": events}]});
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test]
async fn receipts_echoes_and_messages_apply_in_order_across_bodies() {
    let h = harness(|s| s.window_check(false)).await;
    let to = json!({"fbMessengerId": PSID});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let accepted = h
            .messenger
            .accept(SPACE, &body(to.clone(), &["fbMessenger"]), None)
            .await
            .unwrap();
        ids.push(accepted.id);
        h.dispatch_all().await;
        // Sent in different milliseconds, so a watermark can tell them apart.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let m1 = h.message(&ids[0]).await;
    assert_eq!(m1.status, MessageStatus::Sent);
    let mid1 = m1.graph_message_ids[0].clone();
    // A third message whose worker died after Graph took it: only Meta's echo can confirm it.
    let third = h
        .messenger
        .accept(SPACE, &body(to, &["fbMessenger"]), None)
        .await
        .unwrap()
        .id;
    let leased = h
        .store
        .lease_due("doomed", Timestamp::now(), 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(leased[0].id, third);
    let _ = h.events().await; // the two `message.sent` events

    let now = Timestamp::now().millis();
    let later = now + 60_000; // watermarks after every send, the echo-confirmed one included
    let read = event(
        "read",
        json!({"watermark": m1.sent_at.unwrap().millis()}),
        PSID,
        PAGE,
        now + 2,
    );
    let a = webhook(vec![
        event(
            "delivery",
            json!({"mids": [mid1], "watermark": 0}),
            PSID,
            PAGE,
            now,
        ),
        // The echo of a send already recorded: nothing to do.
        event(
            "message",
            json!({"is_echo": true, "mid": mid1, "metadata": SendTag::new(ids[0].clone(), 0).to_string()}),
            PAGE,
            PSID,
            now + 1,
        ),
        read.clone(),
    ]);
    let b = webhook(vec![
        // Confirms the third message (sent), before the delivery watermark that covers it.
        event(
            "message",
            json!({"is_echo": true, "mid": "m_echo_3", "metadata": SendTag::new(third.clone(), 0).to_string()}),
            PAGE,
            PSID,
            now + 3,
        ),
        event("delivery", json!({"watermark": later}), PSID, PAGE, now + 4),
        event(
            "message",
            json!({"mid": "m_in_1", "text": "thanks!"}),
            PSID,
            PAGE,
            now + 5,
        ),
    ]);
    let c = webhook(vec![read]); // Meta redelivered the read receipt
    h.store
        .enqueue_webhooks(vec![a, b, c.clone()], Timestamp::now())
        .await
        .unwrap();

    let report = h
        .messenger
        .apply_queued_webhooks("ingest-1", 10)
        .await
        .unwrap();
    assert_eq!(
        (report.applied, report.ignored, report.duplicates),
        (5, 1, 1)
    );
    assert_eq!(h.store.webhook_backlog().await.unwrap(), 0);
    assert_eq!(h.message(&ids[0]).await.status, MessageStatus::Read);
    assert_eq!(h.message(&ids[1]).await.status, MessageStatus::Delivered);
    let confirmed = h.message(&third).await;
    assert_eq!(confirmed.status, MessageStatus::Delivered);
    assert_eq!(confirmed.graph_message_ids, ["m_echo_3"]);

    let events: Vec<(EventName, Option<String>)> = h
        .events()
        .await
        .into_iter()
        .map(|e| {
            let id = e.payload["messageId"].as_str().map(str::to_owned);
            (e.name, id)
        })
        .collect();
    assert_eq!(
        events,
        [
            (EventName::MessageDelivered, Some(ids[0].clone())),
            (EventName::MessageRead, Some(ids[0].clone())),
            (EventName::MessageSent, Some(third.clone())),
            (EventName::MessageDelivered, Some(ids[1].clone())),
            (EventName::MessageDelivered, Some(third.clone())),
            (EventName::MessageInbound, None),
        ]
    );

    // Redelivered once more, later: recognised, nothing changes, nothing is queued.
    let payload = messenger_model::webhook::WebhookPayload::from_json(&c).unwrap();
    let again = h.messenger.process_webhook(&payload).await.unwrap();
    assert_eq!((again.applied, again.duplicates), (0, 1));
    assert!(h.events().await.is_empty());
}

/// A body that cannot be applied (its echo claims a Graph message id that belongs to another
/// message: the store refuses) does not hold back the others: after the combined round fails,
/// each body is applied alone, and only the bad one is handed back to be tried again.
#[tokio::test]
async fn a_body_that_cannot_be_applied_does_not_hold_back_the_others() {
    let h = harness(|s| s.window_check(false)).await;
    let to = json!({"fbMessengerId": PSID});
    let first = h
        .messenger
        .accept(SPACE, &body(to.clone(), &["fbMessenger"]), None)
        .await
        .unwrap()
        .id;
    h.dispatch_all().await;
    let taken_mid = h.message(&first).await.graph_message_ids[0].clone();
    let second = h
        .messenger
        .accept(SPACE, &body(to, &["fbMessenger"]), None)
        .await
        .unwrap()
        .id;
    h.store
        .lease_due("doomed", Timestamp::now(), 1, Duration::from_secs(60))
        .await
        .unwrap();
    let _ = h.events().await; // the first message's `message.sent`

    let now = Timestamp::now().millis();
    let good = webhook(vec![event(
        "message",
        json!({"mid": "m_in_9", "text": "hello"}),
        PSID,
        PAGE,
        now,
    )]);
    let bad = webhook(vec![event(
        "message",
        json!({"is_echo": true, "mid": taken_mid, "metadata": SendTag::new(second.clone(), 0).to_string()}),
        PAGE,
        PSID,
        now + 1,
    )]);
    let also_good = webhook(vec![event(
        "read",
        json!({"watermark": now + 60_000}),
        PSID,
        PAGE,
        now + 2,
    )]);
    h.store
        .enqueue_webhooks(vec![good, bad, also_good], Timestamp::now())
        .await
        .unwrap();
    let report = h
        .messenger
        .apply_queued_webhooks("ingest-1", 10)
        .await
        .unwrap();
    // The inbound message took effect in the combined round, before the echo failed it; the
    // one-by-one pass then finds it seen. Either way it took effect once.
    assert_eq!((report.applied, report.duplicates), (1, 1), "{report:?}");
    // The bad body waits to be tried again; the others are gone.
    assert_eq!(h.store.webhook_backlog().await.unwrap(), 1);
    assert_eq!(h.message(&first).await.status, MessageStatus::Read);
    assert!(h.message(&second).await.is_unsent());
    let names: Vec<EventName> = h.events().await.into_iter().map(|e| e.name).collect();
    assert_eq!(names, [EventName::MessageInbound, EventName::MessageRead]);
}
