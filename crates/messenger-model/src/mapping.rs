//! From a send request to the ordered list of Graph sends (docs/design.md §4; the table is in
//! `docs/mapping.md`). Pure: no I/O, no clock, the same input always gives the same output.

use crate::graph::{Attachment, GraphSendRequest, MediaPayload, Message, MessagingType, Recipient};
use crate::{Channel, MessagePart, ModelError, SendRequest};

/// One Graph send of a plan, with the upload that must happen first, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSend {
    /// The Send API request. When [`PlannedSend::upload`] is set, its attachment payload is empty
    /// until [`PlannedSend::set_attachment_id`] fills it with the uploaded attachment's id.
    pub request: GraphSendRequest,
    /// Inline data to upload (`POST /me/message_attachments`) before this send.
    pub upload: Option<InlineUpload>,
}

impl PlannedSend {
    /// Fills the attachment id returned by the upload into the request.
    pub fn set_attachment_id(&mut self, id: impl Into<String>) {
        let payload = self
            .request
            .message
            .as_mut()
            .and_then(|m| m.attachment.as_mut())
            .and_then(Attachment::media_payload_mut);
        if let Some(p) = payload {
            *p = MediaPayload::attachment_id(id);
        }
    }
}

/// Inline (base64) data of a message part, to upload as an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineUpload {
    /// Index of the part in `messageParts`.
    pub part_index: usize,
    /// The part's name, used as the file name.
    pub file_name: Option<String>,
    /// The part's MIME type.
    pub mime_type: String,
    /// The base64 data, as the request gave it.
    pub data_base64: String,
}

/// Whether a part is meant for `channel` (no `channels` means every channel).
pub fn part_is_for(part: &MessagePart, channel: Channel) -> bool {
    part.channels.is_empty() || part.channels.contains(&channel)
}

/// Whether a MIME type is text (`text/*`): such parts carry their text in `data` as is.
pub fn is_text_mime(mime_type: &str) -> bool {
    mime_type
        .split('/')
        .next()
        .is_some_and(|top| top.trim().eq_ignore_ascii_case("text"))
}

/// Maps a send request to the Graph sends that deliver it on Messenger to `recipient`, in order.
///
/// - `customBody.fbMessenger` is the one message, as is;
/// - else each `messageParts` entry meant for Messenger is one send, in order;
/// - else `body` is one text send.
///
/// `messagingType`, `messageTag` and `personaId` set the envelope of every send; with no type, a
/// tag means `MESSAGE_TAG` and no tag means `RESPONSE`.
///
/// ```
/// use messenger_model::{graph::Recipient, plan_graph_sends, MessagePart, SendRequest, To};
/// let req = SendRequest::new(To::profile("alice"))
///     .part(MessagePart::text("Your order has shipped"))
///     .part(MessagePart::url("image/png", "https://example.com/parcel.png"));
/// let plan = plan_graph_sends(&req, &Recipient::psid("123")).unwrap();
/// assert_eq!(plan.len(), 2);
/// assert_eq!(plan[1].request.message.as_ref().unwrap().attachment.as_ref().unwrap().type_name(), "image");
/// ```
pub fn plan_graph_sends(
    req: &SendRequest,
    recipient: &Recipient,
) -> Result<Vec<PlannedSend>, ModelError> {
    let opts = req.fb_messenger_options();
    let envelope = Envelope {
        channel: Channel::FbMessenger,
        messaging_type: opts.and_then(|o| o.messaging_type),
        tag: opts.and_then(|o| o.message_tag.clone()),
        persona_id: opts.and_then(|o| o.persona_id.clone()),
    };
    plan(req, recipient, &envelope, req.fb_messenger_custom_body())
}

