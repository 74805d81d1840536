//! A signed body captured and posted again once its event ids are forgotten (past the dedupe
//! horizon) is quarantined as a replay, never applied nor forwarded; an event just inside the
//! horizon is applied.

use crate::common::{harness, PAGE};
use messenger::webhook::{forget_seen_before, DEDUPE_HORIZON, REPLAY_REASON};
use messenger_model::webhook::{InboundMessage, MessagingEvent, Party};
use messenger_model::{EventName, Timestamp};
use messenger_store::Quarantine;

const MINUTE: i64 = 60 * 1000;

fn horizon_millis() -> i64 {
    i64::try_from(DEDUPE_HORIZON.as_millis()).unwrap()
}

fn text_from(psid: &str, mid: &str, at: Timestamp) -> MessagingEvent {
    MessagingEvent {
        sender: Some(Party {
            id: Some(psid.into()),
            user_ref: None,
        }),
        recipient: Some(Party {
            id: Some(PAGE.into()),
            user_ref: None,
        }),
        timestamp: at.millis(),
        message: Some(InboundMessage {
            mid: Some(mid.into()),
            text: Some("hello again".into()),
            ..InboundMessage::default()
        }),
        ..MessagingEvent::default()
    }
}

#[tokio::test]
async fn an_event_past_the_dedupe_horizon_is_quarantined_as_a_replay() {
    let h = harness(|s| s).await;
    let now = Timestamp::now();
    let old = now.add_millis(-horizon_millis() - MINUTE);
    let status = h
        .sim
        .post_event(PAGE, text_from("24000000009001", "m_replayed", old))
        .await
        .unwrap();
    assert_eq!(status, 200, "a signed body is answered 200");
    assert!(h.events().await.is_empty(), "nothing is forwarded");
    let listed = h.store.list_quarantined(10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].reason, REPLAY_REASON);
    assert_eq!(listed[0].page_id.as_deref(), Some(PAGE));
    assert!(String::from_utf8_lossy(&listed[0].raw).contains("m_replayed"));

    // Posted again (the same bytes): kept once, still not applied.
    let post = h.sim.webhook_posts().pop().unwrap();
    assert_eq!(h.sim.post_raw(post.body).await.unwrap(), 200);
    assert!(h.events().await.is_empty());
    assert_eq!(h.store.list_quarantined(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_event_just_inside_the_horizon_is_applied() {
    let h = harness(|s| s).await;
    let at = Timestamp::now().add_millis(-horizon_millis() + MINUTE);
    h.sim
        .post_event(PAGE, text_from("24000000009002", "m_late", at))
        .await
        .unwrap();
    let events = h.events().await;
    let inbound: Vec<_> = events
        .iter()
        .filter(|e| e.name == EventName::MessageInbound)
        .collect();
    assert_eq!(inbound.len(), 1, "{events:#?}");
    assert_eq!(inbound[0].payload["mid"], "m_late");
    assert!(h.store.list_quarantined(10).await.unwrap().is_empty());
}

#[test]
fn seen_ids_are_kept_longer_than_the_horizon() {
    let now = Timestamp::now();
    let horizon_start = now.add_millis(-horizon_millis());
    assert!(forget_seen_before(now) < horizon_start);
}
