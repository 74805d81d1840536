//! Instagram Direct webhooks through the facade: graph-sim posts Instagram bodies over loopback
//! HTTP (messages, reads, comments, echoes; in `messaging[]` and `changes[]`, signed with the
//! Facebook app's secret for a Facebook Login account and with the Instagram app's own for an
//! Instagram Login one), and bodies of the kinds the simulator does not post are signed and handed
//! to the facade as the gateway's route would.

use std::sync::Arc;
use std::time::Duration;

use graph_sim::{GraphSim, InstagramLogin, InstagramShape};
use messenger::send::SendTag;
use messenger::webhook::{sign_body, SignatureError, WebhookError};
use messenger::{InstagramAccount, InstagramLogin as Login, Space};
use messenger_graph::GraphClient;
use messenger_model::graph::Recipient;
use messenger_model::{plan_instagram_sends, Channel, EventEnvelope, EventName, MessageStatus};
use messenger_store::{DispatchQueue, MessengerRecipient, ProfileStore, WebhookQueue};
use serde_json::{json, Value};

use crate::common::{body, harness_on, Harness, ManualClock, APP_SECRET, PAGE, SPACE};

/// Connected through the space's page (Facebook Login): the Facebook app signs its webhooks.
pub(crate) const FB_ACCOUNT: &str = "17841400000000001";
/// Connected with Instagram Login: its own app signs its webhooks.
pub(crate) const IG_ACCOUNT: &str = "17841400000000002";
pub(crate) const IG_TOKEN: &str = "ig-user-token-2";
pub(crate) const IG_SECRET: &str = "ig-app-secret-2";
/// A third account (Instagram Login, another app), connected but not in the simulator.
pub(crate) const OTHER_ACCOUNT: &str = "17841400000000003";
pub(crate) const OTHER_SECRET: &str = "ig-app-secret-3";

pub(crate) async fn harness(echoes: bool, clock: Option<&ManualClock>) -> Harness {
    let clock = clock.map(ManualClock::as_clock);
    harness_on(
        |sim| {
            sim.echoes(echoes)
                .instagram_account(FB_ACCOUNT, InstagramLogin::Page(PAGE.into()))
                .instagram_account(
                    IG_ACCOUNT,
                    InstagramLogin::instagram(IG_TOKEN, IG_SECRET, "9000000000000002", "shop"),
                )
                .instagram_host(true)
        },
        |space: Space, sim: &GraphSim| {
            let page = space.transport.clone();
            let ig = GraphClient::builder()
                .instagram_base_url(sim.instagram_url().unwrap())
                .instagram_user_token(IG_TOKEN)
                .instagram_app_secret(IG_SECRET)
                .build()
                .unwrap();
            let other = GraphClient::builder()
                .instagram_base_url(sim.instagram_url().unwrap())
                .instagram_user_token("ig-user-token-3")
                .build()
                .unwrap();
            space
                .connect_instagram(InstagramAccount::new(FB_ACCOUNT, Login::Facebook, page))
                .connect_instagram(
                    InstagramAccount::new(IG_ACCOUNT, Login::Instagram, Arc::new(ig))
                        .app_secret(IG_SECRET),
                )
                .connect_instagram(
                    InstagramAccount::new(OTHER_ACCOUNT, Login::Instagram, Arc::new(other))
                        .app_secret(OTHER_SECRET),
                )
        },
        |b| match clock {
            Some(clock) => b.clock(clock),
            None => b,
        },
    )
    .await
}

/// The secret that signs `account`'s webhooks.
pub(crate) fn secret_of(account: &str) -> &'static str {
    match account {
        FB_ACCOUNT => APP_SECRET,
        IG_ACCOUNT => IG_SECRET,
        _ => OTHER_SECRET,
    }
}

/// An Instagram body of `account` with `events` in `messaging[]`.
pub(crate) fn messaging(account: &str, events: Vec<Value>) -> Vec<u8> {
    let entry = json!({"id": account, "time": now(), "messaging": events});
    serde_json::to_vec(&json!({"object": "instagram", "entry": [entry]})).unwrap()
}

