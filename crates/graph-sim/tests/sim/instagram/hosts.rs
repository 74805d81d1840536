//! The two ways in: the page's token on the Facebook host for an IGSID of the linked account,
//! the Instagram token on the Instagram host; each refused on the other host; `/me`; token
//! refresh and expiry.

use std::time::Duration;

use graph_sim::InstagramHost;
use serde_json::json;

use super::*;
use crate::common::{post_json, text_to};

#[tokio::test]
async fn the_page_token_sends_to_an_igsid_of_the_linked_account_under_instagram_rules() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, FB_ACCOUNT);

    let ok = post_json(&fb_send_url(&sim), &text_to(&igsid, "hi there")).await;
    assert_eq!(ok.status, 200, "{:?}", ok.json);
    assert_eq!(ok.json["recipient_id"], igsid.as_str());
    let mid = ok.json["message_id"].as_str().unwrap().to_owned();

    let sent = sim.instagram_sent(FB_ACCOUNT);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mid, mid);
    assert_eq!(sent[0].host, InstagramHost::Facebook);
    assert_eq!(sent[0].recipient_id, igsid);
    assert!(sim.instagram_sent(IG_ACCOUNT).is_empty());
    assert!(sim.sent_messages().is_empty(), "not a Messenger send");
    assert_eq!(sim.sent_count(), 1);

    // 1002 bytes in 334 characters: fine for Messenger, too long for Instagram.
    let long = "€".repeat(334);
    let refused = post_json(&fb_send_url(&sim), &text_to(&igsid, &long)).await;
    assert_eq!((refused.status, refused.code()), (400, 100));
    assert_eq!(error_type(&refused), "IGApiException");
    assert!(refused.message().contains("1000"), "{}", refused.message());
    let psid = post_json(&fb_send_url(&sim), &text_to("555", &long)).await;
    assert_eq!(psid.status, 200, "a PSID gets Messenger's rules");
    assert_eq!(sim.sent_messages().len(), 1);
    assert_eq!(sim.instagram_sent(FB_ACCOUNT).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_instagram_token_sends_on_the_instagram_host_only() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, IG_ACCOUNT);
    assert_ne!(sim.instagram_url(), Some(sim.base_url()));

    let ok = post_json(&ig_send_url(&sim, IG_TOKEN), &text_to(&igsid, "hello")).await;
    assert_eq!(ok.status, 200, "{:?}", ok.json);
    assert_eq!(ok.json["recipient_id"], igsid.as_str());
    let by_node = format!(
        "{}/v21.0/{IG_ACCOUNT}/messages?access_token={IG_TOKEN}",
        sim.instagram_url().unwrap()
    );
    assert_eq!(
        post_json(&by_node, &text_to(&igsid, "again")).await.status,
        200
    );
    // appsecret_proof is optional there; when given it is the Instagram app secret's.
    let proof = graph_sim::appsecret_proof(IG_SECRET, IG_TOKEN);
    let with_proof = format!("{}&appsecret_proof={proof}", ig_send_url(&sim, IG_TOKEN));
    assert_eq!(
        post_json(&with_proof, &text_to(&igsid, "proven"))
            .await
            .status,
        200
    );
    let wrong = graph_sim::appsecret_proof(APP_SECRET, IG_TOKEN);
    let with_wrong = format!("{}&appsecret_proof={wrong}", ig_send_url(&sim, IG_TOKEN));
    assert_eq!(
        post_json(&with_wrong, &text_to(&igsid, "x")).await.code(),
        100
    );
    let sent = sim.instagram_sent(IG_ACCOUNT);
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|s| s.host == InstagramHost::Instagram));

    // The Instagram token on the Facebook host, the page token on the Instagram host.
    let fb_with_ig = format!(
        "{}/v21.0/me/messages?access_token={IG_TOKEN}",
        sim.base_url()
    );
    for url in [fb_with_ig, ig_send_url(&sim, TOKEN)] {
        let refused = post_json(&url, &text_to(&igsid, "x")).await;
        assert_eq!((refused.status, refused.code()), (400, 100), "{url}");
        assert_eq!(error_type(&refused), "IGApiException");
        assert_eq!(refused.message(), "Unsupported request - method type: post");
    }
    // An IGSID of another account, and an unknown token.
    let stranger = user_who_wrote(&sim, FB_ACCOUNT);
    let other = post_json(&ig_send_url(&sim, IG_TOKEN), &text_to(&stranger, "x")).await;
    assert_eq!((other.code(), other.subcode()), (100, Some(2_018_001)));
    let unknown = post_json(&ig_send_url(&sim, "NOPE"), &text_to(&igsid, "x")).await;
    assert_eq!(unknown.code(), 190);
    assert_eq!(sim.instagram_sent(IG_ACCOUNT).len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn me_answers_the_app_scoped_id_and_the_account_id() {
    let sim = builder().start().await.unwrap();
    let base = sim.instagram_url().unwrap().to_owned();
    let me = get(&format!(
        "{base}/v21.0/me?fields=user_id,username&access_token={IG_TOKEN}"
    ))
    .await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.json,
        json!({"id": SCOPED_ID, "user_id": IG_ACCOUNT, "username": "shop"})
    );
    let bare = get(&format!("{base}/v21.0/me?access_token={IG_TOKEN}")).await;
    assert_eq!(bare.json, json!({"id": SCOPED_ID}));
    let bad = get(&format!(
        "{base}/v21.0/me?fields=email&access_token={IG_TOKEN}"
    ))
    .await;
    assert_eq!((bad.code(), error_type(&bad)), (100, "IGApiException"));
    let page = get(&format!("{base}/v21.0/me?access_token={TOKEN}")).await;
    assert_eq!(page.message(), "Unsupported request - method type: get");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_token_refreshes_after_a_day_and_expires_after_sixty() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, IG_ACCOUNT);
    let base = sim.instagram_url().unwrap().to_owned();
    let refresh = |t: &str| {
        format!("{base}/refresh_access_token?grant_type=ig_refresh_token&access_token={t}")
    };

    let young = get(&refresh(IG_TOKEN)).await;
    assert_eq!(young.status, 400);
    assert!(young.message().contains("24 hours"), "{}", young.message());

    let before = sim.instagram_token(IG_TOKEN).unwrap();
    let aged = sim
        .age_instagram_token(IG_TOKEN, Duration::from_secs(25 * 3600))
        .unwrap();
    assert_eq!(
        before.issued_at_millis - aged.issued_at_millis,
        25 * 3600 * 1000
    );
    let fresh = get(&refresh(IG_TOKEN)).await;
    assert_eq!(fresh.status, 200, "{:?}", fresh.json);
    assert_eq!(fresh.json["token_type"], "bearer");
    assert_eq!(fresh.json["expires_in"], 5_184_000);
    let new_token = fresh.json["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, IG_TOKEN);
    assert_eq!(
        sim.instagram_token(&new_token).unwrap().account_id,
        IG_ACCOUNT
    );

    // The new token works at once; the old one until its own expiry.
    for t in [new_token.as_str(), IG_TOKEN] {
        let ok = post_json(&ig_send_url(&sim, t), &text_to(&igsid, "hi")).await;
        assert_eq!(ok.status, 200, "{t}");
    }
    sim.age_instagram_token(IG_TOKEN, Duration::from_secs(60 * 24 * 3600));
    let expired = post_json(&ig_send_url(&sim, IG_TOKEN), &text_to(&igsid, "hi")).await;
    assert_eq!((expired.code(), expired.subcode()), (190, Some(463)));
    let again = get(&refresh(IG_TOKEN)).await;
    assert_eq!((again.code(), again.subcode()), (190, Some(463)));
    assert_eq!(get(&refresh("UNKNOWN")).await.code(), 190);
    let grant = format!("{base}/refresh_access_token?access_token={new_token}");
    assert_eq!(get(&grant).await.code(), 100);
    assert_eq!(sim.instagram_sent(IG_ACCOUNT).len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_user_profile_needs_their_consent_on_either_host() {
    let sim = builder().start().await.unwrap();
    let fb_user = sim.new_instagram_user(FB_ACCOUNT).unwrap();
    let ig_user = sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let fields = "fields=username,follower_count,is_verified_user";
    let on_fb = format!(
        "{}/v21.0/{fb_user}?{fields}&access_token={TOKEN}",
        sim.base_url()
    );
    let on_ig = format!(
        "{}/v21.0/{ig_user}?{fields}&access_token={IG_TOKEN}",
        sim.instagram_url().unwrap()
    );
    for url in [&on_fb, &on_ig] {
        let refused = get(url).await;
        assert_eq!(
            (refused.code(), error_type(&refused)),
            (230, "IGApiException"),
            "{url}"
        );
    }
    let now = messenger_model::Timestamp::now().millis();
    sim.set_last_inbound(FB_ACCOUNT, &fb_user, now);
    sim.set_last_inbound(IG_ACCOUNT, &ig_user, now);
    for (url, igsid) in [(&on_fb, &fb_user), (&on_ig, &ig_user)] {
        let p = get(url).await;
        assert_eq!(p.status, 200, "{:?}", p.json);
        assert_eq!(
            p.json,
            json!({"id": igsid, "username": format!("ig_user_{igsid}"),
                   "follower_count": 0, "is_verified_user": false})
        );
    }
    // Another account's user, and the Instagram token on the Facebook host.
    let theirs = format!(
        "{}/v21.0/{fb_user}?access_token={IG_TOKEN}",
        sim.instagram_url().unwrap()
    );
    assert_eq!(get(&theirs).await.code(), 100);
    let wrong = format!("{}/v21.0/me?access_token={IG_TOKEN}", sim.base_url());
    assert_eq!(
        get(&wrong).await.message(),
        "Unsupported request - method type: get"
    );
    sim.shutdown().await;
}
