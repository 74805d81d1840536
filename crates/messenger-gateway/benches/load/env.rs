//! One scenario's world: graph-sim (not recording), a fresh database (a SQLite file in a
//! temporary directory, or a fresh PostgreSQL schema dropped at the end) and the gateway started
//! with `Gateway::builder` from a configuration like an operator's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::State;

use graph_sim::GraphSim;
use messenger_gateway::config::Config;
use messenger_gateway::{Gateway, GatewayHandle};

use crate::{Args, Backend, BoxError};

pub(crate) const APP_SECRET: &str = "5a0e7c3b9f1d2468ace0135792468bdf";
/// The key the harness scrapes `/metrics` with (`server.metrics_keys`).
pub(crate) const METRICS_KEY: &str = "metrics-key-0123456789abcdef";
pub(crate) const VERIFY_TOKEN: &str = "load-verify-token";
pub(crate) const TOKEN_KEY: &str = "load harness opt-in token key, thirty-two bytes or more";
pub(crate) const SPACE: &str = "bench";
pub(crate) const PAGE: &str = "PAGE-BENCH";
pub(crate) const PAGE_TOKEN: &str = "page-token-bench";
/// The page rate of the scenarios that measure the dispatcher (`single`, `batch`, `paced`,
/// `webhook`, `receipts`): lifted far above Meta's 250 a second, so what they report is what
/// dispatch can do, not the page's pace (`pages` and `forwarding` keep Meta's rate).
pub(crate) const UNPACED: u32 = 1_000_000;
pub(crate) const KEY: &str = "bench-key-0123456789abcdef";

/// The PostgreSQL server: `MESSENGER_TEST_POSTGRES_URL`, as the store's tests.
fn postgres_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh database for one scenario.
pub(crate) struct Database {
    pub url: String,
    pub schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    pub(crate) fn fresh(backend: Backend) -> Result<Self, BoxError> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("messenger.db").display()
                );
                Ok(Self {
                    url,
                    schema: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or_default();
                Ok(Self {
                    url: postgres_url(),
                    schema: Some(format!("load_{}_{nanos}", std::process::id())),
                    _dir: None,
                })
            }
        }
    }

    pub(crate) async fn drop_schema(&self) {
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

/// Events received, by name.
type Counts = Arc<Mutex<HashMap<String, u64>>>;

/// The business's webhook: answers 200 to every POST (after `latency`) and counts the events by
/// name.
pub(crate) struct Receiver {
    pub url: String,
    counts: Arc<Mutex<HashMap<String, u64>>>,
}

impl Receiver {
    async fn start() -> Result<Self, BoxError> {
        Self::start_answering_in(Duration::ZERO).await
    }

    /// A receiver that answers each POST `latency` after it arrived, as a business's server
    /// that does work before answering.
    pub(crate) async fn start_answering_in(latency: Duration) -> Result<Self, BoxError> {
        async fn receive(
            State((counts, latency)): State<(Counts, Duration)>,
            body: axum::body::Bytes,
        ) -> axum::http::StatusCode {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let events = match value {
                serde_json::Value::Array(events) => events,
                one => vec![one],
            };
            let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
            for event in events {
                let name = event["name"].as_str().unwrap_or("?").to_owned();
                *counts.entry(name).or_default() += 1;
            }
            axum::http::StatusCode::OK
        }
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/events", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/events", axum::routing::post(receive))
            .with_state((Arc::clone(&counts), latency));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, counts })
    }

    /// Events of `name` received so far.
    pub(crate) fn count(&self, name: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(name).copied().unwrap_or(0)
    }

    /// Waits (at most `timeout`) until `expected` events of `name` arrived; how long it took.
    pub(crate) async fn wait_for(&self, name: &str, expected: u64, timeout: Duration) -> Duration {
        let started = Instant::now();
        while self.count(name) < expected && started.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        started.elapsed()
    }
}

