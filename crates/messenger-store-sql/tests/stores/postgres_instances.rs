//! Several gateway instances on one PostgreSQL: each message is leased by exactly one of them,
//! a recipient's messages go one at a time and in order, and nothing committed is lost when an
//! instance goes away.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::postgres::{in_schema, store_in_fresh_schema};
use messenger_model::{MessageStatus, SendRequest, Timestamp, To};
use messenger_store::{DispatchQueue, MessageStore, NewMessage, StatusUpdate};
use messenger_store_sql::{PostgresStore, SqlOptions};
use messenger_test_support::postgres::TestSchema;

const SPACE: &str = "space-load";
const NOW: Timestamp = Timestamp::from_millis(1_767_225_600_000);

fn message(recipient: usize, i: usize) -> NewMessage {
    let req =
        SendRequest::new(To::fb_messenger_id(format!("psid-{recipient}"))).body(i.to_string());
    NewMessage::new(SPACE, format!("psid:{recipient}"), req, NOW)
}

/// A second instance on the same schema (its own pool, as another gateway process has).
async fn second_instance(schema: &TestSchema) -> PostgresStore {
    let options = in_schema(schema, SqlOptions::default());
    PostgresStore::connect(schema.server_url(), &options)
        .await
        .expect("the second instance connects")
}

async fn insert_all(store: &PostgresStore, messages: Vec<NewMessage>) -> Vec<String> {
    let mut ids = Vec::with_capacity(messages.len());
    let mut messages = messages.into_iter().peekable();
    while messages.peek().is_some() {
        let batch: Vec<NewMessage> = messages.by_ref().take(500).collect();
        for o in store.insert_messages(batch).await.expect("insert") {
            ids.push(o.id().to_owned());
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_lease_the_same_message() {
    const TOTAL: usize = 5000;
    let Some((first, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let second = second_instance(&schema).await;
    // One message per recipient: every message is due at once.
    let ids = insert_all(&first, (0..TOTAL).map(|i| message(i, i)).collect()).await;

    let mut tasks = Vec::new();
    for (n, store) in [first.clone(), second.clone(), first.clone(), second.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let worker = format!("instance-{}-task-{n}", n % 2);
            let mut got = Vec::new();
            loop {
                let leased = store
                    .lease_due(&worker, NOW, 64, Duration::from_secs(600))
                    .await
                    .expect("lease");
                if leased.is_empty() {
                    break;
                }
                got.extend(leased.into_iter().map(|m| m.id));
            }
            got
        }));
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut per_task = Vec::new();
    for t in tasks {
        let got = t.await.expect("task");
        per_task.push(got.len());
        for id in got {
            *counts.entry(id).or_default() += 1;
        }
    }
    eprintln!("leased per task: {per_task:?}");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "leased more than once: {twice:?}");
    assert_eq!(counts.len(), TOTAL, "every message leased");
    assert!(ids.iter().all(|id| counts.contains_key(id)));
    assert!(
        per_task.iter().filter(|n| **n > 0).count() >= 2,
        "both instances took work"
    );

    first.close_pool().await;
    second.close_pool().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_keep_each_recipients_order() {
    const RECIPIENTS: usize = 200;
    const PER_RECIPIENT: usize = 10;
    let Some((first, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let second = second_instance(&schema).await;
    let messages = (0..RECIPIENTS * PER_RECIPIENT)
        .map(|i| message(i % RECIPIENTS, i))
        .collect::<Vec<_>>();
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for m in &messages {
        expected
            .entry(m.recipient_key.clone())
            .or_default()
            .push(m.id.clone());
    }
    insert_all(&first, messages).await;

    let order: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for (n, store) in [first.clone(), second.clone(), first.clone(), second.clone()]
        .into_iter()
        .enumerate()
    {
        let order = order.clone();
        let in_flight = in_flight.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("instance-{}-task-{n}", n % 2);
            let mut idle = 0;
            while idle < 50 {
                let leased = store
                    .lease_due(&worker, NOW, 32, Duration::from_secs(600))
                    .await
                    .expect("lease");
                if leased.is_empty() {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                idle = 0;
                for m in &leased {
                    let fresh = in_flight.lock().unwrap().insert(m.recipient_key.clone());
                    assert!(fresh, "two messages of {} in flight", m.recipient_key);
                    order
                        .lock()
                        .unwrap()
                        .entry(m.recipient_key.clone())
                        .or_default()
                        .push(m.id.clone());
                }
                for m in leased {
                    in_flight.lock().unwrap().remove(&m.recipient_key);
                    let sent = StatusUpdate::new(MessageStatus::Sent, NOW.add_millis(1));
                    let out = store.update_status(SPACE, &m.id, sent).await.expect("sent");
                    assert!(out.applied);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let order = order.lock().unwrap().clone();
    assert_eq!(
        order, expected,
        "each recipient's messages leased once, in order"
    );

    first.close_pool().await;
    second.close_pool().await;
}

#[tokio::test]
async fn a_reconnected_instance_holds_every_committed_message() {
    let Some((store, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..20 {
        let o = store.insert_message(message(i, i)).await.expect("insert");
        ids.push(o.id().to_owned());
    }
    ids.extend(insert_all(&store, (0..300).map(|i| message(i, i)).collect()).await);
    // Gone without closing, as a crashed instance is.
    drop(store);
    let again = second_instance(&schema).await;
    for id in &ids {
        assert!(
            again.get_message(SPACE, id).await.expect("read").is_some(),
            "{id} lost"
        );
    }
    again.close_pool().await;
}
