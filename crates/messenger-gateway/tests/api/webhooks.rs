//! Meta's webhook (handshake, signatures, redeliveries) and dead letters.

use std::time::Duration;

use messenger_model::{EventEnvelope, EventName, Timestamp};
use messenger_store::EventFailure;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn the_handshake_answers_only_the_configured_token() {
    let env = Env::start().await;
    let ok = env
        .call(
            Method::GET,
            &format!(
                "/webhooks/facebook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"
            ),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.text, "1158201444");
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-token-for-tests&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=verify-token-for-tests",
        "",
    ] {
        let a = env
            .call(
                Method::GET,
                &format!("/webhooks/facebook?{query}"),
                None,
                &[],
                None,
            )
            .await;
        a.problem(403);
    }
}

#[tokio::test]
async fn signatures_are_checked_before_anything_else() {
    let env = Env::start().await;
    let body = json!({"object": "page", "entry": [{"id": PAGE_A, "time": 1, "messaging": [{
        "sender": {"id": "24000000000401"}, "recipient": {"id": PAGE_A},
        "timestamp": Timestamp::now().millis(),
        "message": {"mid": "m_forged", "text": "forged"}}]}]})
    .to_string();
    // No signature, a malformed one, a wrong one: 403, and nothing applied.
    for sig in [
        None,
        Some("sha1=abc"),
        Some(&format!("sha256={}", "0".repeat(64))[..]),
    ] {
        let headers: Vec<(&str, &str)> = match sig {
            Some(s) => vec![
                ("x-hub-signature-256", s),
                ("content-type", "application/json"),
            ],
            None => vec![("content-type", "application/json")],
        };
        let a = env
            .call(
                Method::POST,
                "/webhooks/facebook",
                None,
                &headers,
                Some(body.clone().into_bytes()),
            )
            .await;
        a.problem(403);
    }
    // Even garbage is refused for its signature, not its syntax.
    let a = env
        .call(
            Method::POST,
            "/webhooks/facebook",
            None,
            &[],
            Some(b"{{{".to_vec()),
        )
        .await;
    a.problem(403);
    let found = env
        .get(
            &format!("/apispaces/{SPACE_A}/profiles?fbMessengerId=24000000000401"),
            KEY_A,
        )
        .await;
    assert_eq!(found.json(), json!([]));

    // A correctly signed body that is not a webhook payload: Meta sent it, so 200, and it is
    // kept in the quarantine rather than refused (see webhook_corpus.rs).
    let status = env.sim.post_raw(&b"[1,2,3]"[..]).await.unwrap();
    assert_eq!(status, 200);

    // Signed by the simulator as Meta signs: applied (a profile is made for the PSID), and a
    // redelivery is recognised.
    assert_eq!(env.sim.post_raw(body.clone()).await.unwrap(), 200);
    assert_eq!(env.sim.post_raw(body).await.unwrap(), 200);
    env.webhooks_applied().await;
    let found = env
        .get(
            &format!("/apispaces/{SPACE_A}/profiles?fbMessengerId=24000000000401"),
            KEY_A,
        )
        .await;
    assert_eq!(found.json().as_array().unwrap().len(), 1);
    let metrics = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await;
    assert!(
        metrics
            .text
            .contains("messenger_gateway_webhook_events_total{result=\"duplicate\"} 1"),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains("messenger_gateway_webhook_requests_total{result=\"bad_signature\"} 4"));
}

#[tokio::test]
async fn receipts_move_messages_to_delivered_and_read() {
    let env = Env::start().await;
    env.inbound("24000000000402").await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"fbMessengerId": "24000000000402"}, "body": "hi", "rules": ["fbMessenger"]}),
        )
        .await;
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let watermark = messenger_model::Timestamp::now().millis();
    env.sim
        .post_delivery(PAGE_A, "24000000000402", watermark, Vec::<String>::new())
        .await
        .unwrap();
    env.webhooks_applied().await;
    assert_eq!(env.message(&id).await["status"], "delivered");
    env.sim
        .post_read(PAGE_A, "24000000000402", watermark)
        .await
        .unwrap();
    env.webhooks_applied().await;
    assert_eq!(env.message(&id).await["status"], "read");
}

#[tokio::test]
async fn dead_letters_list_and_redrive() {
    let env = Env::start().await;
    let a = env
        .get(&format!("/apispaces/{SPACE_A}/webhooks/dead"), KEY_A)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json(), json!([]));
    env.get(
        &format!("/apispaces/{SPACE_A}/webhooks/dead?limit=0"),
        KEY_A,
    )
    .await
    .problem(400);
    env.call(
        Method::POST,
        &format!("/apispaces/{SPACE_A}/webhooks/dead/evt-1/redrive"),
        Some(KEY_A),
        &[],
        None,
    )
    .await
    .problem(404);

    // An event the business's webhook never took, as the forwarder leaves it.
    let store = env.gateway.as_ref().unwrap().messenger().store().clone();
    let now = Timestamp::now();
    let envelope = EventEnvelope {
        event_id: "evt-1".into(),
        api_space_id: SPACE_A.into(),
        name: EventName::MessageSent,
        payload: json!({"messageId": "m-1"}),
        revision: 2,
        timestamp: now,
    };
    assert!(store.enqueue_event("default", envelope, now).await.unwrap());
    let leased = store
        .lease_due_events("test", now.add_millis(1), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert!(store
        .mark_failed(leased[0].id, "test", "HTTP 500", EventFailure::Dead)
        .await
        .unwrap());

    let dead = env
        .get(&format!("/apispaces/{SPACE_A}/webhooks/dead"), KEY_A)
        .await
        .json();
    assert_eq!(dead[0]["eventId"], "evt-1");
    assert_eq!(dead[0]["name"], "message.sent");
    assert_eq!(dead[0]["lastError"], "HTTP 500");
    assert_eq!(dead[0]["event"]["payload"]["messageId"], "m-1");
    // Space B sees none of it.
    let other = env
        .get(&format!("/apispaces/{SPACE_B}/webhooks/dead"), KEY_B)
        .await
        .json();
    assert_eq!(other, json!([]));
    env.call(
        Method::POST,
        &format!("/apispaces/{SPACE_B}/webhooks/dead/evt-1/redrive"),
        Some(KEY_B),
        &[],
        None,
    )
    .await
    .problem(404);

    let a = env
        .call(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/webhooks/dead/evt-1/redrive"),
            Some(KEY_A),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.json()["redriven"], 1);
    let dead = env
        .get(&format!("/apispaces/{SPACE_A}/webhooks/dead"), KEY_A)
        .await
        .json();
    assert_eq!(dead, json!([]));
}