/// The same with each event in `changes[]` under `field`.
pub(crate) fn changes(account: &str, changes: Vec<(&str, Value)>) -> Vec<u8> {
    let changes: Vec<Value> = changes
        .into_iter()
        .map(|(field, value)| json!({"field": field, "value": value}))
        .collect();
    let entry = json!({"id": account, "time": now(), "changes": changes});
    serde_json::to_vec(&json!({"object": "instagram", "entry": [entry]})).unwrap()
}

pub(crate) fn now() -> i64 {
    messenger_model::Timestamp::now().millis()
}

/// An event from `igsid` to `account` at `at` with `kind: value`.
pub(crate) fn from_user(account: &str, igsid: &str, at: i64, kind: &str, value: Value) -> Value {
    let mut e = json!({"sender": {"id": igsid}, "recipient": {"id": account}, "timestamp": at});
    e[kind] = value;
    e
}

/// Hands a body to the facade signed for `account`, as the gateway's route does.
pub(crate) async fn post(
    h: &Harness,
    account: &str,
    body: &[u8],
) -> messenger::webhook::WebhookReport {
    let sig = sign_body(secret_of(account), body);
    h.messenger.handle_webhook(body, Some(&sig)).await.unwrap()
}

/// The events queued so far, waiting (bounded) until there are `n`.
pub(crate) async fn wait_events(h: &Harness, n: usize) -> Vec<EventEnvelope> {
    let mut all = Vec::new();
    for _ in 0..300 {
        all.extend(h.events().await);
        if all.len() >= n {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} events, got {all:?}");
}

pub(crate) async fn wait_status(h: &Harness, id: &str, status: MessageStatus) {
    for _ in 0..300 {
        if h.message(id).await.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{id} never became {status}: {:?}", h.message(id).await);
}

pub(crate) fn profile_of(account: &str, igsid: &str) -> String {
    format!("ig-{account}-{igsid}")
}

#[tokio::test]
async fn messages_in_both_shapes_and_both_signatures_become_inbound_and_open_the_window() {
    let h = harness(false, None).await;
    for account in [FB_ACCOUNT, IG_ACCOUNT] {
        for shape in [InstagramShape::Messaging, InstagramShape::Changes] {
            let igsid = h.sim.new_instagram_user(account).unwrap();
            let post = h
                .sim
                .post_instagram_message_in(account, &igsid, "hi there", shape)
                .await
                .unwrap();
            assert_eq!(post.status, 200, "{account} {shape:?}");
            let events = wait_events(&h, 1).await;
            assert_eq!(events.len(), 1, "{account} {shape:?}: {events:?}");
            let e = &events[0];
            assert_eq!(e.name, EventName::MessageInbound);
            assert_eq!(e.event_id, format!("inbound.mid:{}", post.id));
            let p = &e.payload;
            assert_eq!(p["channel"], "instagram");
            assert_eq!(p["instagramAccountId"], account);
            assert_eq!(p["instagramId"], igsid.as_str());
            assert_eq!(p["profileId"], profile_of(account, &igsid));
            assert_eq!(p["linkedBy"], "new-profile");
            assert_eq!(p["kind"], "message");
            assert_eq!(p["mid"], post.id.as_str());
            assert_eq!(p["text"], "hi there");
            assert!(p.get("fbMessengerId").is_none());

            // The window is the account's and the IGSID's; the profile holds the IGSID.
            let last = h.store.last_inbound(SPACE, account, &igsid).await.unwrap();
            assert!(last.is_some(), "{account} {shape:?}");
            assert_eq!(
                h.store.last_inbound(SPACE, PAGE, &igsid).await.unwrap(),
                None
            );
            let profile = h
                .store
                .get_profile(SPACE, &profile_of(account, &igsid))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(profile.instagram_id_for(account), Some(igsid.as_str()));
        }
    }
}

#[tokio::test]
async fn a_redelivered_body_is_applied_once() {
    let h = harness(false, None).await;
    let igsid = h.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let post = h
        .sim
        .post_instagram_message(IG_ACCOUNT, &igsid, "once")
        .await
        .unwrap();
    assert_eq!(wait_events(&h, 1).await.len(), 1);
    // Meta posts the same bytes again.
    let posted = h.sim.webhook_posts();
    let again = posted
        .iter()
        .find(|p| String::from_utf8_lossy(&p.body).contains(&post.id))
        .unwrap();
    let report = post_ig(&h, &again.body).await;
    assert_eq!((report.applied, report.duplicates), (0, 1));
    // And through the queue, as the gateway applies bodies.
    h.store
        .enqueue_webhooks(vec![again.body.to_vec()], messenger_model::Timestamp::now())
        .await
        .unwrap();
    let report = h.messenger.apply_queued_webhooks("w1", 8).await.unwrap();
    assert_eq!((report.applied, report.duplicates), (0, 1));
    assert!(h.events().await.is_empty());
}

pub(crate) async fn post_ig(h: &Harness, body: &[u8]) -> messenger::webhook::WebhookReport {
    post(h, IG_ACCOUNT, body).await
}

#[tokio::test]
async fn signatures_are_checked_with_the_secret_of_the_account_each_entry_names() {
    let h = harness(false, None).await;
    let m = |account: &str, mid: &str| {
        messaging(
            account,
            vec![from_user(
                account,
                "555",
                now(),
                "message",
                json!({"mid": mid, "text": "x"}),
            )],
        )
    };
    let verify = |body: &[u8], secret: &str| {
        h.messenger
            .verify_webhook(body, Some(&sign_body(secret, body)))
    };
    // Each account's own secret, and the Facebook app's for every body.
    assert!(verify(&m(IG_ACCOUNT, "a"), IG_SECRET).is_ok());
    assert!(verify(&m(OTHER_ACCOUNT, "b"), OTHER_SECRET).is_ok());
    assert!(verify(&m(FB_ACCOUNT, "c"), APP_SECRET).is_ok());
    assert!(verify(&m(IG_ACCOUNT, "d"), APP_SECRET).is_ok());
    // One account's secret is not another's.
    let refused = |r: Result<(), WebhookError>| {
        matches!(r, Err(WebhookError::Signature(SignatureError::Mismatch)))
    };
    assert!(refused(verify(&m(OTHER_ACCOUNT, "e"), IG_SECRET)));
    assert!(refused(verify(&m(FB_ACCOUNT, "f"), IG_SECRET)));
    assert!(refused(verify(&m(IG_ACCOUNT, "g"), "not-the-secret")));
    let mut two: Value = serde_json::from_slice(&m(IG_ACCOUNT, "h")).unwrap();
    let other: Value = serde_json::from_slice(&m(OTHER_ACCOUNT, "i")).unwrap();
    two["entry"]
        .as_array_mut()
        .unwrap()
        .push(other["entry"][0].clone());
    let two = serde_json::to_vec(&two).unwrap();
    assert!(refused(verify(&two, IG_SECRET)));
    assert!(refused(verify(&two, OTHER_SECRET)));
    assert!(verify(&two, APP_SECRET).is_ok());
    // A page body is the Facebook app's only.
    let page = br#"{"object":"page","entry":[]}"#;
    assert!(refused(verify(page, IG_SECRET)));
    assert!(matches!(
        h.messenger.verify_webhook(&m(IG_ACCOUNT, "j"), None),
        Err(WebhookError::Signature(SignatureError::Missing))
    ));
    // Over HTTP: the receiver answers 403 to a body signed with the wrong account's secret.
    let igsid = h.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let ok = h
        .sim
        .post_instagram_message(IG_ACCOUNT, &igsid, "signed by the Instagram app")
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let events = wait_events(&h, 1).await;
    assert_eq!(events[0].payload["instagramAccountId"], IG_ACCOUNT);
}

#[tokio::test]
async fn a_read_by_mid_marks_that_message_and_the_earlier_ones_read() {
    let clock = ManualClock::starting_now();
    let h = harness(false, Some(&clock)).await;
    let igsid = h.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    h.sim
        .post_instagram_message(IG_ACCOUNT, &igsid, "hello")
        .await
        .unwrap();
    wait_events(&h, 1).await;
    let to = json!({"profileId": profile_of(IG_ACCOUNT, &igsid)});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let accepted = h
            .messenger
            .accept(SPACE, &body(to.clone(), &["instagram"]), None)
            .await
            .unwrap();
        h.dispatch_all().await;
        clock.advance(Duration::from_secs(1));
        ids.push(accepted.id);
    }
    let sent = h.sim.instagram_sent(IG_ACCOUNT);
    assert_eq!(sent.len(), 3);
    for id in &ids {
        let m = h.message(id).await;
        assert_eq!(m.status, MessageStatus::Sent);
        assert_eq!(
            m.sent_to,
            Some(MessengerRecipient::new(IG_ACCOUNT, igsid.as_str()))
        );
    }
    let sent_events = h.events().await;
    assert!(sent_events.iter().all(|e| e.name == EventName::MessageSent));

    // The user saw the second message: the first two are read, the third is not.
    let status = h
        .sim
        .post_instagram_read(IG_ACCOUNT, &igsid, &sent[1].mid)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let reads = wait_events(&h, 2).await;
    let read_ids: Vec<&Value> = reads.iter().map(|e| &e.payload["messageId"]).collect();
    assert_eq!(read_ids.len(), 2, "{reads:?}");
    for e in &reads {
        assert_eq!(e.name, EventName::MessageRead);
        assert_eq!(e.payload["channel"], "instagram");
    }
    assert!(read_ids.contains(&&json!(ids[0])) && read_ids.contains(&&json!(ids[1])));
    assert_eq!(h.message(&ids[0]).await.status, MessageStatus::Read);
    assert_eq!(h.message(&ids[1]).await.status, MessageStatus::Read);
    assert_eq!(h.message(&ids[2]).await.status, MessageStatus::Sent);

    // A read of a mid that is not ours changes nothing; the last one reads the rest.
    let status = h
        .sim
        .post_instagram_read(IG_ACCOUNT, &igsid, "aWdfZAnotours")
        .await
        .unwrap();
    assert_eq!(status, 200);
    h.sim
        .post_instagram_read(IG_ACCOUNT, &igsid, &sent[2].mid)
        .await
        .unwrap();
    let last = wait_events(&h, 1).await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].payload["messageId"], ids[2].as_str());
    assert_eq!(h.message(&ids[2]).await.status, MessageStatus::Read);
    // Sent on Instagram, read on Instagram.
    assert_eq!(h.message(&ids[2]).await.channel, Some(Channel::Instagram));
}

