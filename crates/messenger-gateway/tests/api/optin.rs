//! Opt-in tokens over HTTP: a token is bound to the first Messenger user who redeems it, a
//! replayed token never moves a profile's Messenger ID, and a Messenger ID belongs to one
//! profile.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// Space A forwarding opt-ins and inbound messages to `url`.
fn optin_webhook(url: &str) -> String {
    format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"facebook.optin\", \"message.inbound\"]\n"
    )
}

/// A `data-ref` token for `profile` of space A.
async fn token_for(env: &Env, profile: &str) -> String {
    let a = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/state"),
            KEY_A,
            &json!({"profileId": profile}).to_string(),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.text.clone()
}

async fn profile(env: &Env, id: &str) -> Value {
    let a = env
        .get(&format!("/apispaces/{SPACE_A}/profiles/{id}"), KEY_A)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// The opt-in events forwarded so far, in order.
fn optins(receiver: &Receiver) -> Vec<Value> {
    receiver
        .events()
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e["name"] == "facebook.optin")
        .map(|e| e["payload"].clone())
        .collect()
}

#[tokio::test]
async fn a_token_replayed_by_another_user_never_moves_the_profile() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&optin_webhook(&url)).await;
    let token = token_for(&env, "alice").await;
    let (a, b) = ("24000000000701", "24000000000702");

    assert_eq!(
        env.sim.post_optin(PAGE_A, a, Some(&token)).await.unwrap(),
        200
    );
    env.webhooks_applied().await;
    assert_eq!(profile(&env, "alice").await["fbMessengerId"], a);

    // The user opts in again (or Meta redelivers): still theirs.
    assert_eq!(
        env.sim.post_optin(PAGE_A, a, Some(&token)).await.unwrap(),
        200
    );
    // A stranger replays the public token.
    assert_eq!(
        env.sim.post_optin(PAGE_A, b, Some(&token)).await.unwrap(),
        200
    );
    env.webhooks_applied().await;

    assert_eq!(
        profile(&env, "alice").await["fbMessengerId"],
        a,
        "never moved"
    );
    receiver.wait_for(3).await;
    let events = optins(&receiver);
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0]["profileId"], "alice");
    assert_eq!(events[0]["linkedBy"], "token");
    assert_eq!(events[0]["tokenError"], Value::Null);
    assert_eq!(events[1]["profileId"], "alice");
    assert_eq!(events[1]["linkedBy"], "token");
    assert_eq!(events[2]["fbMessengerId"], b);
    assert_ne!(events[2]["profileId"], "alice");
    assert_eq!(events[2]["linkedBy"], "new-profile");
    assert_eq!(events[2]["tokenError"], "token.used");

    // A send to alice goes to A, not to the stranger.
    env.inbound(a).await;
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "alice"}, "body": "yours", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    let to: Vec<_> = env
        .sim
        .sent_messages()
        .iter()
        .filter_map(|m| m.recipient.id.clone())
        .collect();
    assert_eq!(to, [a]);
}

#[tokio::test]
async fn a_messenger_id_belongs_to_one_profile() {
    let env = Env::start().await;
    let put = |id: &'static str, body: Value| {
        let env = &env;
        async move {
            env.json(
                Method::PUT,
                &format!("/apispaces/{SPACE_A}/profiles/{id}"),
                KEY_A,
                &body.to_string(),
            )
            .await
        }
    };
    assert_eq!(
        put("alice", json!({"fbMessengerId": "24000000000711"}))
            .await
            .status,
        201
    );
    let taken = put("bob", json!({"fbMessengerId": "24000000000711"})).await;
    let p = taken.problem(409);
    assert_eq!(p["type"], "/problems/messenger-id-taken");
    assert_eq!(p["profileId"], "alice");
    assert_eq!(p["errors"][0]["code"], "profile.fb_messenger_id.taken");
    assert_eq!(p["errors"][0]["path"], "/fbMessengerId");
    let patched = env
        .json(
            Method::PATCH,
            &format!("/apispaces/{SPACE_A}/profiles/alice"),
            KEY_A,
            &json!({"fbMessengerId": "24000000000711", "firstName": "Al"}).to_string(),
        )
        .await;
    assert_eq!(
        patched.status, 200,
        "the holder may write it again: {}",
        patched.text
    );
    // Nothing was written for bob; the other space is another namespace.
    assert_eq!(
        env.get(&format!("/apispaces/{SPACE_A}/profiles/bob"), KEY_A)
            .await
            .status,
        404
    );
    let other = env
        .json(
            Method::PUT,
            &format!("/apispaces/{SPACE_B}/profiles/bob"),
            KEY_B,
            &json!({"fbMessengerId": "24000000000711"}).to_string(),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.text);

    // An inbound message from that user is alice's and leaves her Messenger ID alone.
    env.inbound("24000000000711").await;
    assert_eq!(
        profile(&env, "alice").await["fbMessengerId"],
        "24000000000711"
    );
}
