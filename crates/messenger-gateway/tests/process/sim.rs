//! graph-sim in this process, the configuration file the children run with, and the HTTP calls
//! the tests make to a child.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use messenger_test_support::wait;
use serde_json::Value;

use crate::child::GatewayProcess;
use crate::plan::Plan;

pub(crate) const APP_SECRET: &str = "8d41f0c2b9e7a6355e1c0f9a8b7d2e64";
pub(crate) const VERIFY_TOKEN: &str = "verify-token-for-process-tests";
pub(crate) const TOKEN_KEY: &str = "opt-in token key of at least thirty-two bytes";
pub(crate) const SPACE: &str = "acme";
pub(crate) const PAGE: &str = "1029384756";
pub(crate) const PAGE_TOKEN: &str = "page-token-for-process-tests";
pub(crate) const KEY: &str = "acme-key-0123456789abcdef";
/// The key the tests scrape `/metrics` with (`server.metrics_keys`).
pub(crate) const METRICS_KEY: &str = "metrics-key-0123456789abcdef";

/// A simulator for the one page, checking `appsecret_proof`, with the messaging window not
/// enforced (the space's window check is off too, so sends need no earlier inbound message).
pub(crate) async fn start_sim() -> GraphSim {
    GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .start()
        .await
        .expect("starting graph-sim")
}

/// Like [`start_sim`], but posting Meta's webhooks (message echoes after each send, as for a
/// page subscribed to `message_echoes`) to `webhook_url`.
pub(crate) async fn start_sim_with_echoes(webhook_url: &str) -> GraphSim {
    GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .webhook_url(webhook_url)
        .echoes(true)
        .start()
        .await
        .expect("starting graph-sim")
}

/// A free port on loopback, for a gateway graph-sim must know before it starts.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// graph-sim posting Meta's echoes to a gateway on a fixed port, and that gateway's
/// configuration file (SQLite in `dir`): a killed process and its restart share the port, so
/// the echoes reach whichever runs, and the instance id, so the restart takes back at once
/// what the killed run held (its messages and the webhook bodies it was applying).
pub(crate) async fn echoing_sim_and_config(
    dir: &crate::child::Workdir,
    dispatch: Dispatch,
) -> (GraphSim, std::path::PathBuf) {
    let port = free_port();
    let sim = start_sim_with_echoes(&format!("http://127.0.0.1:{port}/webhooks/facebook")).await;
    let toml = config_toml(&sim, &dir.sqlite_url("messenger.db"), dispatch).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\"\ninstance_id = \"restarted-{port}\""),
    );
    let config = dir.write("gateway.toml", &toml);
    (sim, config)
}

/// The `[dispatch]` settings a test runs with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dispatch {
    pub workers: usize,
    pub batch_size: usize,
    pub lease_secs: u64,
}

impl Dispatch {
    /// The most messages one process has leased at once: `workers` x `batch_size`.
    pub(crate) fn concurrency(&self) -> usize {
        self.workers * self.batch_size
    }
}

/// The page's send rate of the process tests about crashes, sharing and shutdown: far above
/// anything they send, so that graph-sim's speed is their only limit. Meta's pace is not what
/// they test; `pacing` sets a real rate.
pub(crate) const UNPACED: u32 = 1_000_000;

/// The configuration file: one space on graph-sim, window check off, no webhook, the page
/// [`UNPACED`].
pub(crate) fn config_toml(sim: &GraphSim, db_url: &str, dispatch: Dispatch) -> String {
    paced_config_toml(sim, db_url, dispatch, UNPACED)
}

/// Like [`config_toml`], with the page's `send_rate`.
pub(crate) fn paced_config_toml(
    sim: &GraphSim,
    db_url: &str,
    dispatch: Dispatch,
    send_rate: u32,
) -> String {
    let Dispatch {
        workers,
        batch_size,
        lease_secs,
    } = dispatch;
    let section = format!(
        r#"
[dispatch]
workers = {workers}
batch_size = {batch_size}
poll_interval_ms = 20
lease_secs = {lease_secs}
recover_interval_secs = 1
retry_initial_ms = 50
retry_max_secs = 1
"#
    );
    config_with(sim, db_url, &section, send_rate)
}

/// Like [`config_toml`], but with the documented defaults of `[dispatch]` and of the pool
/// (`database.max_connections` 4): what a new user runs (the page [`UNPACED`]).
pub(crate) fn default_dispatch_toml(sim: &GraphSim, db_url: &str) -> String {
    config_with(sim, db_url, "", UNPACED)
}

fn config_with(sim: &GraphSim, db_url: &str, dispatch_section: &str, send_rate: u32) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
batch_body_limit = 10485760
shutdown_grace_secs = 20
metrics_keys = ["{METRICS_KEY}"]

[database]
url = "{db_url}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
token_key = "{TOKEN_KEY}"
graph_base_url = "{sim_url}"
{dispatch_section}
[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
window_check = false
send_rate = {send_rate}
"#,
        sim_url = sim.base_url(),
    )
}

