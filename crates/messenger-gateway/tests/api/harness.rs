//! A gateway over real HTTP on loopback, with graph-sim as Graph (and as Twilio), a SQLite file
//! in a temporary directory, two API spaces.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;

use graph_sim::GraphSim;
use messenger_gateway::config::Config;
use messenger_gateway::{Gateway, GatewayError, GatewayHandle};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

pub(crate) const APP_SECRET: &str = "3f9c2a7e5b1d4086c8e2f0a9b7d6c5e4";
pub(crate) const VERIFY_TOKEN: &str = "verify-token-for-tests";
pub(crate) const TOKEN_KEY: &str = "opt-in token key of at least thirty-two bytes";

pub(crate) const SPACE_A: &str = "acme";
pub(crate) const PAGE_A: &str = "PAGE-A";
pub(crate) const PAGE_TOKEN_A: &str = "page-token-a";
pub(crate) const KEY_A: &str = "acme-key-0123456789abcdef";

pub(crate) const SPACE_B: &str = "globex";
pub(crate) const PAGE_B: &str = "PAGE-B";
pub(crate) const PAGE_TOKEN_B: &str = "page-token-b";
pub(crate) const KEY_B: &str = "globex-key-0123456789abcdef";

/// A third space on a page whose id is above 2^53, as Meta's page ids are; the shared corpus
/// of Meta's webhook bodies (messenger-model's `tests/webhook_corpus/`) is for this page.
pub(crate) const SPACE_C: &str = "initech";
pub(crate) const PAGE_C: &str = "9007199254740993";
pub(crate) const PAGE_TOKEN_C: &str = "page-token-c";
pub(crate) const KEY_C: &str = "initech-key-0123456789abcdef";

/// The key the tests scrape `/metrics` with (`server.metrics_keys`).
pub(crate) const METRICS_KEY: &str = "metrics-key-0123456789abcdef";

pub(crate) const SMS_SID: &str = "AC00000000000000000000000000000001";
pub(crate) const SMS_TOKEN: &str = "sms-auth-token";

/// A running gateway and its simulator.
pub(crate) struct Env {
    pub sim: GraphSim,
    pub gateway: Option<GatewayHandle>,
    pub base: String,
    pub http: reqwest::Client,
    /// The configuration the gateway was started with (TOML), to start more instances.
    pub toml: String,
    /// The file that configuration was read from: rewrite it and reload to change it.
    pub config_file: std::path::PathBuf,
    /// How far the gateway's clock is ahead of the system's, in milliseconds ([`Env::advance`]).
    pub ahead_ms: Arc<AtomicI64>,
    pub _dir: tempfile::TempDir,
}

/// The value of the metric line `series` (name and labels, as rendered) in `/metrics` text,
/// 0 when the series is not there yet.
pub(crate) fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{series} = {v}"))
        })
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer of `status` and returns its body.
    #[track_caller]
    pub(crate) fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let p = self.json();
        for field in ["type", "title", "status", "detail", "errors"] {
            assert!(p.get(field).is_some(), "no {field} in {p}");
        }
        assert_eq!(p["status"], status);
        p
    }
}

/// The configuration TOML for a gateway against `sim`, with `space_a_extra` added to space A
/// (e.g. its `[spaces.webhook]`).
pub(crate) fn config_toml(sim_url: &str, db_url: &str, space_a_extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
message_body_limit = 65536
batch_body_limit = 10485760
shutdown_grace_secs = 5
metrics_keys = ["{METRICS_KEY}"]

[database]
url = "{db_url}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
graph_base_url = "{sim_url}"
token_key = "{TOKEN_KEY}"

[dispatch]
workers = 2
poll_interval_ms = 20
retry_initial_ms = 20
retry_max_secs = 1
recover_interval_secs = 1

[[spaces]]
id = "{SPACE_A}"
page_id = "{PAGE_A}"
page_token = "{PAGE_TOKEN_A}"
keys = ["{KEY_A}"]

[spaces.sms]
base_url = "{sim_url}"
account_sid = "{SMS_SID}"
auth_token = "{SMS_TOKEN}"
from = "+15005550006"
{space_a_extra}

[[spaces]]
id = "{SPACE_B}"
page_id = "{PAGE_B}"
page_token = "{PAGE_TOKEN_B}"
keys = ["{KEY_B}"]

[[spaces]]
id = "{SPACE_C}"
page_id = "{PAGE_C}"
page_token = "{PAGE_TOKEN_C}"
keys = ["{KEY_C}"]
"#
    )
}

