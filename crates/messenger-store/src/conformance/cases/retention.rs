//! Retention: content redacted after its time, rows purged after theirs, in bounded batches.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{
    Channel, EventEnvelope, EventName, MessageError, MessageStatus, SendRequest, To,
};
use serde_json::json;

use crate::conformance::{at, T0};
use crate::{
    EventFailure, InsertOutcome, NewMessage, QuarantinedEvent, Settlement, SpaceScope,
    StatusUpdate, Store, StoreTable, REDACTED,
};

const A: &str = "space-a";
const B: &str = "space-b";

/// A Messenger message to `psid` in `space` with a body, metadata and an idempotency key.
async fn accepted(store: &Arc<dyn Store>, space: &str, psid: &str) -> String {
    let req = SendRequest::new(To::fb_messenger_id(psid).with_phone_number("+447700900123"))
        .body(format!("secret body for {psid}"))
        .rules([Channel::FbMessenger, Channel::Sms]);
    let mut req = req;
    req.metadata = Some(json!({"order": psid}));
    let m = NewMessage::new(space, format!("psid:{psid}"), req, T0)
        .idempotency(format!("key-{psid}"), "hash");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    id
}

/// Records `id` sent on Messenger at `secs` with Graph id `m_<id>`.
async fn sent(store: &Arc<dyn Store>, space: &str, id: &str, psid: &str, secs: i64) {
    let update = StatusUpdate::new(MessageStatus::Sent, at(secs))
        .channel(Channel::FbMessenger)
        .sent_to("page-1", psid);
    let settled = Settlement::new(space, id, update).graph_message_ids([format!("m_{id}")]);
    store.settle_messages(vec![settled]).await.unwrap();
}

async fn status(store: &Arc<dyn Store>, space: &str, id: &str, status: MessageStatus, secs: i64) {
    let mut update = StatusUpdate::new(status, at(secs));
    if status == MessageStatus::Failed {
        update = update.reason("Graph said: (#100) +447700900123 cannot be reached");
        update = update.error(MessageError {
            code: "graph.user_unavailable".into(),
            message: "Graph said: user +447700900123 unavailable".into(),
        });
    }
    assert!(
        store
            .update_status(space, id, update)
            .await
            .unwrap()
            .applied
    );
}

