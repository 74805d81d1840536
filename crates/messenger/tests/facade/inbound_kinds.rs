//! Every inbound kind of the 2026 platform reaches the business as an event of its own:
//! reactions, edits, response feedback, referrals, handovers, standby events, stickers. Posted by
//! graph-sim over loopback HTTP, signed as Meta signs; redeliveries queue nothing new.

use crate::common::{body, harness, PAGE, SPACE};
use messenger::Error;
use messenger_model::webhook::{
    Handover, HandoverKind, InboundAttachment, InboundMessage, Referral,
};
use messenger_model::{EventEnvelope, EventName, Profile, Timestamp};
use messenger_store::{ProfileStore, Quarantine};
use serde_json::json;

const DAY: i64 = 24 * 60 * 60 * 1000;

fn named(events: &[EventEnvelope], name: EventName) -> Vec<&EventEnvelope> {
    events.iter().filter(|e| e.name == name).collect()
}

/// Sends a text to `psid` (the window check off) and returns our message id and its Graph mid.
async fn sent_message(h: &crate::common::Harness, psid: &str) -> (String, String) {
    let accepted = h
        .messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": psid}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
    h.dispatch_all().await;
    let mid = h.message(&accepted.id).await.graph_message_ids[0].clone();
    (accepted.id, mid)
}

