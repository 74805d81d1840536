//! `memory`: 16 concurrent batch bodies of about 10 MB (5,000 requests each, one key) posted to
//! the real binary, each posted again after a 503 with `Retry-After` as a client would; reports
//! the process's peak RSS (`VmHWM`) against its idle figure, and how long the 80,000 messages
//! took to be accepted.

use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use serde_json::json;

use crate::child::{status_kb, GatewayProcess, Workdir};
use crate::drive::{client, Outcome};
use crate::env::Database;
use crate::pages::{config_toml, Space};
use crate::report::Row;
use crate::{Args, Backend, BoxError};

/// Bodies posted at once.
const CONCURRENT: usize = 16;

/// 5,000 requests (the most a batch holds) of nearly 2,000 characters each: just under the
/// default 10 MiB body limit.
fn ten_mb_batch() -> Vec<u8> {
    let text = "x".repeat(1_990);
    let requests: Vec<serde_json::Value> = (0..5_000)
        .map(|i| {
            json!({
                "to": {"fbMessengerId": format!("2474{i:010}")},
                "body": text,
                "rules": ["fbMessenger"],
            })
        })
        .collect();
    serde_json::to_vec(&requests).unwrap_or_default()
}

/// Posts `body` until it is accepted; returns how many answers were 503 first.
async fn post_until_accepted(
    http: reqwest::Client,
    url: String,
    key: String,
    body: bytes::Bytes,
) -> Result<u64, BoxError> {
    let mut shed = 0;
    loop {
        let sent = http
            .post(&url)
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        // A 503 written before the body was read closes the connection: the client may see
        // that instead of the answer, and posts again a second later.
        let res = match sent {
            Ok(res) => res,
            Err(e) if e.is_request() => {
                shed += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let text = res.text().await?;
        match (status, retry) {
            (202, _) => return Ok(shed),
            (503, Some(secs)) => {
                shed += 1;
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            _ => return Err(format!("{status}: {text}").into()),
        }
    }
}

pub(crate) async fn memory(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let space = Space::new("memory");
    let sim = GraphSim::builder()
        .app_secret(crate::env::APP_SECRET)
        .page(space.page.clone(), space.token())
        .record_requests(false)
        .start()
        .await?;
    let db = Database::fresh(backend)?;
    let dir = Workdir::new();
    let config = dir.write(
        "gateway.toml",
        &config_toml(args, &sim, &db, std::slice::from_ref(&space)),
    );
    let gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    let pid = gateway.pid();
    let idle_kb = status_kb(pid, "VmHWM");
    let body = bytes::Bytes::from(ten_mb_batch());
    let http = client(CONCURRENT)?;
    let started = Instant::now();
    let posts = (0..CONCURRENT).map(|_| {
        let url = space.messages_url(&gateway.base, true);
        let posted = Instant::now();
        let post = post_until_accepted(http.clone(), url, space.key.clone(), body.clone());
        async move { (post.await, posted.elapsed()) }
    });
    let mut outcome = Outcome::default();
    let mut shed = 0;
    for (result, took) in futures::future::join_all(posts).await {
        let answered = result.map(|n| {
            shed += n;
            5_000
        });
        outcome.record(answered.map_err(|e| e.to_string()), took);
    }
    let took = started.elapsed();
    let peak_kb = status_kb(pid, "VmHWM");
    drop(gateway);
    sim.shutdown().await;
    db.drop_schema().await;
    let note = format!(
        "{CONCURRENT} x {:.1} MB batches ({} messages) accepted in {:.1} s ({shed} answers 503 + \
         Retry-After first): the gateway's peak RSS {} MiB, {} MiB idle",
        body.len() as f64 / 1e6,
        outcome.units,
        took.as_secs_f64(),
        peak_kb / 1024,
        idle_kb / 1024,
    );
    eprintln!("memory: {note}");
    Ok(Row {
        backend,
        scenario: "memory (16 x 10 MB batches)".to_owned(),
        accepted_per_s: outcome.units as f64 / took.as_secs_f64(),
        dispatched_per_s: None,
        drain: None,
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: Some(peak_kb as f64 / 1024.0),
        note,
    })
}
