//! Load harness (issue 6): sustained messages per second accepted by the gateway and dispatched
//! to graph-sim, accept latency (p50/p99/max) at a paced rate, Meta webhook ingest, and the peak
//! RSS, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p messenger-gateway --bench load -- \
//!     [--backend sqlite|postgres] [--scenario single|batch|paced|webhook|all] [--seconds N] \
//!     [--concurrency N] [--batch-size N] [--rate N] [--events-per-body N] \
//!     [--workers N] [--dispatch-batch N] [--drain-timeout SECS] [--log]
//! ```
//!
//! Everything runs in this one process on one tokio runtime (as many worker threads as cores):
//! graph-sim (not recording: `record_requests(false)`), the gateway (`Gateway::builder` with a
//! configuration like an operator's: SQLite file in a temporary directory, or PostgreSQL in a
//! fresh schema dropped at the end; window check off), and the load generator, which drives the
//! gateway over real loopback HTTP with one pooled reqwest client. Each scenario gets a fresh
//! gateway, simulator and database. The peak RSS is the process's `VmHWM`, reset before each
//! scenario (`/proc/self/clear_refs`), so it covers load generator, gateway and simulator.
//!
//! PostgreSQL: `MESSENGER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
//! The figures are in docs/performance.md.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use messenger_gateway::config::Config;
use messenger_gateway::{Gateway, GatewayHandle};
use messenger_store::Store;
use messenger_store_sql::{PostgresStore, SqlOptions};

const APP_SECRET: &str = "load-app-secret";
const VERIFY_TOKEN: &str = "load-verify-token";
const TOKEN_KEY: &str = "load harness opt-in token key, thirty-two bytes or more";
const SPACE: &str = "bench";
const PAGE: &str = "PAGE-BENCH";
const PAGE_TOKEN: &str = "page-token-bench";
const KEY: &str = "bench-key-0123456789abcdef";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Single,
    Batch,
    Paced,
    Webhook,
}

#[derive(Debug, Clone)]
struct Args {
    backends: Vec<Backend>,
    scenarios: Vec<Scenario>,
    seconds: u64,
    concurrency: usize,
    batch_size: usize,
    batch_concurrency: usize,
    rate: u64,
    events_per_body: usize,
    workers: Option<usize>,
    dispatch_batch: Option<usize>,
    drain_timeout: u64,
    log: bool,
}

fn usage() -> String {
    "usage: load [--backend sqlite|postgres|both] [--scenario single|batch|paced|webhook|all] \
     [--seconds N] [--concurrency N] [--batch-size N] [--batch-concurrency N] [--rate N] \
     [--events-per-body N] [--workers N] [--dispatch-batch N] [--drain-timeout SECS] [--log]"
        .to_owned()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        backends: vec![Backend::Sqlite],
        scenarios: vec![
            Scenario::Single,
            Scenario::Batch,
            Scenario::Paced,
            Scenario::Webhook,
        ],
        seconds: 10,
        concurrency: 64,
        batch_size: 500,
        batch_concurrency: 4,
        rate: 1000,
        events_per_body: 1,
        workers: None,
        dispatch_batch: None,
        drain_timeout: 120,
        log: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{}", usage()))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{v:?} is not a number\n{}", usage()))
        };
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--backend" => {
                args.backends = match value()?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => return Err(format!("unknown backend {other:?}\n{}", usage())),
                }
            }
            "--scenario" => {
                args.scenarios = match value()?.as_str() {
                    "single" => vec![Scenario::Single],
                    "batch" => vec![Scenario::Batch],
                    "paced" => vec![Scenario::Paced],
                    "webhook" => vec![Scenario::Webhook],
                    "all" => args.scenarios.clone(),
                    other => return Err(format!("unknown scenario {other:?}\n{}", usage())),
                }
            }
            "--seconds" => args.seconds = number(value()?)?.max(1),
            "--concurrency" => args.concurrency = number(value()?)?.max(1) as usize,
            "--batch-size" => args.batch_size = number(value()?)?.clamp(1, 5000) as usize,
            "--batch-concurrency" => args.batch_concurrency = number(value()?)?.max(1) as usize,
            "--rate" => args.rate = number(value()?)?.max(1),
            "--events-per-body" => args.events_per_body = number(value()?)?.max(1) as usize,
            "--workers" => args.workers = Some(number(value()?)? as usize),
            "--dispatch-batch" => args.dispatch_batch = Some(number(value()?)? as usize),
            "--drain-timeout" => args.drain_timeout = number(value()?)?,
            "--log" => args.log = true,
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(args)
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux: `5` in `/proc/self/clear_refs`).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A fresh database for one scenario.
struct Database {
    url: String,
    store: Option<Arc<dyn Store>>,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

fn postgres_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Database {
    async fn fresh(backend: Backend) -> Result<Self, BoxError> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("messenger.db").display()
                );
                Ok(Self {
                    url,
                    store: None,
                    schema: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or_default();
                let schema = format!("load_{}_{nanos}", std::process::id());
                let options = SqlOptions {
                    postgres_schema: Some(schema.clone()),
                    ..SqlOptions::default()
                };
                let url = postgres_url();
                let store = PostgresStore::connect(&url, &options).await?;
                Ok(Self {
                    url,
                    store: Some(Arc::new(store)),
                    schema: Some(schema),
                    _dir: None,
                })
            }
        }
    }

    async fn drop_schema(&self) {
        use sqlx::Connection;
        let Some(schema) = &self.schema else { return };
        match sqlx::PgConnection::connect(&self.url).await {
            Ok(mut conn) => {
                let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
                    eprintln!("could not drop schema {schema}: {e}");
                }
                let _ = conn.close().await;
            }
            Err(e) => eprintln!("could not drop schema {schema}: {e}"),
        }
    }
}

