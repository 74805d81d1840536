//! A SQLite store keeps every committed message through a crash: the process is killed with
//! SIGKILL in the middle of writing, and a reopened store holds everything that was committed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use messenger_model::{MessageStatus, SendRequest, Timestamp, To};
use messenger_store::{DispatchQueue, MessageStore, NewMessage};
use messenger_store_sql::{SqlOptions, SqliteStore};

/// Set in the child process: the database path to write to until killed.
const CHILD_ENV: &str = "MESSENGER_STORE_SQL_CRASH_CHILD_DB";
const SPACE: &str = "space-crash";
/// How many committed messages the parent waits for before it kills the child.
const KILL_AFTER: usize = 400;

fn url(path: &str) -> String {
    format!("sqlite://{path}")
}

fn new_message(i: usize) -> NewMessage {
    let req = SendRequest::new(To::fb_messenger_id(format!("psid-{}", i % 17)))
        .body(format!("message {i}"));
    NewMessage::new(
        SPACE,
        format!("psid:{}", i % 17),
        req,
        Timestamp::from_millis(1_000),
    )
    .idempotency(format!("key-{i}"), format!("hash-{i}"))
}

/// The child: inserts messages (single and batched) and prints each id once committed, until
/// it is killed. Bounded, so a parent that fails to kill it does not leave it running forever.
async fn child(path: String) {
    let store = SqliteStore::connect(&url(&path), &SqlOptions::default())
        .await
        .expect("child opens the store");
    let mut i = 0;
    while i < 200_000 {
        if i % 3 == 0 {
            let batch: Vec<NewMessage> = (i..i + 25).map(new_message).collect();
            let outcomes = store.insert_messages(batch).await.expect("batch insert");
            for o in outcomes {
                println!("committed {}", o.id());
            }
            i += 25;
        } else {
            let outcome = store.insert_message(new_message(i)).await.expect("insert");
            println!("committed {}", outcome.id());
            i += 1;
        }
    }
}

/// This test's name as the test harness knows it (module path without the binary's name), so the
/// child runs exactly this test whichever binary the module is part of.
fn own_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_binary, module)| module);
    if module.is_empty() {
        "committed_messages_survive_kill_9".to_owned()
    } else {
        format!("{module}::committed_messages_survive_kill_9")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_messages_survive_kill_9() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(path).await;
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("crash.db");
    let db = db.to_str().expect("a UTF-8 path").to_owned();
    let mut proc = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            &own_test_name(),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the child starts");
    let stdout = proc.stdout.take().expect("the child's stdout");
    // Read every line the child prints, so it never blocks on a full pipe and is killed while
    // it is writing to the database.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("committed ") {
                if tx.send(id.to_owned()).is_err() {
                    break;
                }
            }
        }
    });
    let mut committed = Vec::new();
    while committed.len() < KILL_AFTER {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(id) => committed.push(id),
            Err(_) => break,
        }
    }
    // SIGKILL, in the middle of the child's writes.
    proc.kill().expect("kill -9");
    proc.wait().expect("the child is reaped");
    reader.join().expect("the reader thread");
    committed.extend(rx.try_iter());
    assert!(committed.len() >= KILL_AFTER, "the child stopped early");
    eprintln!("{} messages committed before kill -9", committed.len());

    let store = SqliteStore::connect(&url(&db), &SqlOptions::default())
        .await
        .expect("the store reopens after the crash");
    for id in &committed {
        let m = store
            .get_message(SPACE, id)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("committed message {id} was lost"));
        assert_eq!(m.status, MessageStatus::Processing);
        assert!(m.request.body.is_some_and(|b| b.starts_with("message ")));
    }
    // And they are due for sending after the restart.
    let due = store
        .lease_due(
            "after-restart",
            Timestamp::from_millis(2_000),
            100,
            Duration::from_secs(30),
        )
        .await
        .expect("lease");
    assert_eq!(due.len(), 17, "one head message per recipient");
    store.close_pools().await;
}

/// Dropping a store without closing it (as a crash would) loses nothing committed either.
#[tokio::test]
async fn drop_without_close_keeps_committed_messages() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("drop.db").display());
    let mut ids = Vec::new();
    {
        let store = SqliteStore::connect(&url, &SqlOptions::default())
            .await
            .expect("opens");
        for i in 0..50 {
            ids.push(
                store
                    .insert_message(new_message(i))
                    .await
                    .expect("insert")
                    .id()
                    .to_owned(),
            );
        }
        let batch = (50..250).map(new_message).collect();
        for o in store.insert_messages(batch).await.expect("batch") {
            ids.push(o.id().to_owned());
        }
        drop(store);
    }
    let store = SqliteStore::connect(&url, &SqlOptions::default())
        .await
        .expect("reopens");
    for id in &ids {
        assert!(
            store.get_message(SPACE, id).await.expect("read").is_some(),
            "{id} lost"
        );
    }
    store.close_pools().await;
}
