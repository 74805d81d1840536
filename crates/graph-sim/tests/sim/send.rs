//! The Send API over real HTTP: tokens, appsecret_proof, Graph's request checks, answers and
//! what the simulator records.

use std::collections::HashSet;

use crate::common::{answer, post_json, send_url, text_to, PAGE, TOKEN};
use graph_sim::GraphSim;
use serde_json::json;

async fn sim() -> GraphSim {
    GraphSim::builder()
        .page(PAGE, TOKEN)
        .page("2000002", "OTHER_TOKEN")
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_text_send_is_answered_and_recorded() {
    let sim = sim().await;
    let a = post_json(&send_url(sim.base_url()), &text_to("123456", "hello")).await;
    assert_eq!(a.status, 200, "{:?}", a.json);
    assert_eq!(a.json["recipient_id"], "123456");
    let mid = a.json["message_id"].as_str().unwrap().to_owned();
    assert!(mid.starts_with("m_"));
    assert_eq!(a.json.as_object().unwrap().len(), 2);

    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mid, mid);
    assert_eq!(sent[0].page_id, PAGE);
    assert_eq!(sent[0].recipient_id, "123456");
    assert_eq!(sent[0].recipient.id.as_deref(), Some("123456"));
    let text = sent[0].request.message.as_ref().unwrap().text.as_deref();
    assert_eq!(text, Some("hello"));
    assert_eq!(sim.sent_count(), 1);

    let reqs = sim.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v21.0/me/messages");
    assert_eq!(
        reqs[0].query.as_deref(),
        Some(format!("access_token={TOKEN}").as_str())
    );
    assert_eq!(reqs[0].header("Content-Type"), Some("application/json"));
    assert!(reqs[0].headers.iter().all(|(n, _)| *n == n.to_lowercase()));
    assert_eq!(reqs[0].json().unwrap()["message"]["text"], "hello");
    sim.shutdown().await;
}

