//! Every body of `tests/webhook_corpus/` (realistic Meta shapes, and a few Meta should never
//! send): it parses, no event is dropped, only the `-unparsed` files have unparsed events, the
//! kinds are the ones the file is about, big ids come back exactly, and a round trip loses nothing.

use messenger_model::webhook::{EventKind, EventList, HandoverKind, WebhookPayload};
use serde_json::{json, Value};

use super::{kind_name, raw_event_count};

/// The page every corpus body is for.
const PAGE: &str = "9007199254740993";

fn corpus() -> Vec<(String, Vec<u8>)> {
    super::corpus_files("webhook_corpus")
}

fn parse(name: &str) -> WebhookPayload {
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with(name))
        .unwrap_or_else(|| panic!("no corpus file {name}"));
    WebhookPayload::from_json(&bytes).unwrap()
}

/// `(list, kind)` of every parsed event, in body order.
fn kinds(p: &WebhookPayload) -> Vec<String> {
    p.events()
        .map(|(_, list, e)| format!("{}:{}", list.as_str(), kind_name(&e.kind())))
        .collect()
}

#[test]
fn the_corpus_has_at_least_32_bodies_named_nn_what() {
    let files = corpus();
    assert!(files.len() >= 32, "{} files", files.len());
    for (name, _) in &files {
        let (nn, what) = name.split_at(2);
        assert!(nn.bytes().all(|b| b.is_ascii_digit()), "{name}");
        assert!(what.starts_with('-') && what.len() > 1, "{name}");
    }
}

#[test]
fn every_body_parses_and_no_event_is_dropped() {
    for (name, bytes) in corpus() {
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let p = WebhookPayload::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let parsed = p.events().count();
        let unparsed = p.unparsed_events().count();
        assert_eq!(
            raw_event_count(&raw),
            parsed + unparsed,
            "{name}: {parsed} parsed + {unparsed} unparsed"
        );
        if name.contains("-unparsed") {
            assert!(unparsed > 0, "{name} should have unparsed events");
        } else {
            let errors: Vec<_> = p.unparsed_events().map(|(_, u)| &u.error).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
        }
    }
}

#[test]
fn every_body_round_trips_without_loss() {
    for (name, bytes) in corpus() {
        let p = WebhookPayload::from_json(&bytes).unwrap();
        let again = WebhookPayload::from_json(&serde_json::to_vec(&p).unwrap()).unwrap();
        if name.contains("-not-array") {
            // A list that is not an array is written back as a one-element array (documented).
            assert_eq!(again.entry.len(), p.entry.len(), "{name}");
            continue;
        }
        assert_eq!(again, p, "{name}");
    }
}

#[test]
fn each_body_has_the_kinds_it_is_named_for() {
    let expected: &[(&str, &[&str])] = &[
        ("01", &["messaging:message"]),
        ("06", &["messaging:message"]),
        ("13", &["messaging:echo"]),
        ("14", &["messaging:delivery"]),
        ("16", &["messaging:read"]),
        ("18", &["messaging:postback"]),
        ("19", &["messaging:optin"]),
        ("20", &["messaging:optin"]),
        ("21", &["messaging:optin"]),
        ("22", &["messaging:referral"]),
        ("23", &["messaging:referral"]),
        ("24", &["messaging:reaction", "messaging:reaction"]),
        (
            "25",
            &[
                "messaging:message",
                "messaging:message",
                "messaging:read",
                "messaging:postback",
                "messaging:delivery",
            ],
        ),
        (
            "26",
            &["standby:message", "standby:postback", "standby:read"],
        ),
        ("27", &["messaging:handover"]),
        ("30", &["messaging:handover"]),
        (
            "36",
            &["messaging:message", "messaging:echo", "messaging:handover"],
        ),
        ("37", &["messaging:edit"]),
        ("38", &["messaging:feedback"]),
        ("39", &["messaging:unknown"]),
        ("41", &["messaging:message", "messaging:message"]),
        ("42", &["messaging:read"]),
        ("43", &[]),
        ("45", &["messaging:message"]),
        ("46", &["messaging:message"]),
    ];
    for (file, want) in expected {
        assert_eq!(kinds(&parse(file)), *want, "{file}");
    }
}

