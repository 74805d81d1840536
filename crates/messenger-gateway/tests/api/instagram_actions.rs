//! Sender actions on Instagram over HTTP: `to.instagramId` and `react` / `unreact` go out from
//! the space's Instagram account on its own host, every bad field is a 4xx naming it (the
//! reaction's message and value, a persona, a reaction to Messenger, a comment), a closed window
//! is refused before Graph, and a space with no Instagram account answers 422.

use graph_sim::InstagramHost;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::instagram_env::*;

/// The `mid` of a customer's message.
const MID: &str = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMTAy";

/// Space A's Instagram Login account only.
const LOGIN_ACCOUNT: &str = r#"
[[spaces.instagram]]
account_id = "17841400000000102"
login = "instagram"
token = "ig-user-token-of-account-102"
"#;
/// A gateway whose space A has the Instagram Login account; with `window_check` off for space
/// A when `window_check` is false (the gateway then leaves the window to Instagram).
async fn start(window_check: bool) -> Env {
    start_instagram("", LOGIN_ACCOUNT, |toml| {
        let keys = format!("keys = [\"{KEY_A}\"]\n");
        let window = format!("{keys}window_check = {window_check}\n");
        toml.replacen(&keys, &window, 1)
    })
    .await
}

async fn action(env: &Env, space: &str, key: &str, body: &Value) -> Answer {
    env.json(
        Method::POST,
        &format!("/apispaces/{space}/channels/facebook/actions"),
        key,
        &body.to_string(),
    )
    .await
}

/// The problem's errors as `code@path`.
fn errors(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap_or("");
            assert!(!message.is_empty(), "{e}");
            format!(
                "{}@{}",
                e["code"].as_str().unwrap(),
                e["path"].as_str().unwrap()
            )
        })
        .collect()
}

/// A new Instagram user of the account whose window Instagram (graph-sim) knows open.
fn user(env: &Env) -> String {
    let igsid = env.sim.new_instagram_user(IG_LOGIN).unwrap();
    let now = messenger_model::Timestamp::now().millis();
    env.sim.set_last_inbound(IG_LOGIN, &igsid, now);
    igsid
}

#[tokio::test]
async fn typing_and_a_reaction_go_out_from_the_instagram_account() {
    let env = start(false).await;
    let igsid = user(&env);

    let typing = json!({"to": {"instagramId": igsid}, "action": "typing_on"});
    let a = action(&env, SPACE_A, KEY_A, &typing).await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"action": "typing_on", "addressedBy": "to.instagramId", "channel": "instagram"})
    );
    let react = json!({"to": {"instagramId": igsid}, "action": "react",
                       "messageId": MID, "reaction": "love"});
    let a = action(&env, SPACE_A, KEY_A, &react).await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(a.json()["channel"], "instagram");
    let unreact = json!({"to": {"instagramId": igsid}, "action": "unreact", "messageId": MID});
    let a = action(&env, SPACE_A, KEY_A, &unreact).await;
    assert_eq!(a.status, 202, "{}", a.text);

    let got: Vec<_> = env
        .sim
        .instagram_actions(IG_LOGIN)
        .into_iter()
        .map(|a| {
            assert_eq!(a.host, InstagramHost::Instagram);
            assert_eq!(a.recipient_id, igsid);
            (a.action, a.message_id, a.reaction)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("typing_on".to_owned(), None, None),
            (
                "react".to_owned(),
                Some(MID.to_owned()),
                Some("love".to_owned())
            ),
            ("unreact".to_owned(), Some(MID.to_owned()), None),
        ]
    );
    assert!(env.sim.sender_actions().is_empty(), "nothing on Messenger");
}