/// A gateway, its simulator and its database.
struct Env {
    sim: GraphSim,
    gateway: GatewayHandle,
    base: String,
    db: Database,
}

fn config_toml(args: &Args, sim_url: &str, db_url: &str) -> String {
    let mut dispatch = String::new();
    if let Some(w) = args.workers {
        dispatch.push_str(&format!("workers = {w}\n"));
    }
    if let Some(b) = args.dispatch_batch {
        dispatch.push_str(&format!("batch_size = {b}\n"));
    }
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 10

[database]
url = "{db_url}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
graph_base_url = "{sim_url}"
token_key = "{TOKEN_KEY}"

[dispatch]
{dispatch}
[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
window_check = false
"#
    )
}

impl Env {
    async fn start(args: &Args, backend: Backend) -> Result<Self, BoxError> {
        let sim = GraphSim::builder()
            .page(PAGE, PAGE_TOKEN)
            .app_secret(APP_SECRET)
            .record_requests(false)
            .start()
            .await?;
        let db = Database::fresh(backend).await?;
        let config = Config::from_toml_str(
            &config_toml(args, sim.base_url(), &db.url),
            std::iter::empty(),
        )?;
        let mut builder = Gateway::builder(config);
        if let Some(store) = &db.store {
            builder = builder.store(Arc::clone(store));
        }
        let gateway = builder.start().await?;
        let base = format!("http://{}", gateway.addr);
        Ok(Self {
            sim,
            gateway,
            base,
            db,
        })
    }

    async fn stop(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
        self.db.drop_schema().await;
    }

    /// Waits until graph-sim has taken `expected` sends; returns how long that took, or `None`
    /// at the timeout.
    async fn drain(&self, expected: u64, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        while self.sim.sent_count() < expected {
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Some(started.elapsed())
    }
}

/// What a load run counted.
#[derive(Debug, Default)]
struct Outcome {
    /// Successful requests.
    requests: u64,
    /// Units in them (messages, events).
    units: u64,
    /// Failed requests.
    errors: u64,
    first_error: Option<String>,
    /// Latencies of successful requests, in microseconds.
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn merge(&mut self, other: Self) {
        self.requests += other.requests;
        self.units += other.units;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
    }

    fn record(&mut self, result: Result<u64, String>, latency: Duration) {
        match result {
            Ok(units) => {
                self.requests += 1;
                self.units += units;
                self.latencies_us
                    .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            }
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds.
    fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let rank = ((self.latencies_us.len() as f64) * q).ceil() as usize;
        let i = rank.clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// `concurrency` tasks each send requests back to back for `duration` (closed loop); `call(n)`
/// makes request number `n` and answers the units it carried.
async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, call: F) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, counter, stop) =
                (Arc::clone(&call), Arc::clone(&counter), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let result = call(n).await;
                    outcome.record(result, t.elapsed());
                }
                outcome
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Outcome::default();
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(o) => total.merge(o),
            Err(e) => total.merge(Outcome {
                errors: 1,
                first_error: Some(format!("load task panicked: {e}")),
                ..Outcome::default()
            }),
        }
    }
    (total, started.elapsed())
}

