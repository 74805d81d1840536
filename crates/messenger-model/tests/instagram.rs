//! Instagram Direct: snapshots of the Graph payloads the model builds for each kind of
//! Instagram message and sender action (typing, mark seen, react, unreact), and the channel's
//! place in requests, profiles, statuses and rule traces.

use messenger_model::graph::{
    Attachment, Button, ButtonTemplate, GenericElement, GenericTemplate, GraphSendRequest,
    MediaPayload, MediaSharePayload, Message, QuickReply, Recipient, SenderAction, Template,
    INSTAGRAM_REACTIONS,
};
use messenger_model::{
    plan_instagram_sends, Channel, MessagePart, MessageResource, Profile, RuleCause, RuleOutcome,
    RuleTraceEntry, SendRequest, Timestamp, To,
};
use serde_json::{json, Value};

const IGSID: &str = "IGSID-1";

/// The Graph sends of a request addressed to `IGSID`.
fn plan(req: &SendRequest) -> Value {
    let sends = plan_instagram_sends(req, &Recipient::psid(IGSID)).unwrap();
    serde_json::to_value(sends.iter().map(|s| &s.request).collect::<Vec<_>>()).unwrap()
}

/// A request whose Instagram custom body is `message`.
fn custom(message: Message) -> Value {
    plan(
        &SendRequest::new(To::instagram_id(IGSID))
            .instagram_message(message)
            .rules([Channel::Instagram]),
    )
}

#[test]
fn body_with_the_human_agent_tag() {
    let req = SendRequest::new(To::instagram_id(IGSID))
        .body("A colleague will call you back today")
        .instagram_message_tag("HUMAN_AGENT")
        .rules([Channel::Instagram]);
    insta::assert_json_snapshot!(plan(&req));
}

#[test]
fn parts_for_instagram_only_in_order() {
    let req = SendRequest::new(To::profile("alice"))
        .part(MessagePart::text("Your parcel:"))
        .part(MessagePart::url(
            "image/jpeg",
            "https://example.com/parcel.jpg",
        ))
        .part(MessagePart {
            channels: vec![Channel::Sms],
            ..MessagePart::text("Track it at https://example.com/t")
        })
        .part(MessagePart::inline(
            "label.pdf",
            "application/pdf",
            "JVBERg==",
        ))
        .rules([Channel::Instagram, Channel::Sms]);
    let sends = plan_instagram_sends(&req, &Recipient::psid(IGSID)).unwrap();
    assert_eq!(sends.len(), 3, "the SMS-only part is not sent on Instagram");
    assert_eq!(sends[2].upload.as_ref().unwrap().part_index, 3);
    insta::assert_json_snapshot!(plan(&req));
}

#[test]
fn quick_replies() {
    let m = Message::text("Which size?")
        .with_quick_reply(QuickReply::text("Small", "SIZE_S"))
        .with_quick_reply(QuickReply::text("Large", "SIZE_L"));
    insta::assert_json_snapshot!(custom(m));
}

#[test]
fn generic_template_carousel() {
    let element = |title: &str, n: u8| GenericElement {
        title: title.into(),
        subtitle: Some("In stock".into()),
        image_url: Some(format!("https://example.com/{n}.jpg")),
        default_action: Some(json!({"type": "web_url", "url": format!("https://example.com/{n}")})),
        buttons: vec![
            Button::web_url("View", format!("https://example.com/{n}")),
            Button::postback("Buy", format!("BUY_{n}")),
        ],
    };
    let t = Template::Generic(GenericTemplate {
        elements: vec![element("Blue mug", 1), element("Red mug", 2)],
        image_aspect_ratio: None,
        extra: Default::default(),
    });
    insta::assert_json_snapshot!(custom(Message::template(t)));
}

