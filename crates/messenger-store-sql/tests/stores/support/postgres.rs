//! Test databases on the local PostgreSQL: one fresh schema per store, dropped afterwards.
//!
//! The server is `MESSENGER_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. When it cannot be reached, tests fail if `CI=true`
//! and are skipped otherwise, each skip saying so in one line on the process's stderr
//! (`postgres: skipped <test> (no server at <url>); set CI=true to fail instead`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use messenger_store::conformance::TestStore;
use messenger_store_sql::{PostgresStore, SqlOptions};
use sqlx::Connection;

/// The server the tests use.
pub(crate) fn url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema name no other run or test uses: pid, a counter and the clock.
pub(crate) fn unique_schema() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether an unreachable server must fail the test (in CI) rather than skip it.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A store in a fresh schema, or `None` (after a loud message) when the server is unreachable
/// outside CI.
pub(crate) async fn store_in_fresh_schema(options: SqlOptions) -> Option<(PostgresStore, String)> {
    let schema = unique_schema();
    let options = SqlOptions {
        postgres_schema: Some(schema.clone()),
        ..options
    };
    match PostgresStore::connect(&url(), &options).await {
        Ok(store) => Some((store, schema)),
        Err(_) if !required() => {
            report_skip(&url());
            None
        }
        Err(e) => panic!("the test PostgreSQL is required when CI=true: {e}"),
    }
}

/// Says that the running test was skipped, on the process's own stderr: libtest captures what
/// `eprintln!` prints and shows it only for failing tests, so a skip would go unseen.
fn report_skip(url: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!(
        "postgres: skipped {test} (no server at {}); set CI=true to fail instead\n",
        without_password(url)
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// `scheme://user:password@host/db?query` as `scheme://user@host/db` (the query may hold a
/// password too).
fn without_password(url: &str) -> String {
    let url = url.split('?').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<an unreadable URL>".to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Drops a test schema.
pub(crate) async fn drop_schema(schema: &str) {
    match sqlx::PgConnection::connect(&url()).await {
        Ok(mut conn) => {
            let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
                eprintln!("could not drop test schema {schema}: {e}");
            }
            let _ = conn.close().await;
        }
        Err(e) => eprintln!("could not drop test schema {schema}: {e}"),
    }
}

/// A conformance-kit store in a fresh schema, dropped after the case.
pub(crate) async fn test_store() -> Option<TestStore> {
    let (store, schema) = store_in_fresh_schema(SqlOptions::default()).await?;
    let closing = store.clone();
    Some(TestStore::new(Arc::new(store)).with_cleanup(async move {
        closing.close_pool().await;
        drop_schema(&schema).await;
    }))
}

/// Drops its schema when dropped, even when the test panics.
pub(crate) struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let schema = self.0.clone();
        // A runtime of its own on another thread: this may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_schema(&schema));
            }
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test schema {}", self.0);
        }
    }
}