impl Env {
    /// Starts a simulator and a gateway with the default configuration.
    pub(crate) async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts a simulator and a gateway, adding `space_a_extra` TOML to space A.
    pub(crate) async fn start_with(space_a_extra: &str) -> Self {
        Self::start_configured("", space_a_extra).await
    }

    /// Starts a simulator and a gateway, adding `server_extra` TOML to `[server]` and
    /// `space_a_extra` to space A.
    pub(crate) async fn start_configured(server_extra: &str, space_a_extra: &str) -> Self {
        Self::start_edited(server_extra, space_a_extra, |toml| toml).await
    }

    /// Like [`Env::start_configured`], with the configuration TOML passed through `edit` last
    /// (to set keys of a space itself, for example).
    pub(crate) async fn start_edited(
        server_extra: &str,
        space_a_extra: &str,
        edit: impl FnOnce(String) -> String,
    ) -> Self {
        Self::start_simulating(server_extra, space_a_extra, |b| b, |_, toml| edit(toml)).await
    }

    /// Like [`Env::start_edited`], with the simulator's builder passed through `sim` first
    /// (Instagram accounts, receipts) and `edit` given the started simulator too.
    pub(crate) async fn start_simulating(
        server_extra: &str,
        space_a_extra: &str,
        sim: impl FnOnce(graph_sim::GraphSimBuilder) -> graph_sim::GraphSimBuilder,
        edit: impl FnOnce(&GraphSim, String) -> String,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sim = sim(GraphSim::builder()
            .page(PAGE_A, PAGE_TOKEN_A)
            .page(PAGE_B, PAGE_TOKEN_B)
            .page(PAGE_C, PAGE_TOKEN_C)
            .app_secret(APP_SECRET)
            .webhook_url(format!("http://{addr}/webhooks/facebook"))
            .sms_account(SMS_SID, SMS_TOKEN))
        .start()
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("data").join("messenger.db").display()
        );
        let toml = edit(
            &sim,
            config_toml(sim.base_url(), &db, space_a_extra).replacen(
                "shutdown_grace_secs = 5\n",
                &format!("shutdown_grace_secs = 5\n{server_extra}\n"),
                1,
            ),
        );
        let config_file = dir.path().join("messenger.toml");
        std::fs::write(&config_file, &toml).unwrap();
        let config = Config::from_toml_str(&toml, std::iter::empty()).unwrap();
        let ahead_ms = Arc::new(AtomicI64::new(0));
        let clock = {
            let ahead_ms = Arc::clone(&ahead_ms);
            Arc::new(move || {
                messenger_model::Timestamp::now().add_millis(ahead_ms.load(Ordering::Relaxed))
            })
        };
        let gateway = Gateway::builder(config)
            .listener(listener)
            .config_file(&config_file)
            .clock(clock)
            .start()
            .await
            .unwrap();
        Self {
            sim,
            gateway: Some(gateway),
            base: format!("http://{addr}"),
            // Idle connections are dropped before the gateway's 60 s idle timer closes them, as
            // any client of a keep-alive server should: reusing one the server is closing at
            // that moment fails the request (hyper's IncompleteMessage).
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_idle_timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            toml,
            config_file,
            ahead_ms,
            _dir: dir,
        }
    }

    /// Moves the gateway's clock `by` forward at once: what waits for time (retries, a page's
    /// circuit, the outage rule, request-rate buckets) is due as if `by` had passed, without the
    /// test waiting for it. The test then waits for a state that shows the gateway acted after
    /// the move, never for time.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap();
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// The time by the gateway's clock.
    pub(crate) fn now(&self) -> messenger_model::Timestamp {
        messenger_model::Timestamp::now().add_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// The sends Graph (graph-sim) has been asked for, failed ones included.
    pub(crate) fn graph_sends(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .count()
    }

    /// When `space`'s open circuit ends, as `/readyz` gives it; `None` while it is not open.
    pub(crate) async fn open_circuit_until(
        &self,
        space: &str,
    ) -> Option<messenger_model::Timestamp> {
        let ready = self
            .call(Method::GET, "/readyz", None, &[], None)
            .await
            .json();
        ready["pausedPages"]
            .as_array()?
            .iter()
            .find(|p| p["space"] == space && p["circuit"] == "open")
            .and_then(|p| p["until"].as_str())
            .and_then(|t| t.parse().ok())
    }

    /// One more pass of a page whose sends keep failing, without waiting for its time: moves
    /// the gateway's clock past the end of `space`'s open circuit (or, while it is not open, a
    /// second: past the tests' longest retry back-off) and waits until Graph is asked for a
    /// send again. For a page with messages still to send (a test's outage), or it waits until
    /// the guard against hanging.
    pub(crate) async fn next_pass(&self, space: &str) {
        let before = self.graph_sends();
        let ahead = match self.open_circuit_until(space).await {
            Some(until) => until.millis().saturating_sub(self.now().millis()).max(0) + 1,
            None => 1_000,
        };
        self.advance(Duration::from_millis(u64::try_from(ahead).unwrap()));
        messenger_test_support::wait::until(
            "Graph is asked for a send after the clock moved",
            Duration::from_millis(10),
            || async {
                let n = self.graph_sends();
                if n > before {
                    Ok(())
                } else {
                    Err(format!("{n} sends"))
                }
            },
        )
        .await;
    }

    /// Passes at least `total` of the gateway's time, a [`Env::next_pass`] at a time.
    pub(crate) async fn pass_time(&self, space: &str, total: Duration) {
        let target =
            self.ahead_ms.load(Ordering::Relaxed) + i64::try_from(total.as_millis()).unwrap();
        while self.ahead_ms.load(Ordering::Relaxed) < target {
            self.next_pass(space).await;
        }
    }

    /// Any request.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        self.try_call(method, path, key, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Any request; a transport error is returned (a server that answers 413 before reading an
    /// oversized body may close the connection while the client is still writing it).
    pub(crate) async fn try_call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let res = req.send().await?;
        Ok(Answer {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            text: res.text().await?,
        })
    }

    /// A JSON request with space A's key.
    pub(crate) async fn json(&self, method: Method, path: &str, key: &str, body: &str) -> Answer {
        self.call(
            method,
            path,
            Some(key),
            &[("content-type", "application/json")],
            Some(body.as_bytes().to_vec()),
        )
        .await
    }

    /// `POST /apispaces/{space}/messages`.
    pub(crate) async fn send(&self, space: &str, key: &str, body: &Value) -> Answer {
        self.json(
            Method::POST,
            &format!("/apispaces/{space}/messages"),
            key,
            &body.to_string(),
        )
        .await
    }

    /// `GET` with a key.
    pub(crate) async fn get(&self, path: &str, key: &str) -> Answer {
        self.call(Method::GET, path, Some(key), &[], None).await
    }

    /// The message `id` of space A.
    pub(crate) async fn message(&self, id: &str) -> Value {
        let a = self
            .get(&format!("/apispaces/{SPACE_A}/messages/{id}"), KEY_A)
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()
    }

    /// Polls the message until its status is not `processing`/`retrying` (at most ~10 s).
    pub(crate) async fn settled(&self, id: &str) -> Value {
        for _ in 0..500 {
            let m = self.message(id).await;
            if !matches!(m["status"].as_str(), Some("processing" | "retrying")) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("message {id} did not settle: {}", self.message(id).await);
    }

    /// A profile of space A with a Messenger ID whose user wrote just now (window open).
    pub(crate) async fn opted_in_profile(&self, id: &str, psid: &str) {
        let body = serde_json::json!({"fbMessengerId": psid}).to_string();
        let path = format!("/apispaces/{SPACE_A}/profiles/{}", encode(id));
        let a = self.json(Method::PUT, &path, KEY_A, &body).await;
        assert!(a.status == 200 || a.status == 201, "{}", a.text);
        self.inbound(psid).await;
    }

    /// The user `psid` writes to page A (opens the window).
    pub(crate) async fn inbound(&self, psid: &str) {
        self.inbound_to(PAGE_A, psid, "hello").await;
    }

    /// The user `psid` writes `text` to `page`, and the gateway has applied it.
    pub(crate) async fn inbound_to(&self, page: &str, psid: &str, text: &str) {
        let status = self.sim.post_inbound_text(page, psid, text).await.unwrap();
        assert_eq!(status, 200);
        self.webhooks_applied().await;
    }

    /// Waits until every webhook body answered 200 so far has been applied (the gateway stores
    /// them, answers, and applies them in the background).
    pub(crate) async fn webhooks_applied(&self) {
        let store = self
            .gateway
            .as_ref()
            .expect("a running gateway")
            .messenger()
            .store()
            .clone();
        for _ in 0..500 {
            if store.webhook_backlog().await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("queued webhook bodies were not applied within 5 s");
    }

    /// Another gateway instance on the same database and simulator (its own address), once the
    /// first has stopped: one gateway owns a SQLite file.
    pub(crate) async fn another_instance(&self) -> GatewayHandle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        start_gateway(&self.toml, listener).await
    }

    /// Another gateway instance beside the running one (its own address and dispatchers) on
    /// the running one's store, as instances share a PostgreSQL database.
    pub(crate) async fn instance_sharing_the_store(&self) -> GatewayHandle {
        let store = self
            .gateway
            .as_ref()
            .expect("a running gateway")
            .messenger()
            .store()
            .clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = Config::from_toml_str(&self.toml, std::iter::empty()).unwrap();
        Gateway::builder(config)
            .listener(listener)
            .store(store)
            .start()
            .await
            .unwrap()
    }

    /// Starts another gateway on the running one's configuration (and so its SQLite file):
    /// what that answers.
    pub(crate) async fn try_another_instance(&self) -> Result<GatewayHandle, GatewayError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = Config::from_toml_str(&self.toml, std::iter::empty()).unwrap();
        Gateway::builder(config).listener(listener).start().await
    }

    /// Stops the gateway and starts a new one on the same database (a restart).
    pub(crate) async fn restart(&mut self) {
        self.stop().await;
        let gateway = self.another_instance().await;
        self.base = format!("http://{}", gateway.addr);
        self.gateway = Some(gateway);
    }

    /// Stops the gateway.
    pub(crate) async fn stop(&mut self) {
        if let Some(g) = self.gateway.take() {
            g.shutdown().await;
        }
    }
}

