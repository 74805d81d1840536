//! API keys: 401 without a valid key, 403 with another space's key, nothing of one space
//! visible from another.

use messenger_gateway::http::ROUTES;
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

    // Every route under /apispaces/: 401 without a key, 403 with B's key on A's path (or on a
    // space that does not exist), so a handler that forgets its `SpaceAccess` fails here.
    let mut covered = 0;
    for route in ROUTES.iter().filter(|r| r.path.starts_with("/apispaces/")) {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        for space in [SPACE_A, "no-such-space"] {
            let path = fill_path(route.path, space, &id);
            let body = (method != Method::GET && method != Method::DELETE).then(|| b"{}".to_vec());
            let headers: &[(&str, &str)] = if body.is_some() {
                &[("content-type", "application/json")]
            } else {
                &[]
            };
            let a = env
                .call(method.clone(), &path, None, headers, body.clone())
                .await;
            a.problem(401);
            let a = env
                .call(method.clone(), &path, Some(KEY_B), headers, body)
                .await;
            let p = a.problem(403);
            assert!(
                p["detail"].as_str().unwrap().contains("API space"),
                "{} {path}: {p}",
                route.method
            );
        }
        covered += 1;
    }
    let under_apispaces = ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/apispaces/"))
        .count();
    assert_eq!(covered, under_apispaces);
    assert!(covered >= 11, "only {covered} routes under /apispaces/");
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

/// A route template with plausible values: `{space}`, the message `id`, and a name for any
/// other parameter (`{profileId}`, `{eventId}`, one added later).
fn fill_path(template: &str, space: &str, message_id: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let value = match &rest[open + 1..open + close] {
            "space" => space,
            "id" => message_id,
            "profileId" => "alice",
            _ => "some-value-1",
        };
        out.push_str(value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}
