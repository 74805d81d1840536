//! A fresh PostgreSQL schema per test run, dropped at the end (even when the test fails).
//!
//! The server is `MESSENGER_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test` (as in messenger-store-sql's tests). When it
//! cannot be reached, the test fails if `CI=true` and is skipped otherwise, the skip said in one
//! line on the process's stderr (libtest would hide an `eprintln!` of a passing test).
//!
//! The gateway has no setting for a schema: its `database.url` goes to sqlx as it is. So the
//! schema is created here, and the URL given to the gateway puts it in `search_path` with
//! libpq's `options` parameter (`?options=-c%20search_path%3D<schema>`), which sqlx passes to
//! the server on every connection; the gateway's migrations then create their tables there.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The server the tests use.
fn server_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether an unreachable server must fail the test (in CI) rather than skip it.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A schema name no other run or test uses.
fn unique_schema() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "gw_process_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
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

/// A schema of the test server, dropped (with everything in it) when this is dropped.
pub(crate) struct TestSchema {
    server: String,
    schema: String,
}

impl TestSchema {
    /// Creates a fresh schema, or returns `None` after a loud message when the server is not
    /// reachable outside CI. In CI an unreachable server fails the test.
    pub(crate) async fn create() -> Option<Self> {
        let server = server_url();
        let schema = unique_schema();
        let mut conn = match sqlx::PgConnection::connect(&server).await {
            Ok(c) => c,
            Err(_) if !required() => {
                report_skip(&server);
                return None;
            }
            Err(e) => panic!("the test PostgreSQL is required when CI=true: {e}"),
        };
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(&mut conn)
            .await
            .expect("creating the test schema");
        let _ = conn.close().await;
        Some(Self { server, schema })
    }

    /// The gateway's `database.url`: the server, with the schema as `search_path`.
    pub(crate) fn gateway_url(&self) -> String {
        let sep = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.server, self.schema
        )
    }
}

impl TestSchema {
    /// Runs `sql` (one or more statements) in the schema.
    pub(crate) async fn execute(&self, sql: &str) {
        let mut conn = sqlx::PgConnection::connect(&self.gateway_url())
            .await
            .expect("connecting to the test schema");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("running SQL in the test schema");
        let _ = conn.close().await;
    }

    /// Runs a `SELECT COUNT(*) ...` (or any one-bigint query) in the schema.
    pub(crate) async fn count(&self, sql: &str) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.gateway_url())
            .await
            .expect("connecting to the test schema");
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(&mut conn)
            .await
            .expect("a count");
        let _ = conn.close().await;
        n
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let server = self.server.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        // A runtime of its own on another thread: this may run inside the test's runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&server)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(&sql)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.schema),
            Err(_) => eprintln!("could not drop test schema {}", self.schema),
        }
    }
}

#[test]
fn skip_lines_never_show_a_password() {
    assert_eq!(
        without_password("postgres://app:hunter2@db:5432/test?password=hunter2"),
        "postgres://app@db:5432/test"
    );
    assert_eq!(
        without_password("postgres://postgres@127.0.0.1:1/test"),
        "postgres://postgres@127.0.0.1:1/test"
    );
    assert_eq!(without_password("garbage hunter2"), "<an unreadable URL>");
}
