//! # messenger-graph
//!
//! How the Messenger channel talks to Meta's Graph API:
//!
//! - [`Transport`]: the Graph calls the product makes (send, attachment upload, sender action,
//!   user profile, personas), as an object-safe trait (`Arc<dyn Transport>`) where a custom
//!   transport plugs in;
//! - [`GraphClient`]: the implementation over HTTP (reqwest, rustls, one connection pool shared
//!   by every page, token in `Authorization: Bearer`, optional `appsecret_proof`), for a page
//!   token on graph.facebook.com or an Instagram user token on graph.instagram.com (Instagram
//!   Login: [`GraphHost`], [`GraphClient::instagram_me`], [`GraphClient::refresh_access_token`],
//!   a token replaced at run time with [`GraphClient::set_access_token`]);
//! - [`Error`] and [`ErrorKind`]: every failure classified by what the sender should do (rate
//!   limited, outside the messaging window, user unavailable, invalid recipient, invalid
//!   parameter, auth, transient, permanent), with Graph's error object, the HTTP status, the
//!   retry hint and the [`Usage`] headers;
//! - [`RetryPolicy`] and [`RetryingTransport`]: exponential backoff with jitter, bounded by
//!   attempts and a deadline, retrying only what can succeed later;
//! - [`Usage`]: Graph's rate-limit usage headers, so a dispatcher slows down before 100 %;
//! - [`rates`]: Meta's send rates per page by kind of message (text vs audio and video), as
//!   data, with the product's defaults below them;
//! - `StubTransport` (feature `stub`): a transport that reaches no network and records what it
//!   was asked, for examples and tests of code built on [`Transport`].
//!
//! It depends on the model (`messenger-model`) and HTTP, and must never depend on the store,
//! the facade (`messenger`) or the gateway: those depend on it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), messenger_graph::Error> {
//! use std::sync::Arc;
//! use messenger_graph::{ErrorKind, GraphClient, RetryPolicy, RetryingTransport, Transport};
//! use messenger_model::graph::{GraphSendRequest, Message, Recipient};
//!
//! let client = GraphClient::builder()
//!     .page_access_token("PAGE_TOKEN")
//!     .app_secret("APP_SECRET")
//!     .build()?;
//! let transport: Arc<dyn Transport> =
//!     Arc::new(RetryingTransport::new(client, RetryPolicy::default()));
//!
//! let req = GraphSendRequest::message(Recipient::psid("1234567890"), Message::text("Hello"));
//! match transport.send(&req).await {
//!     Ok(sent) => println!("sent {:?}", sent.message_id),
//!     Err(e) if e.kind() == ErrorKind::OutsideWindow => println!("window closed: next rule"),
//!     Err(e) => println!("failed ({}): {e}", e.kind()),
//! }
//! if transport.usage().is_some_and(|u| u.max_percent() >= 80) {
//!     println!("slow down");
//! }
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod error;
pub mod rates;
mod retry;
#[cfg(feature = "stub")]
mod stub;
mod transport;
mod usage;

pub use client::{
    app_access_token, GraphClient, GraphClientBuilder, GraphHost, InstagramMe, PageIdentity,
    RefreshedToken, DEFAULT_BASE_URL, DEFAULT_CONNECTIONS, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_GRAPH_VERSION, DEFAULT_INSTAGRAM_BASE_URL, DEFAULT_TIMEOUT, MAX_CONNECTIONS,
    MAX_PERSONAS_PER_PAGE, USAGE_MAX_AGE, USER_PROFILE_FIELDS,
};
pub use error::{
    Blame, BoxError, Error, ErrorKind, GraphFailure, HttpFailure, TokenProblem,
    BUSINESS_USE_CASE_LIMIT_CODES, OUTSIDE_WINDOW_SUBCODES, TOKEN_ERROR_CODES, TOKEN_SUBCODES,
};
pub use retry::{Jitter, RetryPolicy, RetryingTransport};
#[cfg(feature = "stub")]
pub use stub::StubTransport;
pub use transport::{AttachmentType, AttachmentUpload, Transport, MAX_ATTACHMENT_BYTES};
pub use usage::{
    BusinessUseCaseUsage, Usage, UsageFigures, APP_USAGE_HEADER, BUSINESS_USE_CASE_USAGE_HEADER,
    PAGE_USAGE_HEADER,
};

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
