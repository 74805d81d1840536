//! Erasure and export: everything a space holds about one customer, found by their
//! identifiers, paged, and erased once.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{Channel, EventEnvelope, EventName, MessageStatus, Profile, SendRequest, To};
use serde_json::{json, Value};

use crate::conformance::{at, T0};
use crate::{
    ErasureCounts, EventFailure, MessageRecord, NewMessage, OptinToken, QuarantinedEvent,
    Settlement, StatusUpdate, Store, ERASED_CODE, ERASURE_BATCH, REDACTED,
};

const A: &str = "space-a";
const B: &str = "space-b";
const ALICE: &str = "alice@example.com";
const PSID: &str = "7100000000000001";
const PHONE: &str = "+447700900123";
const PAGE: &str = "page-1";

fn pages() -> Vec<String> {
    vec![PAGE.to_owned()]
}

/// A message of `space` to `to` under `key`, with a body naming what it is.
async fn accept(store: &Arc<dyn Store>, space: &str, key: &str, to: To, body: &str) -> String {
    let req = SendRequest::new(to)
        .body(body)
        .rules([Channel::FbMessenger, Channel::Sms]);
    let m = NewMessage::new(space, key, req, T0).idempotency(format!("idem-{body}"), "hash");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    id
}

fn envelope(space: &str, event_id: &str, payload: Value) -> EventEnvelope {
    EventEnvelope {
        event_id: event_id.into(),
        api_space_id: space.into(),
        name: EventName::MessageInbound,
        payload,
        revision: 1,
        timestamp: T0,
    }
}

fn token(space: &str, token: &str, profile: &str) -> OptinToken {
    OptinToken {
        token: token.into(),
        space: space.into(),
        profile_id: profile.into(),
        data: Some(json!({"cart": "secret cart"})),
        created_at: T0,
        expires_at: at(86_400),
        bound_to: None,
    }
}