#[tokio::test]
async fn a_comment_becomes_instagram_comment() {
    let h = harness(false, None).await;
    for account in [FB_ACCOUNT, IG_ACCOUNT] {
        let igsid = h.sim.new_instagram_user(account).unwrap();
        let comment = h
            .sim
            .post_instagram_comment(account, &igsid, "How much is it?")
            .await
            .unwrap();
        assert_eq!(comment.status, 200);
        let events = wait_events(&h, 1).await;
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.name, EventName::InstagramComment);
        assert_eq!(e.event_id, format!("comment.{}", comment.id));
        let p = &e.payload;
        assert_eq!(p["channel"], "instagram");
        assert_eq!(p["instagramAccountId"], account);
        assert_eq!(p["commentId"], comment.id.as_str());
        assert_eq!(p["instagramId"], igsid.as_str());
        assert!(p["username"].as_str().is_some_and(|u| !u.is_empty()));
        assert_eq!(p["text"], "How much is it?");
        assert!(p["mediaId"].as_str().is_some());
        assert_eq!(p["mediaProductType"], "FEED");
        assert_eq!(p["field"], "comments");
        // No conversation yet: no profile, no window.
        assert_eq!(p["profileId"], Value::Null);
        let last = h.store.last_inbound(SPACE, account, &igsid).await.unwrap();
        assert_eq!(last, None);
    }
    // The account's own comment (its public reply) is not the business's news.
    let own = changes(
        IG_ACCOUNT,
        vec![(
            "comments",
            json!({"id": "1790001", "text": "Thanks!", "from": {"id": IG_ACCOUNT, "username": "shop"}}),
        )],
    );
    let report = post_ig(&h, &own).await;
    assert_eq!((report.applied, report.ignored), (0, 1));
    assert!(h.events().await.is_empty());
}

