//! Test schemas on the local PostgreSQL: one fresh schema per test, dropped afterwards.
//!
//! The server is `MESSENGER_TEST_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. When it cannot be reached, the test fails under
//! `CI=true` and is skipped otherwise ([`crate::ci::skip_or_fail`]), the skip line naming the
//! server without its password.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The server the tests use.
pub fn server_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema name no other run or test uses: `prefix`, the process id, a counter and the clock.
pub fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `scheme://user:password@host/db?query` as `scheme://user@host/db` (the query may hold a
/// password too).
pub fn without_password(url: &str) -> String {
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
#[derive(Debug)]
pub struct TestSchema {
    server: String,
    name: String,
}

impl TestSchema {
    /// Creates a fresh schema named after `prefix`, or returns `None` when the server is not
    /// reachable outside CI (after the skip line). Under `CI=true` an unreachable server fails
    /// the test.
    pub async fn create(prefix: &str) -> Option<Self> {
        let server = server_url();
        let name = unique_schema(prefix);
        let mut conn = match sqlx::PgConnection::connect(&server).await {
            Ok(c) => c,
            Err(e) => {
                let why = format!("no server at {}: {e}", without_password(&server));
                crate::ci::skip_or_fail("postgres", &why);
                return None;
            }
        };
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("creating the test schema");
        let _ = conn.close().await;
        Some(Self { server, name })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL (without the schema).
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The server's URL with the schema as `search_path` (libpq's `options` parameter, which
    /// sqlx passes to the server on every connection): for a program that takes only a URL.
    pub fn url_with_search_path(&self) -> String {
        let sep = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.server, self.name
        )
    }

    /// Runs `sql` (one or more statements) in the schema.
    pub async fn execute(&self, sql: &str) {
        let mut conn = sqlx::PgConnection::connect(&self.url_with_search_path())
            .await
            .expect("connecting to the test schema");
        sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .expect("running SQL in the test schema");
        let _ = conn.close().await;
    }

    /// Runs a `SELECT COUNT(*) ...` (or any one-bigint query) in the schema.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.url_with_search_path())
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
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
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
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test schema {}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn schema_names_are_unique_and_prefixed() {
        let (a, b) = (unique_schema("t"), unique_schema("t"));
        assert_ne!(a, b);
        assert!(a.starts_with("t_"), "{a}");
    }

    /// A schema is there while its guard lives and gone after (needs the server; skipped
    /// outside CI when it is missing).
    #[tokio::test]
    async fn a_schema_lives_as_long_as_its_guard() {
        let Some(schema) = TestSchema::create("support").await else {
            return;
        };
        let name = schema.name().to_owned();
        let exists = format!(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '{name}'"
        );
        schema
            .execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2)")
            .await;
        assert_eq!(schema.count("SELECT COUNT(*) FROM t").await, 2);
        assert_eq!(schema.count(&exists).await, 1);
        let server = schema.server_url().to_owned();
        drop(schema);
        let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
        let (n,): (i64,) = sqlx::query_as(&exists).fetch_one(&mut conn).await.unwrap();
        assert_eq!(n, 0);
        let _ = conn.close().await;
    }
}
