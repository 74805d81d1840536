//! A custom [`Transport`]: a send budget and a request log around [`GraphClient`].
//!
//! The wrapper refuses sends once its budget is spent, with its own cause attached to a
//! rate-limit error (`Error::other_with_source`), and records every call with its outcome's
//! [`ErrorKind`]. Graph is graph-sim, started in-process on loopback, so the example needs no
//! network: `cargo run -p messenger-graph --example custom_transport`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use graph_sim::{Fault, FaultRule, GraphSim};
use messenger_graph::{AttachmentUpload, Error, ErrorKind, GraphClient, Transport, Usage};
use messenger_model::graph::{GraphSendRequest, Message, Recipient, SendResponse, SenderAction};
use messenger_model::UserProfile;

const PAGE_ID: &str = "100200300400500";
const TOKEN: &str = "EAAG-example-page-token";
const APP_SECRET: &str = "example-app-secret";

/// The cause this transport attaches when it refuses a send itself.
#[derive(Debug, thiserror::Error)]
#[error("the local budget of {budget} sends is spent")]
struct BudgetSpent {
    budget: u32,
}

/// Sends through `inner` while the budget lasts, and logs each call.
struct Budgeted<T> {
    inner: T,
    budget: u32,
    used: AtomicU32,
    log: Mutex<Vec<String>>,
}

impl<T: Transport> Budgeted<T> {
    fn new(inner: T, budget: u32) -> Self {
        Self {
            inner,
            budget,
            used: AtomicU32::new(0),
            log: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, call: &str, outcome: Result<(), &Error>) {
        let line = match outcome {
            Ok(()) => format!("{call}: ok"),
            Err(e) => format!("{call}: {} ({e})", e.kind()),
        };
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line);
    }

    fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl<T: Transport> Transport for Budgeted<T> {
    async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
        let result = if self.used.fetch_add(1, Ordering::SeqCst) < self.budget {
            self.inner.send(req).await
        } else {
            Err(Error::other_with_source(
                ErrorKind::RateLimited,
                "send refused by the local budget",
                BudgetSpent {
                    budget: self.budget,
                },
            ))
        };
        self.record("send", result.as_ref().map(drop));
        result
    }

    async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
        let result = self.inner.upload_attachment(upload).await;
        self.record("upload", result.as_ref().map(drop));
        result
    }

    async fn sender_action(
        &self,
        recipient: &Recipient,
        action: SenderAction,
    ) -> Result<(), Error> {
        let result = self.inner.sender_action(recipient, action).await;
        self.record("sender_action", result.as_ref().copied());
        result
    }

    async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
        let result = self.inner.user_profile(psid).await;
        self.record("user_profile", result.as_ref().map(drop));
        result
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = GraphSim::builder()
        .page(PAGE_ID, TOKEN)
        .app_secret(APP_SECRET)
        .start()
        .await?;
    let client = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .timeout(Duration::from_secs(10))
        .build()?;
    let transport = Arc::new(Budgeted::new(client, 3));
    // What the facade holds: any transport, as a trait object.
    let graph: Arc<dyn Transport> = transport.clone();

    let text = |psid: &str, body: &str| {
        GraphSendRequest::message(Recipient::psid(psid), Message::text(body))
    };
    let sent = graph
        .send(&text("1000000000000001", "Your order shipped"))
        .await?;
    println!("sent {:?} to {:?}", sent.message_id, sent.recipient_id);

    // Graph's own refusal, classified by messenger-graph.
    sim.fault(FaultRule::recipient("1000000000000002", Fault::UserUnavailable).times(1));
    let refused = graph
        .send(&text("1000000000000002", "Are you there?"))
        .await
        .err()
        .ok_or("graph-sim was scripted to refuse this send")?;
    println!("Graph refused: {} ({})", refused.kind(), refused);
    assert_eq!(refused.kind(), ErrorKind::UserUnavailable);

    graph
        .send(&text("1000000000000001", "Out for delivery"))
        .await?;

    // The fourth send is over budget: refused here, with this transport's own cause.
    let local = graph
        .send(&text("1000000000000001", "Delivered"))
        .await
        .err()
        .ok_or("the budget allows three sends")?;
    let cause = std::error::Error::source(&local).ok_or("the cause is attached")?;
    println!(
        "refused locally: {} ({local}; caused by: {cause})",
        local.kind()
    );
    assert!(local.is_retryable());
    assert!(cause.is::<BudgetSpent>());

    println!("request log:");
    for line in transport.log() {
        println!("  {line}");
    }
    assert_eq!(transport.log().len(), 4);
    assert_eq!(sim.sent_messages().len(), 2);
    sim.shutdown().await;
    Ok(())
}
