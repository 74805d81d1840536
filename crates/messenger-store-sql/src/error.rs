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
    /// [`StoreError::Unavailable`]: no connection (pool timed out, connection refused, I/O).
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

/// Converts a sqlx error raised while doing `what`.
pub(crate) fn db_error(what: &'static str, e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => None,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Some(ErrorKind::Unavailable),
        _ => Some(ErrorKind::Backend),
    };
    if let Some(kind) = kind {
        count_failure(what, kind);
    }
    match e {
        sqlx::Error::Database(ref db) if db.is_unique_violation() => StoreError::Conflict {
            message: format!(
                "{what}: uniqueness violated ({})",
                db.constraint().unwrap_or("unique key")
            ),
        },
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable {
            message: what.to_owned(),
            source: Some(Box::new(e)),
        },
        other => StoreError::Backend {
            message: what.to_owned(),
            source: Some(Box::new(other)),
        },
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
