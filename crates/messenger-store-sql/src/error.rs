//! Mapping sqlx's errors to [`StoreError`] (the store traits' one error type; this crate has no
//! error enum of its own).
//!
//! Messages name the operation, never the connection string: credentials must not reach logs.

use messenger_store::StoreError;

/// Converts a sqlx error raised while doing `what`.
pub(crate) fn db_error(what: &'static str, e: sqlx::Error) -> StoreError {
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
