//! Events to the business's webhook: signed deliveries, dead letters, redrive.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

#[tokio::test]
async fn events_reach_the_business_signed() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&webhook_toml(&url, "")).await;
    env.inbound("24000000000501").await;
    let first = receiver.wait_for(1).await;
    assert_eq!(first[0].1["name"], "message.inbound");
    assert_eq!(first[0].1["payload"]["text"], "hello");

    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"fbMessengerId": "24000000000501"}, "body": "hi", "rules": ["fbMessenger"],
                    "metadata": {"order": 42}}),
        )
        .await;
    let id = a.json()["id"].as_str().unwrap().to_owned();
    env.settled(&id).await;
    let posts = receiver.wait_for(2).await;
    let (headers, sent) = &posts[1];
    assert_eq!(sent["name"], "message.sent");
    assert_eq!(sent["apiSpaceId"], SPACE_A);
    assert_eq!(sent["payload"]["messageId"], id.as_str());
    assert_eq!(sent["payload"]["metadata"]["order"], 42);

    // Both signatures check out against the raw body.
    let raw = receiver.posts.lock().unwrap()[1].1.clone();
    let header = headers["x-webhook-signature"].to_str().unwrap();
    let t: i64 = header
        .strip_prefix("t=")
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    let expected = messenger::events::sign_event(HOOK_SECRET, &raw, t);
    assert_eq!(header, expected.webhook);
    assert_eq!(
        headers["x-comapi-signature"].to_str().unwrap(),
        expected.comapi
    );

    // Space B has no webhook: an inbound message and a send there queue no event at all. The
    // store says so (nothing pending; had B's events been queued, they would be pending or,
    // once the forwarder dropped them, counted as dropped), not a pause.
    env.inbound_to(PAGE_B, "24000000000503", "hello B").await;
    let b = env
        .send(
            SPACE_B,
            KEY_B,
            &json!({"to": {"fbMessengerId": "24000000000503"}, "body": "hi B", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let b_path = format!(
        "/apispaces/{SPACE_B}/messages/{}",
        b.json()["id"].as_str().unwrap()
    );
    let mut b_status = Value::Null;
    for _ in 0..500 {
        b_status = env.get(&b_path, KEY_B).await.json()["status"].clone();
        if b_status == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(b_status, "sent");
    let store = env.gateway.as_ref().unwrap().messenger().store().clone();
    assert_eq!(
        store.event_counts().await.unwrap(),
        (0, 0),
        "nothing pending or dead"
    );
    assert_eq!(receiver.events().len(), 2);
    let m = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert!(
        m.contains("messenger_gateway_forward_events_total{outcome=\"delivered\"} 2"),
        "{m}"
    );
    assert!(!m.contains("outcome=\"dropped\"} "), "{m}");
}

#[tokio::test]
async fn refused_events_are_dead_until_redriven() {
    let (receiver, url) = Receiver::start(400).await;
    let env = Env::start_with(&webhook_toml(&url, "")).await;
    env.inbound("24000000000502").await;
    receiver.wait_for(1).await;
    let dead_path = format!("/apispaces/{SPACE_A}/webhooks/dead");
    let mut dead = Value::Null;
    for _ in 0..250 {
        dead = env.get(&dead_path, KEY_A).await.json();
        if dead.as_array().is_some_and(|d| !d.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dead[0]["name"], "message.inbound", "{dead}");
    let event_id = dead[0]["eventId"].as_str().unwrap().to_owned();
    // The dead letter shows in the queue depths, read from the store at the scrape.
    let m = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert!(
        m.contains("messenger_gateway_queue_depth{queue=\"forward_dead\"} 1"),
        "{m}"
    );
    for queue in ["dispatch", "webhook", "forward"] {
        assert!(
            m.contains(&format!(
                "messenger_gateway_queue_depth{{queue=\"{queue}\"}} 0"
            )),
            "{queue}: {m}"
        );
    }

    *receiver.status.lock().unwrap() = 200;
    let a = env
        .call(
            Method::POST,
            &format!("{dead_path}/{}/redrive", encode(&event_id)),
            Some(KEY_A),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let posts = receiver.wait_for(2).await;
    assert_eq!(
        posts[1].1["eventId"],
        event_id.as_str(),
        "the same event id"
    );
    assert_eq!(env.get(&dead_path, KEY_A).await.json(), json!([]));
}