/// Requests at `rate` per second for `duration` on a fixed schedule (open loop: a slow answer
/// does not delay the next request); latency counts from the scheduled time.
async fn open_loop<F, Fut>(rate: u64, duration: Duration, call: F) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send + 'static,
{
    let total = rate.saturating_mul(duration.as_secs()).max(1);
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for n in 0..total {
        let at = started + period.mul_f64(n as f64);
        tokio::time::sleep_until(at.into()).await;
        let fut = call(n);
        handles.push(tokio::spawn(async move {
            let result = fut.await;
            (result, at.elapsed())
        }));
    }
    let mut outcome = Outcome::default();
    for h in futures::future::join_all(handles).await {
        match h {
            Ok((result, latency)) => outcome.record(result, latency),
            Err(e) => outcome.record(Err(format!("request task panicked: {e}")), Duration::ZERO),
        }
    }
    (outcome, started.elapsed())
}

fn send_body(n: u64) -> String {
    format!(
        r#"{{"to":{{"fbMessengerId":"2400{n:010}"}},"body":"Your order #{n} has shipped and will arrive tomorrow between 9am and 1pm.","rules":["fbMessenger"]}}"#
    )
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: String,
    headers: &[(&str, String)],
    expect: u16,
) -> Result<(), String> {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let res = req.send().await.map_err(|e| format!("{e}"))?;
    let status = res.status().as_u16();
    let text = res.bytes().await.map_err(|e| format!("{e}"))?;
    if status == expect {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(300)])
        ))
    }
}

fn client(concurrency: usize) -> Result<reqwest::Client, BoxError> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// One row of the table.
struct Row {
    backend: Backend,
    scenario: String,
    accepted_per_s: f64,
    dispatched_per_s: Option<f64>,
    drain: Option<Option<Duration>>,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    peak_rss_mib: Option<f64>,
    note: String,
}

async fn run_sends(args: &Args, backend: Backend, batch: bool) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let (concurrency, size) = if batch {
        (args.batch_concurrency, args.batch_size)
    } else {
        (args.concurrency, 1)
    };
    let http = client(concurrency)?;
    let auth = vec![("authorization", format!("Bearer {KEY}"))];
    let sent_before = env.sim.sent_count();
    let url = if batch {
        format!("{}/apispaces/{SPACE}/messages/batch", env.base)
    } else {
        format!("{}/apispaces/{SPACE}/messages", env.base)
    };
    let duration = Duration::from_secs(args.seconds);
    let (mut outcome, elapsed) = closed_loop(concurrency, duration, move |n| {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        async move {
            if batch {
                let first = n * size as u64;
                let mut body = String::with_capacity(size * 160);
                body.push('[');
                for i in 0..size as u64 {
                    if i > 0 {
                        body.push(',');
                    }
                    body.push_str(&send_body(first + i));
                }
                body.push(']');
                post(&http, &url, body, &auth, 202).await?;
                Ok(size as u64)
            } else {
                post(&http, &url, send_body(n), &auth, 201).await?;
                Ok(1)
            }
        }
    })
    .await;
    let sent_during = env.sim.sent_count() - sent_before;
    let drain = env
        .drain(
            sent_before + outcome.units,
            Duration::from_secs(args.drain_timeout),
        )
        .await;
    let secs = elapsed.as_secs_f64();
    let row = Row {
        backend,
        scenario: if batch {
            format!("batch ({size}/request, {concurrency} in flight)")
        } else {
            format!("single ({concurrency} in flight)")
        },
        accepted_per_s: outcome.units as f64 / secs,
        dispatched_per_s: Some(sent_during as f64 / secs),
        drain: Some(drain),
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: end_to_end_note(outcome.units, elapsed, drain) + &error_note(&outcome.first_error),
    };
    env.stop().await;
    Ok(row)
}

fn end_to_end_note(units: u64, elapsed: Duration, drain: Option<Duration>) -> String {
    match drain {
        Some(d) => format!(
            "{units} accepted, all sent {:.1} s after load ended ({:.0}/s end to end)",
            d.as_secs_f64(),
            units as f64 / (elapsed + d).as_secs_f64()
        ),
        None => format!("{units} accepted, NOT all sent before the drain timeout"),
    }
}

fn error_note(first: &Option<String>) -> String {
    first
        .as_ref()
        .map(|e| format!("; first error: {e}"))
        .unwrap_or_default()
}

