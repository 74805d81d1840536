//! The message status resource (`GET /apispaces/{space}/messages/{id}`): status, history, rule
//! trace, Graph message ids.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Channel, RuleTraceEntry, Timestamp};

/// Where a message is in its life.
///
/// Statuses only move forward ([`MessageStatus::can_become`]): a late `delivered` after `read` is
/// ignored, and `failed`/`expired` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Accepted and stored; not sent yet.
    Processing,
    /// A send attempt failed in a way that can succeed later; it will be tried again.
    Retrying,
    /// Accepted by the channel (Graph returned a message id, or the SMS provider accepted it).
    Sent,
    /// The recipient's device received it.
    Delivered,
    /// The recipient read it.
    Read,
    /// No channel could send it.
    Failed,
    /// `expiresOn` passed before it could be sent.
    Expired,
}

impl MessageStatus {
    /// All statuses, in order of progress.
    pub const ALL: [MessageStatus; 7] = [
        Self::Processing,
        Self::Retrying,
        Self::Sent,
        Self::Delivered,
        Self::Read,
        Self::Failed,
        Self::Expired,
    ];

    /// The status's wire name (`"delivered"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Retrying => "retrying",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether no further change can follow (`read`, `failed`, `expired`).
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Read | Self::Failed | Self::Expired)
    }

    /// Whether a message in status `self` may move to `next`. Statuses never go backwards:
    /// processing <-> retrying while unsent; then sent -> delivered -> read; failed and expired
    /// only from an unsent state.
    ///
    /// ```
    /// use messenger_model::MessageStatus::*;
    /// assert!(Sent.can_become(Read));
    /// assert!(!Read.can_become(Delivered));
    /// assert!(!Failed.can_become(Sent));
    /// ```
    pub const fn can_become(self, next: MessageStatus) -> bool {
        use MessageStatus::*;
        matches!(
            (self, next),
            (Processing | Retrying, _) | (Sent, Delivered | Read) | (Delivered, Read)
        )
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a message's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    /// The status entered.
    pub status: MessageStatus,
    /// When it was entered.
    pub at: Timestamp,
    /// Why, when there is something to say (an error, a watermark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why a message failed, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageError {
    /// A stable code (`graph.user_unavailable`, `window.closed`, ...).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

/// The message resource: what `GET /apispaces/{space}/messages/{id}` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageResource {
    /// The message id assigned on acceptance.
    pub id: String,
    /// Current status.
    pub status: MessageStatus,
    /// The channel the message went out on, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Every status the message entered, oldest first.
    #[serde(default)]
    pub status_history: Vec<StatusChange>,
    /// Every rule considered, in order.
    #[serde(default)]
    pub rule_trace: Vec<RuleTraceEntry>,
    /// Graph's message ids (`mid`), one per Graph send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub graph_message_ids: Vec<String>,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<MessageError>,
    /// The request's `metadata`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The request's `conversationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// When the message was accepted.
    pub created_at: Timestamp,
    /// `true` when its content (body, parts, custom body, recipient, metadata, the error's
    /// text) was removed after its retention period; ids, statuses and times stay. Absent
    /// (false) while the message is whole.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}
