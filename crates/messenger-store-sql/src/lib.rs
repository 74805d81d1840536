//! # messenger-store-sql
//!
//! The durable stores of the Messenger channel, on [sqlx]: [`SqliteStore`] (one SQLite file in
//! WAL mode, the embedded default for a single gateway) and [`PostgresStore`] (for several
//! gateway instances sharing one database; work is leased with `FOR UPDATE SKIP LOCKED`). Both
//! implement every trait of `messenger-store` with the same behaviour, proven by its conformance
//! kit, and run their embedded migrations on start.
//!
//! [`connect`] picks the backend from the URL's scheme and returns the `Arc<dyn Store>` the
//! pipeline takes.
//!
//! This crate must never depend on the HTTP stack, the Graph client or the pipeline: only on the
//! model, the store traits and sqlx.
//!
//! ```
//! use messenger_model::{SendRequest, Timestamp, To};
//! use messenger_store::NewMessage;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("sqlite://{}", dir.path().join("messenger.db").display());
//! let store = messenger_store_sql::connect(&url).await?;
//! assert_eq!(store.backend(), "sqlite");
//! let req = SendRequest::new(To::fb_messenger_id("1234")).body("hi");
//! let msg = NewMessage::new("space-a", "psid:1234", req, Timestamp::now());
//! let outcome = store.insert_message(msg).await?;
//! assert!(store.get_message("space-a", outcome.id()).await?.is_some());
//! store.close().await;
//! # Ok::<(), messenger_store::StoreError>(())
//! # }).unwrap();
//! ```

mod error;
mod group;
mod impls;
mod postgres;
mod rows;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use messenger_store::{Store, StoreError};

pub use error::{failure_counts, ErrorKind, FailureCount};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// How SQLite makes commits durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `synchronous=NORMAL` in WAL mode: a commit survives a crash of the process (`kill -9`),
    /// not necessarily a power loss. The default.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced; survives a power loss too. Slower.
    Full,
}

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlOptions {
    /// Connections in the pool: PostgreSQL's pool, SQLite's reader pool (SQLite always has one
    /// writer connection besides). Default 4, sized for a 2-core machine.
    pub max_connections: u32,
    /// How long to wait for a free connection before failing with
    /// [`StoreError::Unavailable`]. Default 10 s.
    pub acquire_timeout: Duration,
    /// SQLite's durability setting.
    pub sqlite_synchronous: Synchronous,
    /// PostgreSQL: the schema to use (created if missing; set as `search_path`), so several
    /// deployments or test runs can share a database. Letters, digits and `_` only. Default:
    /// the server's `search_path` (normally `public`).
    pub postgres_schema: Option<String>,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(10),
            sqlite_synchronous: Synchronous::Normal,
            postgres_schema: None,
        }
    }
}

/// Connects to the database at `url` with default [`SqlOptions`]: `sqlite:` URLs open a
/// [`SqliteStore`], `postgres:`/`postgresql:` URLs a [`PostgresStore`]. Migrations run first.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, &SqlOptions::default()).await
}

/// [`connect`] with explicit options.
pub async fn connect_with(url: &str, options: &SqlOptions) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::connect(url, options).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PostgresStore::connect(url, options).await?)),
        _ => Err(StoreError::invalid(
            "the database URL must start with sqlite: or postgres:",
        )),
    }
}