async fn run_paced(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let http = client(256)?;
    let url = format!("{}/apispaces/{SPACE}/messages", env.base);
    let auth = vec![("authorization", format!("Bearer {KEY}"))];
    let sent_before = env.sim.sent_count();
    let (mut outcome, elapsed) =
        open_loop(args.rate, Duration::from_secs(args.seconds), move |n| {
            let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
            async move {
                post(&http, &url, send_body(n), &auth, 201).await?;
                Ok(1)
            }
        })
        .await;
    let sent_during = env.sim.sent_count() - sent_before;
    let drain = env
        .drain(
            sent_before + outcome.units,
            Duration::from_secs(args.drain_timeout),
        )
        .await;
    let secs = elapsed.as_secs_f64();
    let row = Row {
        backend,
        scenario: format!("paced ({}/s open loop)", args.rate),
        accepted_per_s: outcome.units as f64 / secs,
        dispatched_per_s: Some(sent_during as f64 / secs),
        drain: Some(drain),
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: end_to_end_note(outcome.units, elapsed, drain) + &error_note(&outcome.first_error),
    };
    env.stop().await;
    Ok(row)
}

/// A Meta webhook body with `events` delivery receipts, each unique (sender and watermark).
fn webhook_body(n: u64, events: usize) -> String {
    let base_ms: u64 = 1_767_225_600_000;
    let mut messaging = String::with_capacity(events * 220);
    for i in 0..events as u64 {
        if i > 0 {
            messaging.push(',');
        }
        let k = n * events as u64 + i;
        let t = base_ms + k;
        messaging.push_str(&format!(
            r#"{{"sender":{{"id":"2500{k:010}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{t},"delivery":{{"mids":["m_load_{k}"],"watermark":{t}}}}}"#
        ));
    }
    format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":{base_ms},"messaging":[{messaging}]}}]}}"#
    )
}

async fn run_webhook(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let http = client(args.concurrency)?;
    let url = format!("{}/webhooks/facebook", env.base);
    let events = args.events_per_body;
    let (mut outcome, elapsed) = closed_loop(
        args.concurrency,
        Duration::from_secs(args.seconds),
        move |n| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let body = webhook_body(n, events);
                let signature = graph_sim::hub_signature_256(APP_SECRET, body.as_bytes());
                post(
                    &http,
                    &url,
                    body,
                    &[("x-hub-signature-256", signature)],
                    200,
                )
                .await?;
                Ok(events as u64)
            }
        },
    )
    .await;
    let backlog = env
        .gateway
        .messenger()
        .store()
        .webhook_backlog()
        .await
        .unwrap_or(0);
    let secs = elapsed.as_secs_f64();
    let row = Row {
        backend,
        scenario: format!(
            "webhook ({events} event{}/body, {} in flight)",
            if events == 1 { "" } else { "s" },
            args.concurrency
        ),
        accepted_per_s: outcome.units as f64 / secs,
        dispatched_per_s: None,
        drain: None,
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: format!(
            "{} events answered 200; {backlog} bodies still queued at the end",
            outcome.units
        ) + &error_note(&outcome.first_error),
    };
    env.stop().await;
    Ok(row)
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| backend | scenario | accepted/s | dispatched/s (during load) | drain after load | p50 ms | p99 ms | max ms | errors | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let dispatched = r
            .dispatched_per_s
            .map_or_else(|| "-".to_owned(), |d| format!("{d:.0}"));
        let drain = match r.drain {
            None => "-".to_owned(),
            Some(None) => "timeout".to_owned(),
            Some(Some(d)) => format!("{:.1} s", d.as_secs_f64()),
        };
        let rss = r
            .peak_rss_mib
            .map_or_else(|| "?".to_owned(), |m| format!("{m:.0}"));
        println!(
            "| {:?} | {} | {:.0} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            r.backend,
            r.scenario,
            r.accepted_per_s,
            dispatched,
            drain,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            rss
        );
    }
    println!();
    for r in rows {
        println!("{:?} {}: {}", r.backend, r.scenario, r.note);
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let mut rows = Vec::new();
    for &backend in &args.backends {
        for &scenario in &args.scenarios {
            let rss_reset = reset_peak_rss();
            eprintln!(
                "running {backend:?} {scenario:?} for {} s{}",
                args.seconds,
                if rss_reset {
                    ""
                } else {
                    " (peak RSS not reset)"
                }
            );
            let row = match scenario {
                Scenario::Single => run_sends(&args, backend, false).await?,
                Scenario::Batch => run_sends(&args, backend, true).await?,
                Scenario::Paced => run_paced(&args, backend).await?,
                Scenario::Webhook => run_webhook(&args, backend).await?,
            };
            rows.push(row);
        }
    }
    print_table(&rows);
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if args.log {
        // What the binary does: every request logged at info, here into a sink.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .try_init();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "{cores} cores, load average {}; one process: load generator + gateway + graph-sim",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("load harness failed: {e}");
        std::process::exit(1);
    }
}
