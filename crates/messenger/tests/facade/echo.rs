//! A worker that dies after Graph accepted a send but before recording it: Meta's message echo
//! (carrying the pipeline's send tag) confirms the send, so it is not sent again; without an
//! echo, the message goes out after the grace period. Time is the facade's clock, moved by the
//! test: the waits for a lease or the grace to run out are steps, not sleeps.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::{body, harness_with, Harness, ManualClock, PAGE, SPACE};
use messenger::send::SendTag;
use messenger_model::graph::Recipient;
use messenger_model::{plan_graph_sends, EventName, MessageStatus};
use messenger_store::{DispatchQueue, WebhookQueue};
use serde_json::json;

const PSID: &str = "24000000002001";

async fn setup(echoes: bool) -> (Harness, ManualClock, String) {
    let clock = ManualClock::starting_now();
    let h = harness_with(
        |s| s.window_check(false),
        |b| {
            b.echo_grace(Duration::from_millis(300))
                .clock(clock.as_clock())
        },
        echoes,
    )
    .await;
    let accepted = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": PSID}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    (h, clock, accepted.id)
}

/// A worker leases the message (for 100 ms) and sends it to Graph, tagged as the pipeline tags
/// its sends, then dies without recording anything. Returns the tag.
async fn send_as_a_doomed_worker(h: &Harness, clock: &ManualClock, id: &str) -> String {
    let leased = h
        .store
        .lease_due("doomed", clock.now(), 1, Duration::from_millis(100))
        .await
        .unwrap();
    let mut plan = plan_graph_sends(&leased[0].request, &Recipient::psid(PSID)).unwrap();
    let tag = SendTag::new(id.to_owned(), 0).to_string();
    plan[0].request.message.as_mut().unwrap().metadata = Some(tag.clone());
    let transport = h.messenger.space(SPACE).unwrap().transport.clone();
    transport.send(&plan[0].request).await.unwrap();
    tag
}

async fn wait_for_status(h: &Harness, id: &str, status: MessageStatus) {
    for _ in 0..300 {
        if h.message(id).await.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "message {id} never became {status}: {:?}",
        h.message(id).await
    );
}

#[tokio::test]
async fn an_interrupted_send_is_confirmed_by_metas_echo_and_not_sent_again() {
    let (h, clock, id) = setup(true).await;
    // Meta's echo cannot reach us while we are "down".
    h.refuse_webhooks.store(true, Ordering::SeqCst);
    send_as_a_doomed_worker(&h, &clock, &id).await;
    clock.advance(Duration::from_millis(150));

    // The next worker sees an interrupted attempt and waits for echoes instead of sending.
    let report = h.messenger.dispatch_due("w2", 8).await.unwrap();
    assert_eq!((report.leased, report.retrying), (1, 1));
    let waiting = h.message(&id).await;
    assert_eq!(waiting.status, MessageStatus::Retrying);
    assert!(waiting
        .rule_trace
        .last()
        .unwrap()
        .reason
        .contains("interrupted"));

    // We are back: Meta posts the echo again and it confirms the send.
    h.refuse_webhooks.store(false, Ordering::SeqCst);
    wait_for_status(&h, &id, MessageStatus::Sent).await;
    clock.advance(Duration::from_millis(350));
    h.dispatch_all().await;

    let sent = h.sim.sent_messages();
    assert_eq!(sent.len(), 1, "sent exactly once");
    let message = h.message(&id).await;
    assert_eq!(message.graph_message_ids, vec![sent[0].mid.clone()]);
    let sent_events = h
        .events()
        .await
        .into_iter()
        .filter(|e| e.name == EventName::MessageSent)
        .count();
    assert_eq!(sent_events, 1);
}

#[tokio::test]
async fn without_an_echo_the_message_is_sent_after_the_grace() {
    let (h, clock, id) = setup(true).await;
    // The doomed worker dies before sending anything: no echo will ever come.
    h.store
        .lease_due("doomed", clock.now(), 1, Duration::from_millis(50))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(80));
    let report = h.messenger.dispatch_due("w2", 8).await.unwrap();
    assert_eq!(report.retrying, 1);
    assert!(h.sim.sent_messages().is_empty());
    // Inside the grace (300 ms) nothing goes out, however often dispatch runs.
    clock.advance(Duration::from_millis(250));
    h.dispatch_all().await;
    assert!(
        h.sim.sent_messages().is_empty(),
        "sent inside the echo grace"
    );
    clock.advance(Duration::from_millis(100));
    h.dispatch_all().await;
    assert_eq!(h.message(&id).await.status, MessageStatus::Sent);
    assert_eq!(h.sim.sent_messages().len(), 1);
}

#[tokio::test]
async fn every_graph_send_carries_its_tag() {
    let (h, _clock, id) = setup(false).await;
    h.dispatch_all().await;
    let sent = h.sim.sent_messages();
    let metadata = sent[0]
        .request
        .message
        .as_ref()
        .unwrap()
        .metadata
        .as_deref()
        .unwrap();
    assert_eq!(SendTag::parse(metadata), Some(SendTag::new(id, 0)));
}

/// The echo reached the webhook queue, but the instance applying it died holding its lease: the
/// message whose wait for echoes is over is given back untouched, not sent, while bodies
/// received during the wait are still queued; once the body is applied, the send is confirmed.
#[tokio::test]
async fn an_echo_held_in_the_webhook_queue_is_waited_for() {
    let (h, clock, id) = setup(false).await;
    let tag = send_as_a_doomed_worker(&h, &clock, &id).await;
    let mid = h.sim.sent_messages()[0].mid.clone();
    clock.advance(Duration::from_millis(150));
    let report = h.messenger.dispatch_due("w2", 8).await.unwrap();
    assert_eq!(report.retrying, 1, "the wait for echoes begins");

    // Meta's echo arrives and is queued; the instance that leased it to apply it dies.
    let echo = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [{
        "sender": {"id": PAGE}, "recipient": {"id": PSID},
        "timestamp": clock.now().millis(),
        "message": {"mid": mid, "is_echo": true, "app_id": 1, "metadata": tag},
    }]}]});
    h.store
        .enqueue_webhooks(vec![echo.to_string().into_bytes()], clock.now())
        .await
        .unwrap();
    let held = h
        .store
        .lease_webhooks("dead/webhooks", clock.now(), 8, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);

    // The grace is over, the echo is not applied: the message is deferred, not sent again.
    clock.advance(Duration::from_millis(350));
    let report = h.messenger.dispatch_due("w2", 8).await.unwrap();
    assert_eq!((report.leased, report.deferred), (1, 1));
    assert_eq!(h.sim.sent_messages().len(), 1);
    assert_eq!(h.message(&id).await.status, MessageStatus::Retrying);

    // The dead instance starts again and takes its bodies back; the echo is applied.
    assert_eq!(h.store.recover_webhook_leases_of("dead/").await.unwrap(), 1);
    h.messenger.apply_queued_webhooks("w3", 8).await.unwrap();
    assert_eq!(h.message(&id).await.status, MessageStatus::Sent);
    clock.advance(Duration::from_millis(300));
    h.dispatch_all().await;
    assert_eq!(h.sim.sent_messages().len(), 1, "sent exactly once");
    assert_eq!(h.message(&id).await.graph_message_ids, vec![mid]);
}
