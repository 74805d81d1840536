//! Rule traces stored before causes were kept (entries without `cause`) still load, in both
//! backends: each entry reads as `unrecorded` with its reason as it was written.

use messenger_model::{Channel, RuleCause, RuleOutcome, SendRequest, Timestamp, To};
use messenger_store::{MessageStore, NewMessage};

const SPACE: &str = "space-legacy";

/// A rule trace as an older version wrote it.
const LEGACY_TRACE: &str = r#"[{"channel":"fbMessenger","outcome":"failed","reason":"no delivery receipt within 300 s","at":"2026-01-01T00:00:00.000Z"},{"channel":"sms","outcome":"used","reason":"sent (1 send; provider message id SM1)","at":"2026-01-01T00:00:01.000Z"}]"#;

fn message() -> NewMessage {
    let req = SendRequest::new(To::fb_messenger_id("psid-1")).body("hi");
    NewMessage::new(SPACE, "psid:psid-1", req, Timestamp::from_millis(1_000))
}

/// Stores [`message`] and returns its id.
async fn inserted(store: &dyn MessageStore) -> String {
    let outcome = store.insert_message(message()).await.expect("inserted");
    outcome.id().to_owned()
}

/// The message `id` as read back after its trace was overwritten with [`LEGACY_TRACE`].
async fn assert_legacy_trace_loads(store: &dyn MessageStore, id: &str) {
    let record = store
        .get_message(SPACE, id)
        .await
        .expect("a trace without causes loads")
        .expect("the message");
    let trace: Vec<_> = record
        .rule_trace
        .iter()
        .map(|e| (e.channel, e.outcome, e.cause, e.reason.as_str()))
        .collect();
    assert_eq!(
        trace,
        [
            (
                Channel::FbMessenger,
                RuleOutcome::Failed,
                RuleCause::Unrecorded,
                "no delivery receipt within 300 s"
            ),
            (
                Channel::Sms,
                RuleOutcome::Used,
                RuleCause::Unrecorded,
                "sent (1 send; provider message id SM1)"
            ),
        ]
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_loads_traces_without_causes() {
    use messenger_store_sql::{SqlOptions, SqliteStore};
    use sqlx::Connection;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url, &SqlOptions::default())
        .await
        .expect("SQLite opens");
    let id = inserted(&store).await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE messages SET rule_trace = ? WHERE id = ?")
        .bind(LEGACY_TRACE)
        .bind(&id)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_legacy_trace_loads(&store, &id).await;
    store.close_pools().await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_loads_traces_without_causes() {
    use crate::support::postgres::store_in_fresh_schema;
    use messenger_store_sql::SqlOptions;

    let Some((store, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
        return;
    };
    let id = inserted(&store).await;
    // Neither the trace nor the id holds a quote.
    schema
        .execute(&format!(
            "UPDATE messages SET rule_trace = '{LEGACY_TRACE}' WHERE id = '{id}'"
        ))
        .await;
    assert_legacy_trace_loads(&store, &id).await;
    store.close_pool().await;
}
