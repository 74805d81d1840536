//! Mapping sqlx's errors to [`StoreError`] (the store traits' one error type; this crate has no
//! error enum of its own), and counting them by operation ([`failure_counts`]).
//!
//! Messages name the operation, never the connection string: credentials must not reach logs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use messenger_store::StoreError;

/// Failures of this process's SQL stores so far, by operation and kind.
static FAILURES: Mutex<BTreeMap<(&'static str, ErrorKind), u64>> = Mutex::new(BTreeMap::new());

/// Which [`StoreError`] a failure became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`StoreError::Unavailable`]: the database cannot serve now (an [`Outage`]: unreachable,
    /// busy, full, failing disk).
    Unavailable,
    /// [`StoreError::Backend`]: the database refused a statement.
    Backend,
}

impl ErrorKind {
    /// `unavailable` or `backend`, as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Backend => "backend",
        }
    }
}

/// How many times one operation failed in one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailureCount {
    /// The operation, as the error names it (`leasing messages`, `starting a transaction`).
    pub operation: &'static str,
    /// How it failed.
    pub kind: ErrorKind,
    /// Times, since the process started.
    pub count: u64,
}

/// Every operation of this process's SQL stores that has failed (unreachable database,
/// refused statement) and how often, in operation order: what a gateway exports as a metric.
/// Uniqueness violations are not counted: they are answers (an idempotency key used before),
/// not failures.
///
/// ```
/// // A fresh process has seen no failure.
/// assert!(messenger_store_sql::failure_counts().iter().all(|f| f.count > 0));
/// ```
pub fn failure_counts() -> Vec<FailureCount> {
    let failures = FAILURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    failures
        .iter()
        .map(|(&(operation, kind), &count)| FailureCount {
            operation,
            kind,
            count,
        })
        .collect()
}

fn count_failure(operation: &'static str, kind: ErrorKind) {
    let mut failures = FAILURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *failures.entry((operation, kind)).or_default() += 1;
}

/// Why a SQL store cannot serve now: the cause a [`StoreError::Unavailable`] of this crate
/// names. Each is transient: the same operation may succeed once the cause is gone, without a
/// restart. [`Outage::of`] reads it back from an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Outage {
    /// The disk (or the database's own quota) is full: SQLite's `SQLITE_FULL`, PostgreSQL's
    /// `disk_full` (53100).
    Full,
    /// The database cannot be reached, or the connection was lost: refused, reset, cut by the
    /// server (`pg_terminate_backend`, a restart: SQLSTATE class 08, 57P01-57P03), the pool
    /// closed.
    Unreachable,
    /// The database is busy: SQLite's lock wait ran out (`SQLITE_BUSY`, `SQLITE_LOCKED`), or
    /// PostgreSQL gave up on a lock, a serialization or its connection slots (40001, 40P01,
    /// 55P03, 57014, 53200, 53300).
    Busy,
    /// No connection was had within the pool's acquire timeout: every pooled connection stayed
    /// busy, or new ones could not be opened (the pool retries a refused connection until then,
    /// so the two look alike; `ping` tells them apart).
    NoConnection,
    /// The disk failed a read or a write, or the file cannot be opened or written
    /// (`SQLITE_IOERR`, `SQLITE_CANTOPEN`, `SQLITE_READONLY`, `SQLITE_NOMEM`; PostgreSQL's
    /// `io_error`, 58030).
    Io,
}

impl Outage {
    /// A stable name, as a metric label or a problem's `cause`: `full`, `unreachable`, `busy`,
    /// `no-connection`, `io`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Unreachable => "unreachable",
            Self::Busy => "busy",
            Self::NoConnection => "no-connection",
            Self::Io => "io",
        }
    }

    /// What it is, in words an operator and an API client can read (no path, no URL).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Full => "the database or disk is full",
            Self::Unreachable => "the database cannot be reached",
            Self::Busy => "the database is busy",
            Self::NoConnection => {
                "no database connection in time (the database is unreachable or overloaded)"
            }
            Self::Io => "the database's disk failed a read or a write",
        }
    }

    /// How long a client is asked to wait before retrying (`Retry-After`): a full or failing
    /// disk waits for an operator, a lost connection for a reconnect, a busy database for a
    /// moment.
    pub fn retry_after(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Self::Full | Self::Io => 10,
            Self::Unreachable | Self::NoConnection => 5,
            Self::Busy => 1,
        })
    }

    /// The outage a [`StoreError`] of this crate reports (an [`StoreError::Unavailable`] with a
    /// sqlx error as its source), if any.
    ///
    /// ```
    /// use messenger_store_sql::Outage;
    /// let e = messenger_store::StoreError::invalid("not an outage");
    /// assert_eq!(Outage::of(&e), None);
    /// ```
    pub fn of(e: &StoreError) -> Option<Self> {
        let StoreError::Unavailable { source, .. } = e else {
            return None;
        };
        let source = source.as_deref()?;
        if let Some(OutageMark(outage)) = source.downcast_ref::<OutageMark>() {
            return Some(*outage);
        }
        match classify(source.downcast_ref::<sqlx::Error>()?) {
            Class::Outage(outage) => Some(outage),
            Class::Conflict | Class::Refused => None,
        }
    }
}