/// Content is redacted the longest settled first, in batches of the limit, only in the scope,
/// only once the message left the queue; the row keeps its id, statuses, rule trace, Graph ids,
/// channel, error code and times, and a receipt still finds it by its Graph id.
pub async fn retention_redacts_content_keeps_statuses(store: Arc<dyn Store>) {
    let read = accepted(&store, A, "1").await;
    sent(&store, A, &read, "1", 10).await;
    status(&store, A, &read, MessageStatus::Read, 20).await;
    let failed = accepted(&store, A, "2").await;
    status(&store, A, &failed, MessageStatus::Failed, 5).await;
    let recent = accepted(&store, A, "3").await;
    sent(&store, A, &recent, "3", 100).await;
    let unsent = accepted(&store, A, "4").await;
    let other = accepted(&store, B, "5").await;
    sent(&store, B, &other, "5", 10).await;

    let scope = SpaceScope::Except(vec![B.into()]);
    let before = at(50);
    let now = at(1_000);
    assert_eq!(
        store.redact_messages(&scope, before, now, 1).await.unwrap(),
        1
    );
    let f = store.get_message(A, &failed).await.unwrap().unwrap();
    assert_eq!(f.redacted_at, Some(now), "the longest settled goes first");
    assert!(store
        .get_message(A, &read)
        .await
        .unwrap()
        .unwrap()
        .redacted_at
        .is_none());
    assert_eq!(
        store
            .redact_messages(&scope, before, now, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .redact_messages(&scope, before, now, 10)
            .await
            .unwrap(),
        0
    );

    let r = store.get_message(A, &read).await.unwrap().unwrap();
    assert_eq!(r.redacted_at, Some(now));
    assert_eq!(r.request.body, None);
    assert_eq!(r.request.to, To::default());
    assert_eq!(r.request.metadata, None);
    assert_eq!(r.request.rules, [Channel::FbMessenger, Channel::Sms]);
    assert_eq!(r.recipient_key, REDACTED);
    assert_eq!(r.sent_to, None);
    assert_eq!(r.status, MessageStatus::Read);
    let statuses: Vec<_> = r.status_history.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [
            MessageStatus::Processing,
            MessageStatus::Sent,
            MessageStatus::Read
        ]
    );
    assert_eq!(r.graph_message_ids, [format!("m_{read}")]);
    assert_eq!(r.channel, Some(Channel::FbMessenger));
    assert_eq!(r.created_at, T0);
    assert_eq!(r.sent_at, Some(at(10)));
    let resource = r.to_resource();
    assert!(resource.redacted);
    assert_eq!(resource.metadata, None);
    let found = store
        .find_by_graph_message_id(A, &format!("m_{read}"))
        .await;
    assert_eq!(found.unwrap().map(|m| m.id), Some(read.clone()));

    let f = store.get_message(A, &failed).await.unwrap().unwrap();
    assert_eq!(f.status, MessageStatus::Failed);
    assert!(
        f.status_history.iter().all(|c| c.reason.is_none()),
        "reasons removed: {:?}",
        f.status_history
    );
    let error = f.error.expect("the error stays");
    assert_eq!(error.code, "graph.user_unavailable");
    assert_eq!(error.message, REDACTED);

    for (space, id) in [(A, &recent), (A, &unsent), (B, &other)] {
        let m = store.get_message(space, id).await.unwrap().unwrap();
        assert!(m.redacted_at.is_none(), "{id} is outside the retention");
        assert!(m.request.body.is_some());
        assert!(!m.to_resource().redacted);
    }
    let only_b = SpaceScope::Only(B.into());
    assert_eq!(
        store
            .redact_messages(&only_b, before, now, 10)
            .await
            .unwrap(),
        1
    );
    assert!(store.redact_messages(&scope, before, now, 0).await.is_err());
}