/// An HTTP client for the children.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        // Under the gateway's 60 s idle timer, so a pooled connection is never reused just as
        // the gateway closes it.
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// `POST /apispaces/{space}/messages/batch`, again after each 429 or 503 with `Retry-After` (the
/// instance shedding while its sending is behind, decision 0025, or its store away: nothing was
/// stored), as a client must; returns the message ids in request order.
pub(crate) async fn post_batch(
    http: &reqwest::Client,
    base: &str,
    requests: &[Value],
) -> Vec<String> {
    let text = wait::until(
        "the batch is accepted",
        Duration::from_millis(100),
        || async {
            let res = http
                .post(format!("{base}/apispaces/{SPACE}/messages/batch"))
                .bearer_auth(KEY)
                .json(requests)
                .send()
                .await
                .expect("POST .../messages/batch");
            let status = res.status().as_u16();
            let later = res.headers().contains_key("retry-after");
            let text = res.text().await.expect("the batch answer");
            match status {
                202 => Ok(text),
                429 | 503 if later => Err(format!("{status}: {text}")),
                other => panic!("the batch: {other}: {text}"),
            }
        },
    )
    .await;
    let answer: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
    assert_eq!(answer.len(), requests.len(), "one id per request");
    answer
        .iter()
        .enumerate()
        .map(|(i, a)| {
            assert_eq!(a["index"], i, "{a}");
            a["messageId"].as_str().expect("messageId").to_owned()
        })
        .collect()
}

/// `GET /apispaces/{space}/messages/{id}`.
pub(crate) async fn get_message(http: &reqwest::Client, base: &str, id: &str) -> Value {
    let res = http
        .get(format!("{base}/apispaces/{SPACE}/messages/{id}"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("GET .../messages/{id}");
    assert_eq!(res.status().as_u16(), 200, "message {id}");
    res.json().await.expect("the message resource")
}

/// Polls the message resources until every one is `sent` (panics at `timeout`, naming the
/// statuses); returns the time it took.
pub(crate) async fn wait_all_sent(
    http: &reqwest::Client,
    base: &str,
    ids: &[String],
    timeout: Duration,
) -> Duration {
    let started = Instant::now();
    let mut pending: Vec<String> = ids.to_vec();
    loop {
        let statuses = futures::future::join_all(pending.chunks(50).map(|chunk| async move {
            let mut out = Vec::with_capacity(chunk.len());
            for id in chunk {
                let m = get_message(http, base, id).await;
                out.push((id.clone(), m["status"].as_str().unwrap_or("?").to_owned()));
            }
            out
        }))
        .await;
        let not_sent: Vec<(String, String)> = statuses
            .into_iter()
            .flatten()
            .filter(|(_, s)| s != "sent")
            .collect();
        if not_sent.is_empty() {
            return started.elapsed();
        }
        if started.elapsed() > timeout {
            let mut by_status: HashMap<&str, usize> = HashMap::new();
            for (_, s) in &not_sent {
                *by_status.entry(s).or_default() += 1;
            }
            panic!(
                "{} of {} messages not sent after {timeout:?}: {by_status:?}; e.g. {}",
                not_sent.len(),
                ids.len(),
                get_message(http, base, &not_sent[0].0).await
            );
        }
        pending = not_sent.into_iter().map(|(id, _)| id).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until graph-sim has every message of `plan` and the gateway at `base` says each of
/// `ids` is sent (each wait capped by `cap`, against a hang only), then asserts that none was
/// lost, each was sent exactly once, and each recipient's in acceptance order. Returns how long
/// graph-sim took to have them all.
pub(crate) async fn assert_all_sent_once(
    sim: &GraphSim,
    http: &reqwest::Client,
    base: &str,
    ids: &[String],
    plan: crate::plan::Plan,
    cap: Duration,
) -> Duration {
    let received = crate::plan::wait_all_received(sim, plan, cap).await;
    wait_all_sent(http, base, ids, cap).await;
    let sends = crate::plan::Sends::from_sim(sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    received
}

/// Waits until `done()` holds, polling every 5 ms; panics with `what` at `timeout` (a guard
/// against hanging).
pub(crate) async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    wait::until_within(timeout, what, Duration::from_millis(5), || {
        let held = done();
        async move {
            if held {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        }
    })
    .await;
}

/// Kills the gateway with `kill -9` part-way through `plan`, and returns how many sends graph-sim
/// had taken by then. A request the child wrote just before it died may still be in graph-sim's
/// socket: the count is read once that has had time to land. Fails the test when everything was
/// already sent (it would prove nothing).
pub(crate) async fn kill9_mid_plan(
    gateway: &mut GatewayProcess,
    sim: &GraphSim,
    plan: Plan,
) -> u64 {
    gateway.kill9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = sim.sent_count();
    assert!(
        at_kill < u64::try_from(plan.total()).expect("a count"),
        "everything was sent before the kill ({at_kill}): the test proves nothing"
    );
    at_kill
}

/// The child's `messenger_gateway_dispatch_sends_total{outcome="sent"}`.
pub(crate) async fn sends_metric(http: &reqwest::Client, base: &str) -> u64 {
    metrics_text(http, base)
        .await
        .lines()
        .find_map(|l| l.strip_prefix("messenger_gateway_dispatch_sends_total{outcome=\"sent\"} "))
        .map_or(0, |v| v.trim().parse().expect("a counter value"))
}

/// The child's `GET /metrics` text.
pub(crate) async fn metrics_text(http: &reqwest::Client, base: &str) -> String {
    http.get(format!("{base}/metrics"))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics text")
}
