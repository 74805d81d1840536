//! Snapshots of the Graph payload of each template kind and each attachment kind, built with the
//! model's builders.

use messenger_model::graph::{
    Attachment, Button, ButtonTemplate, GenericElement, GenericTemplate, GraphSendRequest,
    MediaElement, MediaPayload, MediaTemplate, Message, NotificationType, QuickReply,
    ReceiptAddress, ReceiptAdjustment, ReceiptElement, ReceiptSummary, ReceiptTemplate, Recipient,
    SenderAction, Template,
};

fn send(message: Message) -> serde_json::Value {
    serde_json::to_value(GraphSendRequest::message(
        Recipient::psid("PSID-1"),
        message,
    ))
    .unwrap()
}

#[test]
fn generic_template() {
    let t = Template::Generic(GenericTemplate {
        elements: vec![GenericElement {
            title: "Classic White T-Shirt".into(),
            subtitle: Some("100% cotton".into()),
            image_url: Some("https://example.com/shirt.png".into()),
            default_action: None,
            buttons: vec![
                Button::web_url("View", "https://example.com/shirt"),
                Button::postback("Buy", "BUY_SHIRT"),
            ],
        }],
        image_aspect_ratio: Some("square".into()),
        extra: Default::default(),
    });
    insta::assert_json_snapshot!(send(Message::template(t)));
}

#[test]
fn button_template() {
    let t = Template::Button(ButtonTemplate {
        text: "What do you want to do next?".into(),
        buttons: vec![
            Button::web_url("Track order", "https://example.com/track"),
            Button::PhoneNumber {
                title: "Call us".into(),
                payload: "+447700900123".into(),
            },
        ],
        extra: Default::default(),
    });
    insta::assert_json_snapshot!(send(Message::template(t)));
}

#[test]
fn media_template() {
    let t = Template::Media(MediaTemplate {
        elements: vec![MediaElement {
            media_type: "image".into(),
            url: None,
            attachment_id: Some("1857777774821032".into()),
            buttons: vec![Button::postback("More", "MORE")],
        }],
        extra: Default::default(),
    });
    insta::assert_json_snapshot!(send(Message::template(t)));
}

#[test]
fn receipt_template() {
    let t = Template::Receipt(Box::new(ReceiptTemplate {
        recipient_name: "Stephane Crozatier".into(),
        order_number: "12345678902".into(),
        currency: "USD".into(),
        payment_method: "Visa 2345".into(),
        order_url: None,
        timestamp: Some("1428444852".into()),
        merchant_name: None,
        elements: vec![ReceiptElement {
            title: "Classic Gray T-Shirt".into(),
            subtitle: None,
            quantity: Some(1.into()),
            price: 25.into(),
            currency: Some("USD".into()),
            image_url: None,
        }],
        address: Some(ReceiptAddress {
            street_1: "1 Hacker Way".into(),
            street_2: None,
            city: "Menlo Park".into(),
            postal_code: "94025".into(),
            state: "CA".into(),
            country: "US".into(),
        }),
        summary: ReceiptSummary {
            subtotal: Some(25.into()),
            shipping_cost: None,
            total_tax: None,
            total_cost: serde_json::Number::from_f64(24.5).unwrap(),
        },
        adjustments: vec![ReceiptAdjustment {
            name: "Coupon".into(),
            amount: 5.into(),
        }],
        extra: Default::default(),
    }));
    insta::assert_json_snapshot!(send(Message::template(t)));
}

#[test]
fn media_attachments_quick_replies_and_envelope() {
    let all: Vec<_> = [
        Attachment::Image(MediaPayload {
            url: Some("https://example.com/a.png".into()),
            attachment_id: None,
            is_reusable: Some(true),
        }),
        Attachment::Audio(MediaPayload::url("https://example.com/a.mp3")),
        Attachment::Video(MediaPayload::url("https://example.com/a.mp4")),
        Attachment::File(MediaPayload::attachment_id("987")),
    ]
    .into_iter()
    .map(|a| send(Message::attachment(a)))
    .collect();
    insta::assert_json_snapshot!("media_attachments", all);

    let tagged = GraphSendRequest::message(
        Recipient::phone(
            "+447700900123",
            Some(messenger_model::graph::RecipientName {
                first_name: "Dave".into(),
                last_name: "Smith".into(),
            }),
        ),
        Message::text("Pick a color:")
            .with_quick_reply(QuickReply::text("Red", "PICK_RED"))
            .with_metadata("msg-1"),
    )
    .with_tag("HUMAN_AGENT")
    .with_notification_type(NotificationType::SilentPush);
    insta::assert_json_snapshot!("tagged_quick_replies", tagged);

    let action = GraphSendRequest::sender_action(Recipient::psid("PSID-1"), SenderAction::TypingOn);
    insta::assert_json_snapshot!("sender_action", action);
}

/// `channelOptions.fbMessenger.personaId` goes as `persona_id` on every Graph send of a message
/// (here a text part and an image part, tagged for a human agent).
#[test]
fn persona_id_on_every_send_of_a_message() {
    let json = br#"{
        "to": {"profileId": "alice"},
        "messageParts": [
            {"type": "text/plain", "data": "Alex here, from Support: your refund is on its way."},
            {"type": "image/png", "url": "https://example.com/refund.png"}
        ],
        "channelOptions": {"fbMessenger": {"messageTag": "HUMAN_AGENT", "personaId": "1234567890123456"}}
    }"#;
    let req = messenger_model::SendRequest::from_json(json).unwrap();
    let plan = messenger_model::plan_graph_sends(&req, &Recipient::psid("PSID-1")).unwrap();
    assert_eq!(plan.len(), 2);
    assert!(plan
        .iter()
        .all(|p| p.request.persona_id.as_deref() == Some("1234567890123456")));
    let requests: Vec<_> = plan
        .iter()
        .map(|p| serde_json::to_value(&p.request).unwrap())
        .collect();
    insta::assert_json_snapshot!("persona_sends", requests);
}
