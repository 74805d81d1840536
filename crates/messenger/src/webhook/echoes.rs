//! Echoes of sends the gateway did not make: a person replying from the Page inbox or Meta
//! Business Suite, or another app on the page. Meta reports every message the page sends as an
//! echo (`is_echo`, with the sending app's `app_id`, none for the inbox); those of the
//! gateway's own sends carry its send tag and confirm them (docs/decisions/0005), the others
//! become `message.echo` for the business, so its systems hear what the page said.
//!
//! An echo never opens the 24-hour window: only the customer's own messages and actions do.

use messenger_model::webhook::{InboundMessage, MessagingEvent};
use messenger_model::EventName;
use serde_json::json;

use super::apply::Occurrence;
use super::interactions::{extend, id_text};
use crate::send_tag::SendTag;
use crate::{Error, Messenger, Space};

/// The app id Meta gives the Page inbox (and Meta Business Suite's inbox) in handovers and
/// echoes; an echo naming it, or no app at all, was written by a person in the inbox.
pub const PAGE_INBOX_APP_ID: &str = "263902037430900";

/// Who sent a message the page sent without the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SentBy {
    /// A person, in the Page inbox or Meta Business Suite.
    Inbox,
    /// Another app on the page, by its id.
    App(String),
}

impl Messenger {
    /// Who sent the echoed message, when it was not the gateway: `None` for an echo carrying
    /// our send tag or naming our own app (`MessengerBuilder::app_id`).
    pub(super) fn sent_by_another(&self, echo: &InboundMessage) -> Option<SentBy> {
        if echo.metadata.as_deref().and_then(SendTag::parse).is_some() {
            return None;
        }
        match id_text(echo.app_id.as_ref()) {
            None => Some(SentBy::Inbox),
            Some(id) if id == PAGE_INBOX_APP_ID => Some(SentBy::Inbox),
            Some(id) if self.inner.app_id.as_deref() == Some(id.as_str()) => None,
            Some(id) => Some(SentBy::App(id)),
        }
    }

    /// `message.echo` for a message the page sent without the gateway: the customer it went to
    /// (the echo's recipient, resolved to a profile as an inbound message's sender is), who sent
    /// it, its text and attachments, `standby` when it came on the standby channel. The window is
    /// left as it is.
    pub(super) async fn apply_foreign_echo(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        echo: &InboundMessage,
        sent_by: SentBy,
    ) -> Result<bool, Error> {
        let Some(psid) = event.recipient_id() else {
            return Ok(false);
        };
        let resolved = self.profile_for(space, psid, None).await?;
        let mut payload = resolved.payload(space, psid, seen.at);
        let (sent_by, app_id) = match sent_by {
            SentBy::Inbox => ("inbox", None),
            SentBy::App(id) => ("app", Some(id)),
        };
        extend(
            &mut payload,
            json!({
                "sentBy": sent_by,
                "appId": app_id,
                "mid": echo.mid,
                "text": echo.text,
                "attachments": echo.attachments,
                "metadata": echo.metadata,
            }),
        );
        self.emit_customer_event(space, "echo", event, seen, EventName::MessageEcho, payload)
            .await
    }
}
