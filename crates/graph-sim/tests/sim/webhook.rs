//! Meta's side of webhooks: posts verified by a tiny axum receiver that checks
//! `X-Hub-Signature-256` on the raw body, as the product's endpoint must.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{post_json, send_url, text_to, PAGE, TOKEN};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use graph_sim::{AutoReceipts, GraphSim};
use hmac::{Hmac, Mac};
use messenger_model::webhook::{EventKind, WebhookPayload};

const SECRET: &str = "APP_SECRET";

/// Bodies the receiver accepted (signature correct).
type Accepted = Arc<Mutex<Vec<WebhookPayload>>>;

/// Verifies the signature independently of graph-sim's own helper.
fn signature_ok(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
    else {
        return false;
    };
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

async fn receive(State(accepted): State<Accepted>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if !signature_ok(&headers, &body) {
        return StatusCode::FORBIDDEN;
    }
    assert!(headers
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("sha1=")));
    match WebhookPayload::from_json(&body) {
        Ok(p) => {
            accepted.lock().unwrap().push(p);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn receiver() -> (String, Accepted) {
    let accepted: Accepted = Arc::default();
    let app = axum::Router::new()
        .route("/webhooks/facebook", post(receive))
        .with_state(accepted.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/facebook",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, accepted)
}

#[tokio::test]
async fn events_are_posted_signed_as_meta_signs() {
    let (url, accepted) = receiver().await;
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .app_secret(SECRET)
        .webhook_url(url)
        .start()
        .await
        .unwrap();

    assert_eq!(
        sim.post_optin(PAGE, "123", Some("tok.en-1")).await.unwrap(),
        200
    );
    assert_eq!(
        sim.post_inbound_text(PAGE, "123", "hello").await.unwrap(),
        200
    );
    assert_eq!(
        sim.post_delivery(PAGE, "123", 1_700_000_000_000, ["m_1"])
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        sim.post_read(PAGE, "123", 1_700_000_000_500).await.unwrap(),
        200
    );

    let got = accepted.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    for p in &got {
        assert_eq!(p.object, "page");
        assert_eq!(p.entry[0].id, PAGE);
        assert_eq!(p.entry[0].messaging[0].sender_id(), Some("123"));
        assert_eq!(p.entry[0].messaging[0].recipient_id(), Some(PAGE));
        assert!(p.entry[0].messaging[0].timestamp > 0);
    }
    let kinds: Vec<_> = got.iter().map(|p| p.entry[0].messaging[0].kind()).collect();
    assert!(matches!(kinds[0], EventKind::Optin(o) if o.data_ref.as_deref() == Some("tok.en-1")));
    assert!(matches!(kinds[1], EventKind::Message(m)
        if m.text.as_deref() == Some("hello") && m.mid.as_deref().is_some_and(|x| x.starts_with("m_"))));
    assert!(
        matches!(kinds[2], EventKind::Delivery(d) if d.watermark == 1_700_000_000_000 && d.mids == ["m_1"])
    );
    assert!(matches!(kinds[3], EventKind::Read(r) if r.watermark == 1_700_000_000_500));

    // Two inbound messages get different mids.
    sim.post_inbound_text(PAGE, "123", "again").await.unwrap();
    let posts = sim.webhook_posts();
    assert_eq!(posts.len(), 5);
    let mid_of = |i: usize| match posts[i].payload().unwrap().entry[0].messaging[0].kind() {
        EventKind::Message(m) => m.mid.clone(),
        _ => None,
    };
    assert_ne!(mid_of(1), mid_of(4));

    // Redelivery: the same raw body again, signed again.
    let first = posts[1].body.clone();
    assert_eq!(sim.post_raw(first.clone()).await.unwrap(), 200);
    assert_eq!(accepted.lock().unwrap().last().unwrap(), &got[1]);

    // A body signed with another secret is refused by the receiver.
    assert_eq!(
        sim.post_raw_signed_with(first, "not-the-secret")
            .await
            .unwrap(),
        403
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn without_an_app_secret_posts_are_unsigned() {
    let (url, accepted) = receiver().await;
    let sim = GraphSim::builder().webhook_url(url).start().await.unwrap();
    assert_eq!(sim.post_inbound_text(PAGE, "1", "x").await.unwrap(), 403);
    assert!(accepted.lock().unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn without_a_webhook_url_posting_is_an_error() {
    let sim = GraphSim::builder().start().await.unwrap();
    assert!(matches!(
        sim.post_inbound_text(PAGE, "1", "x").await,
        Err(graph_sim::SimError::NoWebhookUrl)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn auto_receipts_arrive_with_a_watermark_after_the_send() {
    let (url, accepted) = receiver().await;
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .app_secret(SECRET)
        .webhook_url(url)
        .auto_receipts(AutoReceipts {
            delivery: Some(Duration::from_millis(20)),
            read: Some(Duration::from_millis(40)),
        })
        .start()
        .await
        .unwrap();
    let proof = graph_sim::appsecret_proof(SECRET, TOKEN);
    let a = post_json(
        &format!("{}&appsecret_proof={proof}", send_url(sim.base_url())),
        &text_to("321", "hi"),
    )
    .await;
    assert_eq!(a.status, 200);
    let mid = a.json["message_id"].as_str().unwrap().to_owned();
    let sent_at = sim.sent_messages()[0].at_millis;

    for _ in 0..300 {
        if accepted.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = accepted.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let mut delivered = false;
    let mut read = false;
    for p in &got {
        let e = &p.entry[0].messaging[0];
        assert_eq!(e.sender_id(), Some("321"));
        match e.kind() {
            EventKind::Delivery(d) => {
                assert!(d.watermark >= sent_at);
                assert_eq!(d.mids, vec![mid.clone()]);
                delivered = true;
            }
            EventKind::Read(r) => {
                assert!(r.watermark >= sent_at);
                read = true;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(delivered && read);
    sim.shutdown().await;
}

/// A receiver that answers 503 to its first `failures` posts, then 200, keeping every body.
async fn flaky_receiver(failures: usize) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/webhooks/facebook",
            post(
                move |State(seen): State<Arc<Mutex<Vec<Vec<u8>>>>>, body: Bytes| async move {
                    let mut seen = seen.lock().unwrap();
                    seen.push(body.to_vec());
                    if seen.len() <= failures {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/facebook",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn echoes_carry_the_metadata_and_are_posted_again_until_accepted() {
    let (url, seen) = flaky_receiver(2).await;
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .webhook_url(url)
        .echoes(true)
        .start()
        .await
        .unwrap();
    let body = serde_json::json!({
        "recipient": {"id": "321"},
        "messaging_type": "RESPONSE",
        "message": {"text": "hi", "metadata": "msg-42:0"}
    });
    let a = post_json(&send_url(sim.base_url()), &body).await;
    assert_eq!(a.status, 200);
    let mid = a.json["message_id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        if seen.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two refusals, then the accepted post");
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "the same body each time"
    );
    let payload: WebhookPayload = serde_json::from_slice(&seen[2]).unwrap();
    let event = &payload.entry[0].messaging[0];
    assert_eq!(event.sender_id(), Some(PAGE));
    assert_eq!(event.recipient_id(), Some("321"));
    match event.kind() {
        EventKind::Echo(m) => {
            assert_eq!(m.mid.as_deref(), Some(mid.as_str()));
            assert_eq!(m.metadata.as_deref(), Some("msg-42:0"));
            assert_eq!(m.text.as_deref(), Some("hi"));
        }
        other => panic!("expected an echo, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn every_inbound_kind_is_posted_in_meta_shape() {
    use messenger_model::webhook::{EventList, Handover, HandoverKind, Referral};

    let (url, accepted) = receiver().await;
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .app_secret(SECRET)
        .webhook_url(url)
        .start()
        .await
        .unwrap();
    let psid = "24000000000777";
    let ok = |s: u16| assert_eq!(s, 200);
    ok(sim
        .post_reaction(PAGE, psid, "m_1", "react", "love", Some("\u{2764}"))
        .await
        .unwrap());
    ok(sim
        .post_edit(PAGE, psid, "m_2", "Is my table ready?", 2)
        .await
        .unwrap());
    ok(sim
        .post_feedback(PAGE, psid, "m_3", "Bad response")
        .await
        .unwrap());
    let referral = Referral {
        data_ref: Some("table-qr-17".into()),
        source: Some("SHORTLINK".into()),
        kind: Some("OPEN_THREAD".into()),
        ..Referral::default()
    };
    ok(sim.post_referral(PAGE, psid, referral).await.unwrap());
    let mut pass = Handover::new(HandoverKind::PassThreadControl);
    pass.new_owner_app_id = Some("263902037430900".into());
    ok(sim.post_handover(PAGE, Some(psid), pass).await.unwrap());
    ok(sim
        .post_handover(PAGE, None, Handover::new(HandoverKind::AppRoles))
        .await
        .unwrap());
    ok(sim
        .post_standby_message(PAGE, psid, "while the inbox owns it")
        .await
        .unwrap());

    let bodies = accepted.lock().unwrap().clone();
    let kinds: Vec<(EventList, String)> = bodies
        .iter()
        .flat_map(|p| {
            p.events()
                .map(|(_, list, e)| (list, format!("{:?}", e.kind())))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    let starts = [
        "Reaction", "Edit", "Feedback", "Referral", "Handover", "Handover", "Message",
    ];
    for ((list, kind), want) in kinds.iter().zip(starts) {
        assert!(kind.starts_with(want), "{kind} is not a {want}");
        let standby = want == "Message";
        assert_eq!(*list == EventList::Standby, standby, "{kind}");
    }
    let edit = bodies[1].entry[0].messaging[0]
        .message_edit
        .clone()
        .unwrap();
    assert_eq!((edit.mid.as_deref(), edit.num_edit), (Some("m_2"), 2));
    let roles = &bodies[5].entry[0].messaging[0];
    assert!(roles.sender.is_none());
    let standby = &bodies[6].entry[0];
    assert!(standby.messaging.is_empty());
    assert!(standby.standby[0].message.as_ref().unwrap().mid.is_some());
}