#[test]
fn button_template() {
    let t = Template::Button(ButtonTemplate {
        text: "How can we help?".into(),
        buttons: vec![
            Button::postback("Talk to us", "CONTACT"),
            Button::web_url("Opening hours", "https://example.com/hours"),
        ],
        extra: Default::default(),
    });
    insta::assert_json_snapshot!(custom(Message::template(t)));
}

#[test]
fn media_by_url_and_by_attachment_id() {
    let by_url = Message::attachment(Attachment::Video(MediaPayload::url(
        "https://example.com/clip.mp4",
    )));
    let by_id = Message::attachment(Attachment::Image(MediaPayload::attachment_id("98765")));
    insta::assert_json_snapshot!(json!([custom(by_url), custom(by_id)]));
}

#[test]
fn like_heart_sticker() {
    let v = custom(Message::attachment(Attachment::LikeHeart));
    assert_eq!(
        v[0]["message"],
        json!({"attachment": {"type": "like_heart"}})
    );
    insta::assert_json_snapshot!(v);
}

#[test]
fn media_share_of_the_business_post() {
    let m = Message::attachment(Attachment::MediaShare(MediaSharePayload::post(
        "17900000000000001",
    )));
    insta::assert_json_snapshot!(custom(m));
}

#[test]
fn several_images_in_one_send() {
    let m = Message::images([
        MediaPayload::url("https://example.com/front.jpg"),
        MediaPayload::url("https://example.com/back.jpg"),
        MediaPayload::attachment_id("98765"),
    ]);
    insta::assert_json_snapshot!(custom(m));
}

#[test]
fn instagram_attachments_parse_back() {
    for raw in [
        json!({"attachment": {"type": "like_heart"}}),
        json!({"attachment": {"type": "MEDIA_SHARE", "payload": {"id": "1790"}}}),
        json!({"attachments": [{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}]}),
    ] {
        let m: Message = serde_json::from_value(raw.clone()).unwrap();
        assert!(m.extra.is_empty(), "{raw}: every field typed");
        assert_eq!(serde_json::to_value(&m).unwrap(), raw);
    }
    let m: Message = serde_json::from_value(json!({"attachment": {"type": "like_heart"}})).unwrap();
    assert_eq!(m.attachment.unwrap().type_name(), "like_heart");
}

#[test]
fn the_request_round_trips_with_its_instagram_fields() {
    let raw = json!({
        "to": {"profileId": "alice", "instagramId": IGSID},
        "body": "hi",
        "channelOptions": {"instagram": {"messagingType": "MESSAGE_TAG", "messageTag": "HUMAN_AGENT"}},
        "customBody": {"instagram": {"attachment": {"type": "like_heart"}}},
        "rules": ["instagram", "sms"]
    });
    let req = SendRequest::from_json(raw.to_string().as_bytes()).unwrap();
    assert_eq!(req.to.instagram_id.as_deref(), Some(IGSID));
    assert!(req.to.other.is_empty());
    assert_eq!(req.rules, [Channel::Instagram, Channel::Sms]);
    assert_eq!(
        req.instagram_options().unwrap().message_tag.as_deref(),
        Some("HUMAN_AGENT")
    );
    assert!(req.instagram_custom_body().is_some());
    assert!(req.fb_messenger_custom_body().is_none());
    assert_eq!(serde_json::to_value(&req).unwrap(), raw);
}

#[test]
fn a_profile_holds_one_igsid_per_account_and_merges_them_by_account() {
    let mut p = Profile::new("alice")
        .with_instagram_id("ACCOUNT-A", "IGSID-A")
        .with_instagram_id("ACCOUNT-B", "IGSID-B");
    p.merge(Profile::new("ignored").with_instagram_id("ACCOUNT-B", "IGSID-B2"));
    assert_eq!(p.id, "alice");
    assert_eq!(p.instagram_id_for("ACCOUNT-A"), Some("IGSID-A"));
    assert_eq!(p.instagram_id_for("ACCOUNT-B"), Some("IGSID-B2"));
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(
        json,
        json!({"id": "alice", "instagramIds": {"ACCOUNT-A": "IGSID-A", "ACCOUNT-B": "IGSID-B2"}})
    );
    assert_eq!(serde_json::from_value::<Profile>(json).unwrap(), p);
    assert!(
        !serde_json::to_value(Profile::new("bob"))
            .unwrap()
            .as_object()
            .unwrap()
            .contains_key("instagramIds"),
        "no accounts, no field"
    );
}

