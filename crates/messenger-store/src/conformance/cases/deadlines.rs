//! Messenger delivery deadlines: set with `sent`, cleared by a receipt, claimed once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use messenger_model::{Channel, MessageStatus, RuleCause, RuleOutcome, SendRequest, To};

use crate::conformance::{at, T0};
use crate::{MessengerRecipient, NewMessage, Receipt, Settlement, StatusUpdate, Store};

const A: &str = "space-a";

/// A message to `psid` (with a phone number for SMS) with `deliveryTimeout` 60 s when `timed`.
fn timed_message(psid: &str, timed: bool) -> NewMessage {
    let mut req = SendRequest::new(To::fb_messenger_id(psid).with_phone_number("+447700900123"))
        .body("your table is ready")
        .rules([Channel::FbMessenger, Channel::Sms]);
    if timed {
        req = req.delivery_timeout(60);
    }
    NewMessage::new(A, format!("psid:{psid}"), req, T0)
}

/// Inserts it and records it sent on Messenger at `sent_secs`, as dispatch does.
async fn sent_on_messenger(
    store: &Arc<dyn Store>,
    psid: &str,
    timed: bool,
    sent_secs: i64,
) -> String {
    let m = timed_message(psid, timed);
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let update = StatusUpdate::new(MessageStatus::Sent, at(sent_secs))
        .channel(Channel::FbMessenger)
        .sent_to("page-1", psid);
    let settled = Settlement::new(A, &id, update).graph_message_ids([format!("m_{psid}")]);
    store.settle_messages(vec![settled]).await.unwrap();
    id
}

fn ids(records: &[crate::MessageRecord]) -> Vec<String> {
    records.iter().map(|m| m.id.clone()).collect()
}

/// The deadline is written with `sent` (only with a timeout), is not due early, is cleared by a
/// delivery receipt, and when it passes the message goes back to the queue as `retrying` with
/// "no delivery receipt within 60 s" in its history and rule trace: once.
pub async fn deadlines_set_cleared_and_claimed_once(store: Arc<dyn Store>) {
    let late = sent_on_messenger(&store, "1", true, 1).await;
    let delivered = sent_on_messenger(&store, "2", true, 1).await;
    let untimed = sent_on_messenger(&store, "3", false, 1).await;
    let record = store.get_message(A, &late).await.unwrap().unwrap();
    assert_eq!(record.delivery_deadline, Some(at(61)));
    let record = store.get_message(A, &untimed).await.unwrap().unwrap();
    assert_eq!(record.delivery_deadline, None);

    assert!(store
        .claim_delivery_deadlines(at(60), 10)
        .await
        .unwrap()
        .is_empty());

    let receipt = Receipt::delivered(A, MessengerRecipient::new("page-1", "2"), at(5), at(6));
    let none = |_: &crate::MessageRecord| None;
    store
        .apply_receipts(vec![receipt], &none, &[], at(6))
        .await
        .unwrap();
    let record = store.get_message(A, &delivered).await.unwrap().unwrap();
    assert_eq!(record.status, MessageStatus::Delivered);
    assert_eq!(record.delivery_deadline, None);

    let claimed = store.claim_delivery_deadlines(at(61), 10).await.unwrap();
    assert_eq!(ids(&claimed), std::slice::from_ref(&late));
    let record = store.get_message(A, &late).await.unwrap().unwrap();
    assert_eq!(record.status, MessageStatus::Retrying);
    assert_eq!(record.delivery_deadline, None);
    assert_eq!(record.next_attempt_at, at(61));
    let last = record.status_history.last().unwrap();
    assert_eq!(
        last.reason.as_deref(),
        Some("no delivery receipt within 60 s")
    );
    let trace = record.rule_trace.last().unwrap();
    assert_eq!(
        (
            trace.channel,
            trace.outcome,
            trace.cause,
            trace.reason.as_str()
        ),
        (
            Channel::FbMessenger,
            RuleOutcome::Failed,
            RuleCause::DeliveryDeadlineMissed,
            "no delivery receipt within the deliveryTimeout: 60 s"
        )
    );
    assert!(store
        .claim_delivery_deadlines(at(500), 10)
        .await
        .unwrap()
        .is_empty());

    // Back in the dispatch queue; sent by SMS, it is `sent` again with no new deadline.
    let leased = store
        .lease_due("w", at(61), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(ids(&leased), std::slice::from_ref(&late));
    let sms = StatusUpdate::new(MessageStatus::Sent, at(62)).channel(Channel::Sms);
    let outcome = store
        .settle_messages(vec![Settlement::new(A, &late, sms)])
        .await
        .unwrap();
    assert!(outcome[0].applied);
    let record = store.get_message(A, &late).await.unwrap().unwrap();
    assert_eq!(record.channel, Some(Channel::Sms));
    assert_eq!(
        record.sent_at,
        Some(at(1)),
        "sent_at stays Messenger's, for late receipts"
    );
    assert_eq!(record.delivery_deadline, None);
    let statuses: Vec<MessageStatus> = record.status_history.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [
            MessageStatus::Processing,
            MessageStatus::Sent,
            MessageStatus::Retrying,
            MessageStatus::Sent
        ]
    );
    // A late Messenger receipt still applies.
    let receipt = Receipt::delivered(A, MessengerRecipient::new("page-1", "1"), at(70), at(70));
    let changed = store
        .apply_receipts(vec![receipt], &none, &[], at(70))
        .await
        .unwrap();
    assert_eq!(ids(&changed), [late]);
}

/// Concurrent claimers, each taking a few at a time, reopen every passed deadline exactly once.
pub async fn deadlines_concurrent_claimers_fire_once(store: Arc<dyn Store>) {
    const MESSAGES: usize = 30;
    let mut all = HashSet::new();
    for i in 0..MESSAGES {
        all.insert(sent_on_messenger(&store, &format!("u{i}"), true, 1).await);
    }
    let mut claimers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let mut idle = 0;
            while idle < 50 {
                let claimed = store.claim_delivery_deadlines(at(100), 3).await.unwrap();
                if claimed.is_empty() {
                    idle += 1;
                    tokio::task::yield_now().await;
                }
                got.extend(claimed.into_iter().map(|m| m.id));
            }
            got
        }));
    }
    let mut seen = HashSet::new();
    for claimer in claimers {
        for id in claimer.await.unwrap() {
            assert!(seen.insert(id.clone()), "{id} claimed twice");
        }
    }
    assert_eq!(seen, all);
}
