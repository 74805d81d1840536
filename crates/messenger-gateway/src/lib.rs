//! # messenger-gateway
//!
//! The product as a business runs it: one HTTP service in front of the Facebook Messenger
//! channel. It serves the Enterprise Communications API (send, batch send, message status,
//! profiles, the Facebook metadata service for opt-in tokens), receives Meta's webhooks
//! (signature first), runs the durable sending workers against the store, and exposes health,
//! readiness, Prometheus metrics and its OpenAPI document. `docs/http-api.md` describes the API,
//! `docs/configuration.md` the configuration, `docs/operations.md` how to run it.
//!
//! The binary (`messenger-gateway serve --config FILE`) and tests use the same entry point,
//! [`Gateway::start`], which returns a [`GatewayHandle`] with the bound address and a graceful
//! [`GatewayHandle::shutdown`].
//!
//! This crate is the top of the workspace: it wires `messenger` (the facade) to a store from
//! `messenger-store-sql`, Graph clients from `messenger-graph`, and axum. **Nothing below may
//! depend on it.**
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use messenger_gateway::{config::Config, Gateway};
//! let config = Config::from_toml_str(
//!     r#"
//!     [server]
//!     listen = "127.0.0.1:8080"
//!     [database]
//!     url = "sqlite://./data/messenger.db?mode=rwc"
//!     [facebook]
//!     app_secret = "0123456789abcdef0123456789abcdef"
//!     verify_token = "a verify token of 16 or more"
//!     token_key = "a key of at least thirty-two bytes, shared by instances"
//!     [[spaces]]
//!     id = "acme"
//!     page_id = "1234567890"
//!     page_token = "EAAB-page-token"
//!     keys = ["acme-key-0123456789abcdef"]
//!     "#,
//!     std::env::vars(),
//! )?;
//! let gateway = Gateway::start(config).await?;
//! // POST http://127.0.0.1:8080/apispaces/acme/messages with "Authorization: Bearer acme-key-..."
//! gateway.shutdown().await;
//! # Ok(()) }
//! ```

pub mod backlog;
#[cfg(feature = "sqlite")]
pub mod backup;
pub mod client;
pub mod config;
pub mod connection;
pub mod console;
mod database;
#[cfg(feature = "demo")]
pub mod demo;
mod dispatch;
mod error;
mod forward;
mod gateway;
pub mod http;
pub mod inbound;
mod instagram;
mod instance;
pub mod listener;
pub mod live;
pub mod metrics;
pub mod picture;
pub mod retention;
pub mod shed;
mod spaces;

pub use database::{open_existing_store, open_store};
pub use error::GatewayError;
pub use gateway::{Gateway, GatewayBuilder, GatewayHandle};
pub use instance::{lock_database, DatabaseLock};