#[tokio::test]
async fn every_bad_field_of_an_instagram_action_is_a_400_naming_it() {
    let env = start(false).await;
    let igsid = user(&env);
    let to = json!({"instagramId": igsid});
    let cases = [
        (
            json!({"to": to, "action": "react", "reaction": "love"}),
            vec!["field.required@/messageId"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": MID}),
            vec!["field.required@/reaction"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": MID, "reaction": "like"}),
            vec!["field.enum@/reaction"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": " ", "reaction": "love"}),
            vec!["field.required@/messageId"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": "a b", "reaction": "love"}),
            vec!["json.shape@/messageId"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": 7, "reaction": ["love"]}),
            vec!["field.type@/messageId", "field.type@/reaction"],
        ),
        (
            json!({"to": to, "action": "unreact", "messageId": MID, "reaction": "love"}),
            vec!["field.unknown@/reaction"],
        ),
        (
            json!({"to": to, "action": "typing_on", "messageId": MID}),
            vec!["field.unknown@/messageId"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": MID, "reaction": "love",
                   "personaId": "1234567890"}),
            vec!["channel.unsupported@/personaId"],
        ),
        (
            json!({"to": {"fbMessengerId": "24000000000001"}, "action": "react",
                   "messageId": MID, "reaction": "love"}),
            vec!["channel.unsupported@/action"],
        ),
        (
            json!({"to": {"commentId": "17900000000000001"}, "action": "typing_on"}),
            vec!["field.unknown@/to/commentId"],
        ),
        (
            json!({"to": {"instagramId": igsid, "fbMessengerId": "24000000000001"},
                   "action": "typing_on"}),
            vec!["json.shape@/to/instagramId"],
        ),
        (
            json!({"to": {"instagramId": 42}, "action": "typing_on"}),
            vec!["field.type@/to/instagramId"],
        ),
        (
            json!({"to": to, "action": "wave"}),
            vec!["field.enum@/action"],
        ),
        (
            json!({"to": to, "action": "react", "messageId": MID, "reaction": "love", "emoji": "x"}),
            vec!["field.unknown@/emoji"],
        ),
    ];
    for (body, want) in cases {
        let p = action(&env, SPACE_A, KEY_A, &body).await.problem(400);
        assert_eq!(errors(&p), want, "{body}: {p}");
    }

    // A persona on Instagram: the routing finds Instagram, which has none.
    let typing = json!({"to": to, "action": "typing_on", "personaId": "1234567890"});
    let p = action(&env, SPACE_A, KEY_A, &typing).await.problem(400);
    assert_eq!(p["type"], "/problems/action-refused", "{p}");
    assert_eq!(errors(&p), ["channel.unsupported@/personaId"]);

    assert!(env.sim.instagram_actions(IG_LOGIN).is_empty());
    assert!(env.sim.sender_actions().is_empty());
}

#[tokio::test]
async fn a_closed_window_and_a_space_without_instagram_are_refused_before_graph() {
    let env = start(true).await;
    // Nothing the gateway applied says this user wrote: its window is closed.
    let igsid = user(&env);
    let react = json!({"to": {"instagramId": igsid}, "action": "react",
                       "messageId": MID, "reaction": "love"});
    let p = action(&env, SPACE_A, KEY_A, &react).await.problem(400);
    assert_eq!(p["type"], "/problems/action-refused", "{p}");
    assert_eq!(errors(&p), ["window.closed@/action"]);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Instagram's 24-hour"),
        "{p}"
    );

    // Space B connects no Instagram account: the fields that ask for it are named in a 422.
    let p = action(&env, SPACE_B, KEY_B, &react).await.problem(422);
    assert_eq!(p["type"], "/problems/channel-not-connected", "{p}");
    assert_eq!(
        errors(&p),
        [
            "channel.not_connected@/to/instagramId",
            "channel.not_connected@/action"
        ]
    );
    let unreact = json!({"to": {"profileId": "alice"}, "action": "unreact", "messageId": MID});
    let p = action(&env, SPACE_B, KEY_B, &unreact).await.problem(422);
    assert_eq!(errors(&p), ["channel.not_connected@/action"]);

    assert!(env.sim.instagram_actions(IG_LOGIN).is_empty());
}
