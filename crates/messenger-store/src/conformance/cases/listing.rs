//! Listing a space's messages newest first, filtered, by keyset cursor.

use std::sync::Arc;

use messenger_model::{Channel, MessageStatus};

use crate::conformance::{at, message};
use crate::{MessagePosition, MessageQuery, MessageRecord, StatusUpdate, Store};

const A: &str = "space-a";
const B: &str = "space-b";

/// Stores a message of `space` with id `id`, recipient `key`, accepted at `at(secs)`.
async fn put(store: &Arc<dyn Store>, space: &str, id: &str, key: &str, secs: i64) {
    let mut m = message(space, key, id);
    m.id = id.to_owned();
    m.accepted_at = at(secs);
    m.not_before = at(secs);
    store.insert_message(m).await.unwrap();
}

fn ids(found: &[MessageRecord]) -> Vec<&str> {
    found.iter().map(|m| m.id.as_str()).collect()
}

/// Reads every page of `query` with pages of `limit`, following the cursor.
async fn all_pages(store: &Arc<dyn Store>, space: &str, query: &MessageQuery) -> Vec<String> {
    let mut q = query.clone();
    let mut seen = Vec::new();
    loop {
        let page = store.list_messages(space, &q).await.unwrap();
        assert!(page.len() <= q.effective_limit());
        seen.extend(page.iter().map(|m| m.id.clone()));
        match page.last() {
            Some(last) if page.len() == q.effective_limit() => {
                q.after = Some(MessagePosition::of(last))
            }
            _ => return seen,
        }
    }
}

/// Newest first by `(created_at, id)`, every filter, cursor pages that add up to the whole
/// list, and nothing of another space.
pub async fn message_listing_newest_first(store: Arc<dyn Store>) {
    put(&store, A, "m-1", "profile:alice", 1).await;
    put(&store, A, "m-2", "fb:42", 2).await;
    // Two messages accepted in the same millisecond: the larger id comes first.
    put(&store, A, "m-3a", "profile:alice", 3).await;
    put(&store, A, "m-3b", "tel:447700900123", 3).await;
    put(&store, A, "m-4", "profile:alice", 4).await;
    put(&store, B, "b-1", "profile:alice", 5).await;
    let sent = StatusUpdate::new(MessageStatus::Sent, at(10)).channel(Channel::FbMessenger);
    store.update_status(A, "m-1", sent).await.unwrap();
    let sms = StatusUpdate::new(MessageStatus::Sent, at(10)).channel(Channel::Sms);
    store.update_status(A, "m-3b", sms).await.unwrap();
    let failed = StatusUpdate::new(MessageStatus::Failed, at(10));
    store.update_status(A, "m-2", failed).await.unwrap();

    let all = store
        .list_messages(A, &MessageQuery::default())
        .await
        .unwrap();
    assert_eq!(ids(&all), ["m-4", "m-3b", "m-3a", "m-2", "m-1"]);
    assert_eq!(all[4].status, MessageStatus::Sent, "records are whole");
    for limit in 1..=5 {
        let q = MessageQuery {
            limit,
            ..MessageQuery::default()
        };
        assert_eq!(
            all_pages(&store, A, &q).await,
            ids(&all),
            "pages of {limit}"
        );
    }

    let list = |q: MessageQuery| {
        let store = Arc::clone(&store);
        async move {
            let found = store.list_messages(A, &q).await.unwrap();
            found.into_iter().map(|m| m.id).collect::<Vec<_>>()
        }
    };
    let by_status = MessageQuery {
        status: Some(MessageStatus::Sent),
        ..MessageQuery::default()
    };
    assert_eq!(list(by_status).await, ["m-3b", "m-1"]);
    let by_channel = MessageQuery {
        channel: Some(Channel::Sms),
        ..MessageQuery::default()
    };
    assert_eq!(list(by_channel).await, ["m-3b"]);
    let by_recipient = MessageQuery {
        recipient_key: Some("profile:alice".into()),
        ..MessageQuery::default()
    };
    assert_eq!(list(by_recipient).await, ["m-4", "m-3a", "m-1"]);
    let window = MessageQuery {
        since: Some(at(2)),
        until: Some(at(4)),
        ..MessageQuery::default()
    };
    assert_eq!(list(window).await, ["m-3b", "m-3a", "m-2"]);
    let combined = MessageQuery {
        recipient_key: Some("profile:alice".into()),
        since: Some(at(2)),
        limit: 1,
        ..MessageQuery::default()
    };
    assert_eq!(
        all_pages(&store, A, &combined).await,
        ["m-4", "m-3a"],
        "filters hold across pages"
    );
    let none = MessageQuery {
        status: Some(MessageStatus::Read),
        ..MessageQuery::default()
    };
    assert!(list(none).await.is_empty());

    let other = store
        .list_messages(B, &MessageQuery::default())
        .await
        .unwrap();
    assert_eq!(ids(&other), ["b-1"]);
    let nobody = store
        .list_messages("space-c", &MessageQuery::default())
        .await
        .unwrap();
    assert!(nobody.is_empty(), "no other space's messages");
    // A cursor naming another space's message positions only; it reveals nothing.
    let foreign = MessageQuery {
        after: Some(MessagePosition::of(&other[0])),
        ..MessageQuery::default()
    };
    assert_eq!(list(foreign).await, ids(&all));
}

/// Messages accepted while a client pages never shift or repeat the pages after its cursor.
pub async fn message_listing_stable_under_inserts(store: Arc<dyn Store>) {
    for i in 0..10 {
        put(&store, A, &format!("m-{i:02}"), "profile:alice", i).await;
    }
    let q = MessageQuery {
        limit: 4,
        ..MessageQuery::default()
    };
    let first = store.list_messages(A, &q).await.unwrap();
    assert_eq!(ids(&first), ["m-09", "m-08", "m-07", "m-06"]);
    let next = MessageQuery {
        after: Some(MessagePosition::of(&first[3])),
        ..q.clone()
    };
    let second_before = store.list_messages(A, &next).await.unwrap();
    // Newer messages, one of them in the same millisecond as the cursor with a larger id.
    for i in 10..15 {
        put(&store, A, &format!("m-{i:02}"), "profile:alice", i).await;
    }
    put(&store, A, "m-06z", "profile:alice", 6).await;
    let second_after = store.list_messages(A, &next).await.unwrap();
    assert_eq!(ids(&second_after), ids(&second_before));
    assert_eq!(ids(&second_after), ["m-05", "m-04", "m-03", "m-02"]);
    let third = MessageQuery {
        after: Some(MessagePosition::of(&second_after[3])),
        ..q
    };
    assert_eq!(
        ids(&store.list_messages(A, &third).await.unwrap()),
        ["m-01", "m-00"]
    );
    let fresh = store
        .list_messages(A, &MessageQuery::default())
        .await
        .unwrap();
    assert_eq!(fresh.len(), 16);
    assert_eq!(ids(&fresh)[..3], ["m-14", "m-13", "m-12"]);
}
