//! Every inbound kind of the 2026 platform, posted by graph-sim as Meta posts it, reaches the
//! business's webhook as an event of its own, once (a redelivered body queues nothing new), and
//! only when the space subscribes to its name.

use std::time::Duration;

use messenger_model::webhook::{Handover, HandoverKind, Referral};
use serde_json::{json, Value};

use crate::harness::*;

/// Space A forwarding the inbound kinds to `url`, one event per POST.
fn kinds_webhook(url: &str) -> String {
    format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.inbound\", \"message.reaction\", \"message.edited\", \
         \"message.feedback\", \"facebook.referral\", \"facebook.handover\"]\n"
    )
}

/// The events forwarded so far (name, payload), in order of arrival.
fn forwarded(receiver: &Receiver) -> Vec<(String, Value)> {
    receiver
        .events()
        .into_iter()
        .map(|(_, e)| {
            (
                e["name"].as_str().unwrap_or("").to_owned(),
                e["payload"].clone(),
            )
        })
        .collect()
}

fn only<'a>(events: &'a [(String, Value)], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, p)| p)
        .collect()
}

#[tokio::test]
async fn each_kind_reaches_the_business_once_with_its_own_name() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&kinds_webhook(&url)).await;
    let psid = "24000000000901";
    env.opted_in_profile("erin", psid).await;
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "erin"}, "body": "Your table is ready", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    let message = env.settled(&id).await;
    let mid = message["graphMessageIds"][0].as_str().unwrap().to_owned();

    let sim = &env.sim;
    let ok = |status: u16| assert_eq!(status, 200);
    ok(sim
        .post_reaction(
            PAGE_A,
            psid,
            &mid,
            "react",
            "love",
            Some("\u{2764}\u{fe0f}"),
        )
        .await
        .unwrap());
    ok(sim
        .post_edit(PAGE_A, psid, "m_erin_1", "Table for three, please", 1)
        .await
        .unwrap());
    ok(sim
        .post_feedback(PAGE_A, psid, &mid, "Good response")
        .await
        .unwrap());
    let referral = Referral {
        data_ref: Some("table-qr-17".into()),
        source: Some("SHORTLINK".into()),
        kind: Some("OPEN_THREAD".into()),
        ..Referral::default()
    };
    ok(sim.post_referral(PAGE_A, psid, referral).await.unwrap());
    let mut take = Handover::new(HandoverKind::TakeThreadControl);
    take.previous_owner_app_id = Some("1517776481860111".into());
    take.new_owner_app_id = Some("263902037430900".into());
    ok(sim.post_handover(PAGE_A, Some(psid), take).await.unwrap());
    ok(sim
        .post_standby_message(PAGE_A, psid, "are you there?")
        .await
        .unwrap());
    env.webhooks_applied().await;

    // The opt-in profile's own inbound "hello", then the six posted above.
    let events = receiver.wait_for(7).await;
    assert_eq!(events.len(), 7, "{events:#?}");
    let events = forwarded(&receiver);

    let reaction = only(&events, "message.reaction");
    assert_eq!(reaction.len(), 1, "{events:#?}");
    assert_eq!(reaction[0]["messageId"], id.as_str());
    assert_eq!(reaction[0]["mid"], mid.as_str());
    assert_eq!(reaction[0]["profileId"], "erin");
    assert_eq!(reaction[0]["action"], "react");
    assert_eq!(reaction[0]["reaction"], "love");

    let edited = only(&events, "message.edited");
    assert_eq!(edited.len(), 1);
    assert_eq!(edited[0]["mid"], "m_erin_1");
    assert_eq!(edited[0]["text"], "Table for three, please");
    assert_eq!(edited[0]["numEdit"], 1);

    let feedback = only(&events, "message.feedback");
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0]["feedback"], "Good response");
    assert_eq!(feedback[0]["messageId"], id.as_str());

    let referral = only(&events, "facebook.referral");
    assert_eq!(referral.len(), 1);
    assert_eq!(referral[0]["ref"], "table-qr-17");
    assert_eq!(referral[0]["source"], "SHORTLINK");
    assert_eq!(referral[0]["profileId"], "erin");

    let handover = only(&events, "facebook.handover");
    assert_eq!(handover.len(), 1);
    assert_eq!(handover[0]["kind"], "take");
    assert_eq!(handover[0]["newOwnerAppId"], "263902037430900");
    assert_eq!(handover[0]["previousOwnerAppId"], "1517776481860111");

    let inbound = only(&events, "message.inbound");
    assert_eq!(inbound.len(), 2);
    for p in inbound {
        let standby = p["text"] == "are you there?";
        assert_eq!(p.get("standby") == Some(&json!(true)), standby, "{p}");
    }

    // Meta redelivers every body: 200, and nothing new reaches the business.
    for post in sim.webhook_posts() {
        if post.payload().is_some_and(|p| p.events().count() == 1) {
            ok(sim.post_raw(post.body.clone()).await.unwrap());
        }
    }
    env.webhooks_applied().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.events().len(), 7, "{:#?}", forwarded(&receiver));
}

#[tokio::test]
async fn a_space_gets_only_the_kinds_it_subscribes_to() {
    let (receiver, url) = Receiver::start(200).await;
    let hook = format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.edited\"]\n"
    );
    let env = Env::start_with(&hook).await;
    let psid = "24000000000902";
    let sim = &env.sim;
    assert_eq!(
        sim.post_reaction(PAGE_A, psid, "m_x", "react", "smile", Some("\u{1f604}"))
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        sim.post_edit(PAGE_A, psid, "m_y", "fixed", 2)
            .await
            .unwrap(),
        200
    );
    env.webhooks_applied().await;
    let events = receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events_now = receiver.events();
    assert_eq!(events_now.len(), 1, "{events:#?}");
    assert_eq!(events_now[0].1["name"], "message.edited");
    assert_eq!(events_now[0].1["payload"]["numEdit"], 2);
}