/// The gateway's configuration: one space on [`PAGE`], the `[dispatch]` defaults unless `args`
/// set them, `space_extra` appended to the space (its rates, its webhook section).
pub(crate) fn config_toml(args: &Args, sim_url: &str, db: &Database, space_extra: &str) -> String {
    let mut database = format!("url = \"{}\"\n", db.url);
    if let Some(schema) = &db.schema {
        database.push_str(&format!("schema = \"{schema}\"\n"));
    }
    if let Some(n) = args.max_connections {
        database.push_str(&format!("max_connections = {n}\n"));
    }
    let http2 = args.graph_http2;
    let mut dispatch = String::new();
    if let Some(w) = args.workers {
        dispatch.push_str(&format!("workers = {w}\n"));
    }
    if let Some(b) = args.dispatch_batch {
        dispatch.push_str(&format!("batch_size = {b}\n"));
    }
    if let Some(secs) = args.recover_interval_secs {
        dispatch.push_str(&format!("recover_interval_secs = {secs}\n"));
    }
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 10
metrics_keys = ["{METRICS_KEY}"]

[database]
{database}
[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
graph_base_url = "{sim_url}"
graph_http2_prior_knowledge = {http2}
token_key = "{TOKEN_KEY}"

[dispatch]
{dispatch}
[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
window_check = false
{space_extra}"#
    )
}

/// The checked configuration of [`config_toml`] with the page at `send_rate` and `webhook` (a
/// [`webhook_section`], or nothing).
pub(crate) fn gateway_config(
    args: &Args,
    sim: &GraphSim,
    db: &Database,
    send_rate: u32,
    webhook: &str,
) -> Result<Config, BoxError> {
    let extra = format!("send_rate = {send_rate}\n{webhook}");
    let toml = config_toml(args, sim.base_url(), db, &extra);
    Ok(Config::from_toml_str(&toml, std::iter::empty())?)
}

/// The `[spaces.webhook]` section for the receiver at `url`: `batch` events a POST (within
/// 50 ms) and at most `in_flight` requests, each the forwarder's default when `None`.
pub(crate) fn webhook_section(url: &str, batch: Option<usize>, in_flight: Option<usize>) -> String {
    let mut section =
        format!("\n[spaces.webhook]\nurl = \"{url}\"\nsecret = \"load-webhook-secret\"\n");
    if let Some(b) = batch {
        section.push_str(&format!("batch_size = {b}\nbatch_window_ms = 50\n"));
    }
    if let Some(n) = in_flight {
        section.push_str(&format!("max_in_flight = {n}\n"));
    }
    section
}

/// How the dispatch backlog drained once the load stopped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    /// Messages accepted but not yet sent when the load stopped.
    pub backlog: u64,
    /// Of those, sent before the timeout.
    pub sent: u64,
    /// How long it took (or the timeout).
    pub took: Duration,
}

impl Drain {
    /// Whether every accepted message was sent.
    pub(crate) fn done(&self) -> bool {
        self.sent >= self.backlog
    }

    /// Sends per second while draining (dispatch alone, without accept load).
    pub(crate) fn rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.sent as f64 / self.took.as_secs_f64())
    }
}

/// A gateway, its simulator and its database.
pub(crate) struct Env {
    pub sim: GraphSim,
    /// The business's webhook, when events are forwarded (`--forward`, or the scenario needs it).
    pub receiver: Option<Receiver>,
    pub gateway: GatewayHandle,
    pub base: String,
    pub db: Database,
}

impl Env {
    pub(crate) async fn start(args: &Args, backend: Backend) -> Result<Self, BoxError> {
        Self::start_with(args, backend, args.forward).await
    }

    /// [`Env::start`], forwarding events to a [`Receiver`] when `forward` is set.
    pub(crate) async fn start_with(
        args: &Args,
        backend: Backend,
        forward: bool,
    ) -> Result<Self, BoxError> {
        let receiver = if forward {
            Some(Receiver::start().await?)
        } else {
            None
        };
        let sim = GraphSim::builder()
            .page(PAGE, PAGE_TOKEN)
            .app_secret(APP_SECRET)
            .record_requests(false)
            .start()
            .await?;
        if args.graph_latency_ms > 0 {
            sim.fault(graph_sim::FaultRule::global(graph_sim::Fault::Slow {
                delay: std::time::Duration::from_millis(args.graph_latency_ms),
            }));
        }
        let db = Database::fresh(backend)?;
        let webhook = receiver
            .as_ref()
            .map_or_else(String::new, |r| webhook_section(&r.url, Some(100), None));
        let config = gateway_config(args, &sim, &db, UNPACED, &webhook)?;
        let gateway = match Gateway::builder(config).start().await {
            Ok(g) => g,
            Err(e) => {
                db.drop_schema().await;
                return Err(e.into());
            }
        };
        let base = format!("http://{}", gateway.addr);
        Ok(Self {
            sim,
            receiver,
            gateway,
            base,
            db,
        })
    }

    pub(crate) async fn stop(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
        self.db.drop_schema().await;
    }

    /// Waits (at most `timeout`) until graph-sim has taken `expected` sends in all.
    pub(crate) async fn drain(&self, expected: u64, timeout: Duration) -> Drain {
        let started = Instant::now();
        let at_start = self.sim.sent_count();
        let backlog = expected.saturating_sub(at_start);
        while self.sim.sent_count() < expected && started.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Drain {
            backlog,
            sent: self.sim.sent_count().saturating_sub(at_start),
            took: started.elapsed(),
        }
    }
}