#[test]
fn attachments_of_every_type() {
    for (file, kind) in [
        ("02", "image"),
        ("03", "audio"),
        ("04", "video"),
        ("05", "file"),
        ("06", "location"),
        ("07", "fallback"),
    ] {
        let p = parse(file);
        let EventKind::Message(m) = p.entry[0].messaging[0].kind() else {
            panic!("{file}: not a message");
        };
        assert_eq!(m.attachments[0].kind, kind, "{file}");
        assert_eq!(m.attachments[0].sticker_id(), None, "{file}");
    }
    let loc = parse("06");
    let a = &loc.entry[0].messaging[0]
        .message
        .as_ref()
        .unwrap()
        .attachments[0];
    assert_eq!(a.payload["coordinates"]["lat"], json!(52.520008));
    assert_eq!(a.extra["title"], "Pinned Location");
    let fallback = parse("07");
    let a = &fallback.entry[0].messaging[0]
        .message
        .as_ref()
        .unwrap()
        .attachments[0];
    assert!(a.payload.is_null());
    assert_eq!(a.extra["title"], "Our menu");
}

#[test]
fn stickers_old_and_2026_types_give_the_sticker_id() {
    for (file, types) in [
        ("08", &["image", "sticker"][..]),
        ("09", &["image"][..]),
        ("10", &["sticker"][..]),
    ] {
        let p = parse(file);
        let m = p.entry[0].messaging[0].message.as_ref().unwrap();
        let got: Vec<_> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(got, types, "{file}");
        for a in &m.attachments {
            assert_eq!(a.sticker_id().as_deref(), Some("369239263222822"), "{file}");
        }
    }
}

#[test]
fn message_details_quick_reply_reply_to_and_echo() {
    let qr = parse("11");
    let m = qr.entry[0].messaging[0].message.as_ref().unwrap();
    assert_eq!(
        m.quick_reply.as_ref().unwrap().payload,
        "CONFIRM_BOOKING_42"
    );
    let reply = parse("12");
    let m = reply.entry[0].messaging[0].message.as_ref().unwrap();
    assert_eq!(m.reply_to.as_ref().unwrap().mid, "m_PageSent0123456789abc");
    let echo = parse("13");
    let e = &echo.entry[0].messaging[0];
    let EventKind::Echo(m) = e.kind() else {
        panic!("not an echo")
    };
    assert_eq!(m.app_id, Some(json!(1_517_776_481_860_111_u64)));
    assert!(m.metadata.as_deref().unwrap().contains("messageId"));
    assert_eq!(e.sender_id(), Some(PAGE));
    assert_eq!(e.dedupe_key(), "mid:m_PageSent0123456789abc");
}

#[test]
fn receipts_with_and_without_mids_and_string_watermarks() {
    let with = parse("14");
    let d = with.entry[0].messaging[0].delivery.as_ref().unwrap();
    assert_eq!(d.mids.len(), 2);
    assert_eq!(d.watermark, 1_764_400_000_012);
    let without = parse("15");
    let d = without.entry[0].messaging[0].delivery.as_ref().unwrap();
    assert!(d.mids.is_empty());
    assert_eq!(d.watermark, 1_764_400_000_013);
    let strings = parse("34");
    let events = &strings.entry[0].messaging;
    assert_eq!(
        events[0].read.as_ref().unwrap().watermark,
        1_764_400_000_037
    );
    assert_eq!(
        events[1].delivery.as_ref().unwrap().watermark,
        1_764_400_000_038
    );
}

