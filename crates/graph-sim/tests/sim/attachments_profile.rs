//! Attachment upload and the user profile API over real HTTP.

use crate::common::{answer, post_json, send_url, PAGE, TOKEN};
use graph_sim::GraphSim;
use messenger_model::UserProfile;
use reqwest::multipart::{Form, Part};
use serde_json::json;

async fn sim() -> GraphSim {
    GraphSim::builder().page(PAGE, TOKEN).start().await.unwrap()
}

fn upload_url(base: &str) -> String {
    format!("{base}/v21.0/me/message_attachments?access_token={TOKEN}")
}

fn upload_form(data: Vec<u8>) -> Form {
    Form::new()
        .text(
            "message",
            r#"{"attachment":{"type":"image","payload":{"is_reusable":true}}}"#,
        )
        .part(
            "filedata",
            Part::bytes(data)
                .file_name("shirt.png")
                .mime_str("image/png")
                .unwrap(),
        )
}

#[tokio::test]
async fn multipart_upload_then_send_by_attachment_id() {
    let sim = sim().await;
    let client = reqwest::Client::new();
    let r = client
        .post(upload_url(sim.base_url()))
        .multipart(upload_form(vec![7u8; 1000]))
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, 200, "{:?}", a.json);
    let id = a.json["attachment_id"].as_str().unwrap().to_owned();
    assert_eq!(a.json.as_object().unwrap().len(), 1);

    let uploads = sim.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].attachment_id, id);
    assert_eq!(uploads[0].kind, "image");
    assert_eq!(uploads[0].filename.as_deref(), Some("shirt.png"));
    assert_eq!(uploads[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(uploads[0].len, 1000);
    assert!(uploads[0].is_reusable);

    let second = client
        .post(upload_url(sim.base_url()))
        .multipart(upload_form(vec![1u8; 10]))
        .send()
        .await
        .unwrap();
    let second = answer(second).await;
    assert_ne!(second.json["attachment_id"].as_str().unwrap(), id);

    let send = post_json(
        &send_url(sim.base_url()),
        &json!({"recipient":{"id":"1"},"message":{"attachment":{"type":"image","payload":{"attachment_id":id}}}}),
    )
    .await;
    assert_eq!(send.status, 200, "{:?}", send.json);
    sim.shutdown().await;
}

#[tokio::test]
async fn upload_refusals() {
    let sim = sim().await;
    let client = reqwest::Client::new();

    let too_big = client
        .post(upload_url(sim.base_url()))
        .multipart(upload_form(vec![0u8; 25 * 1024 * 1024 + 1]))
        .send()
        .await
        .unwrap();
    let a = answer(too_big).await;
    assert_eq!((a.status, a.code()), (400, 100));
    assert!(a.message().contains("25 MB"), "{}", a.message());

    let no_token = client
        .post(format!("{}/v21.0/me/message_attachments", sim.base_url()))
        .multipart(upload_form(vec![1, 2, 3]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer(no_token).await.code(), 190);

    let bad_type = Form::new()
        .text(
            "message",
            r#"{"attachment":{"type":"template","payload":{}}}"#,
        )
        .part("filedata", Part::bytes(vec![1]).file_name("x"));
    let r = client
        .post(upload_url(sim.base_url()))
        .multipart(bad_type)
        .send()
        .await
        .unwrap();
    assert_eq!(answer(r).await.code(), 100);
    assert!(sim.uploads().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn upload_by_url() {
    let sim = sim().await;
    let a = post_json(
        &upload_url(sim.base_url()),
        &json!({"message":{"attachment":{"type":"file","payload":{"url":"https://example.com/a.pdf","is_reusable":true}}}}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.json);
    let up = &sim.uploads()[0];
    assert_eq!(up.url.as_deref(), Some("https://example.com/a.pdf"));
    assert_eq!(up.kind, "file");
    sim.shutdown().await;
}

#[tokio::test]
async fn profiles_answer_only_requested_fields() {
    let sim = sim().await;
    sim.set_user_profile(
        "123",
        UserProfile {
            id: Some("123".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            profile_pic: Some("https://example.com/ada.jpg".into()),
            locale: Some("en_GB".into()),
            timezone: Some(0.0),
            gender: None,
        },
    );
    let get = |fields: &str| {
        let url = format!(
            "{}/v21.0/123?fields={fields}&access_token={TOKEN}",
            sim.base_url()
        );
        async move { answer(reqwest::get(url).await.unwrap()).await }
    };

    let a = get("first_name,last_name").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json,
        json!({"first_name":"Ada","last_name":"Lovelace","id":"123"})
    );

    let a = get("first_name,last_name,profile_pic,locale,timezone,gender").await;
    assert_eq!(a.json["locale"], "en_GB");
    assert_eq!(a.json["timezone"], 0);
    assert!(a.json.get("gender").is_none(), "unset fields are absent");

    let a = get("first_name,birthday").await;
    assert_eq!((a.status, a.code()), (400, 100));
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_psids_get_a_name_only_default() {
    let sim = sim().await;
    let url = format!(
        "{}/v21.0/9876543210?fields=first_name,last_name,profile_pic,locale,timezone,gender&access_token={TOKEN}",
        sim.base_url()
    );
    let a = answer(reqwest::get(url).await.unwrap()).await;
    assert_eq!(a.status, 200);
    assert!(a.json["first_name"].is_string());
    assert!(a.json["last_name"].is_string());
    assert!(a.json["profile_pic"].is_string());
    for absent in ["locale", "timezone", "gender"] {
        assert!(a.json.get(absent).is_none(), "{absent}");
    }

    let me = answer(
        reqwest::get(format!("{}/v21.0/me?access_token={TOKEN}", sim.base_url()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me.json["id"], PAGE);

    let no_token = answer(
        reqwest::get(format!("{}/v21.0/123?fields=first_name", sim.base_url()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(no_token.code(), 190);
    sim.shutdown().await;
}
