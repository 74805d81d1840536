//! [`PostgresStore`]: the shared store for several gateway instances.

use std::str::FromStr;
use std::sync::Arc;

use messenger_store::{InsertOutcome, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

use crate::error::{db, migrate_error, Outage, OutageMark};
use crate::group::GroupCommit;
use crate::health::WriteHealth;
use crate::impls::{
    connection, deadlines, dispatch, erasure, held, ingest, instagram, messages, outbox, pacing,
    profiles, quarantine, receipts, retention, settle,
};
use crate::rows::NewMessageRow;
use crate::SqlOptions;

/// How long a ping waits for a pooled connection, then for a connection of its own.
const PING_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The store on PostgreSQL, shared by several gateway instances.
///
/// Changes run in `READ COMMITTED` transactions that lock the rows they read
/// (`SELECT ... FOR UPDATE`); leasing uses `FOR UPDATE SKIP LOCKED`, so two instances never get
/// the same message or outbox event, and never two messages of one recipient at once. A commit
/// is durable when it returns (the server's own WAL and `synchronous_commit`).
///
/// ```no_run
/// use messenger_store_sql::{PostgresStore, SqlOptions};
/// # async fn demo() -> Result<(), messenger_store::StoreError> {
/// let options = SqlOptions {
///     postgres_schema: Some("messenger".into()),
///     ..SqlOptions::default()
/// };
/// let store = PostgresStore::connect("postgres://gateway@db.internal/messenger", &options).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    inserts: Arc<GroupCommit<NewMessageRow, InsertOutcome>>,
    health: Arc<WriteHealth>,
}

/// Prepared statements each connection keeps (sqlx's default is 100).
const STATEMENT_CACHE: usize = 1024;

/// Whether `name` is a schema name we can put in SQL unquoted-safe form.
fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://...`), creates `options.postgres_schema`
    /// if it is set and missing, and runs the embedded migrations (serialised across instances
    /// by sqlx's advisory lock).
    pub async fn connect(url: &str, options: &SqlOptions) -> Result<Self, StoreError> {
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::Invalid {
            message: format!("not a PostgreSQL URL: {e}"),
        })?;
        if let Some(schema) = &options.postgres_schema {
            if !valid_schema(schema) {
                return Err(StoreError::invalid(
                    "a PostgreSQL schema name has letters, digits and _ only",
                ));
            }
            let mut conn = PgConnection::connect_with(&connect)
                .await
                .map_err(db("connecting to PostgreSQL"))?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut conn)
                .await
                .map_err(db("creating the schema"))?;
            conn.close().await.map_err(db("connecting to PostgreSQL"))?;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // Multi-row inserts and updates of 1 to a round's messages come in many shapes; a
            // cache of sqlx's default 100 kept preparing them anew (a parse and plan on the
            // server each time).
            .connect_with(connect.statement_cache_capacity(STATEMENT_CACHE))
            .await
            .map_err(db("connecting to PostgreSQL"))?;
        crate::reworded::repair_postgres(&pool, &MIGRATOR).await?;
        MIGRATOR.run(&pool).await.map_err(migrate_error)?;
        tracing::info!(schema = ?options.postgres_schema, "PostgreSQL store ready");
        Ok(Self {
            pool,
            inserts: Arc::default(),
            health: Arc::default(),
        })
    }

    /// Closes the pool, waiting for running operations.
    pub async fn close_pool(&self) {
        self.pool.close().await;
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(|e| {
            let e = db("starting a transaction")(e);
            self.health.note_failure("starting a transaction", &e);
            e
        })
    }

    /// Whether the server answers (through the pool, or, when the pool has no connection to
    /// give within [`PING_WAIT`], on a connection of its own: refused means unreachable, a
    /// connection means the pool is busy), then whether writes go through.
    async fn ping_store(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(PING_WAIT, self.pool.acquire()).await {
            Ok(Ok(mut conn)) => {
                sqlx::query("SELECT 1")
                    .execute(&mut *conn)
                    .await
                    .map_err(db("pinging postgres"))?;
            }
            Ok(Err(e)) if !matches!(e, sqlx::Error::PoolTimedOut) => {
                return Err(db("pinging postgres")(e));
            }
            _ => {
                let options = self.pool.connect_options();
                let direct = tokio::time::timeout(PING_WAIT, PgConnection::connect_with(&options));
                return Err(match direct.await {
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                        db("pinging postgres")(sqlx::Error::PoolTimedOut)
                    }
                    Ok(Err(e)) => db("pinging postgres")(e),
                    Err(_) => StoreError::Unavailable {
                        message: format!("pinging postgres: {}", Outage::Unreachable),
                        source: Some(Box::new(OutageMark(Outage::Unreachable))),
                    },
                });
            }
        }
        self.health.check()
    }

    /// Commits; a failure marks the store's writes failing, a commit marks them going through.
    async fn commit(&self, tx: Transaction<'static, Postgres>) -> Result<(), StoreError> {
        match tx.commit().await {
            Ok(()) => {
                self.health.note_success();
                Ok(())
            }
            Err(e) => {
                let e = db("committing")(e);
                self.health.note_failure("committing", &e);
                Err(e)
            }
        }
    }

    /// After an erasure: nothing to do here. Deleted row versions stay in the table files until
    /// (auto)vacuum reclaims them; `pg_dump` and queries never see them (docs/operations.md).
    async fn after_erasure(&self) {}

    /// Ends a transaction that changed nothing. Explicitly, at once: a dropped transaction is
    /// rolled back only when its connection goes back to the pool, and until then its row
    /// locks would hide rows from `SKIP LOCKED` leasing.
    async fn rollback(tx: Transaction<'static, Postgres>) -> Result<(), StoreError> {
        tx.rollback().await.map_err(db("rolling back"))
    }
}

