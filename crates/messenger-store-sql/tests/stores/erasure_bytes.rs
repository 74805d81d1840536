//! After an erasure, no byte of the customer is left where a backend keeps its data: the SQLite
//! file and its WAL (read raw, after the erasure's checkpoint and after closing), and
//! `pg_dump` of the test's PostgreSQL schema. Not only what the API answers.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::{Channel, EventEnvelope, EventName, MessageStatus, Profile, SendRequest, To};
use messenger_store::conformance::{at, T0};
use messenger_store::{
    EventFailure, NewMessage, OptinToken, QuarantinedEvent, Settlement, StatusUpdate, Store,
};
use serde_json::json;

const SPACE: &str = "space-a";
const PROFILE: &str = "carol.erasable@example.com";
const PSID: &str = "7300000000000042";
const PHONE: &str = "+447700900777";
const BODY: &str = "THE-ERASABLE-SECRET-BODY";
const PAGE: &str = "page-1";

/// What must not be found anywhere after the erasure.
fn secrets() -> [&'static str; 5] {
    [PROFILE, PSID, PHONE, "447700900777", BODY]
}

/// Carol everywhere a customer can be, and plenty of others around her (so her rows share
/// pages with rows that stay, and freed pages exist).
async fn seed(store: &Arc<dyn Store>) {
    let carol = Profile {
        email: Some(PROFILE.into()),
        first_name: Some("Carol".into()),
        ..Profile::new(PROFILE)
            .with_phone_number(PHONE)
            .with_fb_messenger_id(PSID)
    };
    store.merge_profile(SPACE, carol).await.unwrap();
    store
        .link_messenger_id(SPACE, PROFILE, PAGE, PSID)
        .await
        .unwrap();
    let mut batch = Vec::new();
    let mut carols = Vec::new();
    for i in 0..600 {
        let (key, to, body) = match i % 4 {
            0 => (
                format!("profile:{PROFILE}"),
                To::profile(PROFILE),
                format!("{BODY} {i}"),
            ),
            1 => (
                format!("fb:{PSID}"),
                To::fb_messenger_id(PSID),
                format!("{BODY} {i}"),
            ),
            _ => (
                format!("fb:other-{i}"),
                To::fb_messenger_id(format!("other-{i}")),
                format!("someone else's message {i}"),
            ),
        };
        let req = SendRequest::new(to)
            .body(body)
            .rules([Channel::FbMessenger, Channel::Sms]);
        let m = NewMessage::new(SPACE, key, req, T0).idempotency(format!("idem-{i}"), "hash");
        if i % 4 < 2 {
            carols.push(m.id.clone());
        }
        batch.push(m);
    }
    store.insert_messages(batch).await.unwrap();
    for id in carols.iter().take(40) {
        let update = StatusUpdate::new(MessageStatus::Sent, at(1))
            .channel(Channel::FbMessenger)
            .sent_to(PAGE, PSID)
            .reason(format!("sent to {PHONE}"));
        let settled = Settlement::new(SPACE, id, update).graph_message_ids([format!("m_{id}")]);
        store.settle_messages(vec![settled]).await.unwrap();
    }
    for (i, id) in carols.iter().enumerate().take(30) {
        let envelope = EventEnvelope {
            event_id: format!("{id}.sent"),
            api_space_id: SPACE.into(),
            name: EventName::MessageSent,
            payload: json!({"messageId": id, "to": {"profileId": PROFILE, "phoneNumber": PHONE}}),
            revision: 2,
            timestamp: at(i as i64),
        };
        store.enqueue_event("default", envelope, T0).await.unwrap();
    }
    let inbound = EventEnvelope {
        event_id: format!("inbound.mid:{PSID}"),
        api_space_id: SPACE.into(),
        name: EventName::MessageInbound,
        payload: json!({"profileId": PROFILE, "fbMessengerId": PSID, "text": BODY}),
        revision: 1,
        timestamp: T0,
    };
    store.enqueue_event("default", inbound, T0).await.unwrap();
    let leased = store
        .lease_due_events("w", at(2), 5, Duration::from_secs(30))
        .await
        .unwrap();
    for e in &leased {
        store
            .mark_failed(
                e.id,
                "w",
                &format!("HTTP 400 for {PHONE}"),
                EventFailure::Dead,
            )
            .await
            .unwrap();
    }
    store
        .quarantine(vec![QuarantinedEvent {
            key: format!("kind:{PSID}:1"),
            reason: "unknown event kind".into(),
            page_id: Some(PAGE.into()),
            raw: format!(r#"{{"sender":{{"id":"{PSID}"}},"message":{{"text":"{BODY}"}}}}"#)
                .into_bytes(),
            received_at: T0,
            quarantined_at: T0,
        }])
        .await
        .unwrap();
    store
        .put_optin_token(OptinToken {
            token: "tok-carol".into(),
            space: SPACE.into(),
            profile_id: PROFILE.into(),
            data: Some(json!({"note": BODY})),
            created_at: T0,
            expires_at: at(86_400),
            bound_to: None,
        })
        .await
        .unwrap();
    store
        .record_inbound(SPACE, PAGE, PSID, at(3))
        .await
        .unwrap();
    store
        .mark_seen(&format!("read:{PSID}:5"), T0)
        .await
        .unwrap();
}

/// Erases Carol and checks the answer.
async fn erase(store: &Arc<dyn Store>) {
    let record = store
        .erase(SPACE, PROFILE, &[PAGE.to_owned()], at(100))
        .await
        .unwrap();
    assert_eq!(record.counts.profiles, 1);
    assert_eq!(record.counts.messages, 300);
    assert_eq!(record.counts.events + record.counts.dead_letters, 31);
    assert_eq!(record.counts.quarantined, 1);
}

/// The secrets found in `bytes`.
fn found_in(bytes: &[u8]) -> Vec<&'static str> {
    secrets()
        .into_iter()
        .filter(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
        .collect()
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;

    use messenger_store_sql::{SqlOptions, SqliteStore};

    use super::*;

    /// The database file and its WAL, as they are on disk.
    fn raw_files(db: &Path) -> Vec<u8> {
        let mut bytes = std::fs::read(db).unwrap();
        let wal = db.with_extension("db-wal");
        if let Ok(more) = std::fs::read(wal) {
            bytes.extend(more);
        }
        bytes
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_file_holds_nothing_of_an_erased_customer() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("messenger.db");
        let url = format!("sqlite://{}", db.display());
        let sqlite = SqliteStore::connect(&url, &SqlOptions::default())
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        seed(&store).await;
        assert_eq!(found_in(&raw_files(&db)), secrets(), "seeded on disk");

        erase(&store).await;
        // While the store is open: the erasure's VACUUM wrote every page afresh (stale copies
        // of cells in rebuilt pages are gone) and its checkpoint emptied the WAL.
        assert_eq!(found_in(&raw_files(&db)), Vec::<&str>::new(), "open");
        sqlite.close_pools().await;
        assert_eq!(found_in(&raw_files(&db)), Vec::<&str>::new(), "closed");
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use messenger_store_sql::SqlOptions;

    use super::*;
    use crate::support::postgres::store_in_fresh_schema;

    /// `pg_dump` of `schema` only: data and definitions, as plain SQL.
    fn dump(url: &str, schema: &str) -> Vec<u8> {
        let out = std::process::Command::new("pg_dump")
            .args(["--dbname", url, "--schema", schema, "--no-owner"])
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pg_dump_holds_nothing_of_an_erased_customer() {
        let Some((pg, schema)) = store_in_fresh_schema(SqlOptions::default()).await else {
            return;
        };
        let store: Arc<dyn Store> = Arc::new(pg.clone());
        seed(&store).await;
        let before = dump(schema.server_url(), schema.name());
        assert_eq!(found_in(&before), secrets(), "seeded in the dump");
        erase(&store).await;
        let after = dump(schema.server_url(), schema.name());
        assert_eq!(found_in(&after), Vec::<&str>::new());
        assert!(
            String::from_utf8_lossy(&after).contains("erasures"),
            "the audit table is dumped"
        );
        pg.close_pool().await;
    }
}
