//! The control API's Instagram routes, as a script drives a simulator process.

use serde_json::json;

use super::*;
use crate::common::{post_json, text_to};

async fn put_json(url: &str, body: &Value) -> u16 {
    reqwest::Client::new()
        .put(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_script_drives_instagram_over_http() {
    let (url, received) = receiver().await;
    let sim = builder().webhook_url(url).start().await.unwrap();
    let ctl = format!("{}/_sim/instagram", sim.base_url());

    let user = post_json(&format!("{ctl}/{IG_ACCOUNT}/users"), &json!({})).await;
    assert_eq!(user.status, 201);
    let igsid = user.json["igsid"].as_str().unwrap().to_owned();
    assert_eq!(
        post_json(&format!("{ctl}/404/users"), &json!({}))
            .await
            .status,
        404
    );

    let wrote = post_json(
        &format!("{ctl}/{IG_ACCOUNT}/messages"),
        &json!({"igsid": igsid, "text": "hi", "shape": "changes"}),
    )
    .await;
    assert_eq!(wrote.json["status"], 200);
    let their_mid = wrote.json["mid"].as_str().unwrap().to_owned();
    let post = received.all().pop().unwrap();
    assert!(post.signed_with(IG_SECRET));
    assert_eq!(
        post.json()["entry"][0]["changes"][0]["value"]["message"]["mid"],
        their_mid.as_str()
    );
    let bad_shape = post_json(
        &format!("{ctl}/{IG_ACCOUNT}/messages"),
        &json!({"igsid": igsid, "text": "hi", "shape": "sideways"}),
    )
    .await;
    assert_eq!(bad_shape.status, 400);
    assert!(bad_shape.json["error"].as_str().unwrap().contains("shape"));
    let no_text = post_json(
        &format!("{ctl}/{IG_ACCOUNT}/messages"),
        &json!({"igsid": igsid}),
    )
    .await;
    assert_eq!(no_text.status, 400);

    // The window the message opened, then closed by the script.
    let send = ig_send_url(&sim, IG_TOKEN);
    let ok = post_json(&send, &text_to(&igsid, "hello")).await;
    assert_eq!(ok.status, 200);
    let old = Timestamp::now().millis() - 2 * 24 * 3600 * 1000;
    let last = format!("{ctl}/{IG_ACCOUNT}/users/{igsid}/last-message");
    assert_eq!(put_json(&last, &json!({"at_millis": old})).await, 204);
    assert_eq!(
        post_json(&send, &text_to(&igsid, "late")).await.subcode(),
        Some(2_534_022)
    );

    let read = post_json(
        &format!("{ctl}/{IG_ACCOUNT}/reads"),
        &json!({"igsid": igsid, "mid": ok.json["message_id"]}),
    )
    .await;
    assert_eq!(read.json["status"], 200);
    let seen = received.all().pop().unwrap().json();
    assert_eq!(first_event(&seen)["read"]["mid"], ok.json["message_id"]);

    let comment = post_json(
        &format!("{ctl}/{IG_ACCOUNT}/comments"),
        &json!({"igsid": igsid, "text": "price?", "media_id": "17900000000000016"}),
    )
    .await;
    let comment_id = comment.json["comment_id"].as_str().unwrap().to_owned();
    let hook = received.all().pop().unwrap().json();
    assert_eq!(
        hook["entry"][0]["changes"][0]["value"]["media"]["id"],
        "17900000000000016"
    );
    let nine_days_ago = Timestamp::now().millis() - 9 * 24 * 3600 * 1000;
    let time = format!("{ctl}/comments/{comment_id}/time");
    assert_eq!(
        put_json(&time, &json!({"at_millis": nine_days_ago})).await,
        204
    );
    let reply = json!({"recipient": {"comment_id": comment_id}, "message": {"text": "12 EUR"}});
    assert_eq!(post_json(&send, &reply).await.code(), 10);

    let react = json!({"recipient": {"id": igsid}, "sender_action": "react",
        "payload": {"message_id": their_mid, "reaction": "love"}});
    assert_eq!(post_json(&send, &react).await.status, 200);

    let sent = get(&format!("{ctl}/{IG_ACCOUNT}/sent")).await.json;
    assert_eq!(sent.as_array().unwrap().len(), 1);
    assert_eq!(sent[0]["host"], "instagram");
    assert_eq!(sent[0]["recipient_id"], igsid.as_str());
    assert_eq!(sent[0]["request"]["message"]["text"], "hello");
    let actions = get(&format!("{ctl}/{IG_ACCOUNT}/actions")).await.json;
    assert_eq!(actions[0]["action"], "react");
    assert_eq!(actions[0]["message_id"], their_mid.as_str());

    let aged = post_json(
        &format!("{ctl}/tokens/{IG_TOKEN}/age"),
        &json!({"seconds": 90_000}),
    )
    .await;
    assert_eq!(aged.status, 200);
    assert_eq!(aged.json["account_id"], IG_ACCOUNT);
    let refresh = format!(
        "{}/refresh_access_token?grant_type=ig_refresh_token&access_token={IG_TOKEN}",
        sim.instagram_url().unwrap()
    );
    assert_eq!(get(&refresh).await.status, 200);
    let unknown = post_json(&format!("{ctl}/tokens/NOPE/age"), &json!({"seconds": 1})).await;
    assert_eq!(unknown.status, 404);

    assert_eq!(
        put_json(&format!("{ctl}/shape"), &json!({"shape": "changes"})).await,
        204
    );
    sim.post_instagram_read(IG_ACCOUNT, &igsid, "x")
        .await
        .unwrap();
    let last_post = received.all().pop().unwrap().json();
    assert!(last_post["entry"][0]["changes"].is_array());
    sim.shutdown().await;
}
