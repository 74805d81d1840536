//! Retention: a message past its content retention still answers, with `redacted: true` and
//! its statuses; a space's own limits apply to it alone; bad limits are named by their keys.

use std::sync::Arc;

use messenger_gateway::config::Config;
use messenger_gateway::retention::{RetentionAction, RetentionPolicy};
use messenger_model::Timestamp;
use serde_json::{json, Value};

use crate::harness::*;

const DAY_MS: i64 = 24 * 3600 * 1000;

fn request(psid: &str) -> Value {
    json!({
        "to": {"fbMessengerId": psid, "phoneNumber": "+447700900777"},
        "body": "your parcel for Jane Doe is at the depot",
        "metadata": {"order": "A-1001", "customer": "Jane Doe"},
        "conversationId": "conv-jane",
        "rules": ["fbMessenger"],
    })
}

async fn message_of(env: &Env, space: &str, key: &str, id: &str) -> Value {
    let a = env
        .get(&format!("/apispaces/{space}/messages/{id}"), key)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

/// Sends in `space` and waits until the message left the queue.
async fn settled_in(env: &Env, space: &str, key: &str, psid: &str) -> (String, Value) {
    let a = env.send(space, key, &request(psid)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..500 {
        let m = message_of(env, space, key, &id).await;
        if !matches!(m["status"].as_str(), Some("processing" | "retrying")) {
            return (id, m);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("message {id} did not settle");
}

/// `keys` of each entry of `m[list]`.
fn fields(m: &Value, list: &str, keys: &[&str]) -> Vec<Vec<Value>> {
    m[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| keys.iter().map(|k| e[*k].clone()).collect())
        .collect()
}

#[tokio::test]
async fn a_message_past_its_content_retention_answers_redacted() {
    // Space A keeps content one day, every other space three. Space B sends without the
    // window check (nobody wrote to its page).
    let env = Env::start_edited("", "[spaces.retention]\nmessage_content_days = 1\n", |t| {
        let b = format!("keys = [\"{KEY_B}\"]\n");
        let t = t.replacen(&b, &format!("{b}window_check = false\n"), 1);
        format!("{t}\n[retention]\nmessage_content_days = 3\nbatch_size = 1\n")
    })
    .await;
    env.opted_in_profile("jane", "psid-jane").await;
    let (a_id, before) = settled_in(&env, SPACE_A, KEY_A, "psid-jane").await;
    let (b_id, b_before) = settled_in(&env, SPACE_B, KEY_B, "psid-b").await;
    assert_eq!(before["metadata"]["customer"], "Jane Doe");
    assert!(before.get("redacted").is_none(), "{before}");

    let config = Config::from_toml_str(&env.toml, std::iter::empty()).unwrap();
    let policy = RetentionPolicy::new(&config);
    let store = Arc::clone(env.gateway.as_ref().unwrap().messenger().store());
    let now = Timestamp::now();

    // Half a day on: nothing is past its retention.
    let report = policy.run(&store, now.add_millis(DAY_MS / 2)).await;
    assert_eq!(report.count("messages", RetentionAction::Redacted), 0);
    assert_eq!(message_of(&env, SPACE_A, KEY_A, &a_id).await, before);

    // Two days on: space A's message is redacted, space B's is not.
    let report = policy.run(&store, now.add_millis(2 * DAY_MS)).await;
    assert_eq!(report.count("messages", RetentionAction::Redacted), 1);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let after = message_of(&env, SPACE_A, KEY_A, &a_id).await;
    assert_eq!(after["redacted"], true, "{after}");
    for gone in ["metadata", "conversationId"] {
        assert!(after.get(gone).is_none(), "{gone} kept: {after}");
    }
    for kept in ["id", "status", "createdAt", "channel", "graphMessageIds"] {
        assert_eq!(after[kept], before[kept], "{kept} changed: {after}");
    }
    // Each status with its time, each rule with its cause; no reasons in the history, and no
    // Graph text in the trace.
    let history = ["status", "at"];
    assert_eq!(
        fields(&after, "statusHistory", &history),
        fields(&before, "statusHistory", &history)
    );
    assert!(after["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c.get("reason").is_none()));
    let trace = ["channel", "outcome", "cause", "at"];
    assert_eq!(
        fields(&after, "ruleTrace", &trace),
        fields(&before, "ruleTrace", &trace)
    );
    assert!(!after["ruleTrace"].to_string().contains("Graph"), "{after}");
    assert!(!after.to_string().contains("Jane"), "{after}");
    assert_eq!(message_of(&env, SPACE_B, KEY_B, &b_id).await, b_before);

    // The listing shows it redacted too, with no recipient.
    let listed = env
        .get(&format!("/apispaces/{SPACE_A}/messages"), KEY_A)
        .await
        .json();
    let item = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == a_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["redacted"], true);
    assert_eq!(item["to"], json!({}));

    // Four days on: space B's default retention has passed too. Batches of one row each.
    let report = policy.run(&store, now.add_millis(4 * DAY_MS)).await;
    assert_eq!(report.count("messages", RetentionAction::Redacted), 1);
    let b_after = message_of(&env, SPACE_B, KEY_B, &b_id).await;
    assert_eq!(b_after["redacted"], true, "{b_after}");
    assert_eq!(b_after["status"], b_before["status"]);
    assert_eq!(
        fields(&b_after, "statusHistory", &history),
        fields(&b_before, "statusHistory", &history)
    );
}

#[test]
fn bad_retention_limits_name_their_keys() {
    let toml = config_toml("http://127.0.0.1:9", "sqlite::memory:", "").replace(
        "from = \"+15005550006\"\n",
        "from = \"+15005550006\"\n[spaces.retention]\nmessages_days = 10\n\
             message_content_days = 20\nbatch_size = 5\n",
    );
    let toml = format!("{toml}\n[retention]\nmessage_content_days = 0\nbatch_size = 20000\n");
    let issues: Vec<String> = match Config::from_toml_str(&toml, std::iter::empty()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.issues().iter().map(ToString::to_string).collect(),
    };
    let named = |key: &str| issues.iter().any(|i| i.starts_with(key));
    assert!(
        named("retention.message_content_days: 0 is under 1"),
        "{issues:?}"
    );
    assert!(
        named("retention.batch_size: 20000 is over 10000"),
        "{issues:?}"
    );
    assert!(
        named("spaces[0].retention.messages_days: 10 is under message_content_days (20)"),
        "{issues:?}"
    );
    assert!(named("spaces[0].retention.batch_size"), "{issues:?}");
    assert_eq!(issues.len(), 4, "{issues:?}");
}