#[test]
fn edits_and_response_feedback_are_kinds_of_their_own() {
    let edit = parse("37");
    let e = &edit.entry[0].messaging[0];
    let EventKind::Edit(m) = e.kind() else {
        panic!("{:?}", e.kind())
    };
    assert_eq!(m.mid.as_deref(), Some("m_AbCdEf0123456789text"));
    assert_eq!(m.text.as_deref(), Some("Hello, is my table ready yet?"));
    assert_eq!(m.num_edit, 1);
    assert!(e.extra.is_empty(), "{:?}", e.extra);
    assert_eq!(
        e.dedupe_key(),
        "edit:24012345678901234:1764400000044:m_AbCdEf0123456789text:1"
    );

    let feedback = parse("38");
    let e = &feedback.entry[0].messaging[0];
    let EventKind::Feedback(f) = e.kind() else {
        panic!("{:?}", e.kind())
    };
    assert_eq!(f.mid.as_deref(), Some("m_PageSent0123456789abc"));
    assert_eq!(f.feedback.as_deref(), Some("Good response"));
    assert_eq!(
        e.dedupe_key(),
        "feedback:24012345678901234:1764400000045:m_PageSent0123456789abc:-"
    );
    // Two of one kind by one user in one millisecond are two events when they are about two
    // messages (or, for reactions, two actions); a redelivery is the same event.
    let at_once = |kind: &str, body: serde_json::Value| {
        let e: messenger_model::webhook::MessagingEvent =
            serde_json::from_value(json!({"sender": {"id": "U"}, "timestamp": 7, kind: body}))
                .unwrap();
        e.dedupe_key()
    };
    let good = json!({"mid": "m_1", "feedback": "Good response"});
    assert_ne!(
        at_once("response_feedback", good.clone()),
        at_once(
            "response_feedback",
            json!({"mid": "m_2", "feedback": "Bad response"})
        )
    );
    assert_eq!(
        at_once("response_feedback", good.clone()),
        at_once("response_feedback", good)
    );
    assert_ne!(
        at_once(
            "reaction",
            json!({"mid": "m_1", "action": "react", "emoji": "x"})
        ),
        at_once("reaction", json!({"mid": "m_1", "action": "unreact"}))
    );
    assert_ne!(
        at_once(
            "message_edit",
            json!({"mid": "m_1", "text": "a", "num_edit": 1})
        ),
        at_once(
            "message_edit",
            json!({"mid": "m_1", "text": "b", "num_edit": 2})
        )
    );

    // Lenient like the other kinds: a count as digits, an id as a number.
    let lenient: messenger_model::webhook::MessagingEvent = serde_json::from_value(json!({
        "timestamp": 1, "message_edit": {"mid": 42, "text": "x", "num_edit": "5"}
    }))
    .unwrap();
    let EventKind::Edit(m) = lenient.kind() else {
        panic!()
    };
    assert_eq!((m.mid.as_deref(), m.num_edit), (Some("42"), 5));
}

#[test]
fn postbacks_optins_referrals_and_reactions() {
    let p = parse("18");
    let pb = p.entry[0].messaging[0].postback.as_ref().unwrap();
    assert_eq!(pb.payload.as_deref(), Some("GET_STARTED"));
    let r = pb.referral.as_ref().unwrap();
    assert_eq!(r.data_ref.as_deref(), Some("spring-menu"));
    assert_eq!(r.source.as_deref(), Some("SHORTLINK"));

    let stm = parse("19");
    let o = stm.entry[0].messaging[0].optin.as_ref().unwrap();
    assert_eq!(o.data_ref.as_deref(), Some("newsletter-signup-footer"));

    let checkbox = parse("20");
    let e = &checkbox.entry[0].messaging[0];
    assert!(e.sender.is_none());
    let user_ref = "cb-7f3a9e21-4c1d-4b1a-9d52-0e8f6a3b2c10";
    assert_eq!(
        e.optin.as_ref().unwrap().user_ref.as_deref(),
        Some(user_ref)
    );
    assert_eq!(e.dedupe_key(), format!("optin:{user_ref}:1764400000019"));

    let notif = parse("21");
    let o = notif.entry[0].messaging[0].optin.as_ref().unwrap();
    assert_eq!(o.extra["type"], "notification_messages");
    assert_eq!(
        o.extra["notification_messages_token"],
        "5724583154029741263"
    );

    let ads = parse("23");
    let r = ads.entry[0].messaging[0].referral.as_ref().unwrap();
    assert_eq!(r.source.as_deref(), Some("ADS"));
    assert_eq!(r.extra["ad_id"], "120211234567890123");

    let reactions = parse("24");
    let actions: Vec<_> = reactions.entry[0]
        .messaging
        .iter()
        .map(|e| e.reaction.as_ref().unwrap().action.as_deref().unwrap())
        .collect();
    assert_eq!(actions, ["react", "unreact"]);
}