/// Maps a send request to the Graph sends that deliver it on Instagram Direct to `recipient`
/// (an IGSID: [`Recipient::psid`] builds `{"id": ...}` for either kind of scoped id), in order.
///
/// The same mapping as [`plan_graph_sends`], read from Instagram's side of the request:
/// `customBody.instagram` as is, else the `messageParts` meant for `instagram`, else `body`;
/// `channelOptions.instagram` sets `messaging_type` and `tag`. There is never a `persona_id`.
///
/// ```
/// use messenger_model::{graph::Recipient, plan_instagram_sends, Channel, SendRequest, To};
/// let req = SendRequest::new(To::instagram_id("IGSID-1"))
///     .body("Your order has shipped")
///     .instagram_message_tag("HUMAN_AGENT")
///     .rules([Channel::Instagram]);
/// let plan = plan_instagram_sends(&req, &Recipient::psid("IGSID-1")).unwrap();
/// assert_eq!(
///     serde_json::to_string(&plan[0].request).unwrap(),
///     r#"{"recipient":{"id":"IGSID-1"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"Your order has shipped"}}"#
/// );
/// ```
pub fn plan_instagram_sends(
    req: &SendRequest,
    recipient: &Recipient,
) -> Result<Vec<PlannedSend>, ModelError> {
    let opts = req.instagram_options();
    let envelope = Envelope {
        channel: Channel::Instagram,
        messaging_type: opts.and_then(|o| o.messaging_type),
        tag: opts.and_then(|o| o.message_tag.clone()),
        persona_id: None,
    };
    plan(req, recipient, &envelope, req.instagram_custom_body())
}

/// The channel's side of a request: the envelope every one of its Graph sends carries.
struct Envelope {
    channel: Channel,
    messaging_type: Option<MessagingType>,
    tag: Option<String>,
    persona_id: Option<String>,
}

impl Envelope {
    fn send(&self, recipient: &Recipient, message: Message) -> GraphSendRequest {
        let messaging_type = self.messaging_type.unwrap_or(if self.tag.is_some() {
            MessagingType::MessageTag
        } else {
            MessagingType::Response
        });
        GraphSendRequest {
            recipient: recipient.clone(),
            messaging_type: Some(messaging_type),
            tag: self.tag.clone(),
            message: Some(message),
            persona_id: self.persona_id.clone(),
            ..GraphSendRequest::default()
        }
    }
}

fn plan(
    req: &SendRequest,
    recipient: &Recipient,
    envelope: &Envelope,
    custom: Option<&Message>,
) -> Result<Vec<PlannedSend>, ModelError> {
    let channel = envelope.channel;
    if let Some(custom) = custom {
        return Ok(vec![PlannedSend {
            request: envelope.send(recipient, custom.clone()),
            upload: None,
        }]);
    }

    if !req.message_parts.is_empty() {
        let mut plan = Vec::with_capacity(req.message_parts.len());
        for (index, part) in req.message_parts.iter().enumerate() {
            if !part_is_for(part, channel) {
                continue;
            }
            let (message, upload) = map_part(index, part)?;
            plan.push(PlannedSend {
                request: envelope.send(recipient, message),
                upload,
            });
        }
        if plan.is_empty() {
            return Err(ModelError::NothingToSend { channel });
        }
        return Ok(plan);
    }

    match &req.body {
        Some(body) => Ok(vec![PlannedSend {
            request: envelope.send(recipient, Message::text(body.clone())),
            upload: None,
        }]),
        None => Err(ModelError::NothingToSend { channel }),
    }
}

fn map_part(
    index: usize,
    part: &MessagePart,
) -> Result<(Message, Option<InlineUpload>), ModelError> {
    let text = is_text_mime(&part.mime_type);
    match (&part.url, &part.data) {
        (Some(url), _) => {
            let payload = MediaPayload::url(url.clone());
            let attachment = if text {
                Attachment::File(payload)
            } else {
                Attachment::for_mime_type(&part.mime_type, payload)
            };
            Ok((Message::attachment(attachment), None))
        }
        (None, Some(data)) if text => Ok((Message::text(data.clone()), None)),
        (None, Some(data)) => Ok((
            Message::attachment(Attachment::for_mime_type(
                &part.mime_type,
                MediaPayload::default(),
            )),
            Some(InlineUpload {
                part_index: index,
                file_name: part.name.clone(),
                mime_type: part.mime_type.clone(),
                data_base64: data.clone(),
            }),
        )),
        (None, None) => Err(ModelError::PartWithoutContent { index }),
    }
}
