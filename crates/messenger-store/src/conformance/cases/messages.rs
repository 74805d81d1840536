//! Accepting messages, idempotency, status changes, traces, Graph ids and watermarks.

use std::sync::Arc;

use messenger_model::{
    Channel, MessageError, MessageStatus, RuleCause, RuleOutcome, RuleTraceEntry, SendRequest, To,
};
use serde_json::json;

use crate::conformance::{at, message, T0};
use crate::{
    InsertOutcome, MessengerRecipient, NewMessage, Settlement, StatusUpdate, Store, StoreError,
};

const A: &str = "space-a";

fn statuses(m: &crate::MessageRecord) -> Vec<MessageStatus> {
    m.status_history.iter().map(|c| c.status).collect()
}

/// An accepted message reads back whole: `processing`, one history entry, no lease.
pub async fn message_insert_and_get(store: Arc<dyn Store>) {
    let mut req = SendRequest::new(To::profile("alice"))
        .body("Your order has shipped")
        .rules([Channel::FbMessenger, Channel::Sms]);
    req.metadata = Some(json!({"order": 42, "nested": {"a": [1, "two"]}}));
    req.conversation_id = Some("conv-1".into());
    let mut new = NewMessage::new(A, "profile:alice", req.clone(), T0);
    new.not_before = at(5);
    let id = new.id.clone();
    assert_eq!(
        store.insert_message(new.clone()).await.unwrap(),
        InsertOutcome::Inserted { id: id.clone() }
    );

    let got = store.get_message(A, &id).await.unwrap().unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.space, A);
    assert_eq!(got.recipient_key, "profile:alice");
    assert_eq!(got.request, req);
    assert_eq!(got.status, MessageStatus::Processing);
    assert_eq!(statuses(&got), [MessageStatus::Processing]);
    assert_eq!(got.status_history[0].at, T0);
    assert_eq!(got.created_at, T0);
    assert_eq!(got.next_attempt_at, at(5));
    assert_eq!(got.attempts, 0);
    assert_eq!(got.lease, None);
    assert_eq!(got.idempotency, None);
    assert_eq!(got.sent_at, None);
    assert_eq!(got, new.clone().into_record());
    let resource = got.to_resource();
    assert_eq!(resource.metadata, req.metadata);
    assert_eq!(resource.conversation_id.as_deref(), Some("conv-1"));

    assert_eq!(store.get_message(A, "no-such-id").await.unwrap(), None);
    let err = store.insert_message(new).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let mut bad = message(A, "r", "x");
    bad.space = String::new();
    let err = store.insert_message(bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
}

/// A second insert with the same idempotency key returns the first message and its hash.
pub async fn message_idempotency_returns_first(store: Arc<dyn Store>) {
    let first = message(A, "psid:1", "first").idempotency("key-1", "hash-1");
    let first_id = first.id.clone();
    store.insert_message(first).await.unwrap();

    let second = message(A, "psid:1", "second").idempotency("key-1", "hash-2");
    let second_id = second.id.clone();
    match store.insert_message(second).await.unwrap() {
        InsertOutcome::Existing(existing) => {
            assert_eq!(existing.id, first_id);
            assert_eq!(existing.request.body.as_deref(), Some("first"));
            let key = existing.idempotency.unwrap();
            assert_eq!(
                (key.key.as_str(), key.request_hash.as_str()),
                ("key-1", "hash-1")
            );
        }
        other => panic!("expected the first message, got {other:?}"),
    }
    assert_eq!(store.get_message(A, &second_id).await.unwrap(), None);
    let found = store.find_by_idempotency_key(A, "key-1").await.unwrap();
    assert_eq!(found.map(|m| m.id), Some(first_id.clone()));
    assert_eq!(
        store.find_by_idempotency_key(A, "key-9").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_by_idempotency_key("other-space", "key-1")
            .await
            .unwrap(),
        None
    );

    let other_key = message(A, "psid:1", "third").idempotency("key-2", "hash-1");
    assert!(matches!(
        store.insert_message(other_key).await.unwrap(),
        InsertOutcome::Inserted { .. }
    ));
}

