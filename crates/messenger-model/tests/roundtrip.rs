//! Property tests: serialize -> parse gives back an equal value, for the model's main types;
//! and (module `webhooks`) the webhook corpus and lenient webhook parsing, in this binary because
//! link time dominates.

mod webhooks;

use messenger_model::graph::{
    Attachment, GraphSendRequest, MediaPayload, MediaSharePayload, Message, MessagingType,
    QuickReply, Recipient,
};
use messenger_model::webhook::{
    DeliveryReceipt, Entry, InboundMessage, MessagingEvent, Optin, Party, ReadReceipt,
    WebhookPayload,
};
use messenger_model::{
    Channel, ChannelOptions, FbMessengerOptions, InstagramOptions, MessagePart, Profile,
    SendRequest, SmsOptions, Timestamp, To,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

fn extra_map() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map("x_[a-z]{1,6}", scalar(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        Just(Channel::FbMessenger),
        Just(Channel::Sms),
        Just(Channel::Instagram)
    ]
}

fn to() -> impl Strategy<Value = To> {
    (
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        opt_text(),
        extra_map(),
    )
        .prop_map(
            |(
                profile_id,
                fb_messenger_id,
                instagram_id,
                phone_number,
                mobile_number,
                email,
                first_name,
                other,
            )| To {
                profile_id,
                fb_messenger_id,
                instagram_id,
                phone_number,
                mobile_number,
                email,
                first_name,
                last_name: None,
                comment_id: None,
                instagram_account_id: None,
                other,
            },
        )
}

fn part() -> impl Strategy<Value = MessagePart> {
    (
        opt_text(),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
        opt_text(),
        opt_text(),
        proptest::option::of(any::<u64>()),
        proptest::collection::vec(channel(), 0..3),
    )
        .prop_map(|(name, mime_type, url, data, size, channels)| MessagePart {
            name,
            mime_type,
            url,
            data,
            size,
            channels,
        })
}

fn messaging_type() -> impl Strategy<Value = MessagingType> {
    prop_oneof![
        Just(MessagingType::Response),
        Just(MessagingType::Update),
        Just(MessagingType::MessageTag)
    ]
}

fn send_request() -> impl Strategy<Value = SendRequest> {
    (
        to(),
        opt_text(),
        opt_text(),
        proptest::collection::vec(part(), 0..3),
        proptest::option::of((
            proptest::option::of(messaging_type()),
            opt_text(),
            opt_text(),
            opt_text(),
            proptest::option::of(any::<bool>()),
        )),
        proptest::collection::vec(channel(), 0..3),
        proptest::option::of(-62_135_596_800_000i64..253_402_300_799_999),
        proptest::option::of(scalar()),
        opt_text(),
    )
        .prop_map(
            |(to, body, title, message_parts, opts, rules, expires, metadata, conversation_id)| {
                SendRequest {
                    to,
                    body,
                    title,
                    message_parts,
                    channel_options: opts.map(
                        |(messaging_type, message_tag, persona_id, from, allow_unicode)| {
                            ChannelOptions {
                                fb_messenger: Some(FbMessengerOptions {
                                    messaging_type,
                                    message_tag,
                                    persona_id,
                                    delivery_timeout: None,
                                }),
                                sms: Some(SmsOptions {
                                    from,
                                    allow_unicode,
                                }),
                                instagram: Some(InstagramOptions {
                                    messaging_type,
                                    message_tag: None,
                                    delivery_timeout: None,
                                }),
                            }
                        },
                    ),
                    custom_body: None,
                    rules,
                    expires_on: expires.map(Timestamp::from_millis),
                    metadata,
                    conversation_id,
                }
            },
        )
}

fn graph_message() -> impl Strategy<Value = Message> {
    let attachment = prop_oneof![
        opt_text().prop_map(|u| Attachment::Image(MediaPayload {
            url: u,
            attachment_id: None,
            is_reusable: None
        })),
        text().prop_map(|id| Attachment::File(MediaPayload::attachment_id(id))),
        text().prop_map(|u| Attachment::Video(MediaPayload {
            url: Some(u),
            attachment_id: None,
            is_reusable: Some(true)
        })),
        Just(Attachment::LikeHeart),
        text().prop_map(|id| Attachment::MediaShare(MediaSharePayload::post(id))),
    ];
    (
        opt_text(),
        proptest::option::of(attachment),
        proptest::collection::vec(
            opt_text().prop_map(|u| {
                Attachment::Image(MediaPayload {
                    url: u,
                    attachment_id: None,
                    is_reusable: None,
                })
            }),
            0..3,
        ),
        proptest::collection::vec((text(), text()), 0..4),
        opt_text(),
        extra_map(),
    )
        .prop_map(
            |(text, attachment, attachments, qr, metadata, extra)| Message {
                text,
                attachment,
                attachments,
                quick_replies: qr
                    .into_iter()
                    .map(|(t, p)| QuickReply::text(t, p))
                    .collect(),
                metadata,
                extra,
            },
        )
}

fn webhook_event() -> impl Strategy<Value = MessagingEvent> {
    let kind =
        prop_oneof![
            (opt_text(), opt_text(), any::<bool>()).prop_map(|(mid, text, is_echo)| (
                Some(InboundMessage {
                    mid,
                    text,
                    is_echo,
                    ..Default::default()
                }),
                None,
                None,
                None
            )),
            (proptest::collection::vec(text(), 0..3), any::<i64>()).prop_map(
                |(mids, watermark)| (None, Some(DeliveryReceipt { mids, watermark }), None, None)
            ),
            any::<i64>().prop_map(|watermark| (None, None, Some(ReadReceipt { watermark }), None)),
            opt_text().prop_map(|r| (
                None,
                None,
                None,
                Some(Optin {
                    data_ref: r,
                    user_ref: None,
                    extra: Map::new()
                })
            )),
        ];
    (text(), text(), any::<i64>(), kind).prop_map(
        |(s, r, timestamp, (message, delivery, read, optin))| MessagingEvent {
            sender: Some(Party {
                id: Some(s),
                user_ref: None,
            }),
            recipient: Some(Party {
                id: Some(r),
                user_ref: None,
            }),
            timestamp,
            message,
            delivery,
            read,
            optin,
            ..Default::default()
        },
    )
}

proptest! {
    #[test]
    fn send_request_roundtrips(req in send_request()) {
        let json = serde_json::to_vec(&req).unwrap();
        prop_assert_eq!(SendRequest::from_json(&json).unwrap(), req);
    }

    #[test]
    fn graph_send_request_roundtrips(msg in graph_message(), psid in text(), kind in proptest::option::of(messaging_type())) {
        let req = GraphSendRequest { recipient: Recipient::psid(psid), messaging_type: kind, message: Some(msg), ..Default::default() };
        let json = serde_json::to_vec(&req).unwrap();
        prop_assert_eq!(serde_json::from_slice::<GraphSendRequest>(&json).unwrap(), req);
    }

    #[test]
    fn webhook_payload_roundtrips(events in proptest::collection::vec(webhook_event(), 0..5), page in text(), time in any::<i64>()) {
        let payload = WebhookPayload { object: "page".into(), entry: vec![Entry { id: page, time, messaging: events, ..Default::default() }], ..Default::default() };
        let json = serde_json::to_vec(&payload).unwrap();
        prop_assert_eq!(WebhookPayload::from_json(&json).unwrap(), payload);
    }

    #[test]
    fn profile_roundtrips(
        id in text(),
        psid in opt_text(),
        igsids in proptest::collection::btree_map(text(), text(), 0..3),
        phone in opt_text(),
        custom in extra_map(),
    ) {
        let p = Profile { id, fb_messenger_id: psid, instagram_ids: igsids, phone_number: phone, custom, ..Default::default() };
        let json = serde_json::to_vec(&p).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Profile>(&json).unwrap(), p);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = SendRequest::from_json(&bytes);
        let _ = WebhookPayload::from_json(&bytes);
    }
}

#[test]
fn unknown_webhook_event_kinds_are_tolerated() {
    let body = br#"{"object":"page","entry":[{"id":"P","time":1,"standby":[{"x":1}],"messaging":[
        {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":5,"policy_enforcement":{"action":"block","reason":"spam"}},
        {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":6,"message":{"mid":"m1","text":"hi","brand_new_field":true}}
    ]}]}"#;
    let p = WebhookPayload::from_json(body).unwrap();
    let events = &p.entry[0].messaging;
    assert!(matches!(
        events[0].kind(),
        messenger_model::webhook::EventKind::Unknown
    ));
    assert!(events[0].extra.contains_key("policy_enforcement"));
    assert!(
        matches!(events[1].kind(), messenger_model::webhook::EventKind::Message(m) if m.text.as_deref() == Some("hi"))
    );
    assert!(matches!(
        p.entry[0].standby[0].kind(),
        messenger_model::webhook::EventKind::Unknown
    ));
    assert!(p.entry[0].standby[0].extra.contains_key("x"));
}
