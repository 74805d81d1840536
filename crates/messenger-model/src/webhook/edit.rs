//! `message_edits` and `response_feedback` events: what a user did later to a message already in
//! the conversation (edited their own, or rated one the page sent).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient;

/// A `message_edit`: the user edited a message they sent (the Messenger client allows at most
/// five edits of one message).
///
/// ```
/// use messenger_model::webhook::{EventKind, MessagingEvent};
/// let e: MessagingEvent = serde_json::from_str(r#"{"sender":{"id":"U"},"timestamp":5,
///   "message_edit":{"mid":"m_1","text":"Is my table ready?","num_edit":2}}"#).unwrap();
/// let EventKind::Edit(edit) = e.kind() else { panic!() };
/// assert_eq!((edit.mid.as_deref(), edit.num_edit), (Some("m_1"), 2));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageEdit {
    /// The mid of the message edited (the user's original message).
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub mid: Option<String>,
    /// The new text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// How many times the message has been edited, this edit included (0: Meta did not say).
    /// Lenient like the milliseconds fields (an integer, an integral float, digits or `null`).
    #[serde(default, deserialize_with = "lenient::millis")]
    pub num_edit: i64,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `response_feedback`: the user tapped thumbs up or down under a message the page sent
/// (Meta shows the buttons under every message of an app subscribed to this field).
///
/// ```
/// use messenger_model::webhook::{EventKind, MessagingEvent};
/// let e: MessagingEvent = serde_json::from_str(r#"{"sender":{"id":"U"},"timestamp":5,
///   "response_feedback":{"mid":"m_ours","feedback":"Good response"}}"#).unwrap();
/// let EventKind::Feedback(f) = e.kind() else { panic!() };
/// assert_eq!(f.feedback.as_deref(), Some("Good response"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseFeedback {
    /// The mid of the page's message rated.
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub mid: Option<String>,
    /// `Good response` or `Bad response`, as Meta words it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
