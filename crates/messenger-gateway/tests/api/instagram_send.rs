//! Instagram Direct end to end over HTTP: space A connects two Instagram accounts, one through
//! its page (Facebook Login) and one with Instagram Login (its own token, host and app secret);
//! `rules: ["instagram", "sms"]` sends on Instagram inside the window, falls back to SMS outside
//! it and when the message is not read in time, and private replies answer comments once.

use std::time::Duration;

use graph_sim::InstagramHost;
use serde_json::{json, Value};

use crate::harness::*;
use crate::instagram_env::*;

/// A gateway whose space A has both accounts.
async fn start() -> Env {
    start_with("", ACCOUNTS).await
}

/// Like [`start`], with `server_extra` in `[server]` and `accounts` as space A's.
async fn start_with(server_extra: &str, accounts: &str) -> Env {
    start_instagram(server_extra, accounts, |toml| toml).await
}

/// A new Instagram user of `account` who wrote to it (the window is open), as the gateway
/// has applied it.
async fn writes(env: &Env, account: &str) -> String {
    let igsid = env.sim.new_instagram_user(account).unwrap();
    let post = env
        .sim
        .post_instagram_message(account, &igsid, "hello from Instagram")
        .await
        .unwrap();
    assert_eq!(post.status, 200);
    env.webhooks_applied().await;
    igsid
}

fn trace(m: &Value) -> Vec<String> {
    m["ruleTrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["channel"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn instagram_then_sms_goes_out_on_instagram_from_either_kind_of_account() {
    let env = start().await;
    let by_page = writes(&env, IG_PAGE).await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"instagramId": by_page, "mobileNumber": "+15005550009"},
                    "body": "Your order shipped", "rules": ["instagram", "sms"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(m["channel"], "instagram", "{m}");
    assert_eq!(m["sentTo"]["accountId"], IG_PAGE, "{m}");
    assert_eq!(m["sentTo"]["instagramId"], by_page.as_str(), "{m}");
    let sent = env.sim.instagram_sent(IG_PAGE);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].host, InstagramHost::Facebook);
    assert_eq!(sent[0].recipient_id, by_page);
    let text = sent[0].request.message.as_ref().unwrap().text.as_deref();
    assert_eq!(text, Some("Your order shipped"));
    assert!(env.sim.sms_messages().is_empty());

    // A profile that holds an IGSID for the Instagram Login account is sent from it, on
    // graph.instagram.com.
    let by_login = writes(&env, IG_LOGIN).await;
    let profile = json!({"instagramIds": {IG_LOGIN: by_login}}).to_string();
    let put = env
        .json(
            reqwest::Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/ana"),
            KEY_A,
            &profile,
        )
        .await;
    assert!(put.status == 200 || put.status == 201, "{}", put.text);
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "ana"}, "body": "Hi Ana", "rules": ["instagram", "sms"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(
        (m["status"].as_str(), m["channel"].as_str()),
        (Some("sent"), Some("instagram")),
        "{m}"
    );
    let sent = env.sim.instagram_sent(IG_LOGIN);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].host, InstagramHost::Instagram);
    assert_eq!(sent[0].recipient_id, by_login);
}

#[tokio::test]
async fn outside_the_window_instagram_is_skipped_for_sms_and_human_agent_goes_through() {
    let env = start().await;
    let igsid = env.sim.new_instagram_user(IG_PAGE).unwrap();
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"instagramId": igsid, "mobileNumber": "+15005550009"},
                    "body": "We miss you", "rules": ["instagram", "sms"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(
        (m["status"].as_str(), m["channel"].as_str()),
        (Some("sent"), Some("sms")),
        "{m}"
    );
    assert_eq!(trace(&m), ["instagram:skipped", "sms:used"], "{m}");
    assert!(env.sim.instagram_sent(IG_PAGE).is_empty());

    // Two days after the user wrote, a person's reply with HUMAN_AGENT still goes on Instagram.
    let igsid = writes(&env, IG_PAGE).await;
    env.advance(Duration::from_secs(2 * 86_400));
    env.sim
        .set_last_inbound(IG_PAGE, &igsid, env.now().millis() - 2 * 86_400_000);
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"instagramId": igsid}, "body": "An agent here",
                    "channelOptions": {"instagram": {"messageTag": "HUMAN_AGENT"}},
                    "rules": ["instagram", "sms"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["channel"], "instagram", "{m}");
    let sent = env.sim.instagram_sent(IG_PAGE);
    assert_eq!(sent[0].request.tag.as_deref(), Some("HUMAN_AGENT"));
}

