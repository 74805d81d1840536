//! The whole flow in-process, against graph-sim over loopback HTTP: opt-in with a token, sends by
//! profile id, SMS fallback, the tag policy, receipts by watermark, redeliveries.
//!
//! Meta's webhooks reach the facade through a tiny HTTP receiver (the gateway's job in
//! production), so the signature is checked on the raw bytes exactly as they travel.

use std::time::Duration;

use crate::common::{body, harness, Harness, PAGE, SPACE};
use graph_sim::{Fault, FaultRule};
use messenger::Error;
use messenger_model::{
    EventName, MessageStatus, Profile, RuleCause, RuleOutcome, Timestamp, UserProfile,
};
use messenger_store::{MessageRecord, ProfileStore};
use serde_json::json;

#[tokio::test]
async fn optin_with_token_links_the_psid_and_a_send_by_profile_reaches_it() {
    let h = harness(|s| s).await;
    h.sim.set_user_profile(
        "24000000001001",
        UserProfile {
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            ..Default::default()
        },
    );
    h.store
        .merge_profile(SPACE, Profile::new("alice"))
        .await
        .unwrap();
    let token = h
        .messenger
        .issue_optin_token(SPACE, "alice", Some(json!({"campaign": "spring"})))
        .await
        .unwrap();
    assert!(
        !token.contains("alice"),
        "the token must not carry the profile id"
    );

    assert_eq!(
        h.sim
            .post_optin(PAGE, "24000000001001", Some(&token))
            .await
            .unwrap(),
        200
    );
    let alice = h.store.get_profile(SPACE, "alice").await.unwrap().unwrap();
    assert_eq!(alice.fb_messenger_id.as_deref(), Some("24000000001001"));
    assert_eq!(
        alice
            .facebook
            .as_ref()
            .and_then(|f| f.first_name.as_deref()),
        Some("Alice")
    );

    let accepted = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"profileId": "alice"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    let sent = h.sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient.id.as_deref(), Some("24000000001001"));
    assert_eq!(
        sent[0].request.message.as_ref().unwrap().text.as_deref(),
        Some("Your order has shipped")
    );
    let msg = h.message(&accepted.id).await;
    assert_eq!(msg.status, MessageStatus::Sent);
    assert_eq!(msg.graph_message_ids, vec![sent[0].mid.clone()]);
    assert_eq!(msg.rule_trace.last().unwrap().outcome, RuleOutcome::Used);

    let events = h.events().await;
    let optin = events
        .iter()
        .find(|e| e.name == EventName::FacebookOptin)
        .unwrap();
    assert_eq!(optin.payload["profileId"], "alice");
    assert_eq!(optin.payload["linkedBy"], "token");
    assert_eq!(optin.payload["data"]["campaign"], "spring");
    assert!(events.iter().any(
        |e| e.name == EventName::MessageSent && e.payload["messageId"] == accepted.id.as_str()
    ));
}

#[tokio::test]
async fn a_tampered_token_creates_a_fresh_profile_instead() {
    let h = harness(|s| s).await;
    h.store
        .merge_profile(SPACE, Profile::new("alice"))
        .await
        .unwrap();
    let token = h
        .messenger
        .issue_optin_token(SPACE, "alice", None)
        .await
        .unwrap();
    let mut chars: Vec<char> = token.chars().collect();
    chars[3] = if chars[3] == 'x' { 'y' } else { 'x' };
    let tampered: String = chars.into_iter().collect();

    assert_eq!(
        h.sim
            .post_optin(PAGE, "24000000001002", Some(&tampered))
            .await
            .unwrap(),
        200
    );
    let alice = h.store.get_profile(SPACE, "alice").await.unwrap().unwrap();
    assert_eq!(alice.fb_messenger_id, None);
    let fresh = h
        .store
        .find_by_messenger_id(SPACE, PAGE, "24000000001002")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(fresh.id, "alice");
    let events = h.events().await;
    let optin = events
        .iter()
        .find(|e| e.name == EventName::FacebookOptin)
        .unwrap();
    assert_eq!(optin.payload["linkedBy"], "new-profile");
    assert_eq!(optin.payload["tokenError"], "token.bad_signature");
}

