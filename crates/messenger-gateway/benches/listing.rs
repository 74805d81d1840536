//! Listing a space's messages with 1,000,000 stored: the HTTP answer time (p50, p99,
//! max) of `GET /apispaces/{space}/messages` for an unfiltered first page, filtered first pages
//! (a rare status, one recipient, a time window) and a page ~99% deep by cursor, on SQLite and
//! PostgreSQL.
//!
//! ```text
//! cargo bench -p messenger-gateway --bench listing -- [--backend sqlite|postgres|both] \
//!     [--rows N] [--requests N]
//! ```
//!
//! The gateway starts in-process (`Gateway::builder`, migrations applied) on a fresh SQLite file
//! or PostgreSQL schema (`MESSENGER_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; the schema is dropped at the end); the rows are
//! written by one `INSERT ... SELECT` over a generated series (not through the API), one every
//! 100 ms of acceptance time: 1% `failed`, the rest `sent`/`delivered`/`read`, 10,000
//! recipients (`profile:p0`..). Then each query is asked `--requests` times in a row over
//! loopback HTTP by one client; the figures are in docs/performance.md.

use std::time::{Duration, Instant};

use base64::Engine;
use messenger_gateway::config::Config;
use messenger_gateway::Gateway;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SPACE: &str = "bench";
const KEY: &str = "bench-key-0123456789abcdef";
const T0: i64 = 1_767_225_600_000;

/// One generated row's columns, as SQL over the series value `g`.
const ROW: &str = "printf_id, 'bench', 'profile:p' || (g % 10000), \
     '{\"to\":{\"profileId\":\"p' || (g % 10000) || '\"},\"body\":\"hello\",\"rules\":[\"fbMessenger\"]}', \
     CASE WHEN g % 100 = 0 THEN 'failed' WHEN g % 3 = 0 THEN 'read' WHEN g % 3 = 1 THEN 'delivered' ELSE 'sent' END, \
     '[{\"status\":\"processing\",\"at\":\"2026-01-01T00:00:00.000Z\"}]', '[]', '[]', 'fbMessenger', \
     1767225600000 + g * 100, 1767225600000 + g * 100, 1";

const COLUMNS: &str = "id, space, recipient_key, request, status, status_history, rule_trace, \
     graph_message_ids, channel, created_at, next_attempt_at, attempts";

/// The id of row `g`: hex of `g`, shaped like a UUID.
fn id_of(g: i64) -> String {
    format!("{g:012x}-0000-7000-8000-000000000000")
}

fn postgres_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn config(db: &str) -> Result<Config, BoxError> {
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
[database]
{db}
[facebook]
app_secret = "be0c4a1f7d2e9b6358c0a4e1f7b2d9c6"
verify_token = "bench-verify-token"
graph_base_url = "http://127.0.0.1:9"
token_key = "listing bench opt-in token key, thirty-two bytes or more"
[[spaces]]
id = "{SPACE}"
page_id = "PAGE-BENCH"
page_token = "page-token-bench"
keys = ["{KEY}"]
"#
    );
    Ok(Config::from_toml_str(&toml, std::iter::empty())?)
}

/// Writes `rows` messages straight into the database.
async fn fill_sqlite(path: &std::path::Path, rows: i64) -> Result<(), BoxError> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
    let row = ROW.replace(
        "printf_id",
        "printf('%012x-0000-7000-8000-000000000000', g)",
    );
    let sql = format!(
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {rows}) \
         INSERT INTO messages ({COLUMNS}) SELECT {row} FROM s"
    );
    sqlx::query(&sql).execute(&mut conn).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

async fn fill_postgres(schema: &str, rows: i64) -> Result<(), BoxError> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&postgres_url()).await?;
    sqlx::query(&format!("SET search_path TO \"{schema}\""))
        .execute(&mut conn)
        .await?;
    let row = ROW.replace(
        "printf_id",
        "lpad(to_hex(g), 12, '0') || '-0000-7000-8000-000000000000'",
    );
    let sql = format!(
        "INSERT INTO messages ({COLUMNS}) SELECT {row} FROM generate_series(1::bigint, {rows}::bigint) g"
    );
    sqlx::query(&sql).execute(&mut conn).await?;
    sqlx::query("ANALYZE messages").execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

