//! The facade embedded in an application, without the gateway: build a [`Messenger`], take a
//! customer's message from a signed webhook (it opens the messaging window), accept a send
//! request, dispatch it to Graph, apply Meta's signed delivery receipt and print the status.
//!
//! Graph is graph-sim, started in-process on loopback, and the store is the memory store, so the
//! example needs no network and no database:
//! `cargo run -p messenger --example embedded`.

use std::sync::Arc;
use std::time::Duration;

use graph_sim::GraphSim;
use messenger::Messenger;
use messenger_graph::GraphClient;
use messenger_model::{MessageStatus, Timestamp};
use messenger_store::MemoryStore;
use serde_json::{json, Value};

const PAGE: &str = "100200300400500";
const TOKEN: &str = "EAAG-example-page-token";
const APP_SECRET: &str = "example-app-secret";
const PSID: &str = "24000000000001";
const SPACE: &str = "default";

/// A webhook body as Meta posts it: one entry for the page with `event`.
fn webhook(event: Value) -> Result<Vec<u8>, serde_json::Error> {
    let now = Timestamp::now().millis();
    serde_json::to_vec(&json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": now, "messaging": [event]}]
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = GraphSim::builder()
        .page(PAGE, TOKEN)
        .app_secret(APP_SECRET)
        .start()
        .await?;
    let graph = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .timeout(Duration::from_secs(10))
        .build()?;
    // One page, one API space ("default"); any `Store` and `Transport` plug in here.
    let messenger = Messenger::builder()
        .store(Arc::new(MemoryStore::new()))
        .transport(Arc::new(graph))
        .page_id(PAGE)
        .app_secret(APP_SECRET)
        .token_key(b"an example opt-in token key of 32+ bytes".to_vec())
        .build()?;

    // The customer writes to the page: Meta's webhook, signed with the app secret.
    let now = Timestamp::now().millis();
    let inbound = webhook(json!({
        "sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": now,
        "message": {"mid": "m_inbound_1", "text": "Where is my order?"}
    }))?;
    let signature = graph_sim::hub_signature_256(APP_SECRET, &inbound);
    messenger.handle_webhook(&inbound, Some(&signature)).await?;
    println!("inbound message processed: the 24-hour window is open");

    // The business answers through the Enterprise Communications API's send request.
    let request = json!({
        "to": {"fbMessengerId": PSID},
        "body": "Your order has shipped and arrives tomorrow",
        "rules": ["fbMessenger"]
    });
    let accepted = messenger.accept(SPACE, &request, None).await?;
    println!("accepted {} ({})", accepted.id, accepted.status);

    // A worker sends what is due (the gateway runs this in its dispatch loop).
    let report = messenger.dispatch_due("example-worker", 16).await?;
    println!("dispatch round: {report:?}");
    let sent = messenger
        .message(SPACE, &accepted.id)
        .await?
        .ok_or("the accepted message is stored")?;
    let mid = sent
        .graph_message_ids
        .first()
        .cloned()
        .ok_or("Graph answered with a message id")?;
    println!("status {} with Graph message id {mid}", sent.status);

    // Meta reports the delivery.
    let delivered_at = Timestamp::now().millis() + 1;
    let receipt = webhook(json!({
        "sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": delivered_at,
        "delivery": {"mids": [mid], "watermark": delivered_at}
    }))?;
    let signature = graph_sim::hub_signature_256(APP_SECRET, &receipt);
    let applied = messenger.handle_webhook(&receipt, Some(&signature)).await?;
    println!("delivery receipt processed: {applied:?}");

    // A body with a wrong signature is refused before it is read.
    let forged = messenger
        .handle_webhook(&receipt, Some("sha256=0000"))
        .await
        .is_err();

    let resource = messenger
        .message(SPACE, &accepted.id)
        .await?
        .ok_or("the message is still stored")?;
    println!("final status: {}", resource.status);
    for change in &resource.status_history {
        println!("  {change:?}");
    }
    sim.shutdown().await;
    if resource.status != MessageStatus::Delivered || !forged {
        return Err(format!(
            "expected a delivered message and a refused forgery, got {} / {forged}",
            resource.status
        )
        .into());
    }
    Ok(())
}
