//! Instagram Direct before an API space can connect an Instagram account: a send or a batch
//! that asks for it is refused with a 422 naming each field, and nothing is stored or sent;
//! the same request without Instagram goes through.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

fn paths(p: &Value) -> Vec<&str> {
    p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "channel.not_connected", "{e}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("this API space has no Instagram account connected"),
                "{e}"
            );
            e["path"].as_str().unwrap()
        })
        .collect()
}

async fn stored(env: &Env) -> usize {
    let a = env
        .get(&format!("/apispaces/{SPACE_A}/messages"), KEY_A)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json().as_array().unwrap().len()
}

#[tokio::test]
async fn a_send_asking_for_instagram_is_refused_with_the_field_named() {
    let env = Env::start().await;
    env.inbound("24000000000901").await;

    let by_rule = json!({
        "to": {"fbMessengerId": "24000000000901"},
        "body": "hi",
        "rules": ["instagram", "fbMessenger"]
    });
    let p = env.send(SPACE_A, KEY_A, &by_rule).await.problem(422);
    assert_eq!(p["type"], "/problems/channel-not-connected");
    assert_eq!(paths(&p), ["/rules/0"]);

    let by_igsid = json!({
        "to": {"instagramId": "IGSID-1", "fbMessengerId": "24000000000901"},
        "body": "hi",
        "rules": ["fbMessenger", "instagram"]
    });
    let p = env.send(SPACE_A, KEY_A, &by_igsid).await.problem(422);
    assert_eq!(paths(&p), ["/rules/1", "/to/instagramId"]);
    assert!(
        p["detail"].as_str().unwrap().contains("/to/instagramId"),
        "{p}"
    );

    // An Instagram option or body on its own asks for nothing: the request is Messenger's.
    let messenger = json!({
        "to": {"fbMessengerId": "24000000000901"},
        "body": "hi",
        "channelOptions": {"instagram": {"messagingType": "RESPONSE"}},
        "rules": ["fbMessenger"]
    });
    assert_eq!(stored(&env).await, 0, "a refused send stores nothing");
    let a = env.send(SPACE_A, KEY_A, &messenger).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    assert_eq!(env.sim.sent_messages().len(), 1);
    assert_eq!(stored(&env).await, 1);
}

#[tokio::test]
async fn a_batch_with_one_instagram_request_is_refused_whole() {
    let env = Env::start().await;
    env.inbound("24000000000902").await;
    let fine =
        json!({"to": {"fbMessengerId": "24000000000902"}, "body": "hi", "rules": ["fbMessenger"]});
    let batch = json!([
        fine,
        {"to": {"instagramId": "IGSID-2"}, "body": "hi", "rules": ["instagram"]},
        fine,
    ]);
    let a = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/messages/batch"),
            KEY_A,
            &batch.to_string(),
        )
        .await;
    let p = a.problem(422);
    assert_eq!(p["type"], "/problems/channel-not-connected");
    assert_eq!(paths(&p), ["/1/rules/0", "/1/to/instagramId"]);
    assert_eq!(stored(&env).await, 0, "nothing of the batch is stored");
    assert!(env.sim.sent_messages().is_empty());
}

#[tokio::test]
async fn an_invalid_instagram_request_is_still_refused_as_not_connected() {
    // Instagram's own rules are checked by the validator once the channel can be used; until
    // then the answer names the channel, whatever else the request breaks.
    let env = Env::start().await;
    let bad =
        json!({"to": {"instagramId": "IGSID-3"}, "body": "é".repeat(600), "rules": ["instagram"]});
    let p = env.send(SPACE_A, KEY_A, &bad).await.problem(422);
    assert_eq!(paths(&p), ["/rules/0", "/to/instagramId"]);
}

#[tokio::test]
async fn a_profile_holds_igsids_per_instagram_account() {
    let env = Env::start().await;
    let path = format!("/apispaces/{SPACE_A}/profiles/carol");
    let put = json!({"firstName": "Carol", "instagramIds": {"ACCOUNT-A": "IGSID-A"}});
    let a = env.json(Method::PUT, &path, KEY_A, &put.to_string()).await;
    assert_eq!(a.status, 201, "{}", a.text);
    // A PATCH adds an account's IGSID and keeps the others.
    let a = env
        .json(
            Method::PATCH,
            &path,
            KEY_A,
            r#"{"instagramIds": {"ACCOUNT-B": "IGSID-B"}}"#,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        env.get(&path, KEY_A).await.json()["instagramIds"],
        json!({"ACCOUNT-A": "IGSID-A", "ACCOUNT-B": "IGSID-B"})
    );

    for (body, pointer) in [
        (json!({"instagramIds": "IGSID-A"}), "/instagramIds"),
        (json!({"instagramIds": {"A/1": 5}}), "/instagramIds/A~11"),
        (
            json!({"instagramIds": {"A": "i".repeat(257)}}),
            "/instagramIds/A",
        ),
    ] {
        let p = env
            .json(Method::PATCH, &path, KEY_A, &body.to_string())
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["path"], pointer, "{p}");
    }
}