profiles::impl_profile_store!(
    PostgresStore,
    Postgres,
    lock = " FOR UPDATE",
    claim = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
);
messages::impl_message_store!(PostgresStore, Postgres, lock = " FOR UPDATE");
settle::impl_settle!(PostgresStore, Postgres, lock = " FOR UPDATE");
receipts::impl_receipts!(PostgresStore, Postgres, lock = " FOR UPDATE");
held::impl_held_receipts!(PostgresStore, Postgres);
dispatch::impl_dispatch_queue!(
    PostgresStore,
    Postgres,
    skip_locked = " FOR UPDATE SKIP LOCKED",
    lease_plan = "SELECT set_config('enable_bitmapscan', 'off', true), \
                  set_config('enable_sort', 'off', true)"
);
outbox::impl_outbox!(
    PostgresStore,
    Postgres,
    skip_locked = " FOR UPDATE SKIP LOCKED"
);
ingest::impl_webhook_queue!(
    PostgresStore,
    skip_locked = " FOR UPDATE SKIP LOCKED",
    contains = "position($2 in body) > 0"
);
deadlines::impl_delivery_deadlines!(
    PostgresStore,
    Postgres,
    skip_locked = " FOR UPDATE SKIP LOCKED"
);
quarantine::impl_quarantine!(PostgresStore);
pacing::impl_send_pacing!(PostgresStore);
connection::impl_page_connection_record!(PostgresStore);
instagram::impl_instagram_tokens!(PostgresStore);
retention::impl_retention!(
    PostgresStore,
    Postgres,
    skip_locked = " FOR UPDATE SKIP LOCKED"
);

erasure::impl_erasure!(
    PostgresStore,
    Postgres,
    lock = " FOR UPDATE",
    contains = ("position(", " in raw) > 0")
);

receipts::impl_store!(PostgresStore, backend = "postgres", close = close_pool);

#[cfg(test)]
mod tests {
    use super::valid_schema;

    #[test]
    fn schema_names_are_checked() {
        assert!(valid_schema("test_123_abc"));
        assert!(valid_schema("Messenger"));
        assert!(!valid_schema(""));
        assert!(!valid_schema("1abc"));
        assert!(!valid_schema("a\"; DROP TABLE x; --"));
        assert!(!valid_schema("with space"));
        assert!(!valid_schema(&"a".repeat(64)));
    }
}
