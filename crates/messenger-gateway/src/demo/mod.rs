//! `messenger-gateway demo`: the whole product on one machine, no Facebook account needed.
//!
//! It starts graph-sim (standing in for Meta's Graph API and for Twilio), the gateway on the
//! embedded SQLite default (a fresh `./data/demo.db`), and a small webhook receiver playing the
//! business; then it walks through opt-in, a send by profile id, delivery and read receipts, an
//! inbound reply, an SMS fallback, an SMS after a missed delivery deadline, a reaction, and a
//! customer on Instagram Direct answered there with SMS as fallback (`demo/instagram.rs`), printing
//! each step and the events the business received.
//! Everything goes over real HTTP on loopback, exactly as in production.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use graph_sim::GraphSim;
use messenger_model::{EventEnvelope, Timestamp, UserProfile};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::{Gateway, GatewayError};

mod instagram;

const SPACE: &str = "demo";
const KEY: &str = "demo-api-key-0123456789";
const PAGE: &str = "100000000000001";
const PAGE_TOKEN: &str = "demo-page-token";
const APP_SECRET: &str = "de70a5ec2e7b4f1d9c3a6b8e0f2d4c61";
const WEBHOOK_SECRET: &str = "demo-webhook-secret";
const PSID: &str = "2400000000000042";
/// A customer who writes to the page but never opens Messenger again (step 9).
const CAROL_PSID: &str = "2400000000000043";
const SMS_SID: &str = "AC0000000000000000000000000000demo";

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Starting a part failed.
    #[error("demo: {0}")]
    Setup(String),
    /// The gateway failed.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// A step did not go as it should.
    #[error("demo step failed: {0}")]
    Step(String),
}

fn setup(what: &str) -> impl Fn(&dyn std::fmt::Display) -> DemoError + '_ {
    move |e| DemoError::Setup(format!("{what}: {e}"))
}

/// The business's webhook: where its events go, and whether it refuses them for now.
#[derive(Clone)]
struct Business {
    events: mpsc::UnboundedSender<EventEnvelope>,
    refusing: Arc<AtomicBool>,
}