/// The source of an error that names an outage without a sqlx error of its own (the write
/// health a ping reports), for [`Outage::of`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct OutageMark(pub(crate) Outage);

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// What a sqlx error means for the caller.
enum Class {
    /// A uniqueness rule said no: an answer, not a failure.
    Conflict,
    /// The database cannot serve now; retrying later may succeed.
    Outage(Outage),
    /// The database refused the statement.
    Refused,
}

fn classify(e: &sqlx::Error) -> Class {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Class::Conflict,
        sqlx::Error::Database(db) => {
            database_outage(db.as_ref()).map_or(Class::Refused, Class::Outage)
        }
        sqlx::Error::PoolTimedOut => Class::Outage(Outage::NoConnection),
        sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Class::Outage(Outage::Unreachable),
        _ => Class::Refused,
    }
}

/// The outage a database's own error code says, if it is one.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_variables)
)]
fn database_outage(db: &dyn sqlx::error::DatabaseError) -> Option<Outage> {
    #[cfg(feature = "sqlite")]
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let code: i32 = db.code()?.parse().ok()?;
        // The primary result code is the low byte of the extended one.
        return match code & 0xff {
            13 => Some(Outage::Full),
            5 | 6 => Some(Outage::Busy),
            7 | 8 | 10 | 14 => Some(Outage::Io),
            _ => None,
        };
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = pg.code();
        return match code {
            "53100" => Some(Outage::Full),
            "57P01" | "57P02" | "57P03" => Some(Outage::Unreachable),
            _ if code.starts_with("08") => Some(Outage::Unreachable),
            "40001" | "40P01" | "55P03" | "57014" | "53200" | "53300" => Some(Outage::Busy),
            "58030" => Some(Outage::Io),
            _ => None,
        };
    }
    None
}

/// Converts a sqlx error raised while doing `what`.
pub(crate) fn db_error(what: &'static str, e: sqlx::Error) -> StoreError {
    match classify(&e) {
        Class::Conflict => {
            let constraint = match &e {
                sqlx::Error::Database(db) => db.constraint().unwrap_or("unique key").to_owned(),
                _ => "unique key".to_owned(),
            };
            StoreError::Conflict {
                message: format!("{what}: uniqueness violated ({constraint})"),
            }
        }
        Class::Outage(outage) => {
            count_failure(what, ErrorKind::Unavailable);
            StoreError::Unavailable {
                message: format!("{what}: {outage}"),
                source: Some(Box::new(e)),
            }
        }
        Class::Refused => {
            count_failure(what, ErrorKind::Backend);
            StoreError::Backend {
                message: what.to_owned(),
                source: Some(Box::new(e)),
            }
        }
    }
}

/// A closure for `map_err` that converts a sqlx error raised while doing `what`.
pub(crate) fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| db_error(what, e)
}

/// Converts a migration error.
pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::Execute(inner) => db_error("running migrations", inner),
        other => StoreError::Backend {
            message: "running migrations".to_owned(),
            source: Some(Box::new(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_name_their_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for (e, outage) in [
            (sqlx::Error::PoolTimedOut, Outage::NoConnection),
            (sqlx::Error::Io(refused), Outage::Unreachable),
            (sqlx::Error::PoolClosed, Outage::Unreachable),
        ] {
            let e = db_error("testing an outage", e);
            assert!(e.is_transient(), "{e}");
            assert_eq!(Outage::of(&e), Some(outage));
            assert!(e.to_string().contains(outage.describe()), "{e}");
        }
        let refused = db_error("testing a refusal", sqlx::Error::RowNotFound);
        assert!(!refused.is_transient());
        assert_eq!(Outage::of(&refused), None);
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_codes_are_classified() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("an in-memory database");
        // max_page_count below the pages in use: the next page is refused as SQLITE_FULL.
        sqlx::raw_sql("CREATE TABLE t (x BLOB); PRAGMA max_page_count = 2;")
            .execute(&mut conn)
            .await
            .expect("setting up");
        let full = sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut conn)
            .await
            .expect_err("the page limit refuses the row");
        let e = db_error("testing a full database", full);
        assert_eq!(Outage::of(&e), Some(Outage::Full), "{e}");
    }
}
