//! Thread control (Meta's handover protocol, kept by conversation routing): which app owns a
//! conversation, and the requests that move it (`pass_thread_control`, `take_thread_control`,
//! `release_thread_control`, `request_thread_control`) and read it (`thread_owner`).

use serde::{Deserialize, Serialize};

use super::Recipient;

/// The longest `metadata` a thread-control request carries (characters).
pub const MAX_THREAD_METADATA_CHARS: usize = 1000;

/// A thread-control request: what the app does with a conversation's control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadAction {
    /// Hands control to another app (`pass_thread_control`).
    Pass {
        /// The app that gets control (its id, digits).
        target_app_id: String,
    },
    /// Takes control from the app that has it (`take_thread_control`).
    Take,
    /// Gives control up: the thread is idle (`release_thread_control`).
    Release,
    /// Asks the owning app for control (`request_thread_control`).
    Request,
}

impl ThreadAction {
    /// Graph's edge for the action (`pass_thread_control`, ...).
    pub const fn edge(&self) -> &'static str {
        match self {
            Self::Pass { .. } => "pass_thread_control",
            Self::Take => "take_thread_control",
            Self::Release => "release_thread_control",
            Self::Request => "request_thread_control",
        }
    }

    /// The action's short name (`pass`, `take`, `release`, `request`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Pass { .. } => "pass",
            Self::Take => "take",
            Self::Release => "release",
            Self::Request => "request",
        }
    }
}

/// The body of a thread-control request to Graph.
///
/// ```
/// use messenger_model::graph::{Recipient, ThreadAction, ThreadControlRequest};
/// let req = ThreadControlRequest::new(
///     Recipient::psid("24012345678901234"),
///     &ThreadAction::Pass { target_app_id: "263902037430900".into() },
///     Some("needs a person".into()),
/// );
/// let json = serde_json::to_value(&req).unwrap();
/// assert_eq!(json["target_app_id"], "263902037430900");
/// assert_eq!(json["recipient"]["id"], "24012345678901234");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadControlRequest {
    /// The conversation's user.
    pub recipient: Recipient,
    /// For a pass: the app that gets control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_app_id: Option<String>,
    /// Free text for the other app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

impl ThreadControlRequest {
    /// The request for `action` on `recipient`'s conversation.
    pub fn new(recipient: Recipient, action: &ThreadAction, metadata: Option<String>) -> Self {
        Self {
            recipient,
            target_app_id: match action {
                ThreadAction::Pass { target_app_id } => Some(target_app_id.clone()),
                _ => None,
            },
            metadata,
        }
    }
}

/// Graph's answer to `GET /me/thread_owner?recipient=<PSID>`: `{"data":[{"thread_owner":
/// {"app_id": "..."}}]}`, an empty `data` when no app owns the thread (idle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadOwnerResponse {
    /// One entry when an app owns the thread.
    #[serde(default)]
    pub data: Vec<ThreadOwnerEntry>,
}

/// One entry of [`ThreadOwnerResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadOwnerEntry {
    /// The owner.
    pub thread_owner: ThreadOwnerApp,
}

/// The app that owns a thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadOwnerApp {
    /// Its id (Graph answers a string; some versions a number, read as text).
    #[serde(deserialize_with = "crate::webhook::lenient::text")]
    pub app_id: String,
}

impl ThreadOwnerResponse {
    /// The owning app's id, if an app owns the thread.
    pub fn owner(&self) -> Option<&str> {
        self.data.first().map(|e| e.thread_owner.app_id.as_str())
    }
}
