//! Meta's webhooks, scripted on the running simulator: the [`GraphSim`] methods that post
//! what a user or Meta does (opt-ins, messages, receipts, reactions, postbacks, handovers) to
//! the receiver ([`crate::webhook`]).

use bytes::Bytes;
use messenger_model::webhook::{
    Handover, InboundMessage, MessageEdit, MessagingEvent, Optin, Party, Postback, Reaction,
    Referral, ResponseFeedback, WebhookPayload,
};
use messenger_model::Timestamp;

use crate::webhook::{
    event_from_user, payload_of, post_delivery, post_payload, post_read, post_signed,
};
use crate::SimError;

use super::GraphSim;

impl GraphSim {
    /// Posts an opt-in from the Send to Messenger plugin: `sender.id = psid`, `optin.ref =
    /// data_ref`. Returns the receiver's HTTP status.
    pub async fn post_optin(
        &self,
        page_id: &str,
        psid: &str,
        data_ref: Option<&str>,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.optin = Some(Optin {
            data_ref: data_ref.map(str::to_owned),
            ..Optin::default()
        });
        self.post_event(page_id, event).await
    }

    /// Posts an opt-in from the checkbox plugin: no sender, `optin.user_ref` set.
    pub async fn post_checkbox_optin(
        &self,
        page_id: &str,
        user_ref: &str,
        data_ref: Option<&str>,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, "");
        event.sender = None;
        event.optin = Some(Optin {
            data_ref: data_ref.map(str::to_owned),
            user_ref: Some(user_ref.to_owned()),
            ..Optin::default()
        });
        self.post_event(page_id, event).await
    }

    /// Posts a text message from `psid` to the page, with a fresh `mid`.
    pub async fn post_inbound_text(
        &self,
        page_id: &str,
        psid: &str,
        text: &str,
    ) -> Result<u16, SimError> {
        self.post_inbound(
            page_id,
            psid,
            InboundMessage {
                text: Some(text.to_owned()),
                ..InboundMessage::default()
            },
        )
        .await
    }

    /// Posts any message from `psid` to the page; a missing `mid` is filled with a fresh one.
    pub async fn post_inbound(
        &self,
        page_id: &str,
        psid: &str,
        mut message: InboundMessage,
    ) -> Result<u16, SimError> {
        if message.mid.is_none() {
            message.mid = Some(self.state.ids.new_mid());
        }
        let mut event = event_from_user(page_id, psid);
        event.message = Some(message);
        self.post_event(page_id, event).await
    }

    /// Posts a postback (a button tap) from `psid`.
    pub async fn post_postback(
        &self,
        page_id: &str,
        psid: &str,
        title: &str,
        payload: &str,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.postback = Some(Postback {
            mid: Some(self.state.ids.new_mid()),
            title: Some(title.to_owned()),
            payload: Some(payload.to_owned()),
            referral: None,
        });
        self.post_event(page_id, event).await
    }

    /// Posts a delivery receipt: every message to `psid` sent before `watermark` (milliseconds)
    /// was delivered; `mids` may be empty, as Meta sometimes sends it.
    pub async fn post_delivery<I, S>(
        &self,
        page_id: &str,
        psid: &str,
        watermark: i64,
        mids: I,
    ) -> Result<u16, SimError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        post_delivery(
            &self.state,
            page_id,
            psid,
            watermark,
            mids.into_iter().map(Into::into).collect(),
        )
        .await
    }

    /// Posts a read receipt: every message to `psid` sent before `watermark` was read.
    pub async fn post_read(
        &self,
        page_id: &str,
        psid: &str,
        watermark: i64,
    ) -> Result<u16, SimError> {
        post_read(&self.state, page_id, psid, watermark).await
    }

    /// Posts a reaction of `psid` to the message `mid`: `action` is `react` or `unreact`,
    /// `reaction` its name (`love`, `smile`, ...), `emoji` absent on an `unreact` as Meta sends it.
    pub async fn post_reaction(
        &self,
        page_id: &str,
        psid: &str,
        mid: &str,
        action: &str,
        reaction: &str,
        emoji: Option<&str>,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.reaction = Some(Reaction {
            mid: Some(mid.to_owned()),
            action: Some(action.to_owned()),
            emoji: emoji.map(str::to_owned),
            reaction: Some(reaction.to_owned()),
        });
        self.post_event(page_id, event).await
    }

    /// Posts an edit by `psid` of their message `mid`: `message_edit: {mid, text, num_edit}`.
    pub async fn post_edit(
        &self,
        page_id: &str,
        psid: &str,
        mid: &str,
        text: &str,
        num_edit: i64,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.message_edit = Some(MessageEdit {
            mid: Some(mid.to_owned()),
            text: Some(text.to_owned()),
            num_edit,
            ..MessageEdit::default()
        });
        self.post_event(page_id, event).await
    }

    /// Posts `psid`'s thumbs up or down under the page's message `mid`: `response_feedback:
    /// {feedback, mid}` (`feedback` is `Good response` or `Bad response`).
    pub async fn post_feedback(
        &self,
        page_id: &str,
        psid: &str,
        mid: &str,
        feedback: &str,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.response_feedback = Some(ResponseFeedback {
            mid: Some(mid.to_owned()),
            feedback: Some(feedback.to_owned()),
            ..ResponseFeedback::default()
        });
        self.post_event(page_id, event).await
    }

    /// Posts a referral of `psid` (an `m.me` link with `ref`, an ad, the chat plugin).
    pub async fn post_referral(
        &self,
        page_id: &str,
        psid: &str,
        referral: Referral,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.referral = Some(referral);
        self.post_event(page_id, event).await
    }

    /// Posts a `messaging_handovers` event about `psid`'s conversation (no sender for
    /// `app_roles`, which is about the page).
    pub async fn post_handover(
        &self,
        page_id: &str,
        psid: Option<&str>,
        handover: Handover,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid.unwrap_or_default());
        if psid.is_none() {
            event.sender = None;
        }
        event.handover = Some(handover);
        self.post_event(page_id, event).await
    }

    /// Posts the echo of a text the page sent to `psid` without the gateway: from the Page inbox
    /// (`app_id` none) or another app (`app_id` its id), with a fresh `mid` and no metadata; in the
    /// entry's `standby` list when `standby` (another app owns the conversation).
    pub async fn post_page_echo(
        &self,
        page_id: &str,
        psid: &str,
        text: &str,
        app_id: Option<&str>,
        standby: bool,
    ) -> Result<u16, SimError> {
        let event = MessagingEvent {
            sender: Some(Party {
                id: Some(page_id.to_owned()),
                user_ref: None,
            }),
            recipient: Some(Party {
                id: Some(psid.to_owned()),
                user_ref: None,
            }),
            timestamp: Timestamp::now().millis(),
            message: Some(InboundMessage {
                mid: Some(self.state.ids.new_mid()),
                text: Some(text.to_owned()),
                is_echo: true,
                app_id: app_id.map(|id| serde_json::Value::String(id.to_owned())),
                ..InboundMessage::default()
            }),
            ..MessagingEvent::default()
        };
        if standby {
            self.post_standby_event(page_id, event).await
        } else {
            self.post_event(page_id, event).await
        }
    }

    /// Posts a text message from `psid` in the entry's `standby` list, as Meta does while another
    /// app owns the conversation, with a fresh `mid`.
    pub async fn post_standby_message(
        &self,
        page_id: &str,
        psid: &str,
        text: &str,
    ) -> Result<u16, SimError> {
        let mut event = event_from_user(page_id, psid);
        event.message = Some(InboundMessage {
            mid: Some(self.state.ids.new_mid()),
            text: Some(text.to_owned()),
            ..InboundMessage::default()
        });
        self.post_standby_event(page_id, event).await
    }

    /// Posts one event in the `standby` list of its own entry for `page_id`.
    pub async fn post_standby_event(
        &self,
        page_id: &str,
        event: MessagingEvent,
    ) -> Result<u16, SimError> {
        let mut payload = payload_of(page_id, event);
        for entry in &mut payload.entry {
            entry.standby = std::mem::take(&mut entry.messaging);
        }
        post_payload(&self.state, &payload).await
    }

    /// Posts one event in its own entry for `page_id`.
    pub async fn post_event(&self, page_id: &str, event: MessagingEvent) -> Result<u16, SimError> {
        post_payload(&self.state, &payload_of(page_id, event)).await
    }

    /// Posts a whole payload (several entries and events in one POST, as Meta batches them).
    pub async fn post_payload(&self, payload: &WebhookPayload) -> Result<u16, SimError> {
        post_payload(&self.state, payload).await
    }

    /// Signs (with the app secret) and posts any body, e.g. an earlier post again to test
    /// redelivery.
    pub async fn post_raw(&self, body: impl Into<Bytes>) -> Result<u16, SimError> {
        post_signed(
            &self.state,
            body.into(),
            self.state.config.app_secret.as_deref(),
        )
        .await
    }

    /// Posts any body signed with `secret` instead of the app secret (a forged or stale
    /// signature, for tests of the receiver's check).
    pub async fn post_raw_signed_with(
        &self,
        body: impl Into<Bytes>,
        secret: &str,
    ) -> Result<u16, SimError> {
        post_signed(&self.state, body.into(), Some(secret)).await
    }
}