/// A batch is stored in one go; outcomes are in order; keys are honoured inside the batch too.
pub async fn message_batch_insert(store: Arc<dyn Store>) {
    let before = message(A, "psid:0", "before").idempotency("used", "h");
    let before_id = before.id.clone();
    store.insert_message(before).await.unwrap();

    let mut batch: Vec<NewMessage> = (0..100)
        .map(|i| message(A, &format!("psid:{}", i % 7), &format!("m{i}")))
        .collect();
    batch[10] = batch[10].clone().idempotency("dup", "h10");
    batch[20] = batch[20].clone().idempotency("dup", "h20");
    batch[30] = batch[30].clone().idempotency("used", "h30");
    let ids: Vec<String> = batch.iter().map(|m| m.id.clone()).collect();
    let outcomes = store.insert_messages(batch).await.unwrap();
    assert_eq!(outcomes.len(), 100);
    for (i, outcome) in outcomes.iter().enumerate() {
        match i {
            20 => assert_eq!(outcome.id(), ids[10]),
            30 => assert_eq!(outcome.id(), before_id),
            _ => assert_eq!(outcome, &InsertOutcome::Inserted { id: ids[i].clone() }),
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let got = store.get_message(A, id).await.unwrap();
        assert_eq!(got.is_some(), i != 20 && i != 30, "message {i}");
        if let Some(m) = got {
            assert_eq!(m.request.body, Some(format!("m{i}")));
        }
    }
    assert_eq!(store.insert_messages(Vec::new()).await.unwrap(), []);
}

/// A batch that cannot be stored whole stores nothing.
pub async fn message_batch_is_atomic(store: Arc<dyn Store>) {
    let existing = message(A, "psid:1", "existing");
    store.insert_message(existing.clone()).await.unwrap();
    let mut batch: Vec<NewMessage> = (0..10)
        .map(|i| message(A, "psid:2", &format!("m{i}")).idempotency(format!("k{i}"), "h"))
        .collect();
    let mut clash = existing.clone();
    clash.request = SendRequest::new(To::profile("x")).body("clash");
    batch.push(clash);
    let ids: Vec<String> = batch[..10].iter().map(|m| m.id.clone()).collect();
    let err = store.insert_messages(batch).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    for id in &ids {
        assert_eq!(store.get_message(A, id).await.unwrap(), None);
    }
    // The keys were not taken either.
    let retry = message(A, "psid:2", "retry").idempotency("k0", "h");
    assert!(matches!(
        store.insert_message(retry).await.unwrap(),
        InsertOutcome::Inserted { .. }
    ));
    let got = store.get_message(A, &existing.id).await.unwrap().unwrap();
    assert_eq!(got.request.body.as_deref(), Some("existing"));
}

/// Status changes are recorded with their time and never move backwards.
pub async fn message_status_never_moves_backwards(store: Arc<dyn Store>) {
    let m = message(A, "psid:1", "hi");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let change = |status, secs| StatusUpdate::new(status, at(secs));

    let sent = change(MessageStatus::Sent, 1)
        .channel(Channel::FbMessenger)
        .sent_to("page-1", "psid-1")
        .reason("graph accepted");
    let out = store.update_status(A, &id, sent).await.unwrap();
    assert!(out.applied);
    assert_eq!(out.message.status, MessageStatus::Sent);
    assert_eq!(out.message.sent_at, Some(at(1)));
    assert_eq!(out.message.channel, Some(Channel::FbMessenger));
    assert_eq!(
        out.message.sent_to,
        Some(MessengerRecipient::new("page-1", "psid-1"))
    );
    assert_eq!(out.message.revision(), 2);

    let steps = [
        (MessageStatus::Delivered, 2, true),
        (MessageStatus::Sent, 3, false),
        (MessageStatus::Processing, 3, false),
        (MessageStatus::Read, 4, true),
        (MessageStatus::Delivered, 5, false),
        (MessageStatus::Failed, 6, false),
    ];
    for (status, secs, applied) in steps {
        let out = store
            .update_status(A, &id, change(status, secs))
            .await
            .unwrap();
        assert_eq!(out.applied, applied, "{status} at {secs}s");
    }
    let got = store.get_message(A, &id).await.unwrap().unwrap();
    assert_eq!(got.status, MessageStatus::Read);
    use MessageStatus::*;
    assert_eq!(statuses(&got), [Processing, Sent, Delivered, Read]);
    let times: Vec<_> = got.status_history.iter().map(|c| c.at).collect();
    assert_eq!(times, [T0, at(1), at(2), at(4)]);
    assert_eq!(
        got.status_history[1].reason.as_deref(),
        Some("graph accepted")
    );
    assert_eq!(got.sent_at, Some(at(1)));

    let failing = message(A, "psid:2", "no way");
    let fid = failing.id.clone();
    store.insert_message(failing).await.unwrap();
    let error = MessageError {
        code: "graph.user_unavailable".into(),
        message: "This person isn't available right now.".into(),
    };
    let out = store
        .update_status(A, &fid, change(Failed, 1).error(error.clone()))
        .await
        .unwrap();
    assert!(out.applied);
    let out = store.update_status(A, &fid, change(Sent, 2)).await.unwrap();
    assert!(!out.applied);
    assert_eq!(out.message.status, Failed);
    assert_eq!(out.message.error, Some(error));
    assert_eq!(out.message.sent_at, None);

    let err = store
        .update_status(A, "no-such-id", change(Sent, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// The rule trace and Graph message ids are kept in order; messages are found by Graph id.
pub async fn message_trace_and_graph_ids(store: Arc<dyn Store>) {
    let m = message(A, "psid:1", "hi");
    let id = m.id.clone();
    store.insert_message(m).await.unwrap();
    let entry = |channel, outcome, cause, detail: &str, secs| {
        RuleTraceEntry::new(channel, outcome, cause, detail, at(secs))
    };
    let first = vec![
        entry(
            Channel::FbMessenger,
            RuleOutcome::Skipped,
            RuleCause::WindowClosed,
            "24-hour window closed",
            1,
        ),
        entry(
            Channel::Sms,
            RuleOutcome::Failed,
            RuleCause::RecipientError,
            "provider refused",
            2,
        ),
    ];
    store
        .append_rule_trace(A, &id, first.clone())
        .await
        .unwrap();
    let last = entry(
        Channel::FbMessenger,
        RuleOutcome::Used,
        RuleCause::Sent,
        "",
        3,
    );
    store
        .append_rule_trace(A, &id, vec![last.clone()])
        .await
        .unwrap();

    for mid in ["mid.1", "mid.2", "mid.1"] {
        store.add_graph_message_id(A, &id, mid).await.unwrap();
    }
    let got = store.get_message(A, &id).await.unwrap().unwrap();
    let mut trace = first;
    trace.push(last);
    assert_eq!(got.rule_trace, trace);
    assert_eq!(got.graph_message_ids, ["mid.1", "mid.2"]);
    assert_eq!(got.to_resource().graph_message_ids, ["mid.1", "mid.2"]);

    let by_mid = store.find_by_graph_message_id(A, "mid.2").await.unwrap();
    assert_eq!(by_mid.map(|m| m.id), Some(id.clone()));
    assert_eq!(
        store.find_by_graph_message_id(A, "mid.x").await.unwrap(),
        None
    );

    let other = message(A, "psid:2", "other");
    let other_id = other.id.clone();
    store.insert_message(other).await.unwrap();
    let err = store
        .add_graph_message_id(A, &other_id, "mid.1")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let err = store
        .append_rule_trace(A, "no-such-id", Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store
        .add_graph_message_id(A, "no-such-id", "mid.9")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// A receipt watermark moves every message sent to that user up to it, and only those.
pub async fn message_watermarks(store: Arc<dyn Store>) {
    let user = MessengerRecipient::new("page-1", "psid-1");
    let mut ids = Vec::new();
    // a, b, c to the user sent at 1 s, 2 s, 3 s; d to someone else at 1 s; e unsent.
    for (body, psid, sent_secs) in [
        ("a", "psid-1", Some(1)),
        ("b", "psid-1", Some(2)),
        ("c", "psid-1", Some(3)),
        ("d", "psid-2", Some(1)),
        ("e", "psid-1", None),
    ] {
        let m = message(A, &format!("psid:{psid}"), body);
        ids.push(m.id.clone());
        store.insert_message(m.clone()).await.unwrap();
        if let Some(secs) = sent_secs {
            let sent = StatusUpdate::new(MessageStatus::Sent, at(secs)).sent_to("page-1", psid);
            assert!(store.update_status(A, &m.id, sent).await.unwrap().applied);
        }
    }
    let changed_ids =
        |v: Vec<crate::MessageRecord>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();

    let delivered = store
        .apply_watermark(A, &user, MessageStatus::Delivered, at(2), at(10))
        .await
        .unwrap();
    assert!(delivered
        .iter()
        .all(|m| m.status == MessageStatus::Delivered));
    assert_eq!(changed_ids(delivered), [ids[0].clone(), ids[1].clone()]);
    let a = store.get_message(A, &ids[0]).await.unwrap().unwrap();
    assert_eq!(a.status, MessageStatus::Delivered);
    assert_eq!(a.status_history.last().map(|c| c.at), Some(at(10)));
    let status_of = |i: usize| {
        let store = store.clone();
        let id = ids[i].clone();
        async move { store.get_message(A, &id).await.unwrap().unwrap().status }
    };
    assert_eq!(status_of(2).await, MessageStatus::Sent);
    assert_eq!(status_of(3).await, MessageStatus::Sent);
    assert_eq!(status_of(4).await, MessageStatus::Processing);

    let read = store
        .apply_watermark(A, &user, MessageStatus::Read, at(3), at(11))
        .await
        .unwrap();
    assert_eq!(
        changed_ids(read),
        [ids[0].clone(), ids[1].clone(), ids[2].clone()]
    );
    let late = store
        .apply_watermark(A, &user, MessageStatus::Delivered, at(3), at(12))
        .await
        .unwrap();
    assert!(late.is_empty());
    assert_eq!(status_of(0).await, MessageStatus::Read);
    assert_eq!(status_of(3).await, MessageStatus::Sent);
    let other_space = store
        .apply_watermark("space-b", &user, MessageStatus::Read, at(9), at(12))
        .await
        .unwrap();
    assert!(other_space.is_empty());

    let err = store
        .apply_watermark(A, &user, MessageStatus::Sent, at(3), at(12))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
}

/// Settling records Graph ids, trace and status together, like the three operations would.
pub async fn message_settle_records_everything(store: Arc<dyn Store>) {
    assert_eq!(store.settle_messages(Vec::new()).await.unwrap(), []);
    let (one, two) = (message(A, "psid:1", "one"), message(A, "psid:2", "two"));
    let (id1, id2) = (one.id.clone(), two.id.clone());
    store.insert_messages(vec![one, two]).await.unwrap();
    let leased = store
        .lease_due("w1", at(1), 10, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(leased.len(), 2);
    let entry = |outcome, cause, detail: &str| {
        RuleTraceEntry::new(Channel::FbMessenger, outcome, cause, detail, at(2))
    };
    let error = MessageError {
        code: "graph.invalid_recipient".into(),
        message: "no such user".into(),
    };
    let outcomes = store
        .settle_messages(vec![
            Settlement::new(
                A,
                &id1,
                StatusUpdate::new(MessageStatus::Sent, at(2))
                    .channel(Channel::FbMessenger)
                    .sent_to("PAGE", "1"),
            )
            .graph_message_ids(["mid.s1", "mid.s2"])
            .rule_trace(vec![entry(RuleOutcome::Used, RuleCause::Sent, "2 sends")]),
            Settlement::new(
                A,
                &id2,
                StatusUpdate::new(MessageStatus::Failed, at(2)).error(error.clone()),
            )
            .rule_trace(vec![entry(
                RuleOutcome::Failed,
                RuleCause::RecipientError,
                "no such user",
            )]),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(|o| o.applied));
    assert_eq!(outcomes[0].message.id, id1);
    assert_eq!(outcomes[1].message.id, id2);

    let sent = store.get_message(A, &id1).await.unwrap().unwrap();
    assert_eq!(sent, outcomes[0].message);
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.graph_message_ids, ["mid.s1", "mid.s2"]);
    assert_eq!(
        sent.rule_trace,
        [entry(RuleOutcome::Used, RuleCause::Sent, "2 sends")]
    );
    assert_eq!(sent.sent_at, Some(at(2)));
    assert_eq!(sent.channel, Some(Channel::FbMessenger));
    assert_eq!(sent.lease, None);
    let by_mid = store.find_by_graph_message_id(A, "mid.s2").await.unwrap();
    assert_eq!(by_mid.map(|m| m.id), Some(id1.clone()));
    let failed = store.get_message(A, &id2).await.unwrap().unwrap();
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.error, Some(error));
    assert_eq!(failed.lease, None);
    assert_eq!(
        statuses(&failed),
        [MessageStatus::Processing, MessageStatus::Failed]
    );

    // A status that may not follow is not applied; the ids and the trace are still recorded.
    let again = store
        .settle_messages(vec![Settlement::new(
            A,
            &id1,
            StatusUpdate::new(MessageStatus::Processing, at(3)),
        )
        .graph_message_ids(["mid.s2", "mid.s3"])
        .rule_trace(vec![entry(
            RuleOutcome::Skipped,
            RuleCause::NoAddress,
            "late",
        )])])
        .await
        .unwrap();
    assert!(!again[0].applied);
    let got = store.get_message(A, &id1).await.unwrap().unwrap();
    assert_eq!(got.status, MessageStatus::Sent);
    assert_eq!(got.graph_message_ids, ["mid.s1", "mid.s2", "mid.s3"]);
    assert_eq!(got.rule_trace.len(), 2);

    let err = store
        .settle_messages(vec![Settlement::new(
            A,
            "no-such-id",
            StatusUpdate::new(MessageStatus::Sent, at(4)),
        )])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = store
        .settle_messages(vec![Settlement::new(
            A,
            &id2,
            StatusUpdate::new(MessageStatus::Failed, at(4)),
        )
        .graph_message_ids(["mid.s1"])])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // One Graph id for two messages of one call is a conflict; twice for one message is not.
    let (three, four) = (message(A, "psid:3", "three"), message(A, "psid:4", "four"));
    let (id3, id4) = (three.id.clone(), four.id.clone());
    store.insert_messages(vec![three, four]).await.unwrap();
    let sent = |id: &str, mid: &str| {
        Settlement::new(A, id, StatusUpdate::new(MessageStatus::Sent, at(5)))
            .graph_message_ids([mid, mid])
    };
    let err = store
        .settle_messages(vec![sent(&id3, "mid.dup"), sent(&id4, "mid.dup")])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let done = store
        .settle_messages(vec![sent(&id4, "mid.four")])
        .await
        .unwrap();
    assert_eq!(done[0].message.graph_message_ids, ["mid.four"]);
    // Another space does not see the message.
    let err = store
        .settle_messages(vec![Settlement::new(
            "space-b",
            &id1,
            StatusUpdate::new(MessageStatus::Read, at(4)),
        )])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}
