//! Private replies to comments, sender actions (typing, mark seen, react) and faults on
//! Instagram sends.

use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule};
use serde_json::json;

use super::*;
use crate::common::{post_json, text_to};

fn reply_to(comment: &str, text: &str) -> Value {
    json!({"recipient": {"comment_id": comment}, "message": {"text": text}})
}

#[tokio::test]
async fn a_comment_gets_one_private_reply_within_seven_days() {
    let (url, received) = receiver().await;
    let sim = builder()
        .app_secret(APP_SECRET)
        .webhook_url(url)
        .start()
        .await
        .unwrap();
    let igsid = sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let posted = sim
        .post_instagram_comment(IG_ACCOUNT, &igsid, "How much is it?")
        .await
        .unwrap();
    assert_eq!(posted.status, 200);
    let hook = received
        .wait_for(|b| b["entry"][0]["changes"][0]["field"] == "comments")
        .await;
    assert!(hook.signed_with(IG_SECRET));
    let value = &hook.json()["entry"][0]["changes"][0]["value"];
    assert_eq!(value["id"], posted.id.as_str());
    assert_eq!(value["from"]["id"], igsid.as_str());
    assert_eq!(value["text"], "How much is it?");
    assert_eq!(value["media"]["media_product_type"], "FEED");
    assert_eq!(hook.json()["entry"][0]["id"], IG_ACCOUNT);

    // The user never wrote: a private reply needs no window.
    let send = ig_send_url(&sim, IG_TOKEN);
    let ok = post_json(&send, &reply_to(&posted.id, "It is 12 EUR")).await;
    assert_eq!(ok.status, 200, "{:?}", ok.json);
    assert_eq!(ok.json["recipient_id"], igsid.as_str());
    assert!(ok.json["message_id"].is_string());
    let twice = post_json(&send, &reply_to(&posted.id, "again")).await;
    assert_eq!((twice.code(), twice.subcode()), (10, Some(2_534_025)));
    assert_eq!(error_type(&twice), "IGApiException");
    // The reply opened the thread, not the window.
    assert_eq!(
        post_json(&send, &text_to(&igsid, "hi")).await.subcode(),
        Some(2_534_022)
    );

    let old = sim
        .post_instagram_comment(IG_ACCOUNT, &igsid, "old")
        .await
        .unwrap();
    let eight_days = 8 * 24 * 3600 * 1000;
    assert!(sim.set_instagram_comment_time(&old.id, Timestamp::now().millis() - eight_days));
    let late = post_json(&send, &reply_to(&old.id, "sorry")).await;
    assert_eq!(late.code(), 10);
    let unknown = post_json(&send, &reply_to("123", "?")).await;
    assert_eq!(unknown.code(), 100);

    let sent = sim.instagram_sent(IG_ACCOUNT);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].comment_id.as_deref(), Some(posted.id.as_str()));
    assert_eq!(sent[0].recipient_id, igsid);
    assert_eq!(sent[0].mid, ok.json["message_id"].as_str().unwrap());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_comment_on_the_linked_account_is_replied_to_with_the_page_token() {
    let (url, _received) = receiver().await;
    let sim = builder().webhook_url(url).start().await.unwrap();
    let igsid = sim.new_instagram_user(FB_ACCOUNT).unwrap();
    let comment = sim
        .post_instagram_comment(FB_ACCOUNT, &igsid, "nice")
        .await
        .unwrap();
    let ok = post_json(&fb_send_url(&sim), &reply_to(&comment.id, "thanks")).await;
    assert_eq!(ok.status, 200, "{:?}", ok.json);
    assert_eq!(ok.json["recipient_id"], igsid.as_str());
    assert_eq!(sim.instagram_sent(FB_ACCOUNT).len(), 1);
    // Another account's comment is not the page's to reply to.
    let theirs = sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let other = sim
        .post_instagram_comment(IG_ACCOUNT, &theirs, "hm")
        .await
        .unwrap();
    let refused = post_json(&fb_send_url(&sim), &reply_to(&other.id, "x")).await;
    assert_eq!(refused.code(), 100);
    sim.shutdown().await;
}