#[tokio::test]
async fn a_message_not_read_within_its_delivery_timeout_goes_by_sms_and_a_read_one_stays() {
    let env = start().await;
    let igsid = writes(&env, IG_PAGE).await;
    let send = |text: &str| {
        json!({"to": {"instagramId": igsid, "mobileNumber": "+15005550009"}, "body": text,
               "channelOptions": {"instagram": {"deliveryTimeout": 60}},
               "rules": ["instagram", "sms"]})
    };
    let a = env.send(SPACE_A, KEY_A, &send("first")).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let read = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&read).await["channel"], "instagram");
    let mid = env.sim.instagram_sent(IG_PAGE)[0].mid.clone();
    let status = env
        .sim
        .post_instagram_read(IG_PAGE, &igsid, &mid)
        .await
        .unwrap();
    assert_eq!(status, 200);
    env.webhooks_applied().await;
    assert_eq!(env.message(&read).await["status"], "read");

    let unread = env.send(SPACE_A, KEY_A, &send("second")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(env.settled(&unread).await["channel"], "instagram");
    env.advance(Duration::from_secs(61));
    messenger_test_support::wait::until(
        "the unread message went by SMS",
        Duration::from_millis(20),
        || async {
            let m = env.message(&unread).await;
            match m["channel"].as_str() {
                Some("sms") => Ok(()),
                _ => Err(m.to_string()),
            }
        },
    )
    .await;
    let m = env.message(&unread).await;
    let reasons: Vec<&str> = m["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not read on Instagram within 60 s")),
        "{m}"
    );
    assert_eq!(env.sim.sms_messages().len(), 1);
    assert_eq!(
        env.message(&read).await["status"],
        "read",
        "the read one stayed"
    );
}

#[tokio::test]
async fn a_comment_gets_one_private_reply() {
    let env = start().await;
    let igsid = env.sim.new_instagram_user(IG_PAGE).unwrap();
    let comment = env
        .sim
        .post_instagram_comment(IG_PAGE, &igsid, "Price?")
        .await
        .unwrap();
    let reply =
        json!({"to": {"commentId": comment.id}, "body": "DM sent!", "rules": ["instagram"]});
    let a = env.send(SPACE_A, KEY_A, &reply).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(
        (m["status"].as_str(), m["channel"].as_str()),
        (Some("sent"), Some("instagram")),
        "{m}"
    );
    let sent = env.sim.instagram_sent(IG_PAGE);
    assert_eq!(sent[0].comment_id.as_deref(), Some(comment.id.as_str()));
    assert_eq!(sent[0].recipient_id, igsid);

    // Meta takes one private reply per comment: a second is refused, and is the recipient's
    // trouble (not retried).
    let a = env.send(SPACE_A, KEY_A, &reply).await;
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert!(
        m["error"]["message"].as_str().unwrap().contains("2534025"),
        "{m}"
    );
    assert_eq!(env.sim.instagram_sent(IG_PAGE).len(), 1);
}

#[tokio::test]
async fn a_space_without_instagram_accounts_still_refuses_instagram() {
    let env = start().await;
    let p = env
        .send(
            SPACE_B,
            KEY_B,
            &json!({"to": {"instagramId": "1"}, "body": "hi", "rules": ["instagram"]}),
        )
        .await
        .problem(422);
    assert_eq!(p["type"], "/problems/channel-not-connected");
}