#[test]
fn standby_events_are_read_and_their_postbacks_have_no_payload() {
    let p = parse("26");
    let entry = &p.entry[0];
    assert!(entry.messaging.is_empty());
    assert_eq!(entry.standby.len(), 3);
    let pb = entry.standby[1].postback.as_ref().unwrap();
    assert_eq!(pb.title.as_deref(), Some("Talk to a human"));
    assert_eq!(pb.payload, None);
}

#[test]
fn handovers_of_every_kind() {
    let inbox = Some("263902037430900");
    let app = Some("1517776481860111");
    for (file, kind, previous, new) in [
        ("27", HandoverKind::PassThreadControl, inbox, app),
        ("28", HandoverKind::TakeThreadControl, app, inbox),
        ("29", HandoverKind::RequestThreadControl, None, None),
        ("30", HandoverKind::AppRoles, None, None),
    ] {
        let p = parse(file);
        let e = &p.entry[0].messaging[0];
        let EventKind::Handover(h) = e.kind() else {
            panic!("{file}: not a handover");
        };
        assert_eq!(h.kind, kind, "{file}");
        assert_eq!(h.previous_owner_app_id.as_deref(), previous, "{file}");
        assert_eq!(h.new_owner_app_id.as_deref(), new, "{file}");
        assert!(e.dedupe_key().starts_with(kind.field()), "{file}");
    }
    let request = parse("29");
    let h = request.entry[0].messaging[0].handover.as_ref().unwrap();
    assert_eq!(
        h.extra["requested_owner_app_id"],
        json!(263_902_037_430_900_u64)
    );
    assert_eq!(h.metadata.as_deref(), Some("user asked for a human"));
    let roles = parse("30");
    let e = &roles.entry[0].messaging[0];
    assert_eq!(e.sender, None);
    let h = e.handover.as_ref().unwrap();
    assert_eq!(h.extra["1517776481860111"], json!(["primary_receiver"]));
    assert_eq!(e.dedupe_key(), format!("app_roles:{PAGE}:-:1764400000036"));
}

#[test]
fn lenient_timestamps_string_missing_and_zero() {
    let string = parse("31");
    assert_eq!(string.entry[0].time, 1_764_400_000_900);
    assert_eq!(string.entry[0].messaging[0].timestamp, 1_764_400_000_037);
    let missing = parse("32");
    let e = &missing.entry[0].messaging[0];
    assert_eq!(e.timestamp, 0);
    assert_eq!(e.occurred_at_or(77), 77);
    assert_eq!(e.dedupe_key(), "mid:m_TsMissing01");
    let zero = parse("33");
    assert_eq!(zero.entry[0].time, 0);
    let e = &zero.entry[0].messaging[0];
    assert_eq!(e.occurred_at_or(88), 88);
    // No timestamp: the key carries a hash of the event, so it is stable and specific.
    let key = e.dedupe_key();
    assert!(key.starts_with("postback:24012345678901234:0:"), "{key}");
    assert_eq!(key, parse("33").entry[0].messaging[0].dedupe_key());
}