#[tokio::test]
async fn an_echo_confirms_a_send_a_worker_did_not_record() {
    let clock = ManualClock::starting_now();
    let h = harness(true, Some(&clock)).await;
    let igsid = h.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    h.sim
        .post_instagram_message(IG_ACCOUNT, &igsid, "hello")
        .await
        .unwrap();
    wait_events(&h, 1).await;
    let to = json!({"profileId": profile_of(IG_ACCOUNT, &igsid)});
    let id = h
        .messenger
        .accept(SPACE, &body(to, &["instagram"]), None)
        .await
        .unwrap()
        .id;
    // A worker sends it, tagged as the pipeline tags its sends, and dies before recording.
    let leased = h
        .store
        .lease_due("doomed", clock.now(), 1, Duration::from_millis(100))
        .await
        .unwrap();
    let mut plan = plan_instagram_sends(&leased[0].request, &Recipient::psid(&igsid)).unwrap();
    plan[0].request.message.as_mut().unwrap().metadata =
        Some(SendTag::new(id.clone(), 0).to_string());
    let space = h.messenger.space(SPACE).unwrap();
    let transport = space
        .instagram_account(IG_ACCOUNT)
        .unwrap()
        .transport
        .clone();
    transport.send(&plan[0].request).await.unwrap();

    // Meta's echo (metadata = the tag) confirms it.
    wait_status(&h, &id, MessageStatus::Sent).await;
    let m = h.message(&id).await;
    assert_eq!(m.channel, Some(Channel::Instagram));
    assert_eq!(
        m.sent_to,
        Some(MessengerRecipient::new(IG_ACCOUNT, igsid.as_str()))
    );
    let sent = h.sim.instagram_sent(IG_ACCOUNT);
    assert_eq!(m.graph_message_ids, [sent[0].mid.clone()]);
    let events = wait_events(&h, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].name, EventName::MessageSent);
    assert_eq!(events[0].payload["channel"], "instagram");

    // The next worker finds nothing to send.
    clock.advance(Duration::from_secs(10));
    h.dispatch_all().await;
    assert_eq!(h.sim.instagram_sent(IG_ACCOUNT).len(), 1);

    // A send of ours the worker did record: its echo is left alone.
    let to = json!({"profileId": profile_of(IG_ACCOUNT, &igsid)});
    let second = h
        .messenger
        .accept(SPACE, &body(to, &["instagram"]), None)
        .await
        .unwrap()
        .id;
    h.dispatch_all().await;
    wait_status(&h, &second, MessageStatus::Sent).await;
    let mid = h.sim.instagram_sent(IG_ACCOUNT)[1].mid.clone();
    let answered = |h: &Harness| {
        h.sim.webhook_posts().iter().any(|p| {
            p.status == Some(200) && String::from_utf8_lossy(&p.body).contains(mid.as_str())
        })
    };
    for _ in 0..300 {
        if answered(&h) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered(&h), "the echo of {mid} was never answered");
    let events = h.events().await;
    assert_eq!(events.len(), 1, "only message.sent: {events:?}");
    assert_eq!(events[0].name, EventName::MessageSent);
}

#[tokio::test]
async fn an_echo_of_someone_elses_message_is_forwarded() {
    let h = harness(false, None).await;
    let igsid = "6543210987654321";
    let echo = json!({
        "sender": {"id": IG_ACCOUNT}, "recipient": {"id": igsid}, "timestamp": now(),
        "message": {"mid": "aWdfZAechoinbox", "text": "Hi from the app", "is_echo": true},
    });
    let report = post_ig(&h, &messaging(IG_ACCOUNT, vec![echo])).await;
    assert_eq!(report.applied, 1);
    let events = h.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, EventName::MessageEcho);
    let p = &events[0].payload;
    assert_eq!(p["channel"], "instagram");
    assert_eq!(p["sentBy"], "inbox");
    assert_eq!(p["instagramId"], igsid);
    assert_eq!(p["text"], "Hi from the app");
    // An echo never opens the window.
    assert_eq!(
        h.store
            .last_inbound(SPACE, IG_ACCOUNT, igsid)
            .await
            .unwrap(),
        None
    );
}