#[tokio::test]
async fn sender_actions_include_react_and_unreact() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, IG_ACCOUNT);
    let send = ig_send_url(&sim, IG_TOKEN);
    let bodies = [
        json!({"recipient": {"id": igsid}, "sender_action": "typing_on"}),
        json!({"recipient": {"id": igsid}, "sender_action": "mark_seen"}),
        json!({"recipient": {"id": igsid}, "sender_action": "react",
               "payload": {"message_id": "aWdfZA_1", "reaction": "love"}}),
        json!({"recipient": {"id": igsid}, "sender_action": "unreact",
               "payload": {"message_id": "aWdfZA_1"}}),
        json!({"recipient": {"id": igsid}, "sender_action": "typing_off"}),
    ];
    for body in &bodies {
        let ok = post_json(&send, body).await;
        assert_eq!(ok.status, 200, "{body} -> {:?}", ok.json);
        assert_eq!(ok.json, json!({"recipient_id": igsid}));
    }
    let actions = sim.instagram_actions(IG_ACCOUNT);
    let names: Vec<&str> = actions.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        names,
        ["typing_on", "mark_seen", "react", "unreact", "typing_off"]
    );
    assert_eq!(actions[2].message_id.as_deref(), Some("aWdfZA_1"));
    assert_eq!(actions[2].reaction.as_deref(), Some("love"));
    assert_eq!(actions[3].reaction, None);
    assert!(actions.iter().all(|a| a.recipient_id == igsid));
    assert!(sim.instagram_sent(IG_ACCOUNT).is_empty());

    let with_text = json!({"recipient": {"id": igsid}, "sender_action": "react",
        "payload": {"message_id": "m", "reaction": "love"}, "message": {"text": "x"}});
    assert_eq!(post_json(&send, &with_text).await.code(), 100);
    let unknown = json!({"recipient": {"id": igsid}, "sender_action": "wave"});
    assert_eq!(post_json(&send, &unknown).await.code(), 100);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_instagram_sends() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, IG_ACCOUNT);
    let send = ig_send_url(&sim, IG_TOKEN);

    // Meta's own speed: a slow answer still succeeds, after the delay.
    let delay = Duration::from_millis(150);
    sim.fault(FaultRule::global(Fault::Slow { delay }).times(1));
    let started = Instant::now();
    assert_eq!(post_json(&send, &text_to(&igsid, "slow")).await.status, 200);
    assert!(started.elapsed() >= delay);

    sim.fault(
        FaultRule::recipient(
            &igsid,
            Fault::RateLimit {
                code: 4,
                usage: None,
            },
        )
        .times(1),
    );
    let limited = post_json(&send, &text_to(&igsid, "x")).await;
    assert_eq!(
        (limited.code(), error_type(&limited)),
        (4, "IGApiException")
    );
    assert!(limited.header("x-app-usage").is_some());

    sim.fault(FaultRule::recipient(&igsid, Fault::OutsideWindow).times(1));
    let closed = post_json(&send, &text_to(&igsid, "x")).await;
    assert_eq!((closed.code(), closed.subcode()), (10, Some(2_534_022)));

    sim.fault(FaultRule::global(Fault::ServerError { status: 503 }).times(1));
    let down = post_json(
        &fb_send_url(&sim),
        &text_to(&user_who_wrote(&sim, FB_ACCOUNT), "x"),
    )
    .await;
    assert_eq!(down.status, 503);

    assert_eq!(post_json(&send, &text_to(&igsid, "fine")).await.status, 200);
    let texts: Vec<_> = sim
        .instagram_sent(IG_ACCOUNT)
        .into_iter()
        .filter_map(|s| s.request.message.and_then(|m| m.text))
        .collect();
    assert_eq!(texts, ["slow", "fine"]);
    sim.shutdown().await;
}