#[tokio::test]
async fn a_send_to_a_profile_without_psid_falls_back_to_sms() {
    let h = harness(|s| s).await;
    h.store
        .merge_profile(
            SPACE,
            Profile::new("bob").with_phone_number("+447700900123"),
        )
        .await
        .unwrap();
    let accepted = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"profileId": "bob"}), &["fbMessenger", "sms"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    assert!(h.sim.sent_messages().is_empty());
    let sms = h.sim.sms_messages();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to, "+447700900123");
    assert_eq!(sms[0].body, "Your order has shipped");
    let msg = h.message(&accepted.id).await;
    assert_eq!(msg.status, MessageStatus::Sent);
    let outcomes: Vec<_> = msg
        .rule_trace
        .iter()
        .map(|t| (t.channel.as_str(), t.outcome, t.cause))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("fbMessenger", RuleOutcome::Skipped, RuleCause::NoAddress),
            ("sms", RuleOutcome::Used, RuleCause::Sent)
        ]
    );
    // The provider's message id is kept, for reconciliation with its logs and receipts.
    let used = &msg.rule_trace[1].reason;
    assert!(
        used.ends_with(&format!("provider message id {}", sms[0].sid)),
        "{used}"
    );
}

#[tokio::test]
async fn a_retired_tag_is_refused_before_anything_is_stored() {
    let h = harness(|s| s).await;
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/seed-examples/07-tag-non-promotional.json"
    ))
    .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&seed).unwrap();
    match h.messenger.accept(SPACE, &value, None).await {
        Err(Error::Invalid(v)) => {
            let retired = v
                .iter()
                .find(|v| v.code.as_str() == "tag.retired")
                .expect("tag.retired");
            assert_eq!(retired.pointer, "/channelOptions/fbMessenger/messageTag");
            assert!(retired.message.contains("2020"), "{}", retired.message);
        }
        other => panic!("expected a tag.retired violation, got {other:?}"),
    }
    assert!(h.sim.sent_messages().is_empty());
}

