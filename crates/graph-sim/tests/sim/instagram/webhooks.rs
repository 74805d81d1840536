//! Instagram's webhooks: `object: instagram`, signed with the app secret (Facebook Login) or the
//! account's Instagram app secret (Instagram Login), in `messaging[]` or `changes[]`; echoes with
//! the send's metadata; reads by `mid`, automatic (never a delivery) or on demand. Each body is
//! also read with the product's parser (`InstagramBody`).

use std::time::Duration;

use graph_sim::{AutoReceipts, InstagramShape};
use messenger_model::webhook::{InstagramBody, InstagramKind, InstagramList};
use serde_json::json;

use super::*;
use crate::common::post_json;

/// The body as the product's parser reads it: one event, nothing quarantined.
fn parsed(post: &Post) -> (InstagramList, InstagramKind, String) {
    let body = InstagramBody::parse(&post.body);
    assert!(body.quarantined.is_empty(), "{:?}", body.quarantined);
    assert_eq!(body.events.len(), 1);
    let e = &body.events[0];
    (e.list, e.kind.clone(), e.account_id.clone())
}

#[tokio::test]
async fn messages_are_signed_per_account_in_either_shape() {
    let (url, received) = receiver().await;
    let sim = builder()
        .app_secret(APP_SECRET)
        .webhook_url(url)
        .start()
        .await
        .unwrap();
    let fb_user = sim.new_instagram_user(FB_ACCOUNT).unwrap();
    let ig_user = sim.new_instagram_user(IG_ACCOUNT).unwrap();

    let a = sim
        .post_instagram_message(FB_ACCOUNT, &fb_user, "from fb")
        .await
        .unwrap();
    let b = sim
        .post_instagram_message(IG_ACCOUNT, &ig_user, "from ig")
        .await
        .unwrap();
    let c = sim
        .post_instagram_message_in(IG_ACCOUNT, &ig_user, "as a change", InstagramShape::Changes)
        .await
        .unwrap();
    assert_eq!((a.status, b.status, c.status), (200, 200, 200));
    let mids = [&a.id, &b.id, &c.id];
    assert!(mids[0] != mids[1] && mids[1] != mids[2]);

    let posts = received.all();
    assert_eq!(posts.len(), 3);
    assert!(posts[0].signed_with(APP_SECRET) && !posts[0].signed_with(IG_SECRET));
    assert!(posts[1].signed_with(IG_SECRET) && !posts[1].signed_with(APP_SECRET));
    assert!(posts[2].signed_with(IG_SECRET));

    let first = posts[0].json();
    assert_eq!(first["object"], "instagram");
    assert_eq!(first["entry"][0]["id"], FB_ACCOUNT);
    let event = &first["entry"][0]["messaging"][0];
    assert_eq!(event["sender"]["id"], fb_user.as_str());
    assert_eq!(event["recipient"]["id"], FB_ACCOUNT);
    assert_eq!(event["message"], json!({"mid": a.id, "text": "from fb"}));
    assert!(event["timestamp"].as_i64().unwrap() > 0);
    let change = &posts[2].json()["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    assert_eq!(change["value"]["message"]["text"], "as a change");

    let kinds: Vec<_> = posts.iter().map(parsed).collect();
    assert_eq!(
        kinds[0],
        (
            InstagramList::Messaging,
            InstagramKind::Message,
            FB_ACCOUNT.into()
        )
    );
    assert_eq!(
        kinds[2],
        (
            InstagramList::Changes,
            InstagramKind::Message,
            IG_ACCOUNT.into()
        )
    );

    // The shape switch applies to later posts.
    sim.set_instagram_shape(InstagramShape::Changes);
    sim.post_instagram_read(IG_ACCOUNT, &ig_user, "aWdfZA_x")
        .await
        .unwrap();
    let read = received.all().pop().unwrap();
    let seen = InstagramKind::Seen {
        mid: Some("aWdfZA_x".into()),
    };
    assert_eq!(
        parsed(&read),
        (InstagramList::Changes, seen, IG_ACCOUNT.into())
    );
    assert_eq!(
        read.json()["entry"][0]["changes"][0]["field"],
        "messaging_seen"
    );

    let unknown = sim.post_instagram_message(IG_ACCOUNT, &fb_user, "x").await;
    assert!(unknown.is_err(), "not a user of that account");
    sim.shutdown().await;
}

#[tokio::test]
async fn sends_are_echoed_with_their_metadata_and_read_by_mid() {
    let (url, received) = receiver().await;
    let sim = builder()
        .app_secret(APP_SECRET)
        .webhook_url(url)
        .echoes(true)
        .auto_receipts(AutoReceipts {
            delivery: Some(Duration::ZERO),
            read: Some(Duration::from_millis(20)),
        })
        .start()
        .await
        .unwrap();
    let igsid = user_who_wrote(&sim, IG_ACCOUNT);
    let body = json!({
        "recipient": {"id": igsid},
        "message": {"text": "your order", "metadata": "msg-42:attempt-1"}
    });
    let ok = post_json(&ig_send_url(&sim, IG_TOKEN), &body).await;
    assert_eq!(ok.status, 200);
    let mid = ok.json["message_id"].as_str().unwrap().to_owned();

    let echo = received
        .wait_for(|b| first_event(b)["message"]["is_echo"] == true)
        .await;
    assert!(echo.signed_with(IG_SECRET));
    let e = first_event(&echo.json()).clone();
    assert_eq!(e["sender"]["id"], IG_ACCOUNT);
    assert_eq!(e["recipient"]["id"], igsid.as_str());
    assert_eq!(e["message"]["mid"], mid.as_str());
    assert_eq!(e["message"]["metadata"], "msg-42:attempt-1");
    assert_eq!(e["message"]["text"], "your order");
    assert_eq!(parsed(&echo).1, InstagramKind::Echo);

    let read = received
        .wait_for(|b| first_event(b)["read"].is_object())
        .await;
    assert!(read.signed_with(IG_SECRET));
    let r = first_event(&read.json()).clone();
    assert_eq!(r["read"], json!({"mid": mid}));
    assert_eq!(r["sender"]["id"], igsid.as_str());
    assert_eq!(
        parsed(&read).1,
        InstagramKind::Seen {
            mid: Some(mid.clone())
        }
    );

    // Both came; no delivery ever does for Instagram.
    let posts = received.all();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts
        .iter()
        .all(|p| first_event(&p.json())["delivery"].is_null()));

    // A user who never opens Instagram reads nothing; the echo still comes.
    let quiet = user_who_wrote(&sim, FB_ACCOUNT);
    sim.never_deliver_to(quiet.clone());
    let url = format!(
        "{}&appsecret_proof={}",
        fb_send_url(&sim),
        graph_sim::appsecret_proof(APP_SECRET, crate::common::TOKEN)
    );
    let body = json!({"recipient": {"id": quiet}, "message": {"text": "hi", "metadata": "m2"}});
    assert_eq!(post_json(&url, &body).await.status, 200);
    let echo = received
        .wait_for(|b| first_event(b)["message"]["metadata"] == "m2")
        .await;
    assert!(
        echo.signed_with(APP_SECRET),
        "the linked account's are the app's"
    );
    sim.post_instagram_read(FB_ACCOUNT, &quiet, "on-demand")
        .await
        .unwrap();
    let last = received.all().pop().unwrap();
    assert_eq!(first_event(&last.json())["read"]["mid"], "on-demand");
    assert_eq!(
        received.all().len(),
        4,
        "no automatic read for the quiet user"
    );
    sim.shutdown().await;
}
