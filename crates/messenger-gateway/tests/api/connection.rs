//! The page's connection over HTTP against graph-sim: the console's connection report (token,
//! subscription, webhook deliveries seen), a page whose token stopped working and a new token
//! put in place (what a configuration reload does), and the Graph versions the configuration
//! accepts.

use std::time::Duration;

use messenger_gateway::config::{Config, Secret};
use messenger_test_support::wait;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn report(env: &Env, space: &str, key: &str) -> Value {
    let a = env
        .call(
            Method::GET,
            &format!("/console/api/spaces/{space}/connection"),
            Some(key),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

#[tokio::test]
async fn the_console_reports_the_subscription_the_token_and_the_webhook_seen() {
    let env = Env::start().await;
    env.sim.set_subscribed_fields(
        PAGE_A,
        [
            "messages",
            "messaging_postbacks",
            "messaging_optins",
            "message_deliveries",
            "message_reads",
        ],
    );
    env.inbound("24000000000990").await;
    let r = report(&env, SPACE_A, KEY_A).await;
    let page = &r["report"]["pages"][0];
    assert_eq!(page["pageId"], PAGE_A);
    assert_eq!(page["token"]["state"], "valid", "{r}");
    assert_eq!(r["needsReauth"], Value::Null);
    let problem = page["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "subscription")
        .unwrap();
    assert_eq!(problem["severity"], "problem", "{r}");
    assert!(problem["message"]
        .as_str()
        .unwrap()
        .contains("message_echoes"));
    assert!(problem["action"].as_str().unwrap().contains("subscribe"));
    let seen = page["webhookLastSeen"].as_array().unwrap();
    let messages = seen.iter().find(|s| s[0] == "messages").unwrap();
    assert!(
        messages[1].is_string(),
        "the inbound message was seen: {seen:?}"
    );
    let reads = seen.iter().find(|s| s[0] == "message_reads").unwrap();
    assert!(reads[1].is_null());
    assert!(!r.to_string().contains(PAGE_TOKEN_A));
    // Another space's key does not see this page.
    let other = env
        .call(
            Method::GET,
            &format!("/console/api/spaces/{SPACE_A}/connection"),
            Some(KEY_B),
            &[],
            None,
        )
        .await;
    assert_eq!(other.status, 403, "{}", other.text);
}

#[tokio::test]
async fn a_dead_token_holds_the_page_until_a_new_token_is_put_in_place() {
    let env = Env::start().await;
    let psid = "24000000000991";
    env.inbound(psid).await;
    assert!(env.sim.revoke_token(PAGE_TOKEN_A, Some(467)));
    let body = json!({"to": {"fbMessengerId": psid}, "body": "held", "rules": ["fbMessenger"]});
    let a = env.send(SPACE_A, KEY_A, &body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let named = wait::until(
        "/readyz names the page",
        Duration::from_millis(20),
        || async {
            let r = env.get("/readyz", KEY_A).await.json();
            match r["pagesNeedingReauth"].as_array() {
                Some(p) if !p.is_empty() => Ok(p[0].clone()),
                _ => Err(r.to_string()),
            }
        },
    )
    .await;
    assert_eq!(named["problem"], "invalid", "{named}");
    assert_eq!(named["space"], SPACE_A);
    let r = report(&env, SPACE_A, KEY_A).await;
    assert_eq!(r["needsReauth"]["problem"], "invalid", "{r}");
    assert_eq!(r["report"]["pages"][0]["token"]["state"], "invalid", "{r}");
    assert!(env.sim.sent_messages().is_empty());
    let m = env.message(&id).await;
    assert!(
        matches!(m["status"].as_str(), Some("processing" | "retrying")),
        "{m}"
    );

    // A new token for the page (here: the same one, working again), as a reload would do.
    assert!(env.sim.restore_token(PAGE_TOKEN_A));
    let gateway = env.gateway.as_ref().unwrap();
    let spaces = gateway
        .connections()
        .token_replaced(gateway.messenger(), PAGE_A, &Secret::new(PAGE_TOKEN_A))
        .unwrap();
    assert_eq!(spaces, 1);
    let m = env.settled(&id).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(
        env.get("/readyz", KEY_A).await.json()["pagesNeedingReauth"],
        json!([])
    );
}

#[test]
fn graph_versions_and_the_app_id_are_checked() {
    let base = |facebook_extra: &str| {
        format!(
            r#"
[facebook]
app_secret = "0123456789abcdef0123456789abcdef"
verify_token = "a verify token of 16 or more"
token_key = "a key of at least thirty-two bytes, shared"
{facebook_extra}
[[spaces]]
id = "a"
page_id = "1"
page_token = "page-token-a"
keys = ["key-a-0123456789abcdef"]
"#
        )
    };
    let ok = Config::from_toml_str(&base("graph_version = \"v27.0\""), std::iter::empty()).unwrap();
    assert_eq!(ok.facebook.graph_version, "v27.0");
    let default = Config::from_toml_str(&base(""), std::iter::empty()).unwrap();
    assert_eq!(default.facebook.graph_version, "v26.0");
    assert_eq!(default.facebook.token_check, Duration::from_secs(3600));
    for bad in ["v28.0", "v20.0", "26.0"] {
        let e = Config::from_toml_str(
            &base(&format!("graph_version = \"{bad}\"")),
            std::iter::empty(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("facebook.graph_version") && e.contains("v27.0"),
            "{e}"
        );
    }
    let e = Config::from_toml_str(
        &base("app_id = \"12ab\"\ntoken_check_secs = 0"),
        std::iter::empty(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("facebook.app_id") && e.contains("facebook.token_check_secs"),
        "{e}"
    );
}
