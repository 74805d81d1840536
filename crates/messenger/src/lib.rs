//! # messenger
//!
//! The product's brain, usable in-process without the gateway: addressing, channel rules with SMS
//! fallback, opt-in tokens, webhook processing and the send pipeline.
//!
//! It stands on `messenger-model`, `messenger-validate`, `messenger-graph` (through its
//! `Transport` trait) and `messenger-store` (through its traits); it must never depend on the
//! gateway, on axum, or on a concrete database.
//!
//! The entry point is [`Messenger`], built with [`Messenger::builder`] from a store (any
//! `messenger_store::Store`), a Graph transport (any `messenger_graph::Transport`) and the
//! page. Here Graph is graph-sim on loopback and the store is in memory
//! (`examples/embedded.rs` goes on to Meta's signed webhooks):
//!
//! ```
//! use std::sync::Arc;
//! use messenger::Messenger;
//! use messenger_graph::GraphClient;
//! use messenger_model::{MessageStatus, Timestamp};
//! use messenger_store::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = graph_sim::GraphSim::builder()
//!     .page("PAGE_ID", "PAGE_TOKEN")
//!     .app_secret("APP_SECRET")
//!     .start()
//!     .await?;
//! let graph = GraphClient::builder()
//!     .base_url(sim.base_url())
//!     .page_access_token("PAGE_TOKEN")
//!     .app_secret("APP_SECRET")
//!     .build()?;
//! let messenger = Messenger::builder()
//!     .store(Arc::new(MemoryStore::new()))
//!     .transport(Arc::new(graph))
//!     .page_id("PAGE_ID")
//!     .app_secret("APP_SECRET")
//!     .token_key(b"opt-in token key of at least 32 bytes".to_vec())
//!     .build()?;
//!
//! // The customer writes to the page (Meta's signed webhook): the 24-hour window opens.
//! let inbound = serde_json::to_vec(&serde_json::json!({"object": "page", "entry": [{
//!     "id": "PAGE_ID", "time": 1, "messaging": [{
//!         "sender": {"id": "24000000000001"}, "recipient": {"id": "PAGE_ID"},
//!         "timestamp": Timestamp::now().millis(),
//!         "message": {"mid": "m_1", "text": "Where is my order?"}}]}]}))?;
//! let signature = graph_sim::hub_signature_256("APP_SECRET", &inbound);
//! messenger.handle_webhook(&inbound, Some(&signature)).await?;
//!
//! // Accept a send request (stored before this returns), then let a worker send it.
//! let request = serde_json::json!({
//!     "to": {"fbMessengerId": "24000000000001"},
//!     "body": "Your order has shipped",
//!     "rules": ["fbMessenger"]
//! });
//! let accepted = messenger.accept("default", &request, None).await?;
//! messenger.dispatch_due("worker-1", 16).await?;
//! let message = messenger.message("default", &accepted.id).await?.ok_or("stored")?;
//! assert_eq!(message.status, MessageStatus::Sent);
//! assert_eq!(sim.sent_messages().len(), 1);
//! # sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod activity;
pub mod addressing;
mod error;
pub mod events;
mod facade;
pub mod optin;
mod personas;
pub mod send;
pub mod sms;
mod space;
pub mod webhook;

pub use activity::StatusCounts;
pub use error::{chain as error_chain, Error};
pub use facade::{BuildError, Clock, Messenger, MessengerBuilder, DEFAULT_EVENT_TARGET};
pub use send::{Accepted, AcceptedBatch, ActionSent, DispatchReport, Idempotency, RuleDecision};
pub use space::Space;
