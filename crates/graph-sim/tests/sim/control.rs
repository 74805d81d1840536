//! The `/_sim/` control API, as a script drives a simulator running as a process.

use std::sync::{Arc, Mutex};

use crate::common::{answer, post_json, send_url, text_to, PAGE, TOKEN};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use graph_sim::GraphSim;
use serde_json::json;

#[tokio::test]
async fn faults_profiles_events_and_sends_over_http() {
    let got: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Arc<Mutex<Vec<Bytes>>>>, body: Bytes| async move {
                    got.lock().unwrap().push(body);
                    "ok"
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .webhook_url(hook)
        .start()
        .await
        .unwrap();
    let base = sim.base_url().to_owned();
    let client = reqwest::Client::new();

    let r = client
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"recipient":"9","times":1,"fault":{"kind":"rate_limit","code":613}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        post_json(&send_url(&base), &text_to("9", "x")).await.code(),
        613
    );
    assert_eq!(
        post_json(&send_url(&base), &text_to("9", "x")).await.status,
        200
    );

    client
        .post(format!("{base}/_sim/faults"))
        .json(&json!({"fault":{"kind":"server_error","status":502}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post_json(&send_url(&base), &text_to("9", "x")).await.status,
        502
    );
    let r = client
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        post_json(&send_url(&base), &text_to("9", "x")).await.status,
        200
    );

    let r = client
        .put(format!("{base}/_sim/profiles/9"))
        .json(&json!({"first_name":"Grace","locale":"en_US"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let p = answer(
        reqwest::get(format!(
            "{base}/v21.0/9?fields=first_name,locale&access_token={TOKEN}"
        ))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        p.json,
        json!({"first_name":"Grace","locale":"en_US","id":"9"})
    );

    let a = post_json(
        &format!("{base}/_sim/inbound"),
        &json!({"page_id":PAGE,"psid":"9","text":"hello"}),
    )
    .await;
    assert_eq!(a.json, json!({"status":200}));
    let a = post_json(
        &format!("{base}/_sim/delivery"),
        &json!({"page_id":PAGE,"psid":"9","mids":["m_x"]}),
    )
    .await;
    assert_eq!(a.json["status"], 200);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let inbound: serde_json::Value = serde_json::from_slice(&got[0]).unwrap();
    assert_eq!(
        inbound["entry"][0]["messaging"][0]["message"]["text"],
        "hello"
    );

    let sent = answer(
        client
            .get(format!("{base}/_sim/sent"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let sent = sent.json.as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["recipient_id"], "9");
    assert_eq!(sent[0]["request"]["message"]["text"], "x");
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_are_revoked_and_subscriptions_set_over_http() {
    let sim = GraphSim::builder().page(PAGE, TOKEN).start().await.unwrap();
    let base = sim.base_url().to_owned();
    let client = reqwest::Client::new();
    let revoked = client
        .put(format!("{base}/_sim/tokens/{TOKEN}/revoked"))
        .json(&json!({"subcode": 463}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let refused = client
        .post(send_url(&base))
        .json(&text_to("123", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        (
            body["error"]["code"].clone(),
            body["error"]["error_subcode"].clone()
        ),
        (json!(190), json!(463))
    );
    let unknown = client
        .put(format!("{base}/_sim/tokens/nope/revoked"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let restored = client
        .delete(format!("{base}/_sim/tokens/{TOKEN}/revoked"))
        .send()
        .await
        .unwrap();
    assert_eq!(restored.status(), 204);
    let ok = client
        .post(send_url(&base))
        .json(&text_to("123", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let set = client
        .put(format!("{base}/_sim/subscriptions/{PAGE}"))
        .json(&json!(["messages", "message_echoes"]))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    assert_eq!(sim.subscribed_fields(PAGE), ["messages", "message_echoes"]);
    let listed: Vec<String> = client
        .get(format!("{base}/_sim/subscriptions/{PAGE}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, ["messages", "message_echoes"]);
}