#[tokio::test]
async fn reactions_name_our_message_and_a_redelivery_queues_nothing() {
    let h = harness(|s| s.window_check(false)).await;
    let psid = "24000000002001";
    let (id, mid) = sent_message(&h, psid).await;
    h.events().await;

    let status = h
        .sim
        .post_reaction(PAGE, psid, &mid, "react", "love", Some("\u{2764}\u{fe0f}"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    h.sim
        .post_reaction(PAGE, psid, "m_not_ours", "unreact", "smile", None)
        .await
        .unwrap();
    let events = h.events().await;
    let reactions = named(&events, EventName::MessageReaction);
    assert_eq!(reactions.len(), 2, "{events:#?}");
    let p = &reactions[0].payload;
    assert_eq!(p["messageId"], id.as_str());
    assert_eq!(p["mid"], mid.as_str());
    assert_eq!(
        (&p["reaction"], &p["emoji"], &p["action"]),
        (&json!("love"), &json!("\u{2764}\u{fe0f}"), &json!("react"))
    );
    assert_eq!(p["fbMessengerId"], psid);
    assert_eq!(p["pageId"], PAGE);
    assert_eq!(p["profileId"], format!("fb-{PAGE}-{psid}"));
    assert!(p.get("standby").is_none());
    assert!(reactions[0].event_id.starts_with("reaction."));
    let q = &reactions[1].payload;
    assert!(q.get("messageId").is_none(), "not one of ours: {q}");
    assert_eq!(q["mid"], "m_not_ours");
    assert_eq!(q["action"], "unreact");
    assert_eq!(q["emoji"], serde_json::Value::Null);

    // Meta redelivers the same bodies: nothing new is queued.
    let posts = h.sim.webhook_posts();
    let last_two = &posts[posts.len() - 2..];
    assert!(last_two.iter().all(|p| p
        .payload()
        .is_some_and(|p| p.entry[0].messaging[0].reaction.is_some())));
    for post in last_two {
        assert_eq!(h.sim.post_raw(post.body.clone()).await.unwrap(), 200);
    }
    assert!(h.events().await.is_empty());
}

#[tokio::test]
async fn edits_and_feedback_become_their_own_events() {
    let h = harness(|s| s.window_check(false)).await;
    let psid = "24000000002002";
    let (id, mid) = sent_message(&h, psid).await;
    h.sim
        .post_inbound(
            PAGE,
            psid,
            InboundMessage {
                mid: Some("m_theirs".into()),
                text: Some("Is my table redy?".into()),
                ..InboundMessage::default()
            },
        )
        .await
        .unwrap();
    h.events().await;

    h.sim
        .post_edit(PAGE, psid, "m_theirs", "Is my table ready?", 1)
        .await
        .unwrap();
    h.sim
        .post_feedback(PAGE, psid, &mid, "Good response")
        .await
        .unwrap();
    h.sim
        .post_feedback(PAGE, psid, "m_from_the_inbox", "Bad response")
        .await
        .unwrap();
    let events = h.events().await;
    let edited = named(&events, EventName::MessageEdited);
    assert_eq!(edited.len(), 1, "{events:#?}");
    let e = &edited[0].payload;
    assert_eq!(
        (&e["mid"], &e["text"], &e["numEdit"]),
        (&json!("m_theirs"), &json!("Is my table ready?"), &json!(1))
    );
    assert_eq!(e["profileId"], format!("fb-{PAGE}-{psid}"));
    assert_eq!(e["linkedBy"], "existing-profile");
    // Every customer event says its channel.
    for event in &events {
        assert_eq!(event.payload["channel"], "fbMessenger", "{event:?}");
    }

    let feedback = named(&events, EventName::MessageFeedback);
    assert_eq!(feedback.len(), 2, "{events:#?}");
    assert_eq!(feedback[0].payload["feedback"], "Good response");
    assert_eq!(feedback[0].payload["messageId"], id.as_str());
    assert_eq!(feedback[0].payload["mid"], mid.as_str());
    assert!(feedback[1].payload.get("messageId").is_none());
    assert_eq!(feedback[1].payload["feedback"], "Bad response");
}

#[tokio::test]
async fn referrals_resolve_the_profile_like_an_inbound_message() {
    let h = harness(|s| s).await;
    h.store
        .merge_profile(SPACE, Profile::new("dora"))
        .await
        .unwrap();
    let token = h
        .messenger
        .issue_optin_token(SPACE, "dora", Some(json!({"table": 17})))
        .await
        .unwrap();
    let with_token = Referral {
        data_ref: Some(token),
        source: Some("SHORTLINK".into()),
        kind: Some("OPEN_THREAD".into()),
        ..Referral::default()
    };
    assert_eq!(
        h.sim
            .post_referral(PAGE, "24000000002003", with_token)
            .await
            .unwrap(),
        200
    );
    let mut ad = Referral {
        data_ref: Some("ad-spring".into()),
        source: Some("ADS".into()),
        kind: Some("OPEN_THREAD".into()),
        ..Referral::default()
    };
    ad.extra.insert("ad_id".into(), json!("120211234567890123"));
    h.sim
        .post_referral(PAGE, "24000000002004", ad)
        .await
        .unwrap();

    let events = h.events().await;
    let referrals = named(&events, EventName::FacebookReferral);
    assert_eq!(referrals.len(), 2, "{events:#?}");
    let r = &referrals[0].payload;
    assert_eq!(r["profileId"], "dora");
    assert_eq!(r["linkedBy"], "token");
    assert_eq!(r["data"], json!({"table": 17}));
    assert_eq!(
        (&r["source"], &r["type"]),
        (&json!("SHORTLINK"), &json!("OPEN_THREAD"))
    );
    let dora = h.store.get_profile(SPACE, "dora").await.unwrap().unwrap();
    assert_eq!(dora.fb_messenger_id.as_deref(), Some("24000000002003"));

    let a = &referrals[1].payload;
    assert_eq!(a["linkedBy"], "new-profile");
    assert_eq!(a["ref"], "ad-spring");
    assert_eq!(a["tokenError"], "token.malformed");
    assert_eq!(a["details"]["ad_id"], "120211234567890123");

    // The referral opened the window: a plain send to the ad's user is accepted.
    h.messenger
        .accept(
            SPACE,
            &body(json!({"fbMessengerId": "24000000002004"}), &["fbMessenger"]),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn handovers_and_standby_events_are_forwarded_marked() {
    let h = harness(|s| s).await;
    let psid = "24000000002005";
    h.sim.post_inbound_text(PAGE, psid, "hi").await.unwrap();
    h.events().await;

    let mut pass = Handover::new(HandoverKind::PassThreadControl);
    pass.previous_owner_app_id = Some("263902037430900".into());
    pass.new_owner_app_id = Some("1517776481860111".into());
    pass.metadata = Some("back to the bot".into());
    h.sim.post_handover(PAGE, Some(psid), pass).await.unwrap();
    let mut request = Handover::new(HandoverKind::RequestThreadControl);
    request.extra.insert(
        "requested_owner_app_id".into(),
        json!(263_902_037_430_900_u64),
    );
    h.sim
        .post_handover(PAGE, Some(psid), request)
        .await
        .unwrap();
    let mut roles = Handover::new(HandoverKind::AppRoles);
    roles
        .extra
        .insert("1517776481860111".into(), json!(["primary_receiver"]));
    h.sim.post_handover(PAGE, None, roles).await.unwrap();

    let mut reaction = messenger_model::webhook::MessagingEvent {
        sender: Some(messenger_model::webhook::Party {
            id: Some(psid.into()),
            user_ref: None,
        }),
        timestamp: Timestamp::now().millis(),
        ..Default::default()
    };
    reaction.reaction = Some(messenger_model::webhook::Reaction {
        mid: Some("m_x".into()),
        action: Some("react".into()),
        emoji: Some("\u{1f44d}".into()),
        reaction: Some("like".into()),
    });
    h.sim.post_standby_event(PAGE, reaction).await.unwrap();
    h.sim
        .post_standby_message(PAGE, psid, "while the inbox owns it")
        .await
        .unwrap();

    let events = h.events().await;
    let handovers = named(&events, EventName::FacebookHandover);
    assert_eq!(handovers.len(), 3, "{events:#?}");
    let p = &handovers[0].payload;
    assert_eq!(p["kind"], "pass");
    assert_eq!(p["previousOwnerAppId"], "263902037430900");
    assert_eq!(p["newOwnerAppId"], "1517776481860111");
    assert_eq!(p["metadata"], "back to the bot");
    assert_eq!(p["profileId"], format!("fb-{PAGE}-{psid}"));
    assert_eq!(p["fbMessengerId"], psid);
    assert_eq!(handovers[1].payload["kind"], "request");
    assert_eq!(
        handovers[1].payload["requestedOwnerAppId"],
        "263902037430900"
    );
    let r = &handovers[2].payload;
    assert_eq!(r["kind"], "app_roles");
    assert_eq!(r["fbMessengerId"], serde_json::Value::Null);
    assert_eq!(r["appRoles"]["1517776481860111"][0], "primary_receiver");

    let reaction = named(&events, EventName::MessageReaction);
    assert_eq!(reaction.len(), 1);
    assert_eq!(reaction[0].payload["standby"], true);
    let inbound = named(&events, EventName::MessageInbound);
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].payload["standby"], true);
    assert_eq!(inbound[0].payload["text"], "while the inbox owns it");
}

#[tokio::test]
async fn a_sticker_passes_through_with_its_id() {
    let h = harness(|s| s).await;
    let sticker: InboundAttachment = serde_json::from_value(json!({
        "type": "sticker",
        "payload": {"url": "https://scontent.xx.fbcdn.net/s.png", "sticker_id": 369_239_263_222_822_u64}
    }))
    .unwrap();
    h.sim
        .post_inbound(
            PAGE,
            "24000000002006",
            InboundMessage {
                attachments: vec![sticker],
                ..InboundMessage::default()
            },
        )
        .await
        .unwrap();
    let events = h.events().await;
    let inbound = named(&events, EventName::MessageInbound);
    assert_eq!(inbound.len(), 1, "{events:#?}");
    let a = &inbound[0].payload["attachments"][0];
    assert_eq!(a["type"], "sticker");
    assert_eq!(a["payload"]["sticker_id"], 369_239_263_222_822_u64);
}

#[tokio::test]
async fn unknown_kinds_are_still_quarantined() {
    let h = harness(|s| s).await;
    let mut event = messenger_model::webhook::MessagingEvent {
        timestamp: Timestamp::now().millis(),
        ..Default::default()
    };
    event
        .extra
        .insert("policy_enforcement".into(), json!({"action": "block"}));
    h.sim.post_event(PAGE, event).await.unwrap();
    let listed = h.store.list_quarantined(10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(h.events().await.is_empty());
}

#[tokio::test]
async fn human_agent_is_accepted_for_seven_days_after_the_last_message_only() {
    let h = harness(|s| s).await;
    let agent = |psid: &str| {
        json!({
            "to": {"fbMessengerId": psid},
            "body": "An agent here: your refund went out today.",
            "rules": ["fbMessenger"],
            "channelOptions": {"fbMessenger": {"messagingType": "MESSAGE_TAG", "messageTag": "HUMAN_AGENT"}}
        })
    };
    let now = Timestamp::now();
    for (psid, days) in [("24000000002007", 6), ("24000000002008", 8)] {
        h.store
            .record_inbound(SPACE, PAGE, psid, now.add_millis(-days * DAY))
            .await
            .unwrap();
    }
    h.messenger
        .accept(SPACE, &agent("24000000002007"), None)
        .await
        .unwrap();
    match h
        .messenger
        .accept(SPACE, &agent("24000000002008"), None)
        .await
    {
        Err(Error::Refused(v)) => {
            assert_eq!(v[0].code.as_str(), "window.tag_expired", "{v:?}");
            assert!(v[0].message.contains("7 days"), "{}", v[0].message);
        }
        other => panic!("expected window.tag_expired, got {other:?}"),
    }
}
