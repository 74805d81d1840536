//! The facade in-process against graph-sim over loopback HTTP, with a tiny webhook receiver
//! standing in for the gateway's endpoint (the signature is checked on the raw bytes).

#![allow(dead_code)] // each test module uses a part of the harness

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use graph_sim::{GraphSim, GraphSimBuilder};
use messenger::sms::TwilioSms;
use messenger::{Messenger, MessengerBuilder, Space};
use messenger_graph::{GraphClient, RetryPolicy};
use messenger_model::Timestamp;
use messenger_store::{MemoryStore, MessageStore, Outbox};
use serde_json::json;

pub(crate) const PAGE: &str = "PAGE-1";
pub(crate) const TOKEN: &str = "page-token-1";
pub(crate) const APP_SECRET: &str = "app-secret-1";
pub(crate) const SPACE: &str = "default";

pub(crate) struct Harness {
    pub sim: GraphSim,
    pub messenger: Messenger,
    pub store: Arc<MemoryStore>,
    /// While set, the webhook receiver answers 503 (Meta will post again).
    pub refuse_webhooks: Arc<AtomicBool>,
}

type ReceiverState = (Arc<OnceLock<Messenger>>, Arc<AtomicBool>);

async fn receive(
    State((cell, refuse)): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if refuse.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Some(messenger) = cell.get() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    match messenger.handle_webhook(&body, sig).await {
        Ok(_) => StatusCode::OK,
        Err(messenger::webhook::WebhookError::Signature(_)) => StatusCode::FORBIDDEN,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) async fn harness(customize: impl FnOnce(Space) -> Space) -> Harness {
    harness_with(customize, |b| b, false).await
}

/// A harness whose space and facade builder are adjusted, with graph-sim posting message echoes
/// when `echoes` is set.
pub(crate) async fn harness_with(
    customize: impl FnOnce(Space) -> Space,
    build: impl FnOnce(MessengerBuilder) -> MessengerBuilder,
    echoes: bool,
) -> Harness {
    harness_on(|sim| sim.echoes(echoes), |space, _| customize(space), build).await
}

/// A harness whose simulator, space (which may use the running simulator, e.g. its Instagram
/// host) and facade builder are adjusted.
pub(crate) async fn harness_on(
    configure: impl FnOnce(GraphSimBuilder) -> GraphSimBuilder,
    customize: impl FnOnce(Space, &GraphSim) -> Space,
    build: impl FnOnce(MessengerBuilder) -> MessengerBuilder,
) -> Harness {
    let cell: Arc<OnceLock<Messenger>> = Arc::new(OnceLock::new());
    let refuse_webhooks = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/webhooks/facebook", axum::routing::post(receive))
        .with_state((cell.clone(), refuse_webhooks.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let sim = configure(
        GraphSim::builder()
            .page(PAGE, TOKEN)
            .app_secret(APP_SECRET)
            .webhook_url(format!("http://{receiver}/webhooks/facebook"))
            .sms_account("AC00000000000000000000000000000001", "sms-token"),
    )
    .start()
    .await
    .unwrap();
    let client = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .build()
        .unwrap();
    let sms = TwilioSms::new(
        sim.base_url(),
        "AC00000000000000000000000000000001",
        "sms-token",
        Some("+15005550006".into()),
    )
    .unwrap();
    let space = customize(
        Space::new(SPACE, PAGE, Arc::new(client)).sms(Arc::new(sms), None),
        &sim,
    );
    let store = Arc::new(MemoryStore::new());
    let messenger = build(Messenger::builder())
        .store(store.clone())
        .space(space)
        .app_secret(APP_SECRET)
        .token_key(b"test token key, 32 bytes or more!".to_vec())
        .retry(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: None,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    assert!(cell.set(messenger.clone()).is_ok());
    Harness {
        sim,
        messenger,
        store,
        refuse_webhooks,
    }
}

impl Harness {
    pub(crate) async fn dispatch_all(&self) {
        for _ in 0..20 {
            let r = self.messenger.dispatch_due("w1", 64).await.unwrap();
            if r.leased == 0 {
                return;
            }
        }
    }

    pub(crate) async fn events(&self) -> Vec<messenger_model::EventEnvelope> {
        let leased = self
            .store
            .lease_due_events(
                "probe",
                Timestamp::now().add_millis(1_000_000),
                10_000,
                Duration::from_millis(1),
            )
            .await
            .unwrap();
        // Take them off the outbox, as the forwarder would after delivering them.
        let ids: Vec<i64> = leased.iter().map(|e| e.id).collect();
        self.store
            .mark_delivered(&ids, Timestamp::now())
            .await
            .unwrap();
        leased.into_iter().map(|e| e.envelope).collect()
    }

    pub(crate) async fn message(&self, id: &str) -> messenger_store::MessageRecord {
        self.store.get_message(SPACE, id).await.unwrap().unwrap()
    }
}

/// A clock the test moves by hand, for the facade (`MessengerBuilder::clock`) and for the times
/// the test hands the store: a wait for a lease or the echo grace to run out is a step of the
/// test, not a sleep that a busy machine could stretch or a fast one cut short.
#[derive(Clone)]
pub(crate) struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock that reads the system's time until it is moved.
    pub(crate) fn starting_now() -> Self {
        Self(Arc::new(AtomicI64::new(Timestamp::now().millis())))
    }

    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }

    pub(crate) fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).expect("a test's step fits");
        self.0.fetch_add(by, Ordering::SeqCst);
    }

    /// The clock as the facade takes it.
    pub(crate) fn as_clock(&self) -> messenger::Clock {
        let millis = self.0.clone();
        Arc::new(move || Timestamp::from_millis(millis.load(Ordering::SeqCst)))
    }
}

pub(crate) fn body(to: serde_json::Value, rules: &[&str]) -> serde_json::Value {
    json!({"to": to, "body": "Your order has shipped", "rules": rules})
}
