//! [`SqliteStore`]: the embedded store, one SQLite file in WAL mode.

use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messenger_store::{InsertOutcome, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqliteConnection, Transaction};

use crate::error::{db, migrate_error};
use crate::group::GroupCommit;
use crate::health::WriteHealth;
use crate::impls::{
    connection, deadlines, dispatch, erasure, held, ingest, instagram, messages, outbox, pacing,
    profiles, quarantine, receipts, retention, settle,
};
use crate::rows::NewMessageRow;
use crate::wal::{self, Checkpointer};
use crate::{SqlOptions, Synchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Prepared statements the writer connection keeps (sqlx's default is 100).
const WRITER_STATEMENT_CACHE: usize = 1024;

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
/// A write that fails (a full disk, an I/O error, a lock wait that ran out) leaves no connection
/// inside a transaction: a connection that comes back to its pool still in one is closed and
/// replaced, so the next write starts afresh and succeeds once the cause is gone. Until a write
/// that stores something goes through again, [`ping`](messenger_store::Store::ping) fails
/// naming the cause (reads still work, so a bare `SELECT 1` would not tell).
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
    health: Arc<WriteHealth>,
    /// `total_changes()` of the writer connection when the running write transaction began (one
    /// writer connection: one write transaction at a time), to tell a commit that stored
    /// something from one that changed nothing.
    changes_at_begin: Arc<AtomicI64>,
    /// Checkpoints the log from a reader connection on a timer (none in memory).
    _checkpointer: Option<Arc<Checkpointer>>,
}

/// Whether a connection coming back to its pool may be used again: not when it is still
/// inside a transaction. sqlx counts a transaction as open after a `COMMIT` that failed (a
/// full disk), and its rollback on drop fails when SQLite already rolled back; such a
/// connection would refuse every later `BEGIN`, so it is closed and the pool opens another.
async fn leaves_no_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // Through the connection's worker, after the rollback a dropped transaction queued.
    conn.ping().await?;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("a SQLite connection was left inside a transaction; replacing it");
    }
    Ok(clean)
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
            .foreign_keys(false)
            // A deleted or overwritten cell is zeroed where that costs no extra I/O (in a page
            // written anyway); an erasure's VACUUM does the rest (decision 0019).
            .pragma("secure_delete", "FAST")
            // Statement journals (a multi-row update or insert that may fail half-way) and
            // temporary tables in memory, not in a temporary file.
            .pragma("temp_store", "MEMORY")
            // The log is checkpointed off the writer's commits (`wal`): the writer's own
            // checkpoint is a backstop, and the file is cut back when the log restarts.
            .pragma(
                "wal_autocheckpoint",
                wal::WRITER_AUTOCHECKPOINT_PAGES.to_string(),
            )
            .pragma("journal_size_limit", wal::WAL_SIZE_LIMIT.to_string());
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
            .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
            // The writer's statements come in many shapes (multi-row inserts and updates of 1
            // to a round's messages); a cache of sqlx's default 100 kept preparing them anew.
            .connect_with(
                connect
                    .clone()
                    .statement_cache_capacity(WRITER_STATEMENT_CACHE),
            )
            .await
            .map_err(db("opening the SQLite database"))?;
        crate::reworded::repair_sqlite(&writer, &MIGRATOR).await?;
        MIGRATOR.run(&writer).await.map_err(migrate_error)?;
        let reader = if memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .after_release(|conn, _| Box::pin(leaves_no_transaction(conn)))
                .connect_with(connect)
                .await
                .map_err(db("opening the SQLite database for reading"))?
        };
        tracing::info!(memory, "SQLite store ready");
        let checkpointer = (!memory).then(|| Arc::new(Checkpointer::start(reader.clone())));
        Ok(Self {
            writer,
            reader,
            inserts: Arc::default(),
            health: Arc::default(),
            changes_at_begin: Arc::default(),
            _checkpointer: checkpointer,
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
        let mut tx = match self.writer.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => {
                let e = db("starting a write transaction")(e);
                self.health.note_failure("starting a write transaction", &e);
                return Err(e);
            }
        };
        let changes = Self::total_changes(&mut tx).await?;
        self.changes_at_begin.store(changes, Ordering::Relaxed);
        Ok(tx)
    }

    /// Whether writes go through (reads may work while they fail: a full disk), then whether
    /// the file answers.
    async fn ping_store(&self) -> Result<(), StoreError> {
        self.health.check()?;
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map_err(db("pinging sqlite"))?;
        Ok(())
    }

    /// Rows the writer connection has changed since it opened (SQLite's `total_changes()`).
    async fn total_changes(tx: &mut Transaction<'static, Sqlite>) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut **tx)
            .await
            .map_err(db("counting changes"))
    }

    /// Commits; a failure marks the store's writes failing, and a commit that stored something
    /// marks them going through again.
    async fn commit(&self, mut tx: Transaction<'static, Sqlite>) -> Result<(), StoreError> {
        let changes = Self::total_changes(&mut tx).await?;
        let stored = changes > self.changes_at_begin.load(Ordering::Relaxed);
        match tx.commit().await {
            Ok(()) => {
                if stored {
                    self.health.note_success();
                }
                Ok(())
            }
            Err(e) => {
                let e = db("committing")(e);
                self.health.note_failure("committing", &e);
                Err(e)
            }
        }
    }

    /// After an erasure: `VACUUM`, then a checkpoint that empties the WAL file. With
    /// `secure_delete` a deleted cell is zeroed, but SQLite leaves stale copies of cells in the
    /// unused middle of pages it rebuilt when they split or merged, and older WAL frames hold
    /// rows as they were; `VACUUM` writes every page afresh (the writer waits meanwhile, as
    /// long as it takes to copy the file; decision 0019). Best effort: a failure is logged (the
    /// erasure itself is committed), and while a reader keeps an old snapshot the checkpoint
    /// cannot empty the WAL, whose frames are then overwritten as it is reused.
    async fn after_erasure(&self) {
        for (sql, what) in [
            ("VACUUM", "the VACUUM after an erasure failed"),
            (
                "PRAGMA wal_checkpoint(TRUNCATE)",
                "the checkpoint after an erasure failed",
            ),
        ] {
            if let Err(e) = sqlx::query(sql).execute(self.writer()).await {
                tracing::warn!(error = %e, "{what}");
            }
        }
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
connection::impl_page_connection_record!(SqliteStore);
instagram::impl_instagram_tokens!(SqliteStore);
retention::impl_retention!(SqliteStore, Sqlite, skip_locked = "");
erasure::impl_erasure!(
    SqliteStore,
    Sqlite,
    lock = "",
    contains = ("instr(raw, ", ") > 0")
);

receipts::impl_store!(SqliteStore, backend = "sqlite", close = close_pools);