#[tokio::test]
async fn tokens_from_query_bearer_or_body_and_refusals() {
    let sim = sim().await;
    let base = sim.base_url();
    let client = reqwest::Client::new();
    let body = text_to("1", "x");

    let bearer = client
        .post(format!("{base}/v19.0/me/messages"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);

    let mut in_body = body.clone();
    in_body["access_token"] = json!(TOKEN);
    let a = post_json(&format!("{base}/v19.0/me/messages"), &in_body).await;
    assert_eq!(a.status, 200);

    let missing = post_json(&format!("{base}/v19.0/me/messages"), &body).await;
    assert_eq!((missing.status, missing.code()), (400, 190));
    assert_eq!(missing.json["error"]["type"], "OAuthException");
    assert!(missing.json["error"]["fbtrace_id"].is_string());

    let unknown = post_json(
        &format!("{base}/v19.0/me/messages?access_token=nope"),
        &body,
    )
    .await;
    assert_eq!((unknown.status, unknown.code()), (400, 190));
    assert!(unknown.header("www-authenticate").is_some());

    // /{page-id}/messages: the token must be that page's.
    let own = post_json(
        &format!("{base}/v19.0/{PAGE}/messages?access_token={TOKEN}"),
        &body,
    )
    .await;
    assert_eq!(own.status, 200);
    let other = post_json(
        &format!("{base}/v19.0/2000002/messages?access_token={TOKEN}"),
        &body,
    )
    .await;
    assert_eq!((other.status, other.code()), (400, 100));

    // The path's version must look like Graph's.
    let bad_version = post_json(
        &format!("{base}/latest/me/messages?access_token={TOKEN}"),
        &body,
    )
    .await;
    assert_eq!((bad_version.status, bad_version.code()), (400, 2500));
    assert_eq!(sim.sent_count(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn appsecret_proof_is_required_and_checked() {
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .app_secret("APP_SECRET")
        .start()
        .await
        .unwrap();
    let base = sim.base_url();
    let body = text_to("1", "x");
    let proof = graph_sim::appsecret_proof("APP_SECRET", TOKEN);

    let none = post_json(&send_url(base), &body).await;
    assert_eq!((none.status, none.code()), (400, 100));
    assert!(none.message().contains("appsecret_proof"));

    let wrong = post_json(
        &format!(
            "{}&appsecret_proof={}",
            send_url(base),
            graph_sim::appsecret_proof("OTHER", TOKEN)
        ),
        &body,
    )
    .await;
    assert_eq!(wrong.code(), 100);
    assert_eq!(
        wrong.message(),
        "Invalid appsecret_proof provided in the API argument"
    );

    let right = post_json(
        &format!("{}&appsecret_proof={proof}", send_url(base)),
        &body,
    )
    .await;
    assert_eq!(right.status, 200, "{:?}", right.json);

    let mut in_body = body.clone();
    in_body["appsecret_proof"] = json!(proof);
    assert_eq!(post_json(&send_url(base), &in_body).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_refuses_what_graph_refuses() {
    let sim = sim().await;
    let url = send_url(sim.base_url());
    let quick_replies: Vec<_> = (0..14)
        .map(|i| json!({"content_type":"text","title":format!("Q{i}"),"payload":"P"}))
        .collect();
    let cases = [
        (
            json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","tag":"SHIPPING_UPDATE","message":{"text":"x"}}),
            "Param tag must be one of",
        ),
        (
            json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"x"}}),
            "Param tag must be one of",
        ),
        (
            json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","message":{"text":"x"}}),
            "tag is required",
        ),
        (
            json!({"recipient":{"id":"1"},"message":{"text":"x".repeat(2001)}}),
            "Length of param message[text] must be less than or equal to 2000",
        ),
        (
            json!({"recipient":{"id":"1"},"message":{"text":"x","quick_replies":quick_replies}}),
            "message[quick_replies]",
        ),
        (json!({"message":{"text":"x"}}), "recipient is required"),
        (
            json!({"recipient":{"id":"1","phone_number":"+447700900123"},"message":{"text":"x"}}),
            "Only one of",
        ),
        (
            json!({"recipient":{"id":1},"message":{"text":"x"}}),
            "must be a valid ID string",
        ),
        (
            json!({"recipient":{"id":"1"}}),
            "either message or sender_action",
        ),
        (
            json!({"recipient":{"id":"1"},"messaging_type":"NOW","message":{"text":"x"}}),
            "messaging_type must be one of",
        ),
        (
            json!({"recipient":{"id":"1"},"message":{"text":"x","preview":true}}),
            "Invalid keys \"preview\"",
        ),
    ];
    for (body, expected) in cases {
        let a = post_json(&url, &body).await;
        assert_eq!((a.status, a.code()), (400, 100), "{body} -> {:?}", a.json);
        assert!(a.message().contains(expected), "{body} -> {}", a.message());
    }
    let tagged = json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"x"}});
    assert_eq!(post_json(&url, &tagged).await.status, 200);
    let exactly = json!({"recipient":{"id":"1"},"message":{"text":"é".repeat(2000)}});
    assert_eq!(post_json(&url, &exactly).await.status, 200);
    assert_eq!(sim.sent_count(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn accepted_tags_can_be_set_to_an_older_list() {
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .accepted_tags(["ACCOUNT_UPDATE", "HUMAN_AGENT"])
        .start()
        .await
        .unwrap();
    let body = json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","tag":"ACCOUNT_UPDATE","message":{"text":"x"}});
    assert_eq!(
        post_json(&send_url(sim.base_url()), &body).await.status,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn message_ids_are_unique_under_concurrency() {
    let sim = sim().await;
    let url = send_url(sim.base_url());
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(&url)
                .json(&text_to(&format!("{}", 100 + i % 7), "hi"))
                .send()
                .await
                .unwrap();
            answer(r).await.json["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut mids = HashSet::new();
    for t in tasks {
        assert!(mids.insert(t.await.unwrap()));
    }
    assert_eq!(mids.len(), 200);
    assert_eq!(sim.sent_count(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn sender_actions_phone_recipients_and_form_bodies() {
    let sim = sim().await;
    let url = send_url(sim.base_url());

    let typing = post_json(
        &url,
        &json!({"recipient":{"id":"42"},"sender_action":"typing_on"}),
    )
    .await;
    assert_eq!(typing.status, 200);
    assert_eq!(typing.json, json!({"recipient_id":"42"}));

    let phone = post_json(
        &url,
        &json!({"recipient":{"phone_number":"+44 7700 900123","name":{"first_name":"A","last_name":"B"}},"message":{"text":"x"}}),
    )
    .await;
    assert_eq!(phone.status, 200);
    assert_eq!(
        phone.json["recipient_id"].as_str().unwrap(),
        GraphSim::psid_for_phone(PAGE, "+447700900123")
    );

    let form = reqwest::Client::new()
        .post(&url)
        .form(&[
            ("recipient", r#"{"id":"77"}"#),
            ("messaging_type", "UPDATE"),
            ("message", r#"{"text":"from a form"}"#),
        ])
        .send()
        .await
        .unwrap();
    let form = answer(form).await;
    assert_eq!(form.status, 200, "{:?}", form.json);
    assert_eq!(form.json["recipient_id"], "77");

    // Sender actions are not messages.
    assert_eq!(sim.sent_count(), 2);
    let last = sim.sent_messages().pop().unwrap();
    assert_eq!(
        last.request.message.unwrap().text.as_deref(),
        Some("from a form")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn attachments_by_url_reusable_and_by_unknown_id() {
    let sim = sim().await;
    let url = send_url(sim.base_url());
    let reusable = post_json(
        &url,
        &json!({"recipient":{"id":"1"},"message":{"attachment":{"type":"image","payload":{"url":"https://example.com/a.png","is_reusable":true}}}}),
    )
    .await;
    assert_eq!(reusable.status, 200);
    let id = reusable.json["attachment_id"].as_str().unwrap().to_owned();

    let by_id = post_json(
        &url,
        &json!({"recipient":{"id":"1"},"message":{"attachment":{"type":"image","payload":{"attachment_id":id}}}}),
    )
    .await;
    assert_eq!(by_id.status, 200, "{:?}", by_id.json);

    let unknown = post_json(
        &url,
        &json!({"recipient":{"id":"1"},"message":{"attachment":{"type":"image","payload":{"attachment_id":"999"}}}}),
    )
    .await;
    assert_eq!((unknown.status, unknown.code()), (400, 100));
    sim.shutdown().await;
}

#[tokio::test]
async fn recording_off_still_counts() {
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .record_requests(false)
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        let a = post_json(&send_url(sim.base_url()), &text_to("1", "x")).await;
        assert_eq!(a.status, 200);
    }
    assert_eq!(sim.sent_count(), 3);
    assert!(sim.sent_messages().is_empty());
    assert!(sim.requests().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_json_gets_a_graph_error() {
    let sim = sim().await;
    let r = reqwest::Client::new()
        .post(send_url(sim.base_url()))
        .header("content-type", "application/json")
        .body("{\"recipient\":")
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!((a.status, a.code()), (400, 100));
    sim.shutdown().await;
}
