//! Builder-style methods, so a request takes a few lines to write.

use serde_json::Value;

use super::{Channel, ChannelOptions, CustomBody, MessagePart, SendRequest, To};
use crate::graph::{Message, MessagingType};
use crate::Timestamp;

impl To {
    /// Addressed by a stored profile.
    pub fn profile(id: impl Into<String>) -> Self {
        Self {
            profile_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// Addressed by Messenger ID (PSID).
    pub fn fb_messenger_id(psid: impl Into<String>) -> Self {
        Self {
            fb_messenger_id: Some(psid.into()),
            ..Self::default()
        }
    }

    /// Addressed by Instagram-scoped ID (IGSID).
    pub fn instagram_id(igsid: impl Into<String>) -> Self {
        Self {
            instagram_id: Some(igsid.into()),
            ..Self::default()
        }
    }

    /// A private reply to the Instagram comment `comment_id` (sent on the `instagram` rule).
    pub fn instagram_comment(comment_id: impl Into<String>) -> Self {
        Self {
            comment_id: Some(comment_id.into()),
            ..Self::default()
        }
    }

    /// Adds an Instagram-scoped ID (IGSID).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_instagram_id(mut self, igsid: impl Into<String>) -> Self {
        self.instagram_id = Some(igsid.into());
        self
    }

    /// Addressed by phone number.
    pub fn phone_number(number: impl Into<String>) -> Self {
        Self {
            phone_number: Some(number.into()),
            ..Self::default()
        }
    }

    /// Adds a phone number.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_phone_number(mut self, number: impl Into<String>) -> Self {
        self.phone_number = Some(number.into());
        self
    }

    /// Adds a Messenger ID.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_fb_messenger_id(mut self, psid: impl Into<String>) -> Self {
        self.fb_messenger_id = Some(psid.into());
        self
    }

    /// Adds first and last name.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_name(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }
}

impl MessagePart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            mime_type: "text/plain".into(),
            data: Some(text.into()),
            ..Self::default()
        }
    }

    /// A part fetched from a URL.
    pub fn url(mime_type: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            mime_type: mime_type.into(),
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// A part with inline base64 data.
    pub fn inline(
        name: impl Into<String>,
        mime_type: impl Into<String>,
        base64: impl Into<String>,
    ) -> Self {
        Self {
            name: Some(name.into()),
            mime_type: mime_type.into(),
            data: Some(base64.into()),
            ..Self::default()
        }
    }
}

impl SendRequest {
    /// A request to `to` with nothing else set.
    pub fn new(to: To) -> Self {
        Self {
            to,
            ..Self::default()
        }
    }

    /// Sets the body text.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(text.into());
        self
    }

    /// Sets the title.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Appends a message part.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn part(mut self, part: MessagePart) -> Self {
        self.message_parts.push(part);
        self
    }

    /// Sets the channels, in order of preference.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn rules(mut self, rules: impl IntoIterator<Item = Channel>) -> Self {
        self.rules = rules.into_iter().collect();
        self
    }

    fn fb_options(&mut self) -> &mut super::FbMessengerOptions {
        self.channel_options
            .get_or_insert_with(ChannelOptions::default)
            .fb_messenger
            .get_or_insert_with(Default::default)
    }

    /// Sets Messenger's delivery timeout in seconds (`channelOptions.fbMessenger.deliveryTimeout`):
    /// with no delivery receipt within it, the next rule sends the message.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn delivery_timeout(mut self, seconds: u64) -> Self {
        self.fb_options().delivery_timeout = Some(seconds);
        self
    }

    /// Sets Messenger's `messaging_type`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn messaging_type(mut self, kind: MessagingType) -> Self {
        self.fb_options().messaging_type = Some(kind);
        self
    }

    /// Sets a Messenger message tag (and `messaging_type: MESSAGE_TAG`).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn message_tag(mut self, tag: impl Into<String>) -> Self {
        let opts = self.fb_options();
        opts.messaging_type = Some(MessagingType::MessageTag);
        opts.message_tag = Some(tag.into());
        self
    }

    /// Sets the persona (a page persona's id) every Messenger send of the message is sent as.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn persona_id(mut self, persona_id: impl Into<String>) -> Self {
        self.fb_options().persona_id = Some(persona_id.into());
        self
    }

    /// Sets the Messenger custom body (a Graph `message` object).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn fb_messenger_message(mut self, message: Message) -> Self {
        self.custom_body
            .get_or_insert_with(CustomBody::default)
            .fb_messenger = Some(message);
        self
    }

    fn ig_options(&mut self) -> &mut super::InstagramOptions {
        self.channel_options
            .get_or_insert_with(ChannelOptions::default)
            .instagram
            .get_or_insert_with(Default::default)
    }

    /// Sets how long Instagram has to report the message read before the next rule sends it.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_delivery_timeout(mut self, secs: u64) -> Self {
        self.ig_options().delivery_timeout = Some(secs);
        self
    }

    /// Sets Instagram's `messaging_type`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_messaging_type(mut self, kind: MessagingType) -> Self {
        self.ig_options().messaging_type = Some(kind);
        self
    }

    /// Sets an Instagram message tag (and `messaging_type: MESSAGE_TAG`); Instagram accepts
    /// only `HUMAN_AGENT`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_message_tag(mut self, tag: impl Into<String>) -> Self {
        let opts = self.ig_options();
        opts.messaging_type = Some(MessagingType::MessageTag);
        opts.message_tag = Some(tag.into());
        self
    }

    /// Sets the Instagram custom body (a Graph `message` object).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_message(mut self, message: Message) -> Self {
        self.custom_body
            .get_or_insert_with(CustomBody::default)
            .instagram = Some(message);
        self
    }

    /// Sets the expiry.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn expires_on(mut self, at: Timestamp) -> Self {
        self.expires_on = Some(at);
        self
    }

    /// Sets the metadata echoed on events.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the conversation id.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn conversation_id(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }
}
