//! The model crate's one error type.

use crate::Channel;

/// What can go wrong in the model: parsing JSON, parsing a timestamp, mapping a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The JSON is malformed, or does not have the shape of the type.
    #[error("{kind} JSON at line {line}, column {column}: {message}")]
    Json {
        /// `syntax`, `data` (wrong shape) or `eof` (cut short).
        kind: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// A timestamp that is not RFC 3339.
    #[error("invalid timestamp {value:?}: expected RFC 3339, e.g. 2026-01-31T12:00:00Z")]
    InvalidTimestamp {
        /// The offending value (cut to 64 characters).
        value: String,
    },
    /// The request has no content for the channel.
    #[error("nothing to send on {channel}: no customBody, messageParts or body for it")]
    NothingToSend {
        /// The channel.
        channel: Channel,
    },
    /// A message part with neither `url` nor `data`.
    #[error("messageParts[{index}] has neither url nor data")]
    PartWithoutContent {
        /// The part's index.
        index: usize,
    },
}

impl ModelError {
    /// Converts serde_json's error, keeping line and column.
    pub fn from_json(e: serde_json::Error) -> Self {
        let kind = match e.classify() {
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Eof => "eof",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Io => "io",
        };
        // serde_json appends " at line L column C"; we carry those as fields.
        let mut message = e.to_string();
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        Self::Json {
            kind,
            line: e.line(),
            // serde_json says column 0 for "before the first character of the line" (e.g. at
            // the end of a file ending in a newline); columns are 1-based for people.
            column: e.column().max(1),
            message,
        }
    }
}
