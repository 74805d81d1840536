//! Every seed example request (fixtures/seed-examples), sent as-is over HTTP.
//!
//! Expectations, per seed, with the state each one is sent in:
//!
//! | seed | state | expected |
//! |---|---|---|
//! | 01 profile id, plain | profile `[email protected]` opted in (PSID), wrote just now | 201, then sent |
//! | 01 profile id, plain | no such profile | 400 refused: no Messenger ID |
//! | 02, 03, 04, 06 (`.malformed`) | any | 400 malformed JSON, line and column in `detail` and `errors[0]` |
//! | 05 message parts (text + image URL) | opted in, window open | 201, then sent as two Graph sends |
//! | 07 NON_PROMOTIONAL_SUBSCRIPTION, 08 SHIPPING_UPDATE | any | 400 `tag.retired` at the tag's pointer |
//! | 09 RESPONSE | window open | 201 |
//! | 10 UPDATE | window open | 201 |
//! | 10 UPDATE | window closed (the user never wrote) | 400 refused, `window.closed` |
//! | 11, 12, 13 customBody (profile `**YOUR USER PROFILE ID**`) | no such profile | 400 refused: no Messenger ID |
//! | 11, 12, 13 customBody | that profile created through the API, opted in | 201, then sent with the custom body |

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

/// The seeds' profile id: Cloudflare's e-mail obfuscation, with a no-break space.
const SEED_PROFILE: &str = "[email\u{a0}protected]";
const PLACEHOLDER_PROFILE: &str = "**YOUR USER PROFILE ID**";

async fn post_seed(env: &Env, name: &str) -> Answer {
    env.call(
        Method::POST,
        &format!("/apispaces/{SPACE_A}/messages"),
        Some(KEY_A),
        &[("content-type", "application/json")],
        Some(seed(name)),
    )
    .await
}

fn codes(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn malformed_seeds_get_line_and_column() {
    let env = Env::start().await;
    for name in [
        "02-profile-id-message-tag.malformed.json",
        "03-phone-matching.malformed.json",
        "04-fb-messenger-id.malformed.json",
        "06-fallback-sms.malformed.json",
    ] {
        let a = post_seed(&env, name).await;
        let p = a.problem(400);
        assert_eq!(p["type"], "/problems/malformed-json", "{name}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("line ") && detail.contains("column "),
            "{name}: {detail}"
        );
        let e = &p["errors"][0];
        assert!(e["line"].as_u64().unwrap() > 1, "{name}: {e}");
        assert!(e["column"].as_u64().unwrap() >= 1, "{name}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains("line"),
            "{name}: {e}"
        );
        assert!(
            e["code"].as_str().unwrap().starts_with("json."),
            "{name}: {e}"
        );
    }
}

#[tokio::test]
async fn retired_tags_are_refused_by_name() {
    let env = Env::start().await;
    env.opted_in_profile(SEED_PROFILE, "24000000000001").await;
    for (name, tag) in [
        (
            "07-tag-non-promotional.json",
            "NON_PROMOTIONAL_SUBSCRIPTION",
        ),
        ("08-tag-shipping-update.json", "SHIPPING_UPDATE"),
    ] {
        let p = post_seed(&env, name).await.problem(400);
        let retired = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == "tag.retired")
            .unwrap_or_else(|| panic!("{name}: {p}"));
        assert_eq!(retired["path"], "/channelOptions/fbMessenger/messageTag");
        assert!(
            retired["message"].as_str().unwrap().contains("2020"),
            "{retired}"
        );
        assert!(p["detail"].as_str().unwrap().contains(tag), "{p}");
    }
    assert!(env.sim.sent_messages().is_empty());
}

#[tokio::test]
async fn profile_seeds_send_once_the_profile_opted_in() {
    let env = Env::start().await;
    // No profile yet: nothing can address it.
    let p = post_seed(&env, "01-profile-id-plain.json")
        .await
        .problem(400);
    assert_eq!(p["type"], "/problems/refused");
    assert_eq!(codes(&p), ["to.unaddressable"]);
    assert!(
        p["detail"].as_str().unwrap().contains("no Messenger ID"),
        "{p}"
    );

    env.opted_in_profile(SEED_PROFILE, "24000000000002").await;
    let mut ids = Vec::new();
    for name in [
        "01-profile-id-plain.json",
        "05-message-parts-image.json",
        "09-type-response.json",
        "10-type-update.json",
    ] {
        let a = post_seed(&env, name).await;
        assert_eq!(a.status, 201, "{name}: {}", a.text);
        assert_eq!(a.json()["status"], "processing");
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let m = env.settled(id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(m["channel"], "fbMessenger");
    }
    // 01, 05 (two parts), 09, 10: five Graph sends, all to the profile's PSID, in order.
    let sent = env.sim.sent_messages();
    assert_eq!(sent.len(), 5);
    assert!(sent
        .iter()
        .all(|s| s.recipient.id.as_deref() == Some("24000000000002")));
    let parts = env.message(&ids[1]).await;
    assert_eq!(parts["graphMessageIds"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn update_is_refused_when_the_window_is_closed() {
    let env = Env::start().await;
    let body = serde_json::json!({"fbMessengerId": "24000000000003"}).to_string();
    let path = format!("/apispaces/{SPACE_A}/profiles/{}", encode(SEED_PROFILE));
    assert_eq!(env.json(Method::PUT, &path, KEY_A, &body).await.status, 201);
    let p = post_seed(&env, "10-type-update.json").await.problem(400);
    assert_eq!(p["type"], "/problems/refused");
    assert_eq!(codes(&p), ["window.closed"]);
    assert!(p["detail"].as_str().unwrap().contains("window"), "{p}");
}

#[tokio::test]
async fn custom_body_seeds_need_their_placeholder_profile() {
    let env = Env::start().await;
    let seeds = [
        "11-custom-body-image.json",
        "12-custom-body-quick-replies.json",
        "13-custom-body-receipt.json",
    ];
    for name in seeds {
        let p = post_seed(&env, name).await.problem(400);
        assert_eq!(codes(&p), ["to.unaddressable"], "{name}: {p}");
    }
    env.opted_in_profile(PLACEHOLDER_PROFILE, "24000000000004")
        .await;
    let mut ids = Vec::new();
    for name in seeds {
        let a = post_seed(&env, name).await;
        assert_eq!(a.status, 201, "{name}: {}", a.text);
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(env.settled(id).await["status"], "sent");
    }
    let sent = env.sim.sent_messages();
    assert_eq!(sent.len(), 3);
    let quick = serde_json::to_value(&sent[1].request.message).unwrap();
    assert_eq!(quick["quick_replies"][1]["title"], "Green");
    let receipt = serde_json::to_value(&sent[2].request.message).unwrap();
    assert_eq!(receipt["attachment"]["payload"]["template_type"], "receipt");
}