/// Rows go after their own retention (with their Graph ids; unsent messages never), and a
/// forgotten idempotency key lets the same key make a new message.
pub async fn retention_purges_messages_and_keys(store: Arc<dyn Store>) {
    let old = accepted(&store, A, "1").await;
    sent(&store, A, &old, "1", 10).await;
    let newer = accepted(&store, A, "2").await;
    sent(&store, A, &newer, "2", 100).await;
    let unsent = accepted(&store, A, "3").await;
    let other = accepted(&store, B, "4").await;
    sent(&store, B, &other, "4", 10).await;

    let scope = SpaceScope::Only(A.into());
    assert_eq!(store.purge_messages(&scope, at(50), 10).await.unwrap(), 1);
    assert!(store.get_message(A, &old).await.unwrap().is_none());
    let mid = format!("m_{old}");
    assert!(store
        .find_by_graph_message_id(A, &mid)
        .await
        .unwrap()
        .is_none());
    for (space, id) in [(A, &newer), (A, &unsent), (B, &other)] {
        assert!(
            store.get_message(space, id).await.unwrap().is_some(),
            "{id} kept"
        );
    }
    assert_eq!(store.purge_messages(&scope, at(50), 10).await.unwrap(), 0);

    // Keys: the message stays, its key goes; the same key then stores a new message.
    let all = SpaceScope::Except(Vec::new());
    assert_eq!(
        store.forget_idempotency_keys(&all, T0, 10).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .forget_idempotency_keys(&scope, at(1), 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .forget_idempotency_keys(&scope, at(1), 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .forget_idempotency_keys(&scope, at(1), 10)
            .await
            .unwrap(),
        0
    );
    let kept = store.get_message(A, &newer).await.unwrap().unwrap();
    assert_eq!(kept.idempotency, None);
    let again = NewMessage::new(
        A,
        "psid:2",
        SendRequest::new(To::fb_messenger_id("2")),
        at(2),
    )
    .idempotency("key-2", "hash");
    let outcome = store.insert_message(again).await.unwrap();
    assert!(
        matches!(outcome, InsertOutcome::Inserted { .. }),
        "{outcome:?}"
    );
    let b = store.get_message(B, &other).await.unwrap().unwrap();
    assert!(b.idempotency.is_some(), "another space keeps its keys");
}

fn envelope(event_id: &str, space: &str) -> EventEnvelope {
    EventEnvelope {
        event_id: event_id.into(),
        api_space_id: space.into(),
        name: EventName::MessageFailed,
        payload: json!({"messageId": "m-1"}),
        revision: 2,
        timestamp: T0,
    }
}

/// Dead events, quarantined bodies and last-inbound times go after their retention, in
/// batches; `oldest_rows` names each table with rows and its oldest time.
pub async fn retention_purges_dead_quarantine_inbound(store: Arc<dyn Store>) {
    for (id, space, secs) in [("e1", A, 1), ("e2", A, 2), ("e3", B, 1), ("e4", A, 100)] {
        store
            .enqueue_event("default", envelope(id, space), at(secs))
            .await
            .unwrap();
    }
    let leased = store
        .lease_due_events("w", at(200), 10, Duration::from_secs(30))
        .await
        .unwrap();
    for e in leased.iter().filter(|e| e.envelope.event_id != "e2") {
        assert!(store
            .mark_failed(e.id, "w", "HTTP 500", EventFailure::Dead)
            .await
            .unwrap());
    }
    let scope = SpaceScope::Except(vec![B.into()]);
    // e2 is pending and e4 too recent: only e1 goes.
    assert_eq!(
        store.purge_dead_events(&scope, at(50), 10).await.unwrap(),
        1
    );
    let dead: Vec<_> = store.list_dead(A, 10).await.unwrap();
    let ids: Vec<&str> = dead.iter().map(|e| e.envelope.event_id.as_str()).collect();
    assert_eq!(ids, ["e4"]);
    assert_eq!(store.list_dead(B, 10).await.unwrap().len(), 1);

    let q = |key: &str, secs: i64| QuarantinedEvent {
        key: key.into(),
        reason: "unknown event kind".into(),
        page_id: None,
        raw: b"{}".to_vec(),
        received_at: at(secs),
        quarantined_at: at(secs),
    };
    store
        .quarantine(vec![q("q1", 1), q("q2", 2), q("q3", 100)])
        .await
        .unwrap();
    assert_eq!(store.purge_quarantined(at(50), 1).await.unwrap(), 1);
    assert_eq!(store.purge_quarantined(at(50), 10).await.unwrap(), 1);
    let left: Vec<_> = store.list_quarantined(10).await.unwrap();
    assert_eq!(
        left.iter().map(|q| q.key.as_str()).collect::<Vec<_>>(),
        ["q3"]
    );

    store.record_inbound(A, "page-1", "1", at(1)).await.unwrap();
    store
        .record_inbound(A, "page-1", "2", at(100))
        .await
        .unwrap();
    assert_eq!(store.purge_inbound_window(at(50), 10).await.unwrap(), 1);
    assert_eq!(store.last_inbound(A, "page-1", "1").await.unwrap(), None);
    assert_eq!(
        store.last_inbound(A, "page-1", "2").await.unwrap(),
        Some(at(100))
    );

    let oldest = store.oldest_rows().await.unwrap();
    let find = |t: StoreTable| {
        oldest
            .iter()
            .find(|(table, _)| *table == t)
            .map(|(_, at)| *at)
    };
    assert_eq!(
        find(StoreTable::Outbox),
        Some(at(2)),
        "the first enqueued left: e2"
    );
    assert_eq!(find(StoreTable::WebhookQuarantine), Some(at(100)));
    assert_eq!(find(StoreTable::InboundWindow), Some(at(100)));
    assert_eq!(find(StoreTable::Messages), None, "no messages");
    let order: Vec<StoreTable> = oldest.iter().map(|(t, _)| *t).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|t| StoreTable::ALL.iter().position(|a| a == t));
    assert_eq!(order, sorted, "in StoreTable::ALL order");
}
