//! The SQLite store's write-ahead log stays bounded under writes that never pause: the writer
//! no longer checkpoints every 1,000 pages in its commits (a task checkpoints from a reader
//! connection on a timer), and its own checkpoint at 4,096 pages (16 MiB) is what bounds the log
//! when the timer's cannot finish.

use messenger_model::{SendRequest, Timestamp, To};
use messenger_store::{MessageStore, NewMessage};
use messenger_store_sql::{SqlOptions, SqliteStore};

const MIB: u64 = 1024 * 1024;
/// The log may hold the writer's 16 MiB before its own checkpoint, plus the transaction that
/// crossed it (about 3 MiB here).
const WAL_BOUND: u64 = 24 * MIB;

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_writes_that_never_pause() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("messenger.db");
    let wal = dir.path().join("messenger.db-wal");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let store = SqliteStore::connect(&url, &SqlOptions::default())
        .await
        .expect("opening the store");
    let body = "x".repeat(4_000);
    let mut largest = 0;
    // 60 transactions of 500 messages of about 4 KB each, back to back: about 120 MB of pages,
    // seven times the bound.
    for round in 0..60 {
        let messages: Vec<NewMessage> = (0..500)
            .map(|i| {
                let psid = format!("psid-{round}-{i}");
                let req = SendRequest::new(To::fb_messenger_id(&psid)).body(body.clone());
                NewMessage::new(
                    "space-wal",
                    format!("psid:{psid}"),
                    req,
                    Timestamp::from_millis(1_000),
                )
            })
            .collect();
        store
            .insert_messages(messages)
            .await
            .expect("inserting a batch");
        largest = largest.max(size(&wal));
    }
    store.close_pools().await;
    assert!(
        size(&db) > 3 * WAL_BOUND,
        "the database holds {} bytes: too little was written to tell a bounded log",
        size(&db)
    );
    assert!(
        largest <= WAL_BOUND,
        "the log reached {largest} bytes (bound {WAL_BOUND}) while the database grew to {}",
        size(&db)
    );
}