#[tokio::test]
async fn an_instagram_login_token_graph_refuses_is_reported_by_readyz() {
    let env = start_with(
        "",
        &ACCOUNTS.replace(IG_TOKEN, "a-token-graph-never-issued"),
    )
    .await;
    let ready = messenger_test_support::wait::until(
        "/readyz names the account",
        Duration::from_millis(20),
        || async {
            let r = env
                .call(reqwest::Method::GET, "/readyz", None, &[], None)
                .await
                .json();
            match r["instagramAccountsNeedingReauth"].as_array() {
                Some(a) if !a.is_empty() => Ok(r),
                _ => Err(r.to_string()),
            }
        },
    )
    .await;
    let account = &ready["instagramAccountsNeedingReauth"][0];
    assert_eq!(account["instagramAccountId"], IG_LOGIN, "{ready}");
    assert_eq!(account["login"], "instagram", "{ready}");
    assert!(!ready.to_string().contains("a-token-graph-never-issued"));
}

#[tokio::test]
async fn an_account_added_by_a_reload_sends_at_once() {
    let env = start_with(&crate::reload::admin(), "").await;
    let igsid = env.sim.new_instagram_user(IG_PAGE).unwrap();
    let comment = env
        .sim
        .post_instagram_comment(IG_PAGE, &igsid, "Hi?")
        .await
        .unwrap();
    let reply = json!({"to": {"commentId": comment.id}, "body": "Hello!", "rules": ["instagram"]});
    let p = env.send(SPACE_A, KEY_A, &reply).await.problem(422);
    assert_eq!(p["type"], "/problems/channel-not-connected");

    let reloaded = env
        .reload_with(|toml| {
            toml.replacen(
                "from = \"+15005550006\"\n",
                &format!("from = \"+15005550006\"\n{ACCOUNTS}"),
                1,
            )
        })
        .await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text);
    assert!(
        reloaded.text.contains("spaces[0].instagram"),
        "{}",
        reloaded.text
    );
    let a = env.send(SPACE_A, KEY_A, &reply).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(
        (m["status"].as_str(), m["channel"].as_str()),
        (Some("sent"), Some("instagram")),
        "{m}"
    );
}

#[tokio::test]
async fn instagram_account_id_picks_the_account_and_files_the_igsid_in_the_profile() {
    let env = start().await;
    // A comment on the second account's post is answered from that account.
    let igsid = env.sim.new_instagram_user(IG_LOGIN).unwrap();
    let comment = env
        .sim
        .post_instagram_comment(IG_LOGIN, &igsid, "Sizes?")
        .await
        .unwrap();
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"commentId": comment.id, "instagramAccountId": IG_LOGIN},
                    "body": "S to XL", "rules": ["instagram"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "sent", "{m}");
    let sent = env.sim.instagram_sent(IG_LOGIN);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].host, InstagramHost::Instagram);
    assert!(env.sim.instagram_sent(IG_PAGE).is_empty());

    // With a profile, the IGSID is filed under the account named, and a later send by profile
    // finds it.
    let writer = writes(&env, IG_LOGIN).await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "zoe", "instagramId": writer, "instagramAccountId": IG_LOGIN},
                    "body": "Welcome", "rules": ["instagram"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    env.settled(a.json()["id"].as_str().unwrap()).await;
    let profile = env
        .get(&format!("/apispaces/{SPACE_A}/profiles/zoe"), KEY_A)
        .await
        .json();
    assert_eq!(
        profile["instagramIds"][IG_LOGIN],
        writer.as_str(),
        "{profile}"
    );

    // An account the space does not have skips the rule, naming the field.
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"instagramId": writer, "instagramAccountId": "17841400000000999",
                           "mobileNumber": "+15005550009"},
                    "body": "Hi", "rules": ["instagram", "sms"]}),
        )
        .await;
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["channel"], "sms", "{m}");
    let skipped = m["ruleTrace"][0]["reason"].as_str().unwrap();
    assert!(skipped.contains("17841400000000999"), "{m}");
}
