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
//! page. Here Graph is `messenger_graph::StubTransport` (feature `stub` of `messenger-graph`:
//! no network, every call answered as a success and recorded) and the store is in memory;
//! `examples/embedded.rs` does the same against a simulated Graph over HTTP, with Meta's signed
//! webhooks:
//!
//! ```
//! use std::sync::Arc;
//! use messenger::{webhook, Messenger};
//! use messenger_graph::StubTransport;
//! use messenger_model::{MessageStatus, Timestamp};
//! use messenger_store::MemoryStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let graph = Arc::new(StubTransport::new());
//! let messenger = Messenger::builder()
//!     .store(Arc::new(MemoryStore::new()))
//!     .transport(graph.clone())
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
//! let signature = webhook::sign_body("APP_SECRET", &inbound);
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
//! assert_eq!(graph.sent().len(), 1);
//! # Ok(())
//! # }
//! ```

mod activity;
pub mod addressing;
mod customer;
mod error;
pub mod events;
mod facade;
pub mod instagram;
pub mod optin;
mod personas;
pub mod send;
mod send_tag;
pub mod sms;
mod space;
mod threads;
pub mod webhook;

pub use activity::StatusCounts;
pub use error::{chain as error_chain, Error};
pub use facade::{BuildError, Clock, Messenger, MessengerBuilder, DEFAULT_EVENT_TARGET};
pub use instagram::{InstagramAccount, InstagramLogin};
pub use send::{
    Accepted, AcceptedBatch, ActionRequest, ActionSent, DispatchReport, Idempotency, RuleDecision,
};
pub use space::Space;

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
