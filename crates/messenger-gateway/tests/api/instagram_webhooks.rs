//! Instagram Direct webhooks at the gateway's route (`POST /webhooks/facebook`): bodies signed by
//! the Facebook app (an account connected through the page) or by the Instagram app (an account
//! connected with Instagram Login) are stored and applied, and their events reach the business
//! with `"channel": "instagram"`; a body signed with the Instagram app's secret for an account
//! that is not its own is refused with 403.

use std::time::Duration;

use graph_sim::hub_signature_256;
use serde_json::{json, Value};

use crate::harness::*;
use crate::instagram_env::*;

/// Space A forwarding Instagram's events to `url`, with both accounts.
fn space_a(url: &str) -> String {
    format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.inbound\", \"message.sent\", \"message.read\", \"instagram.comment\"]\n\
         \n[[spaces.instagram]]\naccount_id = \"{IG_PAGE}\"\n\
         \n[[spaces.instagram]]\naccount_id = \"{IG_LOGIN}\"\nlogin = \"instagram\"\ntoken = \"{IG_TOKEN}\"\n"
    )
}

async fn start(url: &str) -> Env {
    start_instagram("", &space_a(url), |toml| toml).await
}

/// The forwarded events named `name`, payloads in order of arrival; waits (bounded) for `n`.
async fn wait_named(receiver: &Receiver, name: &str, n: usize) -> Vec<Value> {
    for _ in 0..1500 {
        let got: Vec<Value> = receiver
            .events()
            .into_iter()
            .filter(|(_, e)| e["name"] == name)
            .map(|(_, e)| e["payload"].clone())
            .collect();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} {name} events, got {:?}", receiver.events());
}

/// Posts `body` to the route, signed with `secret` (or not at all).
async fn post(env: &Env, body: &[u8], secret: Option<&str>) -> u16 {
    let mut request = env
        .http
        .post(format!("{}/webhooks/facebook", env.base))
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header("x-hub-signature-256", hub_signature_256(secret, body));
    }
    request
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn message_body(account: &str, igsid: &str, mid: &str) -> Vec<u8> {
    let event = json!({"sender": {"id": igsid}, "recipient": {"id": account},
        "timestamp": messenger_model::Timestamp::now().millis(),
        "message": {"mid": mid, "text": "signed by someone"}});
    let body = json!({"object": "instagram", "entry": [{"id": account, "messaging": [event]}]});
    serde_json::to_vec(&body).unwrap()
}

#[tokio::test]
async fn instagram_events_reach_the_business_signed_by_either_app() {
    let (receiver, url) = Receiver::start(200).await;
    let env = start(&url).await;

    // A direct message to each account, each signed by its own app.
    for (n, account) in [IG_PAGE, IG_LOGIN].into_iter().enumerate() {
        let igsid = env.sim.new_instagram_user(account).unwrap();
        let post = env
            .sim
            .post_instagram_message(account, &igsid, "hello")
            .await
            .unwrap();
        assert_eq!(post.status, 200, "{account}");
        let inbound = wait_named(&receiver, "message.inbound", n + 1).await;
        let p = &inbound[n];
        assert_eq!(p["mid"], post.id.as_str());
        assert_eq!(p["channel"], "instagram");
        assert_eq!(p["instagramAccountId"], account);
        assert_eq!(p["instagramId"], igsid.as_str());
        assert_eq!(p["profileId"], format!("ig-{account}-{igsid}"));
    }

    // A comment on the Instagram Login account's post.
    let igsid = env.sim.new_instagram_user(IG_LOGIN).unwrap();
    let comment = env
        .sim
        .post_instagram_comment(IG_LOGIN, &igsid, "How much is it?")
        .await
        .unwrap();
    assert_eq!(comment.status, 200);
    let comments = wait_named(&receiver, "instagram.comment", 1).await;
    assert_eq!(comments[0]["commentId"], comment.id.as_str());
    assert_eq!(comments[0]["instagramId"], igsid.as_str());
    assert_eq!(comments[0]["text"], "How much is it?");
    assert_eq!(comments[0]["instagramAccountId"], IG_LOGIN);

    // A message sent on Instagram and read by the customer: message.read on instagram.
    let writer = env.sim.new_instagram_user(IG_LOGIN).unwrap();
    env.sim
        .post_instagram_message(IG_LOGIN, &writer, "hi")
        .await
        .unwrap();
    env.webhooks_applied().await;
    let to = json!({"profileId": format!("ig-{IG_LOGIN}-{writer}")});
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": to, "body": "Your order shipped", "rules": ["instagram"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    let mid = env.sim.instagram_sent(IG_LOGIN)[0].mid.clone();
    let status = env
        .sim
        .post_instagram_read(IG_LOGIN, &writer, &mid)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let reads = wait_named(&receiver, "message.read", 1).await;
    assert_eq!(reads[0]["messageId"], id.as_str());
    assert_eq!(reads[0]["channel"], "instagram");
}

#[tokio::test]
async fn a_body_signed_with_an_accounts_secret_is_refused_for_another_account() {
    let (receiver, url) = Receiver::start(200).await;
    let env = start(&url).await;
    // The Instagram app's secret is not the page-connected account's.
    let body = message_body(IG_PAGE, "6543210987654321", "aWdfZAforeign");
    assert_eq!(post(&env, &body, Some(IG_SECRET)).await, 403);
    assert_eq!(post(&env, &body, None).await, 403);
    assert_eq!(
        post(&env, &body, Some("0123456789abcdef0123456789abcdef")).await,
        403
    );
    // Each account's own signer is accepted.
    assert_eq!(post(&env, &body, Some(APP_SECRET)).await, 200);
    let own = message_body(IG_LOGIN, "6543210987654321", "aWdfZAown");
    assert_eq!(post(&env, &own, Some(IG_SECRET)).await, 200);
    let inbound = wait_named(&receiver, "message.inbound", 2).await;
    let mids: Vec<&Value> = inbound.iter().map(|p| &p["mid"]).collect();
    assert_eq!(mids, [&json!("aWdfZAforeign"), &json!("aWdfZAown")]);
}
