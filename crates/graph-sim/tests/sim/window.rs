//! The messaging window, when the simulator enforces it.

use crate::common::{post_json, send_url, text_to, PAGE, TOKEN};
use graph_sim::GraphSim;
use messenger_model::Timestamp;
use serde_json::json;

const HOUR: i64 = 60 * 60 * 1000;

#[tokio::test]
async fn sends_outside_the_window_are_refused_as_meta_refuses_them() {
    // A webhook URL nobody listens on: posts fail, but Meta still knows the user wrote.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/facebook", closed.local_addr().unwrap());
    drop(closed);
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .webhook_url(url)
        .enforce_window(true)
        .start()
        .await
        .unwrap();
    let send_url = send_url(sim.base_url());
    let human_agent = json!({"recipient":{"id":"5"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"x"}});

    let never = post_json(&send_url, &text_to("5", "x")).await;
    assert_eq!(
        (never.status, never.code(), never.subcode()),
        (400, 10, Some(2_018_278))
    );

    assert!(sim.post_inbound_text(PAGE, "5", "hi").await.is_err());
    assert_eq!(post_json(&send_url, &text_to("5", "x")).await.status, 200);

    let now = Timestamp::now().millis();
    sim.set_last_inbound(PAGE, "5", now - 25 * HOUR);
    assert_eq!(post_json(&send_url, &text_to("5", "x")).await.code(), 10);
    assert_eq!(post_json(&send_url, &human_agent).await.status, 200);

    sim.set_last_inbound(PAGE, "5", now - 8 * 24 * HOUR);
    assert_eq!(post_json(&send_url, &human_agent).await.code(), 10);

    // Sender actions and phone-number recipients are not window-checked.
    let typing = json!({"recipient":{"id":"5"},"sender_action":"typing_on"});
    assert_eq!(post_json(&send_url, &typing).await.status, 200);
    let phone = json!({"recipient":{"phone_number":"+447700900123"},"message":{"text":"x"}});
    assert_eq!(post_json(&send_url, &phone).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn reactions_referrals_and_standby_messages_open_the_window_and_an_unreact_does_not() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks/facebook", closed.local_addr().unwrap());
    drop(closed);
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .webhook_url(url)
        .enforce_window(true)
        .start()
        .await
        .unwrap();
    let send_url = send_url(sim.base_url());
    let status = |psid: &'static str| {
        let send_url = send_url.clone();
        async move { post_json(&send_url, &text_to(psid, "x")).await.status }
    };
    // The posts fail (nobody listens), but Meta still knows what the user did.
    assert!(sim
        .post_reaction(PAGE, "6", "m_1", "unreact", "love", None)
        .await
        .is_err());
    assert_eq!(status("6").await, 400);
    assert!(sim
        .post_reaction(PAGE, "6", "m_1", "react", "love", Some("\u{2764}"))
        .await
        .is_err());
    assert_eq!(status("6").await, 200);

    let referral = messenger_model::webhook::Referral {
        data_ref: Some("qr".into()),
        ..Default::default()
    };
    assert!(sim.post_referral(PAGE, "7", referral).await.is_err());
    assert_eq!(status("7").await, 200);

    assert!(sim.post_standby_message(PAGE, "8", "hi").await.is_err());
    assert_eq!(status("8").await, 200);

    assert!(sim
        .post_feedback(PAGE, "9", "m_1", "Good response")
        .await
        .is_err());
    assert_eq!(status("9").await, 400, "feedback is no message to the page");
    sim.shutdown().await;
}