#[tokio::test]
async fn a_closed_window_refuses_without_a_next_rule_and_skips_to_sms_with_one() {
    let h = harness(|s| s).await;
    h.store
        .merge_profile(
            SPACE,
            Profile::new("carol")
                .with_fb_messenger_id("24000000001003")
                .with_phone_number("+447700900124"),
        )
        .await
        .unwrap();
    h.store
        .link_messenger_id(SPACE, "carol", PAGE, "24000000001003")
        .await
        .unwrap();
    // Carol never wrote: the window is closed.
    match h
        .messenger
        .accept(
            SPACE,
            &body(json!({"profileId": "carol"}), &["fbMessenger"]),
            None,
        )
        .await
    {
        Err(Error::Refused(v)) => assert_eq!(v[0].code.as_str(), "window.closed"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let accepted = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"profileId": "carol"}), &["fbMessenger", "sms"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    assert_eq!(h.sim.sms_messages().len(), 1);
    let msg = h.message(&accepted.id).await;
    assert_eq!(msg.rule_trace[0].cause, RuleCause::WindowClosed);
    assert!(
        msg.rule_trace[0].reason.contains("window"),
        "{}",
        msg.rule_trace[0].reason
    );

    // Once she writes, Messenger is open.
    assert_eq!(
        h.sim
            .post_inbound_text(PAGE, "24000000001003", "hello?")
            .await
            .unwrap(),
        200
    );
    h.messenger
        .accept(
            SPACE,
            &body(json!({"profileId": "carol"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    assert_eq!(h.sim.sent_messages().len(), 1);
    let inbound = h
        .events()
        .await
        .into_iter()
        .find(|e| e.name == EventName::MessageInbound)
        .unwrap();
    assert_eq!(inbound.payload["text"], "hello?");
    assert_eq!(inbound.payload["profileId"], "carol");
}

#[tokio::test]
async fn receipts_by_watermark_and_a_redelivered_batch_changes_nothing() {
    let h = harness(|s| s).await;
    assert_eq!(
        h.sim
            .post_inbound_text(PAGE, "24000000001004", "hi")
            .await
            .unwrap(),
        200
    );
    let a = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000001004"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    let b = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000001004"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    let sent = h.sim.sent_messages();
    assert_eq!(sent.len(), 2);
    // Per-recipient order: a before b.
    assert_eq!(h.message(&a.id).await.graph_message_ids[0], sent[0].mid);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let watermark = Timestamp::now().millis();

    assert_eq!(
        h.sim
            .post_delivery(PAGE, "24000000001004", watermark, Vec::<String>::new())
            .await
            .unwrap(),
        200
    );
    assert_eq!(h.message(&a.id).await.status, MessageStatus::Delivered);
    assert_eq!(h.message(&b.id).await.status, MessageStatus::Delivered);
    assert_eq!(
        h.sim
            .post_read(PAGE, "24000000001004", watermark)
            .await
            .unwrap(),
        200
    );
    assert_eq!(h.message(&a.id).await.status, MessageStatus::Read);
    assert_eq!(h.message(&b.id).await.status, MessageStatus::Read);
    let events_before = h.events().await;
    assert_eq!(
        events_before
            .iter()
            .filter(|e| e.name == EventName::MessageRead)
            .count(),
        2
    );

    // Meta redelivers the whole read batch, and a late delivery: nothing changes.
    let last = h.sim.webhook_posts().last().unwrap().clone();
    assert_eq!(h.sim.post_raw(last.body.clone()).await.unwrap(), 200);
    assert_eq!(
        h.sim
            .post_delivery(PAGE, "24000000001004", watermark + 1, Vec::<String>::new())
            .await
            .unwrap(),
        200
    );
    let history_len = h.message(&a.id).await.status_history.len();
    assert_eq!(h.message(&a.id).await.status, MessageStatus::Read);
    assert!(
        h.events().await.is_empty(),
        "no new events after redelivery"
    );
    assert_eq!(h.message(&a.id).await.status_history.len(), history_len);
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let h = harness(|s| s).await;
    let body = br#"{"object":"page","entry":[]}"#;
    assert!(matches!(
        h.messenger.handle_webhook(body, Some("sha256=00")).await,
        Err(messenger::webhook::WebhookError::Signature(_))
    ));
    assert!(matches!(
        h.messenger.handle_webhook(body, None).await,
        Err(messenger::webhook::WebhookError::Signature(_))
    ));
}

/// Accepts a message to `psid` on Messenger then SMS to `phone`, dispatches everything due, and
/// returns the message as stored.
async fn dispatched_with_sms_fallback(h: &Harness, psid: &str, phone: &str) -> MessageRecord {
    let to = json!({"fbMessengerId": psid, "mobileNumber": phone});
    let a = h
        .messenger
        .accept(SPACE, &body(to, &["fbMessenger", "sms"]), None)
        .await
        .unwrap();
    h.dispatch_all().await;
    h.message(&a.id).await
}

#[tokio::test]
async fn user_unavailable_falls_through_and_transient_errors_retry() {
    let h = harness(|s| s.window_check(false)).await;
    h.sim.fault(FaultRule::recipient(
        "24000000001005",
        Fault::UserUnavailable,
    ));
    let msg = dispatched_with_sms_fallback(&h, "24000000001005", "+447700900125").await;
    assert_eq!(msg.status, MessageStatus::Sent);
    assert_eq!(msg.rule_trace[0].outcome, RuleOutcome::Failed);
    assert_eq!(msg.rule_trace[0].cause, RuleCause::RecipientError);
    assert!(msg.rule_trace[0].reason.contains("graph.user_unavailable"));
    assert_eq!(h.sim.sms_messages().len(), 1);

    h.sim
        .fault(FaultRule::recipient("24000000001006", Fault::ServerError { status: 503 }).times(1));
    let b = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000001006"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    let first = h.messenger.dispatch_due("w1", 8).await.unwrap();
    assert_eq!(first.retrying, 1);
    assert_eq!(h.message(&b.id).await.status, MessageStatus::Retrying);
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.dispatch_all().await;
    assert_eq!(h.message(&b.id).await.status, MessageStatus::Sent);
}

/// The outage rule: with `fallback_on_outage` set, Messenger's failing page hands the message
/// to its next rule once it has failed that long (here at once); the trace says so by its cause.
#[tokio::test]
async fn an_outage_past_fallback_on_outage_hands_the_message_to_sms() {
    let h = harness(|s| s.window_check(false).fallback_on_outage(Duration::ZERO)).await;
    h.sim
        .fault(FaultRule::recipient("24000000001009", Fault::ServerError { status: 503 }).times(1));
    let msg = dispatched_with_sms_fallback(&h, "24000000001009", "+447700900129").await;
    assert_eq!(msg.status, MessageStatus::Sent);
    let trace: Vec<_> = msg
        .rule_trace
        .iter()
        .map(|t| (t.channel.as_str(), t.outcome, t.cause))
        .collect();
    assert_eq!(
        trace,
        [
            ("fbMessenger", RuleOutcome::Failed, RuleCause::Outage),
            ("sms", RuleOutcome::Used, RuleCause::Sent)
        ]
    );
    assert_eq!(h.sim.sms_messages().len(), 1);
}

#[tokio::test]
async fn inline_parts_are_uploaded_first_and_expired_messages_are_not_sent() {
    let h = harness(|s| s.window_check(false)).await;
    let req = json!({
        "to": {"fbMessengerId": "24000000001007"},
        "rules": ["fbMessenger"],
        "messageParts": [
            {"type": "text/plain", "data": "Your invoice:"},
            {"name": "invoice.pdf", "type": "application/pdf", "data": "JVBERi0xLjQK"}
        ]
    });
    let a = h.messenger.accept(SPACE, &req, None).await.unwrap();
    h.dispatch_all().await;
    let uploads = h.sim.uploads();
    assert_eq!(uploads.len(), 1);
    let sent = h.sim.sent_messages();
    assert_eq!(sent.len(), 2);
    let attachment = serde_json::to_value(&sent[1].request.message).unwrap();
    assert_eq!(attachment["attachment"]["type"], "file");
    assert_eq!(
        attachment["attachment"]["payload"]["attachment_id"],
        uploads[0].attachment_id.as_str()
    );
    assert_eq!(h.message(&a.id).await.graph_message_ids.len(), 2);

    let soon = Timestamp::now().add_millis(30);
    let expiring = json!({"to": {"fbMessengerId": "24000000001007"}, "body": "flash sale", "rules": ["fbMessenger"], "expiresOn": soon});
    let e = h.messenger.accept(SPACE, &expiring, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    h.dispatch_all().await;
    assert_eq!(h.message(&e.id).await.status, MessageStatus::Expired);
    assert_eq!(h.sim.sent_messages().len(), 2);
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let h = harness(|s| s.window_check(false)).await;
    let req = body(json!({"fbMessengerId": "24000000001008"}), &["fbMessenger"]);
    let key = messenger::Idempotency {
        key: "k-1",
        body_hash: "h-1",
    };
    let first = h.messenger.accept(SPACE, &req, Some(key)).await.unwrap();
    let again = h.messenger.accept(SPACE, &req, Some(key)).await.unwrap();
    assert_eq!(first.id, again.id);
    assert!(again.replayed);
    let other = messenger::Idempotency {
        key: "k-1",
        body_hash: "h-2",
    };
    assert!(matches!(
        h.messenger.accept(SPACE, &req, Some(other)).await,
        Err(Error::IdempotencyConflict { .. })
    ));
}

#[tokio::test]
async fn queued_webhook_bodies_are_applied_once_and_removed() {
    use messenger_store::WebhookQueue;
    let h = harness(|s| s).await;
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [
        {"sender": {"id": "24000000001009"}, "recipient": {"id": PAGE}, "timestamp": Timestamp::now().millis(),
         "message": {"mid": "m_queued_1", "text": "queued hello"}}
    ]}]});
    let bytes = serde_json::to_vec(&body).unwrap();
    // The same body twice (Meta redelivered before we answered), and one that does not parse.
    h.store
        .enqueue_webhooks(
            vec![bytes.clone(), bytes, b"not json".to_vec()],
            Timestamp::now(),
        )
        .await
        .unwrap();
    let report = h
        .messenger
        .apply_queued_webhooks("ingest-1", 10)
        .await
        .unwrap();
    assert_eq!((report.applied, report.duplicates), (1, 1));
    assert_eq!(h.store.webhook_backlog().await.unwrap(), 0);
    let profile = h
        .store
        .find_by_messenger_id(SPACE, PAGE, "24000000001009")
        .await
        .unwrap()
        .expect("a profile for the sender");
    let inbound: Vec<_> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e.name == EventName::MessageInbound)
        .collect();
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].payload["profileId"], profile.id.as_str());
    assert_eq!(inbound[0].payload["text"], "queued hello");
}