fn quarantined(key: &str, page: Option<&str>, psid: &str) -> QuarantinedEvent {
    QuarantinedEvent {
        key: key.into(),
        reason: "unknown event kind".into(),
        page_id: page.map(str::to_owned),
        raw: format!(r#"{{"sender":{{"id":"{psid}"}},"text":"secret"}}"#).into_bytes(),
        received_at: T0,
        quarantined_at: T0,
    }
}

/// Alice (profile, linked PSID, phone, e-mail) in `space` with her messages, events, token,
/// window and dedupe key; Bob beside her. Returns Alice's message ids and Bob's.
async fn seed(store: &Arc<dyn Store>, space: &str) -> (Vec<String>, String) {
    let alice = Profile {
        email: Some(ALICE.into()),
        ..Profile::new(ALICE).with_phone_number(PHONE)
    };
    store.merge_profile(space, alice).await.unwrap();
    store
        .link_messenger_id(space, ALICE, PAGE, PSID)
        .await
        .unwrap();
    store
        .merge_profile(space, Profile::new("bob"))
        .await
        .unwrap();
    let by_profile = accept(
        store,
        space,
        &format!("profile:{ALICE}"),
        To::profile(ALICE),
        "by profile",
    )
    .await;
    let update = StatusUpdate::new(MessageStatus::Sent, at(1))
        .channel(Channel::FbMessenger)
        .sent_to(PAGE, PSID);
    let settled = Settlement::new(space, &by_profile, update).graph_message_ids(["m_1"]);
    store.settle_messages(vec![settled]).await.unwrap();
    let by_psid = accept(
        store,
        space,
        &format!("fb:{PSID}"),
        To::fb_messenger_id(PSID),
        "by psid",
    )
    .await;
    // Unsent, by the phone's digits only.
    let by_phone = accept(
        store,
        space,
        "tel:447700900123",
        To::phone_number("447700900123"),
        "by phone",
    )
    .await;
    let bob = accept(store, space, "profile:bob", To::profile("bob"), "bob's").await;

    let events = [
        (
            "sent",
            json!({"messageId": by_profile, "to": {"profileId": ALICE}}),
        ),
        (
            "inbound",
            json!({"profileId": ALICE, "fbMessengerId": PSID, "text": "secret"}),
        ),
        (
            "dead",
            json!({"messageId": by_psid, "to": {"fbMessengerId": PSID}}),
        ),
        ("bob", json!({"profileId": "bob", "text": "bob's"})),
    ];
    for (id, payload) in events {
        store
            .enqueue_event("default", envelope(space, id, payload), T0)
            .await
            .unwrap();
    }
    let leased = store
        .lease_due_events("w", at(2), 10, Duration::from_secs(30))
        .await
        .unwrap();
    let dead = leased
        .iter()
        .find(|e| e.envelope.event_id == "dead")
        .unwrap();
    assert!(store
        .mark_failed(dead.id, "w", "HTTP 400", EventFailure::Dead)
        .await
        .unwrap());
    store
        .put_optin_token(token(space, &format!("tok-{space}-alice"), ALICE))
        .await
        .unwrap();
    store
        .put_optin_token(token(space, &format!("tok-{space}-bob"), "bob"))
        .await
        .unwrap();
    store
        .record_inbound(space, PAGE, PSID, at(3))
        .await
        .unwrap();
    (vec![by_profile, by_psid, by_phone], bob)
}

async fn message(store: &Arc<dyn Store>, space: &str, id: &str) -> MessageRecord {
    store.get_message(space, id).await.unwrap().unwrap()
}

/// Erasure redacts every message naming the customer (an unsent one fails, never to be sent),
/// deletes their events, dead letters, quarantined bodies, profile, links, tokens, window and
/// dedupe keys, answers with counts, records them without the profile id, and touches nothing
/// of another customer or another space.
pub async fn erasure_removes_the_customer_and_keeps_others(store: Arc<dyn Store>) {
    let (alice, bob) = seed(&store, A).await;
    let (alice_b, _) = seed(&store, B).await;
    store
        .mark_seen(&format!("read:{PSID}:5"), T0)
        .await
        .unwrap();
    store.mark_seen("read:999:5", T0).await.unwrap();
    store
        .quarantine(vec![
            quarantined("q-mine", Some(PAGE), PSID),
            quarantined("q-unread", None, PSID),
            quarantined("q-other-page", Some("page-9"), PSID),
            quarantined("q-other-user", Some(PAGE), "999"),
        ])
        .await
        .unwrap();

    let now = at(100);
    let record = store.erase(A, ALICE, &pages(), now).await.unwrap();
    assert_eq!(
        record.counts,
        ErasureCounts {
            profiles: 1,
            messages: 3,
            events: 2,
            dead_letters: 1,
            quarantined: 2,
            messenger_ids: 1,
            optin_tokens: 1,
        }
    );
    assert_eq!((record.space.as_str(), record.erased_at), (A, now));
    assert_eq!(
        store.erasures(A, 10).await.unwrap(),
        std::slice::from_ref(&record)
    );
    assert!(!format!("{record:?}").contains(ALICE));

    assert!(store.get_profile(A, ALICE).await.unwrap().is_none());
    assert!(store
        .find_by_messenger_id(A, PAGE, PSID)
        .await
        .unwrap()
        .is_none());
    assert!(store.get_profile(A, "bob").await.unwrap().is_some());
    for id in &alice {
        let m = message(&store, A, id).await;
        assert_eq!(m.redacted_at, Some(now), "{id}");
        assert_eq!(m.request.to, To::default());
        assert_eq!(m.request.body, None);
        assert_eq!(m.recipient_key, REDACTED);
        assert_eq!(m.idempotency, None);
        assert_eq!(m.sent_to, None);
    }
    let unsent = message(&store, A, &alice[2]).await;
    assert_eq!(unsent.status, MessageStatus::Failed);
    assert_eq!(unsent.error.map(|e| e.code).as_deref(), Some(ERASED_CODE));
    assert!(store
        .lease_due("w", at(200), 10, Duration::from_secs(30))
        .await
        .unwrap()
        .iter()
        .all(|m| !alice.contains(&m.id)));
    let sent = message(&store, A, &alice[0]).await;
    assert_eq!(sent.status, MessageStatus::Sent, "statuses stay");
    assert_eq!(sent.graph_message_ids, ["m_1"]);
    assert!(store
        .find_by_idempotency_key(A, "idem-by-psid")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        message(&store, A, &bob).await.request.body.as_deref(),
        Some("bob's")
    );

    let all: Vec<String> = ["sent", "inbound", "dead", "bob"].map(String::from).into();
    let left: Vec<String> = store
        .events_by_id(A, &all)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.envelope.event_id)
        .collect();
    assert_eq!(left, ["bob"]);
    assert!(store.list_dead(A, 10).await.unwrap().is_empty());
    assert!(store
        .get_optin_token(A, &format!("tok-{A}-alice"), at(100))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_optin_token(A, &format!("tok-{A}-bob"), at(100))
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.last_inbound(A, PAGE, PSID).await.unwrap(), None);
    assert!(!store.is_seen(&format!("read:{PSID}:5")).await.unwrap());
    assert!(store.is_seen("read:999:5").await.unwrap());
    let kept: Vec<String> = store
        .list_quarantined(10)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.key)
        .collect();
    assert_eq!(kept, ["q-other-page", "q-other-user"]);

    // Space B still has all of Alice.
    assert!(store.get_profile(B, ALICE).await.unwrap().is_some());
    for id in &alice_b {
        assert_eq!(message(&store, B, id).await.redacted_at, None);
    }
    assert_eq!(
        store.last_inbound(B, PAGE, PSID).await.unwrap(),
        Some(at(3))
    );
    assert_eq!(store.list_dead(B, 10).await.unwrap().len(), 1);
}

