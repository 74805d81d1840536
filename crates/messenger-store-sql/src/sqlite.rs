//! [`SqliteStore`]: the embedded store, one SQLite file in WAL mode.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use messenger_store::{InsertOutcome, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::error::{db, migrate_error};
use crate::group::GroupCommit;
use crate::impls::{
    deadlines, dispatch, held, ingest, messages, outbox, pacing, profiles, quarantine, receipts,
    retention, settle,
};
use crate::rows::NewMessageRow;
use crate::{SqlOptions, Synchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The store on one SQLite file (WAL mode): the default for a single gateway.
///
/// All writes go through one connection (SQLite has one writer at a time anyway; queueing in
/// the pool is fairer and cheaper than SQLite's busy-wait), and write transactions start with
/// `BEGIN IMMEDIATE`, so they never fail half-way on a lock upgrade. Reads use a pool of
/// `max_connections` connections that see every committed write (WAL readers do not block the
/// writer or each other).
///
/// Durability: with the default [`Synchronous::Normal`], a committed transaction survives a crash
/// of the process (`kill -9`): SQLite has handed it to the operating system before `commit`
/// returns. It may be lost if the machine loses power before the next checkpoint; choose
/// [`Synchronous::Full`] (an fsync per commit) when that matters more than throughput.
///
/// ```
/// use messenger_model::Profile;
/// use messenger_store::ProfileStore;
/// use messenger_store_sql::{SqlOptions, SqliteStore};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let url = format!("sqlite://{}", dir.path().join("messenger.db").display());
/// let store = SqliteStore::connect(&url, &SqlOptions::default()).await?;
/// store.merge_profile("space-a", Profile::new("alice")).await?;
/// assert!(store.get_profile("space-a", "alice").await?.is_some());
/// store.close_pools().await;
/// # Ok::<(), messenger_store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    inserts: Arc<GroupCommit<NewMessageRow, InsertOutcome>>,
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`, `sqlite:path`,
    /// `sqlite::memory:`) and runs the embedded migrations.
    ///
    /// An in-memory database lives in one connection that serves reads and writes; it is gone
    /// when the store is closed.
    pub async fn connect(url: &str, options: &SqlOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid {
                message: format!("not a SQLite URL: {e}"),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.sqlite_synchronous {
                Synchronous::Normal => SqliteSynchronous::Normal,
                Synchronous::Full => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false);
        let memory = is_memory(url);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            // An in-memory database dies with its last connection.
            .idle_timeout(if memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await
            .map_err(db("opening the SQLite database"))?;
        MIGRATOR.run(&writer).await.map_err(migrate_error)?;
        let reader = if memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(db("opening the SQLite database for reading"))?
        };
        tracing::info!(memory, "SQLite store ready");
        Ok(Self {
            writer,
            reader,
            inserts: Arc::default(),
        })
    }

    /// Closes both pools, waiting for running operations. Everything committed is on disk.
    pub async fn close_pools(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("starting a write transaction"))
    }

    async fn commit(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        tx.commit().await.map_err(db("committing"))
    }

    /// Ends a transaction that changed nothing. Explicitly, at once: a dropped transaction is
    /// rolled back only when its connection goes back to the pool, and until then its row
    /// locks would hide rows from `SKIP LOCKED` leasing.
    async fn rollback(tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        tx.rollback().await.map_err(db("rolling back"))
    }
}

profiles::impl_profile_store!(SqliteStore, Sqlite, lock = "", claim = None);
messages::impl_message_store!(SqliteStore, Sqlite, lock = "");
settle::impl_settle!(SqliteStore, Sqlite, lock = "");
receipts::impl_receipts!(SqliteStore, Sqlite, lock = "");
held::impl_held_receipts!(SqliteStore, Sqlite);
dispatch::impl_dispatch_queue!(SqliteStore, Sqlite, skip_locked = "", lease_plan = "");
outbox::impl_outbox!(SqliteStore, Sqlite, skip_locked = "");
ingest::impl_webhook_queue!(
    SqliteStore,
    skip_locked = "",
    contains = "instr(body, $2) > 0"
);
deadlines::impl_delivery_deadlines!(SqliteStore, Sqlite, skip_locked = "");
quarantine::impl_quarantine!(SqliteStore);
pacing::impl_send_pacing!(SqliteStore);
retention::impl_retention!(SqliteStore, Sqlite, skip_locked = "");

receipts::impl_store!(SqliteStore, backend = "sqlite", close = close_pools);