async fn start_gateway(toml: &str, listener: tokio::net::TcpListener) -> GatewayHandle {
    let config = Config::from_toml_str(toml, std::iter::empty()).unwrap();
    Gateway::builder(config)
        .listener(listener)
        .start()
        .await
        .unwrap()
}

/// Percent-encodes a path segment.
pub(crate) fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A seed example's raw bytes.
pub(crate) fn seed(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/seed-examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub(crate) const HOOK_SECRET: &str = "business-webhook-secret";

/// The business's webhook: records each POST, answers `status`.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub posts: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    pub status: Arc<Mutex<u16>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.posts.lock().unwrap().push((headers, body));
    StatusCode::from_u16(*r.status.lock().unwrap()).unwrap()
}

impl Receiver {
    pub(crate) async fn start(status: u16) -> (Self, String) {
        let r = Receiver::default();
        *r.status.lock().unwrap() = status;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    pub(crate) fn events(&self) -> Vec<(HeaderMap, Value)> {
        self.posts
            .lock()
            .unwrap()
            .iter()
            .map(|(h, b)| (h.clone(), serde_json::from_slice(b).unwrap()))
            .collect()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, Value)> {
        for _ in 0..500 {
            if self.posts.lock().unwrap().len() >= n {
                return self.events();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} posts, got {:?}", self.events());
    }
}

pub(crate) fn webhook_toml(url: &str, extra: &str) -> String {
    format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.sent\", \"message.inbound\"]\n{extra}"
    )
}