/// A second erasure finds nothing, answers zeros and is recorded too; erasing a profile that
/// never existed is the same.
pub async fn erasure_twice_answers_zeros(store: Arc<dyn Store>) {
    seed(&store, A).await;
    let first = store.erase(A, ALICE, &pages(), at(100)).await.unwrap();
    assert_eq!(first.counts.messages, 3);
    let second = store.erase(A, ALICE, &pages(), at(200)).await.unwrap();
    assert_eq!(second.counts, ErasureCounts::default());
    assert_ne!(first.id, second.id);
    let never = store.erase(A, "nobody", &pages(), at(300)).await.unwrap();
    assert_eq!(never.counts, ErasureCounts::default());
    let ids: Vec<String> = store
        .erasures(A, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [never.id, second.id, first.id], "newest first");
    assert!(store.erasures(B, 10).await.unwrap().is_empty());
}

/// Export pages through a history larger than a page, in acceptance order, each message once,
/// and finds the customer's events; a scan's page counts candidates, so a page may hold fewer
/// than the limit while more follow.
pub async fn export_pages_through_a_history(store: Arc<dyn Store>) {
    store
        .merge_profile(A, Profile::new(ALICE).with_fb_messenger_id(PSID))
        .await
        .unwrap();
    let count = ERASURE_BATCH * 2 + 7;
    let (mut want, mut batch) = (Vec::new(), Vec::new());
    for i in 0..count {
        // Every third message is someone else's.
        let (key, to) = if i % 3 == 2 {
            ("fb:other".to_owned(), To::fb_messenger_id("other"))
        } else {
            (format!("fb:{PSID}"), To::fb_messenger_id(PSID))
        };
        let m = NewMessage::new(A, key, SendRequest::new(to).body(format!("n{i}")), T0);
        if i % 3 != 2 {
            want.push(m.id.clone());
        }
        batch.push(m);
    }
    store.insert_messages(batch).await.unwrap();
    let subject = store.subject(A, ALICE, &pages()).await.unwrap();
    let (mut got, mut after, mut pages_read) = (Vec::new(), None, 0);
    loop {
        let page = store
            .messages_naming(&subject, after, ERASURE_BATCH)
            .await
            .unwrap();
        pages_read += 1;
        got.extend(page.items.into_iter().map(|m| m.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(got, want);
    assert!(pages_read >= 2, "{pages_read} pages");
    assert!(store.messages_naming(&subject, None, 0).await.is_err());
    assert!(store
        .messages_naming(&subject, None, ERASURE_BATCH + 1)
        .await
        .is_err());

    store
        .enqueue_event(
            "default",
            envelope(A, "e1", json!({"fbMessengerId": PSID})),
            T0,
        )
        .await
        .unwrap();
    store
        .enqueue_event(
            "default",
            envelope(A, "e2", json!({"fbMessengerId": "other"})),
            T0,
        )
        .await
        .unwrap();
    let events = store.events_naming(&subject, None, 10).await.unwrap();
    let ids: Vec<&str> = events
        .items
        .iter()
        .map(|e| e.envelope.event_id.as_str())
        .collect();
    assert_eq!(ids, ["e1"]);
    assert_eq!(events.next, None);
}