/// The business's webhook: checks `X-Webhook-Signature` and hands each event to the demo (or
/// answers 400 while it refuses events, which makes them dead letters).
async fn business_webhook(
    State(business): State<Business>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if business.refusing.load(Ordering::SeqCst) {
        return StatusCode::BAD_REQUEST;
    }
    let events = business.events;
    let Some(header) = headers
        .get("x-webhook-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let t = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or_default();
    if messenger::events::sign_event(WEBHOOK_SECRET, &body, t).webhook != header {
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice::<EventEnvelope>(&body) {
        Ok(event) => {
            let _ = events.send(event);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn config_toml(sim: &str, webhook: &str, db: &str) -> String {
    let app_id = graph_sim::connection::DEFAULT_APP_ID;
    format!(
        r#"
[server]
listen = "127.0.0.1:0"

[database]
url = "{db}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "demo-verify-token"
graph_base_url = "{sim}"
app_id = "{app_id}"
token_key = "demo token key: 32 bytes or more, shared by every instance"

[dispatch]
poll_interval_ms = 20

[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]

[spaces.webhook]
url = "{webhook}"
secret = "{WEBHOOK_SECRET}"

[spaces.sms]
base_url = "{sim}"
account_sid = "{SMS_SID}"
auth_token = "demo-sms-token"
from = "+15005550006"

[[spaces.instagram]]
account_id = "{ig}"
"#,
        ig = instagram::ACCOUNT,
    )
}

struct Demo {
    http: reqwest::Client,
    base: String,
    sim: GraphSim,
    events: mpsc::UnboundedReceiver<EventEnvelope>,
    received: Vec<EventEnvelope>,
}

impl Demo {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, String), DemoError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(body) = body {
            println!("  -> {method} {path} {body}");
            req = req.json(&body);
        } else {
            println!("  -> {method} {path}");
        }
        let resp = req
            .send()
            .await
            .map_err(|e| DemoError::Step(format!("{path}: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| DemoError::Step(format!("{path}: {e}")))?;
        println!("  <- {status} {}", shorten(&text));
        Ok((status, text))
    }

    /// Sends `request`, waits for the business's `message.sent` event, and returns the message
    /// resource.
    async fn send_and_follow(&mut self, request: Value) -> Result<Value, DemoError> {
        let space = format!("/apispaces/{SPACE}");
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("{space}/messages"),
                Some(request),
            )
            .await?;
        if status != 201 {
            return Err(DemoError::Step(format!("send: HTTP {status}")));
        }
        let id = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        self.expect_event("message.sent").await?;
        let (_, resource) = self
            .call(
                reqwest::Method::GET,
                &format!("{space}/messages/{id}"),
                None,
            )
            .await?;
        serde_json::from_str(&resource)
            .map_err(|e| DemoError::Step(format!("message resource: {e}")))
    }

    /// Waits for the business to receive an event named `name` (and prints it).
    async fn expect_event(&mut self, name: &str) -> Result<EventEnvelope, DemoError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .map_err(|_| DemoError::Step(format!("no {name} event within 10 s")))?
                .ok_or_else(|| DemoError::Step("the webhook receiver stopped".into()))?;
            println!(
                "  business webhook <- {} {}",
                event.name,
                shorten(&event.payload.to_string())
            );
            self.received.push(event.clone());
            if event.name.as_str() == name {
                return Ok(event);
            }
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 220 {
        format!("{}...", s.chars().take(220).collect::<String>())
    } else {
        s.to_owned()
    }
}

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

/// A demo that has walked its flow and still serves: the gateway (and its console), graph-sim
/// and the business's webhook.
pub struct Running {
    /// The gateway's base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The events the business received during the flow.
    pub received: Vec<EventEnvelope>,
    gateway: crate::GatewayHandle,
    sim: GraphSim,
    refusing: Arc<AtomicBool>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("url", &self.url).finish()
    }
}

impl Running {
    /// The demo space's id.
    pub const SPACE: &'static str = SPACE;
    /// The demo space's API key, to sign in to the console with.
    pub const KEY: &'static str = KEY;
    /// The Messenger user of the flow (page-scoped id).
    pub const PSID: &'static str = PSID;

    /// The console's URL.
    pub fn console_url(&self) -> String {
        format!("{}/console", self.url)
    }

    /// Makes the business's webhook answer 400 to every event (`true`), so events become dead
    /// letters, or take them again (`false`).
    pub fn refuse_events(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::SeqCst);
    }

    /// Stops the gateway and graph-sim.
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
    }
}

/// Runs the demo and stops; `data_dir` holds the SQLite file (`demo.db`, recreated).
pub async fn run(data_dir: &std::path::Path) -> Result<(), DemoError> {
    let running = start(data_dir).await?;
    println!("\nThe business received {} events:", running.received.len());
    for e in &running.received {
        println!("  {} {} (revision {})", e.timestamp, e.name, e.revision);
    }
    print_console(&running);
    println!("  it closes as the demo ends: run `messenger-gateway demo --serve` to keep it open");
    running.shutdown().await;
    println!("\nDone. Run `messenger-gateway serve --config FILE` for the real thing (docs/configuration.md).");
    Ok(())
}

/// Runs the demo, then keeps serving (the console included) until Ctrl-C.
pub async fn serve(data_dir: &std::path::Path) -> Result<(), DemoError> {
    let running = start(data_dir).await?;
    print_console(&running);
    println!("  serving until Ctrl-C");
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
    Ok(())
}

fn print_console(running: &Running) {
    println!("\nConsole: {}", running.console_url());
    println!("  sign in with the key {KEY} (space {SPACE}); the Connection page shows the doctor's report");
}

/// Starts every part, walks the flow and returns the demo still serving; `data_dir` holds the
/// SQLite file (`demo.db`, recreated).
pub async fn start(data_dir: &std::path::Path) -> Result<Running, DemoError> {
    std::fs::create_dir_all(data_dir).map_err(|e| setup("creating the data directory")(&e))?;
    let db_path = data_dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }

    // The business's webhook receiver.
    let (tx, events) = mpsc::unbounded_channel();
    let refusing = Arc::new(AtomicBool::new(false));
    let business = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| setup("binding the business webhook")(&e))?;
    let business_addr = business
        .local_addr()
        .map_err(|e| setup("business webhook address")(&e))?;
    let app = axum::Router::new()
        .route("/events", axum::routing::post(business_webhook))
        .with_state(Business {
            events: tx,
            refusing: Arc::clone(&refusing),
        });
    tokio::spawn(async move { axum::serve(business, app).await });

    // The gateway's socket first, so graph-sim knows where Meta's webhooks go.
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| setup("binding the gateway")(&e))?;
    let gateway_addr = listener
        .local_addr()
        .map_err(|e| setup("gateway address")(&e))?;
    let sim = GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .webhook_url(format!("http://{gateway_addr}/webhooks/facebook"))
        .sms_account(SMS_SID, "demo-sms-token")
        .instagram_account(
            instagram::ACCOUNT,
            graph_sim::InstagramLogin::Page(PAGE.into()),
        )
        .start()
        .await
        .map_err(|e| setup("starting graph-sim")(&e))?;
    sim.set_user_profile(
        PSID,
        UserProfile {
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            locale: Some("en_GB".into()),
            ..UserProfile::default()
        },
    );
    let db_url = format!("sqlite://{}?mode=rwc", db_path.display());
    let config = Config::from_toml_str(
        &config_toml(
            sim.base_url(),
            &format!("http://{business_addr}/events"),
            &db_url,
        ),
        std::iter::empty(),
    )
    .map_err(|e| setup("configuration")(&e))?;
    let gateway = Gateway::builder(config).listener(listener).start().await?;

    println!("Messenger channel demo");
    println!(
        "  gateway          http://{gateway_addr}  (SQLite: {})",
        db_path.display()
    );
    println!(
        "  graph-sim        {}  (Meta's Graph API and Twilio, simulated)",
        sim.base_url()
    );
    println!("  business webhook http://{business_addr}/events");

    step(
        0,
        "The connection doctor checks the page (messenger-gateway doctor)",
    );
    let connections = gateway.connections();
    for (page, posted) in connections.subscribe().await {
        match posted {
            Ok(fields) => println!(
                "  messenger-gateway subscribe: page {page} subscribed to {}",
                fields.join(", ")
            ),
            Err(e) => println!("  messenger-gateway subscribe: page {page} failed: {e}"),
        }
    }
    for line in connections.diagnose().await.render().lines() {
        println!("  {line}");
    }

    let mut demo = Demo {
        http: reqwest::Client::new(),
        base: format!("http://{gateway_addr}"),
        sim,
        events,
        received: Vec::new(),
    };
    if let Err(e) = walk(&mut demo).await {
        gateway.shutdown().await;
        demo.sim.shutdown().await;
        return Err(e);
    }
    step(
        12,
        "The connection doctor again: the webhook's last signed delivery per field",
    );
    for line in gateway.connections().diagnose().await.render().lines() {
        println!("  {line}");
    }
    Ok(Running {
        url: demo.base,
        received: demo.received,
        gateway,
        sim: demo.sim,
        refusing,
    })
}

