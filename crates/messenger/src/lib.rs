//! # messenger
//!
//! The product's brain, usable in-process without the gateway: addressing, channel rules with SMS
//! fallback, opt-in tokens, webhook processing and the send pipeline.
//!
//! It stands on `messenger-model`, `messenger-validate`, `messenger-graph` (through its
//! `Transport` trait) and `messenger-store` (through its traits); it must never depend on the
//! gateway, on axum, or on a concrete database.

pub mod addressing;
mod error;
pub mod events;
mod facade;
pub mod optin;
pub mod send;
pub mod sms;
mod space;
pub mod webhook;

pub use error::{chain as error_chain, Error};
pub use facade::{BuildError, Clock, Messenger, MessengerBuilder, DEFAULT_EVENT_TARGET};
pub use send::{Accepted, AcceptedBatch, DispatchReport, Idempotency, RuleDecision};
pub use space::Space;
