//! The facade's one error type.

use messenger_validate::{Violation, Violations};

/// What can go wrong in the facade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request breaks validation rules (400, each violation with its JSON pointer).
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// No rule can deliver the message now; nothing was stored or sent (400).
    #[error("refused: {}", .0.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<Violation>),
    /// A batch with invalid entries (400): each index with its violations; nothing was queued.
    #[error("{} of the batch's requests are invalid", .0.len())]
    InvalidBatch(Vec<(usize, Violations)>),
    /// The idempotency key was used before with another request body (409).
    #[error("the Idempotency-Key was used with another request")]
    IdempotencyConflict {
        /// The message the key belongs to.
        message_id: String,
    },
    /// A sender action that cannot be sent now (nobody to address, the window closed); nothing
    /// was sent (400).
    #[error("action refused: {}", .0.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; "))]
    ActionRefused(Vec<Violation>),
    /// Graph refused or failed a call made on the caller's behalf (a sender action, a persona
    /// call); its kind says whose trouble it is.
    #[error("Graph call failed")]
    Graph(#[from] messenger_graph::Error),
    /// The space is not configured (404).
    #[error("unknown API space {0:?}")]
    UnknownSpace(String),
    /// The store failed (500; retry later).
    #[error("the store failed")]
    Store(#[from] messenger_store::StoreError),
}

impl From<messenger_validate::ValidateError> for Error {
    fn from(e: messenger_validate::ValidateError) -> Self {
        Self::Invalid(e.into_violations())
    }
}

/// `error` and its sources, joined by `": "` (`the store failed: store unavailable: leasing
/// messages: pool timed out ...`): what a log line should say, since each error's `Display`
/// names only its own part.
///
/// ```
/// let e = messenger::Error::from(messenger_store::StoreError::invalid("an empty id"));
/// assert_eq!(messenger::error_chain(&e), "the store failed: invalid input: an empty id");
/// ```
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
