//! Two gateway instances purging one PostgreSQL at once: every expired message is redacted by
//! exactly one of them and deleted by exactly one of them, with nobody waiting on the other's
//! batch (`FOR UPDATE SKIP LOCKED`), and a message still in the queue is never touched.

use messenger_model::{Channel, MessageStatus, SendRequest, Timestamp, To};
use messenger_store::{
    DispatchQueue, MessageStore, NewMessage, Retention, Settlement, SpaceScope, StatusUpdate,
};
use messenger_store_sql::{PostgresStore, SqlOptions};

use crate::support::postgres::{in_schema, store_in_fresh_schema};

const SPACE: &str = "space-purge";
const THEN: Timestamp = Timestamp::from_millis(1_767_225_600_000);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Stores `n` messages settled `sent` at `THEN`, and one still unsent; returns the unsent id.
async fn expired(store: &PostgresStore, n: usize) -> String {
    let mut done = 0;
    while done < n {
        let size = 500.min(n - done);
        let messages: Vec<NewMessage> = (done..done + size)
            .map(|i| {
                let req = SendRequest::new(To::fb_messenger_id(format!("psid-{i}"))).body("hi");
                NewMessage::new(SPACE, format!("psid:{i}"), req, THEN)
            })
            .collect();
        let settlements = messages
            .iter()
            .map(|m| {
                let sent = StatusUpdate::new(MessageStatus::Sent, THEN)
                    .channel(Channel::FbMessenger)
                    .sent_to("page-1", m.recipient_key.trim_start_matches("psid:"));
                Settlement::new(SPACE, &m.id, sent).graph_message_ids([format!("m_{}", m.id)])
            })
            .collect();
        store.insert_messages(messages).await.expect("insert");
        store.settle_messages(settlements).await.expect("settle");
        done += size;
    }
    let unsent = NewMessage::new(
        SPACE,
        "psid:waiting",
        SendRequest::new(To::fb_messenger_id("waiting")).body("still queued"),
        THEN,
    );
    let id = unsent.id.clone();
    store.insert_message(unsent).await.expect("insert");
    id
}

/// Runs `step` on both instances, two tasks each, until every task gets 0; returns the total.
async fn on_both<F, Fut>(first: &PostgresStore, second: &PostgresStore, step: F) -> u64
where
    F: Fn(PostgresStore) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let mut tasks = Vec::new();
    for store in [first.clone(), second.clone(), first.clone(), second.clone()] {
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let mut total = 0;
            loop {
                let n = step(store.clone()).await;
                if n == 0 {
                    return total;
                }
                total += n;
            }
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("task");
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_purge_each_row_once() {
    const TOTAL: usize = 3000;
    let Some((first, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let options = in_schema(&schema, SqlOptions::default());
    let second = PostgresStore::connect(schema.server_url(), &options)
        .await
        .expect("the second instance connects");
    let waiting = expired(&first, TOTAL).await;
    let now = THEN.add_millis(500 * DAY_MS);
    let all = SpaceScope::Except(Vec::new());

    let scope = all.clone();
    let redacted = on_both(&first, &second, move |store| {
        let scope = scope.clone();
        async move {
            store
                .redact_messages(&scope, now.add_millis(-30 * DAY_MS), now, 100)
                .await
                .expect("redact")
        }
    })
    .await;
    assert_eq!(redacted, TOTAL as u64, "each message redacted once");

    let scope = all.clone();
    let deleted = on_both(&first, &second, move |store| {
        let scope = scope.clone();
        async move {
            store
                .purge_messages(&scope, now.add_millis(-400 * DAY_MS), 100)
                .await
                .expect("purge")
        }
    })
    .await;
    assert_eq!(deleted, TOTAL as u64, "each message deleted once");

    let left = first.get_message(SPACE, &waiting).await.expect("read");
    let left = left.expect("the unsent message stays");
    assert!(left.redacted_at.is_none());
    assert_eq!(left.request.body.as_deref(), Some("still queued"));
    assert_eq!(first.unsent_count().await.expect("count"), 1);
}
