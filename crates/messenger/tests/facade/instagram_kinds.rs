//! Every kind of Instagram direct-message event, as its event to the business: story replies,
//! story mentions, shares, unsupported and deleted messages, reactions, postbacks (ice
//! breakers), referrals (`ig.me` links), in `messaging[]` and in `changes[]`, through the
//! gateway's queue and directly; unknown kinds are quarantined, accounts no space has ignored.

use messenger_model::{EventName, Timestamp};
use messenger_store::{ProfileStore, Quarantine, WebhookQueue};
use serde_json::{json, Value};

use crate::common::{body, SPACE};
use crate::instagram::{
    changes, from_user, harness, messaging, now, post, post_ig, profile_of, wait_events, IG_ACCOUNT,
};

const STORY_URL: &str = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000008";
const REEL_URL: &str = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17900000000000010";

#[tokio::test]
async fn every_kind_becomes_its_event_with_the_instagram_channel() {
    let h = harness(false, None).await;
    let igsid = h.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    h.sim
        .post_instagram_message(IG_ACCOUNT, &igsid, "hello")
        .await
        .unwrap();
    wait_events(&h, 1).await;
    // One message of ours, for the reaction to name.
    let to = json!({"profileId": profile_of(IG_ACCOUNT, &igsid)});
    let ours = h
        .messenger
        .accept(SPACE, &body(to, &["instagram"]), None)
        .await
        .unwrap()
        .id;
    h.dispatch_all().await;
    let our_mid = h.sim.instagram_sent(IG_ACCOUNT)[0].mid.clone();
    h.events().await;

    let t = now();
    let u = |i: i64, kind: &str, value: Value| from_user(IG_ACCOUNT, &igsid, t + i, kind, value);
    let events = vec![
        u(
            1,
            "message",
            json!({"mid": "m-sr", "text": "Love it",
            "reply_to": {"story": {"url": STORY_URL, "id": "17900000000000008"}}}),
        ),
        u(
            2,
            "message",
            json!({"mid": "m-sm",
            "attachments": [{"type": "story_mention", "payload": {"url": STORY_URL}}]}),
        ),
        u(
            3,
            "message",
            json!({"mid": "m-sh",
            "attachments": [{"type": "ig_reel", "payload": {"url": REEL_URL, "title": "Spring"}}]}),
        ),
        u(4, "message", json!({"mid": "m-un", "is_unsupported": true})),
        u(5, "message", json!({"mid": "m-sr", "is_deleted": true})),
        u(
            6,
            "reaction",
            json!({"mid": our_mid, "action": "react", "reaction": "love", "emoji": "\u{2764}\u{fe0f}"}),
        ),
        u(
            7,
            "postback",
            json!({"mid": "m-pb", "title": "Opening hours", "payload": "HOURS"}),
        ),
        u(
            8,
            "referral",
            json!({"ref": "spring", "source": "IGME", "type": "OPEN_THREAD"}),
        ),
        u(9, "something_new", json!({"x": 1})),
    ];
    // Through the queue, as the gateway applies the bodies it stored.
    h.store
        .enqueue_webhooks(vec![messaging(IG_ACCOUNT, events)], Timestamp::now())
        .await
        .unwrap();
    let report = h.messenger.apply_queued_webhooks("w1", 8).await.unwrap();
    assert_eq!((report.applied, report.quarantined), (8, 1), "{report:?}");
    let quarantined = h.store.list_quarantined(10).await.unwrap();
    assert!(
        quarantined[0].reason.contains("something_new"),
        "{quarantined:?}"
    );
    assert_eq!(quarantined[0].page_id.as_deref(), Some(IG_ACCOUNT));

    let got = h.events().await;
    let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message.inbound",
            "message.inbound",
            "message.inbound",
            "message.inbound",
            "message.deleted",
            "message.reaction",
            "message.inbound",
            "facebook.referral",
        ]
    );
    for e in &got {
        assert_eq!(e.payload["channel"], "instagram", "{e:?}");
        assert_eq!(e.payload["instagramAccountId"], IG_ACCOUNT);
        assert_eq!(e.payload["instagramId"], igsid.as_str());
        assert_eq!(e.payload["profileId"], profile_of(IG_ACCOUNT, &igsid));
        assert_eq!(e.payload["linkedBy"], "existing-profile");
    }
    let p: Vec<&Value> = got.iter().map(|e| &e.payload).collect();
    assert_eq!(p[0]["kind"], "story_reply");
    assert_eq!(p[0]["text"], "Love it");
    assert_eq!(
        p[0]["story"],
        json!({"url": STORY_URL, "id": "17900000000000008"})
    );
    assert_eq!(p[1]["kind"], "story_mention");
    assert_eq!(p[1]["story"], json!({"url": STORY_URL}));
    assert_eq!(p[2]["kind"], "share");
    assert_eq!(p[2]["share"], json!({"type": "ig_reel", "url": REEL_URL}));
    assert_eq!(p[2]["attachments"][0]["payload"]["title"], "Spring");
    assert_eq!(p[3]["kind"], "unsupported");
    assert_eq!(p[3]["unsupported"], true);
    assert_eq!(p[4]["mid"], "m-sr");
    assert_eq!(p[4]["messageId"], Value::Null);
    assert_eq!(p[5]["mid"], our_mid.as_str());
    assert_eq!(p[5]["messageId"], ours.as_str());
    assert_eq!(p[5]["action"], "react");
    assert_eq!(p[6]["kind"], "postback");
    assert_eq!(p[6]["postback"]["payload"], "HOURS");
    assert_eq!(p[7]["ref"], "spring");
    assert_eq!(p[7]["source"], "IGME");
    // The last event that opens the window is the referral's.
    let last = h
        .store
        .last_inbound(SPACE, IG_ACCOUNT, &igsid)
        .await
        .unwrap();
    assert_eq!(last, Some(Timestamp::from_millis(t + 8)));

    // The same kinds in `changes[]`, posted directly (later than the window's last event).
    let t = t + 1000;
    let body = changes(
        IG_ACCOUNT,
        vec![
            (
                "messaging_postbacks",
                from_user(
                    IG_ACCOUNT,
                    &igsid,
                    t,
                    "postback",
                    json!({"mid": "m-pb2", "title": "Get started", "payload": "START"}),
                ),
            ),
            (
                "message_reactions",
                from_user(
                    IG_ACCOUNT,
                    &igsid,
                    t + 1,
                    "reaction",
                    json!({"mid": our_mid, "action": "unreact"}),
                ),
            ),
            ("story_insights", json!({"media_id": "1"})),
        ],
    );
    let report = post_ig(&h, &body).await;
    assert_eq!((report.applied, report.quarantined), (2, 1), "{report:?}");
    let got = h.events().await;
    let names: Vec<EventName> = got.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [EventName::MessageInbound, EventName::MessageReaction]
    );
    assert_eq!(got[0].payload["postback"]["title"], "Get started");
    assert_eq!(got[1].payload["action"], "unreact");
    // A reaction taken back does not open the window.
    let after = h
        .store
        .last_inbound(SPACE, IG_ACCOUNT, &igsid)
        .await
        .unwrap();
    assert_eq!(after, Some(Timestamp::from_millis(t)));
    let profile = h
        .store
        .get_profile(SPACE, &profile_of(IG_ACCOUNT, &igsid))
        .await
        .unwrap();
    assert_eq!(
        profile.unwrap().instagram_id_for(IG_ACCOUNT),
        Some(igsid.as_str())
    );
}

#[tokio::test]
async fn accounts_no_space_has_are_ignored_and_unreadable_bodies_quarantined() {
    let h = harness(false, None).await;
    let stranger = "17841499999999999";
    let body = messaging(
        stranger,
        vec![from_user(
            stranger,
            "1",
            now(),
            "message",
            json!({"mid": "m-x", "text": "hi"}),
        )],
    );
    // Signed by the Facebook app (the stranger has no secret here).
    let report = post(&h, crate::instagram::FB_ACCOUNT, &body).await;
    assert_eq!((report.applied, report.ignored), (0, 1));
    // A signed Instagram body with nothing readable: quarantined, never refused.
    let empty = br#"{"object":"instagram","entry":[{"id":"17841400000000002","changes":"nope"}]}"#;
    let report = post_ig(&h, empty).await;
    assert_eq!(report.quarantined, 1);
    assert!(h.events().await.is_empty());
}
