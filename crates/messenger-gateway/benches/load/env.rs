//! One scenario's world: graph-sim (not recording), a fresh database (a SQLite file in a
//! temporary directory, or a fresh PostgreSQL schema dropped at the end) and the gateway started
//! with `Gateway::builder` from a configuration like an operator's.

use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use messenger_gateway::config::Config;
use messenger_gateway::{Gateway, GatewayHandle};

use crate::{Args, Backend, BoxError};

pub const APP_SECRET: &str = "load-app-secret";
const VERIFY_TOKEN: &str = "load-verify-token";
const TOKEN_KEY: &str = "load harness opt-in token key, thirty-two bytes or more";
pub const SPACE: &str = "bench";
pub const PAGE: &str = "PAGE-BENCH";
const PAGE_TOKEN: &str = "page-token-bench";
pub const KEY: &str = "bench-key-0123456789abcdef";

/// The PostgreSQL server: `MESSENGER_TEST_POSTGRES_URL`, as the store's tests.
fn postgres_url() -> String {
    std::env::var("MESSENGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh database for one scenario.
struct Database {
    url: String,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    fn fresh(backend: Backend) -> Result<Self, BoxError> {
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

fn config_toml(args: &Args, sim_url: &str, db: &Database) -> String {
    let mut database = format!("url = \"{}\"\n", db.url);
    if let Some(schema) = &db.schema {
        database.push_str(&format!("schema = \"{schema}\"\n"));
    }
    if let Some(n) = args.max_connections {
        database.push_str(&format!("max_connections = {n}\n"));
    }
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
{database}
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

/// How the dispatch backlog drained once the load stopped.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// Messages accepted but not yet sent when the load stopped.
    pub backlog: u64,
    /// Of those, sent before the timeout.
    pub sent: u64,
    /// How long it took (or the timeout).
    pub took: Duration,
}

impl Drain {
    /// Whether every accepted message was sent.
    pub fn done(&self) -> bool {
        self.sent >= self.backlog
    }

    /// Sends per second while draining (dispatch alone, without accept load).
    pub fn rate(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.sent as f64 / self.took.as_secs_f64())
    }
}

/// A gateway, its simulator and its database.
pub struct Env {
    pub sim: GraphSim,
    pub gateway: GatewayHandle,
    pub base: String,
    db: Database,
}

impl Env {
    pub async fn start(args: &Args, backend: Backend) -> Result<Self, BoxError> {
        let sim = GraphSim::builder()
            .page(PAGE, PAGE_TOKEN)
            .app_secret(APP_SECRET)
            .record_requests(false)
            .start()
            .await?;
        let db = Database::fresh(backend)?;
        let config =
            Config::from_toml_str(&config_toml(args, sim.base_url(), &db), std::iter::empty())?;
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
            gateway,
            base,
            db,
        })
    }

    pub async fn stop(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
        self.db.drop_schema().await;
    }

    /// Waits (at most `timeout`) until graph-sim has taken `expected` sends in all.
    pub async fn drain(&self, expected: u64, timeout: Duration) -> Drain {
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