#[test]
fn ids_above_2_pow_53_come_back_exactly() {
    let bare = parse("35");
    assert_eq!(bare.entry[0].id, PAGE);
    let big = parse("36");
    let entry = &big.entry[0];
    assert_eq!(entry.id, PAGE);
    assert_eq!(entry.messaging[0].sender_id(), Some("24012345678901234"));
    assert_eq!(entry.messaging[0].recipient_id(), Some(PAGE));
    assert_eq!(entry.messaging[1].sender_id(), Some(PAGE));
    assert_eq!(entry.messaging[1].recipient_id(), Some("24012345678905678"));
    let echo = entry.messaging[1].message.as_ref().unwrap();
    assert_eq!(echo.app_id, Some(json!(9_007_199_254_740_995_u64)));
    let h = entry.messaging[2].handover.as_ref().unwrap();
    assert_eq!(h.previous_owner_app_id, None);
    assert_eq!(h.new_owner_app_id.as_deref(), Some("9007199254740995"));
    let text = serde_json::to_string(&big).unwrap();
    assert!(text.contains(r#""app_id":9007199254740995"#), "{text}");
    for (name, bytes) in corpus() {
        let p = WebhookPayload::from_json(&bytes).unwrap();
        for entry in &p.entry {
            assert_eq!(entry.id, PAGE, "{name}");
        }
    }
}

#[test]
fn unknown_kinds_and_fields_are_kept() {
    let p = parse("39");
    assert!(p.entry[0].messaging[0]
        .extra
        .contains_key("policy_enforcement"));
    let p = parse("40");
    let out = serde_json::to_value(&p).unwrap();
    for path in [
        "/x_batch_id",
        "/entry/0/x_region",
        "/entry/0/changes",
        "/entry/0/messaging/0/x_event_flag",
        "/entry/0/messaging/0/message/x_message_field/nested/1",
        "/entry/0/messaging/0/message/commands/0/name",
        "/entry/0/messaging/0/message/attachments/0/x_attachment_field",
        "/entry/0/messaging/0/message/attachments/0/payload/x_payload_field",
    ] {
        assert!(out.pointer(path).is_some(), "{path} lost: {out}");
    }
}

#[test]
fn what_cannot_be_read_is_isolated_to_one_event() {
    let oops = parse("41");
    let entry = &oops.entry[0];
    assert_eq!(entry.messaging.len(), 2);
    let u = &entry.unparsed[0];
    assert_eq!((u.list, u.index), (EventList::Messaging, 1));
    assert_eq!(u.raw["message"], "oops");
    assert!(u.error.contains("invalid type"), "{}", u.error);

    let yesterday = parse("42");
    let entry = &yesterday.entry[0];
    let got: Vec<_> = entry.unparsed.iter().map(|u| (u.list, u.index)).collect();
    assert_eq!(got, [(EventList::Messaging, 0), (EventList::Standby, 0)]);
    assert!(
        entry.unparsed[0].error.contains("yesterday"),
        "{}",
        entry.unparsed[0].error
    );
    assert_eq!(entry.unparsed[1].raw["sender"]["id"], "24012345678909012");

    let not_object = parse("45");
    let got: Vec<_> = not_object
        .unparsed
        .iter()
        .map(|u| (u.list, u.index, u.raw.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (EventList::Entry, 1, json!("not an entry")),
            (EventList::Entry, 2, json!(42)),
        ]
    );

    let not_array = parse("46");
    let u = &not_array.entry[0].unparsed[0];
    assert_eq!((u.list, u.index), (EventList::Messaging, 0));
    assert!(
        u.error.contains("expected an array of events"),
        "{}",
        u.error
    );
}

#[test]
fn missing_entry_and_missing_object_are_tolerated() {
    let no_entry = parse("43");
    assert_eq!(no_entry.object, "page");
    assert!(no_entry.entry.is_empty() && no_entry.unparsed.is_empty());
    let no_object = parse("44");
    assert_eq!(no_object.object, "");
    assert_eq!(no_object.entry[0].messaging.len(), 1);
}
