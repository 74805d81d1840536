//! The Send API request envelope: recipient, messaging type, tag, notification type, sender action
//! (and the payload of Instagram's reactions).

use serde::{Deserialize, Serialize};

use super::Message;

/// Who a Graph send goes to. Exactly one identifier should be set; the constructors make sure.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Recipient {
    /// Page-scoped ID (PSID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The checkbox plugin's `user_ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<String>,
    /// Phone number (customer matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Name to match with the phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<RecipientName>,
    /// A marketing messages opt-in token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_messages_token: Option<String>,
    /// An Instagram comment, for a private reply to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
}

impl Recipient {
    /// By PSID.
    pub fn psid(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }

    /// By the checkbox plugin's `user_ref`.
    pub fn user_ref(user_ref: impl Into<String>) -> Self {
        Self {
            user_ref: Some(user_ref.into()),
            ..Self::default()
        }
    }

    /// By phone number, with an optional name (customer matching).
    pub fn phone(number: impl Into<String>, name: Option<RecipientName>) -> Self {
        Self {
            phone_number: Some(number.into()),
            name,
            ..Self::default()
        }
    }

    /// A private reply to the Instagram comment `comment_id`.
    pub fn comment(comment_id: impl Into<String>) -> Self {
        Self {
            comment_id: Some(comment_id.into()),
            ..Self::default()
        }
    }

    /// By marketing messages token.
    pub fn notification_token(token: impl Into<String>) -> Self {
        Self {
            notification_messages_token: Some(token.into()),
            ..Self::default()
        }
    }

    /// A short description for logs and traces (`psid:123`), never a phone number in full.
    pub fn describe(&self) -> String {
        if let Some(id) = &self.id {
            format!("psid:{id}")
        } else if let Some(r) = &self.user_ref {
            format!("user_ref:{r}")
        } else if let Some(p) = &self.phone_number {
            let tail: String = p
                .chars()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("phone:***{tail}")
        } else if self.notification_messages_token.is_some() {
            "notification_token".into()
        } else {
            "none".into()
        }
    }
}

/// Name for customer matching.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecipientName {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
}

/// Graph's `messaging_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessagingType {
    /// A reply within the messaging window (the default).
    Response,
    /// A proactive update within the messaging window.
    Update,
    /// A tagged message (outside the window, with an accepted tag).
    MessageTag,
}

impl MessagingType {
    /// Graph's spelling (`"MESSAGE_TAG"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Response => "RESPONSE",
            Self::Update => "UPDATE",
            Self::MessageTag => "MESSAGE_TAG",
        }
    }
}

/// Graph's `notification_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    /// Sound and vibration.
    Regular,
    /// On-screen notification only.
    SilentPush,
    /// No notification.
    NoPush,
}

/// Graph's `sender_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderAction {
    /// Show the typing bubble.
    TypingOn,
    /// Hide the typing bubble.
    TypingOff,
    /// Mark the last message as seen.
    MarkSeen,
    /// React to a message of the customer (Instagram only), with a [`ReactionPayload`].
    React,
    /// Remove the reaction to a message of the customer (Instagram only), with a
    /// [`ReactionPayload`] naming the message.
    Unreact,
}

impl SenderAction {
    /// Every action, in Graph's documentation order.
    pub const ALL: [SenderAction; 5] = [
        Self::TypingOn,
        Self::TypingOff,
        Self::MarkSeen,
        Self::React,
        Self::Unreact,
    ];

    /// Graph's spelling (`"typing_on"`, `"react"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TypingOn => "typing_on",
            Self::TypingOff => "typing_off",
            Self::MarkSeen => "mark_seen",
            Self::React => "react",
            Self::Unreact => "unreact",
        }
    }

    /// Parses Graph's spelling.
    ///
    /// ```
    /// use messenger_model::graph::SenderAction;
    /// assert_eq!(SenderAction::parse("unreact"), Some(SenderAction::Unreact));
    /// assert_eq!(SenderAction::parse("typing"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// `react` or `unreact`: an action on one message, which Instagram takes and Messenger does
    /// not.
    pub const fn is_reaction(self) -> bool {
        matches!(self, Self::React | Self::Unreact)
    }
}

