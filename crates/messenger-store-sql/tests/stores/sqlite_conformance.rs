//! The conformance kit against SQLite: a fresh database file per case.

use std::sync::Arc;

use messenger_store::conformance::TestStore;
use messenger_store_sql::{SqlOptions, SqliteStore};

async fn fresh() -> Option<TestStore> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url, &SqlOptions::default())
        .await
        .expect("SQLite opens");
    let closing = store.clone();
    Some(TestStore::new(Arc::new(store)).with_cleanup(async move {
        closing.close_pools().await;
        drop(dir);
    }))
}

messenger_store::conformance_tests!(fresh);

/// The kit passes on an in-memory database too (one connection for reads and writes).
#[tokio::test]
async fn in_memory_database_passes_the_kit() {
    let memory = || async {
        let store = SqliteStore::connect("sqlite::memory:", &SqlOptions::default())
            .await
            .expect("SQLite opens");
        Some(TestStore::new(Arc::new(store)))
    };
    messenger_store::conformance::run_all(&memory).await;
}
