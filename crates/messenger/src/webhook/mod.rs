//! Meta's webhooks: the verification handshake, `X-Hub-Signature-256`, and processing a batch of
//! events, of pages (Messenger) and of Instagram accounts (Instagram Direct).

mod apply;
mod echoes;
mod horizon;
mod instagram;
mod interactions;
mod process;
mod signature;

pub use echoes::PAGE_INBOX_APP_ID;
pub use horizon::{
    forget_seen_before, past_horizon, CLOCK_ALLOWANCE, DEDUPE_HORIZON, REPLAY_REASON,
};
pub(crate) use process::WEBHOOK_LEASE;
pub use process::{WebhookError, WebhookReport};

pub use signature::{sign_body, verify_signature, verify_subscription, SignatureError};
