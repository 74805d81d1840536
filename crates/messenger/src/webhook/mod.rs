//! Meta's webhooks: the verification handshake, `X-Hub-Signature-256`, and processing a batch of
//! events.

mod apply;
mod interactions;
mod process;
mod signature;

pub(crate) use process::WEBHOOK_LEASE;
pub use process::{WebhookError, WebhookReport};

pub use signature::{sign_body, verify_signature, verify_subscription, SignatureError};