async fn drop_schema(schema: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_url()).await {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Asks `path` `n` times; p50, p99, max in ms, and the items of the last answer.
async fn measure(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    n: usize,
) -> Result<(f64, f64, f64, usize), BoxError> {
    let mut times = Vec::with_capacity(n);
    let mut items = 0;
    for _ in 0..n {
        let started = Instant::now();
        let res = http
            .get(format!("{base}{path}"))
            .bearer_auth(KEY)
            .send()
            .await?;
        let status = res.status();
        let body: serde_json::Value = res.json().await?;
        times.push(started.elapsed());
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {body}").into());
        }
        items = body.as_array().map_or(0, Vec::len);
    }
    times.sort();
    Ok((
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        items,
    ))
}

async fn run(backend: &str, rows: i64, requests: usize) -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("messenger.db");
    let schema = format!("listing_{}", std::process::id());
    let db = match backend {
        "sqlite" => format!("url = \"sqlite://{}?mode=rwc\"", file.display()),
        _ => format!("url = \"{}\"\nschema = \"{schema}\"", postgres_url()),
    };
    let gateway = Gateway::builder(config(&db)?).start().await?;
    let started = Instant::now();
    match backend {
        "sqlite" => fill_sqlite(&file, rows).await?,
        _ => fill_postgres(&schema, rows).await?,
    }
    println!(
        "{backend}: {rows} messages written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let base = format!("http://{}", gateway.addr);
    let http = reqwest::Client::new();
    let deep = rows / 100;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}",
        T0 + deep * 100,
        id_of(deep)
    ));
    let mid = T0 + rows / 2 * 100;
    let since = messenger_model::Timestamp::from_millis(mid);
    let until = messenger_model::Timestamp::from_millis(mid + 3_600_000);
    let queries = [
        (
            "first page, no filter",
            format!("/apispaces/{SPACE}/messages?limit=50"),
        ),
        (
            "first page, status=failed (1%)",
            format!("/apispaces/{SPACE}/messages?status=failed&limit=50"),
        ),
        (
            "first page, profileId (1 in 10,000)",
            format!("/apispaces/{SPACE}/messages?profileId=p42&limit=50"),
        ),
        (
            "first page, channel=fbMessenger",
            format!("/apispaces/{SPACE}/messages?channel=fbMessenger&limit=50"),
        ),
        (
            "first page, since/until (1 h mid-table)",
            format!("/apispaces/{SPACE}/messages?since={since}&until={until}&limit=50"),
        ),
        (
            "page 99% deep by cursor",
            format!("/apispaces/{SPACE}/messages?limit=50&cursor={cursor}"),
        ),
    ];
    for (name, path) in &queries {
        measure(&http, &base, path, 3).await?; // warm up
        let (p50, p99, max, items) = measure(&http, &base, path, requests).await?;
        println!("{backend}: {name:42} p50 {p50:6.2} ms  p99 {p99:6.2} ms  max {max:6.2} ms  ({items} items)");
    }
    gateway.shutdown().await;
    if backend == "postgres" {
        drop_schema(&schema).await;
    }
    Ok(())
}

fn main() {
    let mut backend = "both".to_owned();
    let mut rows: i64 = 1_000_000;
    let mut requests = 200;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--backend" => backend = args.next().unwrap_or_default(),
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).unwrap_or(rows),
            "--requests" => requests = args.next().and_then(|v| v.parse().ok()).unwrap_or(requests),
            "--bench" => {}
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let backends: Vec<&str> = match backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        b => vec![if b == "postgres" {
            "postgres"
        } else {
            "sqlite"
        }],
    };
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    for b in backends {
        if let Err(e) = runtime.block_on(run(b, rows, requests)) {
            eprintln!("{b}: {e}");
            std::process::exit(1);
        }
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average after: {}", load.trim());
    }
}