async fn walk(d: &mut Demo) -> Result<(), DemoError> {
    use reqwest::Method;
    let space = format!("/apispaces/{SPACE}");

    step(1, "The business stores a customer profile");
    d.call(
        Method::PUT,
        &format!("{space}/profiles/alice"),
        Some(json!({"firstName": "Alice", "email": "alice@example.com"})),
    )
    .await?;

    step(
        2,
        "It asks for a data-ref token for the Send to Messenger plugin",
    );
    let (status, token) = d
        .call(
            Method::POST,
            &format!("{space}/channels/facebook/state"),
            Some(json!({"profileId": "alice", "data": {"campaign": "demo"}})),
        )
        .await?;
    if status != 200 {
        return Err(DemoError::Step(format!("state token: HTTP {status}")));
    }
    println!("  the page renders <div class=\"fb-send-to-messenger\" data-ref=\"{token}\">");

    step(
        3,
        "Alice clicks the plugin: Meta posts an opt-in with that data-ref",
    );
    let status = d
        .sim
        .post_optin(PAGE, PSID, Some(&token))
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    println!("  Meta -> POST /webhooks/facebook (signed): {status}");
    let optin = d.expect_event("facebook.optin").await?;
    println!(
        "  linked by {}: profile {} now has Messenger ID {PSID}",
        optin.payload["linkedBy"], optin.payload["profileId"]
    );
    d.call(Method::GET, &format!("{space}/profiles/alice"), None)
        .await?;

    step(
        4,
        "The business sends by profile id, Messenger first, SMS as fallback",
    );
    let resource = d
        .send_and_follow(json!({
            "to": {"profileId": "alice"},
            "body": "Your order ABC1245 has been dispatched.",
            "rules": ["fbMessenger", "sms"],
            "metadata": {"orderId": "ABC1245"}
        }))
        .await?;
    let mid = resource["graphMessageIds"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    println!(
        "  graph-sim received {} Send API call(s); Graph message id {mid}",
        d.sim.sent_messages().len()
    );

    step(5, "Meta reports delivery, then read (watermarks)");
    let now = Timestamp::now().millis();
    d.sim
        .post_delivery(PAGE, PSID, now, [mid.as_str()])
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    d.expect_event("message.delivered").await?;
    d.sim
        .post_read(PAGE, PSID, now)
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    d.expect_event("message.read").await?;

    step(6, "Alice replies");
    d.sim
        .post_inbound_text(PAGE, PSID, "Thanks! When will it arrive?")
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    let inbound = d.expect_event("message.inbound").await?;
    println!(
        "  from profile {}: {}",
        inbound.payload["profileId"], inbound.payload["text"]
    );

    step(
        7,
        "A customer who never opted in to Messenger: the SMS fallback",
    );
    d.call(
        Method::PUT,
        &format!("{space}/profiles/bob"),
        Some(json!({"firstName": "Bob", "phoneNumber": "+447700900123"})),
    )
    .await?;
    let resource = d
        .send_and_follow(json!({
            "to": {"profileId": "bob"},
            "body": "Your table is ready.",
            "rules": ["fbMessenger", "sms"]
        }))
        .await?;
    for t in resource["ruleTrace"].as_array().into_iter().flatten() {
        println!(
            "  rule {}: {} ({})",
            t["channel"], t["outcome"], t["reason"]
        );
    }

    for sms in d.sim.sms_messages() {
        println!("  SMS provider got: to {} \"{}\"", sms.to, sms.body);
    }

    step(
        8,
        "A retired message tag is refused before anything is sent",
    );
    d.call(Method::POST, &format!("{space}/messages"), Some(json!({
        "to": {"profileId": "alice"},
        "body": "Good news, your order #12345 has shipped.",
        "channelOptions": {"fbMessenger": {"messagingType": "MESSAGE_TAG", "messageTag": "SHIPPING_UPDATE"}},
        "rules": ["fbMessenger"]
    }))).await?;

    deadline_and_reaction(d, &mid).await
}

/// The later steps: a delivery deadline that sends the SMS, and a reaction reaching the
/// business.
async fn deadline_and_reaction(d: &mut Demo, alice_mid: &str) -> Result<(), DemoError> {
    use reqwest::Method;
    let space = format!("/apispaces/{SPACE}");

    step(
        9,
        "Carol never opens Messenger: the SMS goes after a 2 s delivery deadline",
    );
    d.sim
        .post_inbound_text(PAGE, CAROL_PSID, "A table for two at eight, please.")
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    d.expect_event("message.inbound").await?;
    d.sim.never_deliver_to(CAROL_PSID);
    let (status, body) = d
        .call(
            Method::POST,
            &format!("{space}/messages"),
            Some(json!({
                "to": {"fbMessengerId": CAROL_PSID, "mobileNumber": "+447700900456"},
                "body": "Your table is ready.",
                "channelOptions": {"fbMessenger": {"deliveryTimeout": 2}},
                "rules": ["fbMessenger", "sms"]
            })),
        )
        .await?;
    if status != 201 {
        return Err(DemoError::Step(format!("timed send: HTTP {status}")));
    }
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let on_messenger = d.expect_event("message.sent").await?;
    println!(
        "  sent on {}; no delivery receipt comes...",
        on_messenger.payload["channel"]
    );
    let by_sms = d.expect_event("message.sent").await?;
    println!("  2 s later, sent again on {}", by_sms.payload["channel"]);
    let (_, resource) = d
        .call(Method::GET, &format!("{space}/messages/{id}"), None)
        .await?;
    let resource: Value = serde_json::from_str(&resource)
        .map_err(|e| DemoError::Step(format!("message resource: {e}")))?;
    for t in resource["ruleTrace"].as_array().into_iter().flatten() {
        println!(
            "  rule {}: {} ({})",
            t["channel"], t["outcome"], t["reason"]
        );
    }
    let to_carol = d
        .sim
        .sms_messages()
        .into_iter()
        .filter(|sms| sms.to == "+447700900456")
        .count();
    println!("  SMS provider got {to_carol} SMS for Carol");
    if to_carol != 1 {
        return Err(DemoError::Step(format!("{to_carol} SMS for Carol, not 1")));
    }

    step(10, "Alice reacts to the order message with a heart");
    let status = d
        .sim
        .post_reaction(PAGE, PSID, alice_mid, "react", "love", Some("\u{2764}"))
        .await
        .map_err(|e| DemoError::Step(e.to_string()))?;
    println!("  Meta -> POST /webhooks/facebook (signed): {status}");
    let reaction = d.expect_event("message.reaction").await?;
    println!(
        "  the business hears: {} {} on message {}",
        reaction.payload["action"], reaction.payload["reaction"], reaction.payload["messageId"]
    );
    instagram::walk(d).await
}