#[test]
fn statuses_and_rule_traces_name_the_channel() {
    assert_eq!(Channel::parse("instagram"), Some(Channel::Instagram));
    assert_eq!(Channel::Instagram.to_string(), "instagram");
    let entry = RuleTraceEntry::new(
        Channel::Instagram,
        RuleOutcome::Skipped,
        RuleCause::NotConfigured,
        "no Instagram account connected",
        Timestamp::from_millis(0),
    );
    let v = serde_json::to_value(&entry).unwrap();
    assert_eq!(v["channel"], "instagram");
    let back: RuleTraceEntry = serde_json::from_value(v).unwrap();
    assert_eq!(back, entry);
    let resource: MessageResource = serde_json::from_value(json!({
        "id": "m1", "status": "sent", "channel": "instagram",
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resource.channel, Some(Channel::Instagram));
}

#[test]
fn every_envelope_is_a_send_api_request() {
    // The planned request is the Send API body itself: it parses back as one.
    let req = SendRequest::new(To::instagram_id(IGSID))
        .body("hi")
        .rules([Channel::Instagram]);
    let sends = plan_instagram_sends(&req, &Recipient::psid(IGSID)).unwrap();
    let json = serde_json::to_value(&sends[0].request).unwrap();
    let back: GraphSendRequest = serde_json::from_value(json).unwrap();
    assert_eq!(back, sends[0].request);
    assert!(back.persona_id.is_none());
}

/// A sender action to `IGSID` as Graph receives it.
fn action(req: &GraphSendRequest) -> Value {
    let v = serde_json::to_value(req).unwrap();
    let back: GraphSendRequest = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(&back, req, "the payload reads back as the request");
    v
}

#[test]
fn typing_actions_alone_in_their_request() {
    let on = GraphSendRequest::sender_action(Recipient::psid(IGSID), SenderAction::TypingOn);
    let off = GraphSendRequest::sender_action(Recipient::psid(IGSID), SenderAction::TypingOff);
    insta::assert_json_snapshot!(json!([action(&on), action(&off)]));
}

#[test]
fn mark_seen_alone_in_its_request() {
    let seen = GraphSendRequest::sender_action(Recipient::psid(IGSID), SenderAction::MarkSeen);
    insta::assert_json_snapshot!(action(&seen));
}

#[test]
fn react_with_love_to_the_customers_message() {
    let react = GraphSendRequest::react(Recipient::psid(IGSID), "aWdfZAG1faXRlbToxOklH", "love");
    insta::assert_json_snapshot!(action(&react));
}

#[test]
fn unreact_names_only_the_message() {
    let unreact = GraphSendRequest::unreact(Recipient::psid(IGSID), "aWdfZAG1faXRlbToxOklH");
    let v = action(&unreact);
    assert!(v["payload"].get("reaction").is_none(), "{v}");
    insta::assert_json_snapshot!(v);
}

#[test]
fn sender_actions_spelled_as_graph_spells_them() {
    for a in SenderAction::ALL {
        assert_eq!(serde_json::to_value(a).unwrap(), json!(a.as_str()));
        assert_eq!(SenderAction::parse(a.as_str()), Some(a));
        assert_eq!(a.is_reaction(), ["react", "unreact"].contains(&a.as_str()));
    }
    assert_eq!(SenderAction::parse("REACT"), None);
    assert_eq!(INSTAGRAM_REACTIONS, ["love"]);
}
