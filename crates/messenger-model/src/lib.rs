//! # messenger-model
//!
//! The domain model of the Facebook Messenger channel: serde types and builders for
//!
//! - the Enterprise Communications API send request ([`SendRequest`], docs/design.md §4),
//! - Meta's Graph Send API request, response and error ([`graph`]),
//! - Meta's webhook payload ([`webhook`]),
//! - customer and Graph user profiles ([`Profile`], [`UserProfile`]),
//! - the message status resource ([`MessageResource`]) and the outbound event envelope
//!   ([`EventEnvelope`]),
//! - the mapping from a send request to the ordered Graph sends ([`plan_graph_sends`] for
//!   Messenger, [`plan_instagram_sends`] for Instagram Direct).
//!
//! It must never depend on anything that does I/O: no tokio, no reqwest, no sqlx, no clock
//! beyond [`Timestamp::now`]. Its dependencies are serde, serde_json and thiserror, so a user
//! who only builds payloads pulls in nothing else.
//!
//! ```
//! use messenger_model::{graph::Recipient, plan_graph_sends, Channel, SendRequest, To};
//!
//! let req = SendRequest::new(To::fb_messenger_id("1234567890"))
//!     .body("Your table is ready")
//!     .rules([Channel::FbMessenger, Channel::Sms]);
//! let sends = plan_graph_sends(&req, &Recipient::psid("1234567890")).unwrap();
//! let json = serde_json::to_string(&sends[0].request).unwrap();
//! assert_eq!(
//!     json,
//!     r#"{"recipient":{"id":"1234567890"},"messaging_type":"RESPONSE","message":{"text":"Your table is ready"}}"#
//! );
//! ```

mod error;
mod event;
pub mod graph;
mod mapping;
mod profile;
mod rule_trace;
mod send;
mod status;
mod time;
pub mod webhook;

pub use error::ModelError;
pub use event::{EventEnvelope, EventName};
pub use mapping::{
    is_text_mime, part_is_for, plan_graph_sends, plan_instagram_sends, InlineUpload, PlannedSend,
};
pub use profile::{FacebookProfile, Profile, UserProfile};
pub use rule_trace::{RuleCause, RuleOutcome, RuleTraceEntry};
pub use send::{
    Channel, ChannelOptions, CustomBody, FbMessengerOptions, InstagramOptions, MessagePart,
    SendRequest, SmsOptions, To,
};
pub use status::{MessageError, MessageResource, MessageStatus, StatusChange};
pub use time::Timestamp;

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
