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
//! ## Features
//!
//! - `sqlite` (default): [`SqliteStore`] and `sqlite:` URLs, with sqlx's SQLite driver.
//! - `postgres` (default): [`PostgresStore`] and `postgres:`/`postgresql:` URLs, with sqlx's
//!   PostgreSQL driver.
//!
//! A deployment that uses one backend can leave the other's driver out of the build
//! (`default-features = false, features = ["sqlite"]`); [`connect`] then refuses the other's
//! URLs with [`StoreError::Invalid`] naming the missing feature. `cargo xtask ci` checks that a
//! one-backend build has no trace of the other driver.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
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
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

// Without a backend nothing maps sqlx errors.
#[cfg(feature = "sqlite")]
mod backup;
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod group;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod health;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod impls;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod reworded;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod wal;

use std::sync::Arc;
use std::time::Duration;

use messenger_store::{Store, StoreError};

#[cfg(feature = "sqlite")]
pub use backup::{backup_sqlite, check_sqlite_copy, CopyReport};
pub use error::{failure_counts, ErrorKind, FailureCount, Outage};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
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
/// `SqliteStore`, `postgres:`/`postgresql:` URLs a `PostgresStore`. Migrations run first.
///
/// A URL of a backend whose feature is not compiled in fails with [`StoreError::Invalid`]
/// naming the feature ([`backend_for_url`] tells beforehand).
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(url, &SqlOptions::default()).await
}

/// The SQL backends, each behind the cargo feature of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (`sqlite:` URLs), feature `sqlite`.
    Sqlite,
    /// PostgreSQL (`postgres:` and `postgresql:` URLs), feature `postgres`.
    Postgres,
}

impl Backend {
    /// The backends this build has, in declaration order.
    pub const COMPILED: &'static [Backend] = &[
        #[cfg(feature = "sqlite")]
        Backend::Sqlite,
        #[cfg(feature = "postgres")]
        Backend::Postgres,
    ];

    /// The backend a URL names by its scheme (`sqlite:`, `postgres:`, `postgresql:`; ASCII case
    /// ignored), whether or not it is compiled in.
    ///
    /// ```
    /// use messenger_store_sql::Backend;
    /// assert_eq!(Backend::from_url("postgresql://db/m"), Some(Backend::Postgres));
    /// assert_eq!(Backend::from_url("mysql://db/m"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("sqlite") {
            Some(Self::Sqlite)
        } else if scheme.eq_ignore_ascii_case("postgres")
            || scheme.eq_ignore_ascii_case("postgresql")
        {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    /// The cargo feature of this crate that compiles the backend in: `sqlite` or `postgres`.
    pub const fn feature(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Whether this build has the backend.
    pub fn is_compiled(self) -> bool {
        Self::COMPILED.contains(&self)
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// The backend of `url`, if this build can open it: an error message naming the missing cargo
/// feature when the URL's backend is not compiled in, or saying which schemes are known.
///
/// ```
/// use messenger_store_sql::{backend_for_url, Backend};
/// # #[cfg(feature = "sqlite")]
/// assert_eq!(backend_for_url("sqlite::memory:"), Ok(Backend::Sqlite));
/// assert!(backend_for_url("mysql://db").is_err());
/// ```
pub fn backend_for_url(url: &str) -> Result<Backend, String> {
    match Backend::from_url(url) {
        Some(backend) if backend.is_compiled() => Ok(backend),
        Some(backend) => Err(format!(
            "{backend} is not compiled into this build (enable the `{}` feature of \
             messenger-store-sql)",
            backend.feature()
        )),
        None => Err("the database URL must start with sqlite:, postgres: or postgresql:".into()),
    }
}

/// [`connect`] with explicit options.
pub async fn connect_with(url: &str, options: &SqlOptions) -> Result<Arc<dyn Store>, StoreError> {
    let backend = backend_for_url(url).map_err(StoreError::invalid)?;
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => Ok(Arc::new(SqliteStore::connect(url, options).await?)),
        #[cfg(feature = "postgres")]
        Backend::Postgres => Ok(Arc::new(PostgresStore::connect(url, options).await?)),
        #[allow(unreachable_patterns)] // only when a backend is left out
        _ => {
            let _ = options;
            Err(StoreError::invalid(format!(
                "{backend} is not compiled into this build"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("SQLite://x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://db/m"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://db/m"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("memory://"), None);
        assert_eq!(Backend::from_url(""), None);
    }

    #[test]
    fn only_compiled_backends_are_accepted() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let url = match backend {
                Backend::Sqlite => "sqlite::memory:",
                Backend::Postgres => "postgres://db/m",
            };
            let want = match backend {
                Backend::Sqlite => cfg!(feature = "sqlite"),
                Backend::Postgres => cfg!(feature = "postgres"),
            };
            assert_eq!(backend.is_compiled(), want);
            match backend_for_url(url) {
                Ok(found) => assert!(want && found == backend),
                Err(message) => {
                    assert!(!want);
                    assert!(
                        message.contains(&format!("`{}` feature", backend.feature())),
                        "{message}"
                    );
                }
            }
        }
        assert!(backend_for_url("mysql://db").is_err());
    }

    #[tokio::test]
    async fn connect_refuses_what_is_not_compiled_in() {
        let err = match connect("mysql://db/m").await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("mysql: is no backend"),
        };
        assert!(err.contains("must start with sqlite:"), "{err}");
        #[cfg(not(feature = "postgres"))]
        {
            let err = match connect("postgres://db/m").await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("PostgreSQL is not compiled in"),
            };
            assert!(err.contains("`postgres` feature"), "{err}");
        }
        #[cfg(not(feature = "sqlite"))]
        {
            let err = match connect("sqlite::memory:").await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("SQLite is not compiled in"),
            };
            assert!(err.contains("`sqlite` feature"), "{err}");
        }
    }
}

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
