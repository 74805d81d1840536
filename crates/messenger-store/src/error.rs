//! The store's one error type.

use std::error::Error as StdError;

/// What can go wrong in a store.
///
/// "Not applied" outcomes (a status that would move backwards, a release by a worker that no
/// longer holds the lease) are not errors: they are reported in the operation's result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing the operation is about does not exist (in this API space).
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked for (`message`, `profile`, ...).
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The operation would break a uniqueness rule (a message id used twice, a Graph message
    /// id already recorded for another message).
    #[error("conflict: {message}")]
    Conflict {
        /// What collided.
        message: String,
    },
    /// A profile's `fbMessengerId` is already held by another profile of the space.
    #[error("the Messenger ID is already held by profile {profile_id:?}")]
    MessengerIdTaken {
        /// The profile that holds it.
        profile_id: String,
    },
    /// The caller passed something the store cannot take (an empty id, a status that is not a
    /// receipt status for a watermark).
    #[error("invalid input: {message}")]
    Invalid {
        /// What is wrong.
        message: String,
    },
    /// Stored data could not be read back (a JSON column that does not parse, an unknown
    /// status name).
    #[error("stored data is corrupt: {what}")]
    Corrupt {
        /// Which data.
        what: String,
        /// The decoding error, when there is one.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// The backend cannot be reached (connection refused, pool timed out, database closed).
    /// Retrying later may succeed.
    #[error("store unavailable: {message}")]
    Unavailable {
        /// What failed, without connection strings or credentials.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
    /// Any other backend failure.
    #[error("store backend error: {message}")]
    Backend {
        /// What failed, without connection strings or credentials.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

impl StoreError {
    /// A [`StoreError::NotFound`].
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }

    /// A [`StoreError::Invalid`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
        }
    }

    /// A [`StoreError::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    /// A [`StoreError::Corrupt`] for a JSON value that does not decode.
    pub fn corrupt_json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Self::Corrupt {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