/// The reactions Meta documents for Instagram's `react` (only `love`): the `reaction` of a
/// [`ReactionPayload`].
pub const INSTAGRAM_REACTIONS: [&str; 1] = ["love"];

/// The `payload` of Instagram's `react` and `unreact`: the customer's message (its `mid`) and,
/// to react, the reaction ([`INSTAGRAM_REACTIONS`]). `unreact` names only the message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReactionPayload {
    /// The `mid` of the message reacted to.
    pub message_id: String,
    /// The reaction (`love`); none with `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
}

/// A Send API request (`POST /v{N}/me/messages`).
///
/// ```
/// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
/// let req = GraphSendRequest::message(Recipient::psid("123"), Message::text("hi"));
/// assert_eq!(
///     serde_json::to_string(&req).unwrap(),
///     r#"{"recipient":{"id":"123"},"messaging_type":"RESPONSE","message":{"text":"hi"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GraphSendRequest {
    /// Who it goes to.
    pub recipient: Recipient,
    /// `RESPONSE`, `UPDATE` or `MESSAGE_TAG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    /// The message tag, with `MESSAGE_TAG`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Push notification behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_type: Option<NotificationType>,
    /// A sender action instead of a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_action: Option<SenderAction>,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// A persona to send as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_id: Option<String>,
    /// The message and reaction of a `react` or `unreact` sender action (Instagram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ReactionPayload>,
}

impl GraphSendRequest {
    /// A `RESPONSE` message to `recipient`.
    pub fn message(recipient: Recipient, message: Message) -> Self {
        Self {
            recipient,
            messaging_type: Some(MessagingType::Response),
            message: Some(message),
            ..Self::default()
        }
    }

    /// A sender action (typing on/off, mark seen) to `recipient`; `react` and `unreact` need a
    /// payload too ([`GraphSendRequest::react`], [`GraphSendRequest::unreact`]).
    pub fn sender_action(recipient: Recipient, action: SenderAction) -> Self {
        Self {
            recipient,
            sender_action: Some(action),
            ..Self::default()
        }
    }

    /// Instagram's `react` to the customer's message `message_id` (its `mid`) with `reaction`
    /// (Meta documents `love`: [`INSTAGRAM_REACTIONS`]).
    ///
    /// ```
    /// use messenger_model::graph::{GraphSendRequest, Recipient};
    /// let req = GraphSendRequest::react(Recipient::psid("123"), "m_1", "love");
    /// assert_eq!(
    ///     serde_json::to_string(&req).unwrap(),
    ///     r#"{"recipient":{"id":"123"},"sender_action":"react","payload":{"message_id":"m_1","reaction":"love"}}"#
    /// );
    /// ```
    pub fn react(
        recipient: Recipient,
        message_id: impl Into<String>,
        reaction: impl Into<String>,
    ) -> Self {
        Self {
            payload: Some(ReactionPayload {
                message_id: message_id.into(),
                reaction: Some(reaction.into()),
            }),
            ..Self::sender_action(recipient, SenderAction::React)
        }
    }

    /// Instagram's `unreact`: removes the reaction to the customer's message `message_id`.
    pub fn unreact(recipient: Recipient, message_id: impl Into<String>) -> Self {
        Self {
            payload: Some(ReactionPayload {
                message_id: message_id.into(),
                reaction: None,
            }),
            ..Self::sender_action(recipient, SenderAction::Unreact)
        }
    }

    /// Sets the messaging type.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_messaging_type(mut self, kind: MessagingType) -> Self {
        self.messaging_type = Some(kind);
        self
    }

    /// Sets a tag (and `messaging_type: MESSAGE_TAG`).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.messaging_type = Some(MessagingType::MessageTag);
        self.tag = Some(tag.into());
        self
    }

    /// Sets the notification type.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_notification_type(mut self, kind: NotificationType) -> Self {
        self.notification_type = Some(kind);
        self
    }
}
