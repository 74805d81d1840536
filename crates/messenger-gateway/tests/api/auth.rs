//! API keys: 401 without a valid key, 403 with another space's key, nothing of one space
//! visible from another.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn missing_and_wrong_keys_are_401_with_a_challenge() {
    let env = Env::start().await;
    let path = format!("/apispaces/{SPACE_A}/messages/some-id");
    for key in [None, Some("not-a-key-of-anyone-at-all"), Some("")] {
        let a = env.call(Method::GET, &path, key, &[], None).await;
        a.problem(401);
        assert!(
            a.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{key:?}"
        );
    }
    let basic = env
        .call(
            Method::GET,
            &path,
            None,
            &[("authorization", "Basic YTpi")],
            None,
        )
        .await;
    basic.problem(401);
    // The key is checked before the body is even read.
    let a = env
        .call(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/messages"),
            None,
            &[("content-type", "text/plain")],
            Some(b"not json".to_vec()),
        )
        .await;
    a.problem(401);
}

#[tokio::test]
async fn another_spaces_key_is_403_and_nothing_crosses_spaces() {
    let env = Env::start().await;
    // A's message and profile.
    env.opted_in_profile("alice", "24000000000201").await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "alice"}, "body": "hi", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();

    // B's key on A's paths: 403, whatever the route.
    for (method, path) in [
        (Method::GET, format!("/apispaces/{SPACE_A}/messages/{id}")),
        (Method::GET, format!("/apispaces/{SPACE_A}/profiles/alice")),
        (Method::POST, format!("/apispaces/{SPACE_A}/messages")),
        (Method::GET, format!("/apispaces/{SPACE_A}/webhooks/dead")),
        (
            Method::GET,
            "/apispaces/no-such-space/profiles/alice".to_owned(),
        ),
    ] {
        let a = env
            .call(method.clone(), &path, Some(KEY_B), &[], None)
            .await;
        a.problem(403);
    }
    // B's own paths do not see A's data.
    env.get(&format!("/apispaces/{SPACE_B}/messages/{id}"), KEY_B)
        .await
        .problem(404);
    env.get(&format!("/apispaces/{SPACE_B}/profiles/alice"), KEY_B)
        .await
        .problem(404);
    let found = env
        .get(
            &format!("/apispaces/{SPACE_B}/profiles?fbMessengerId=24000000000201"),
            KEY_B,
        )
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json(), json!([]));
    let found = env
        .get(
            &format!("/apispaces/{SPACE_A}/profiles?fbMessengerId=24000000000201"),
            KEY_A,
        )
        .await;
    assert_eq!(found.json()[0]["id"], "alice");
}
