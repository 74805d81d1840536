//! Lenient parsing, one case per rule, and property tests on arbitrary JSON bodies.

use messenger_model::webhook::{
    Entry, EventKind, EventList, Handover, HandoverKind, MessagingEvent, UnparsedEvent,
    WebhookPayload,
};
use messenger_model::ModelError;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::raw_event_count;

fn body(v: Value) -> WebhookPayload {
    WebhookPayload::from_json(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn one_event(event: Value) -> WebhookPayload {
    body(json!({"object": "page", "entry": [{"id": "P", "time": 1, "messaging": [event]}]}))
}

#[test]
fn only_non_json_or_non_object_bodies_fail() {
    for bad in [
        &b"not json"[..],
        b"{\"entry\":",
        b"",
        b"[]",
        b"\"page\"",
        b"42",
        b"null",
    ] {
        let err = WebhookPayload::from_json(bad).unwrap_err();
        assert!(matches!(err, ModelError::Json { .. }), "{err}");
    }
    let err = WebhookPayload::from_json(b"\n  [1]").unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a webhook body (a JSON object)"),
        "{err}"
    );
    for ok in [
        json!({}),
        json!({"entry": null}),
        json!({"entry": {}}),
        json!({"entry": "x"}),
        json!({"entry": [1, null, [], "e"]}),
        json!({"object": 7, "entry": [{"messaging": 5, "standby": {"a": 1}}]}),
        json!({"entry": [{"id": {}, "time": "abc", "messaging": [null, 1, "x", []]}]}),
    ] {
        let p = body(ok.clone());
        assert_eq!(
            raw_event_count(&ok),
            p.events().count() + p.unparsed_events().count(),
            "{ok}"
        );
    }
}

#[test]
fn timestamps_and_watermarks_are_lenient_but_not_careless() {
    for (ts, want) in [
        (json!(1_764_400_000_000_i64), 1_764_400_000_000),
        (json!(1_764_400_000_000.0), 1_764_400_000_000),
        (json!("1764400000000"), 1_764_400_000_000),
        (json!(null), 0),
    ] {
        let p =
            one_event(json!({"sender": {"id": "U"}, "timestamp": ts, "read": {"watermark": ts}}));
        let e = &p.entry[0].messaging[0];
        assert_eq!(e.timestamp, want, "{ts}");
        assert_eq!(e.read.as_ref().unwrap().watermark, want, "{ts}");
    }
    for bad in [
        json!("abc"),
        json!({"ms": 1}),
        json!(1.5),
        json!(true),
        json!(""),
    ] {
        let p =
            one_event(json!({"sender": {"id": "U"}, "timestamp": bad, "read": {"watermark": 1}}));
        assert!(p.entry[0].messaging.is_empty(), "{bad}");
        assert_eq!(p.entry[0].unparsed[0].raw["timestamp"], bad);
        let p =
            one_event(json!({"sender": {"id": "U"}, "timestamp": 1, "read": {"watermark": bad}}));
        assert_eq!(p.entry[0].unparsed.len(), 1, "{bad}");
    }
}

#[test]
fn occurred_at_or_falls_back_when_meta_did_not_say() {
    let e = MessagingEvent {
        timestamp: -3,
        ..Default::default()
    };
    assert_eq!(e.occurred_at_or(5), 5);
    let e = MessagingEvent {
        timestamp: 1_764_400_000_000,
        ..Default::default()
    };
    assert_eq!(e.occurred_at_or(5), 1_764_400_000_000);
}

#[test]
fn ids_may_be_numbers_kept_exactly() {
    let p = one_event(json!({
        "sender": {"id": 24_012_345_678_901_234_u64, "user_ref": 7},
        "recipient": {"id": 9_007_199_254_740_993_u64},
        "timestamp": 1,
        "message": {"mid": 18_446_744_073_709_551_615_u64, "reply_to": {"mid": null},
                    "quick_reply": {"payload": 12}},
    }));
    let e = &p.entry[0].messaging[0];
    assert_eq!(e.sender_id(), Some("24012345678901234"));
    assert_eq!(e.sender.as_ref().unwrap().user_ref.as_deref(), Some("7"));
    assert_eq!(e.recipient_id(), Some("9007199254740993"));
    let m = e.message.as_ref().unwrap();
    assert_eq!(m.mid.as_deref(), Some("18446744073709551615"));
    assert_eq!(m.reply_to.as_ref().unwrap().mid, "");
    assert_eq!(m.quick_reply.as_ref().unwrap().payload, "12");
    // A float id may already have lost digits: refused, for this event only.
    let p = one_event(json!({"sender": {"id": 2.4e16}, "timestamp": 1, "read": {}}));
    assert_eq!(p.entry[0].unparsed.len(), 1);
}

#[test]
fn entry_id_and_time_are_lenient_and_kept_when_unreadable() {
    let p = body(json!({"entry": [
        {"id": 9_007_199_254_740_993_u64, "time": "1764400000000"},
        {"id": {"page": 1}, "time": "abc", "messaging": [{"timestamp": 2, "read": {}}]},
    ]}));
    assert_eq!(p.entry[0].id, "9007199254740993");
    assert_eq!(p.entry[0].time, 1_764_400_000_000);
    let odd = &p.entry[1];
    assert_eq!((odd.id.as_str(), odd.time), ("", 0));
    assert_eq!(odd.extra["id"], json!({"page": 1}));
    assert_eq!(odd.extra["time"], "abc");
    assert_eq!(odd.messaging.len(), 1);
    let out = serde_json::to_value(&p).unwrap();
    assert_eq!(out["entry"][1]["id"], json!({"page": 1}));
    assert_eq!(out["entry"][1]["time"], "abc");
    assert_eq!(
        WebhookPayload::from_json(out.to_string().as_bytes()).unwrap(),
        p
    );
}

#[test]
fn serializing_writes_unparsed_events_back_where_they_were() {
    let input = json!({"object": "page", "x_top": 1, "entry": [
        "junk",
        {"id": "P", "time": 1,
         "messaging": [{"message": "oops"}, {"timestamp": 3, "read": {"watermark": 2}}, 5],
         "standby": [{"timestamp": 4, "read": {}}, {"timestamp": "yesterday"}]},
    ]});
    let p = body(input.clone());
    assert_eq!(p.unparsed.len(), 1);
    let entry = &p.entry[0];
    let at: Vec<_> = entry.unparsed.iter().map(|u| (u.list, u.index)).collect();
    assert_eq!(
        at,
        [
            (EventList::Messaging, 0),
            (EventList::Messaging, 2),
            (EventList::Standby, 1)
        ]
    );
    let out = serde_json::to_value(&p).unwrap();
    assert_eq!(out["x_top"], 1);
    assert_eq!(out["entry"][0], "junk");
    assert_eq!(out["entry"][1]["messaging"][0], json!({"message": "oops"}));
    assert_eq!(out["entry"][1]["messaging"][1]["read"]["watermark"], 2);
    assert_eq!(out["entry"][1]["messaging"][2], 5);
    assert_eq!(
        out["entry"][1]["standby"][1],
        json!({"timestamp": "yesterday"})
    );
    assert_eq!(
        WebhookPayload::from_json(out.to_string().as_bytes()).unwrap(),
        p
    );
}

#[test]
fn unparsed_events_past_the_end_are_written_after_the_parsed_ones() {
    let entry = Entry {
        messaging: vec![MessagingEvent::default()],
        unparsed: vec![
            UnparsedEvent {
                list: EventList::Messaging,
                index: 9,
                raw: json!("late"),
                error: "e".into(),
            },
            UnparsedEvent {
                list: EventList::Standby,
                index: 0,
                raw: json!("s"),
                error: "e".into(),
            },
        ],
        ..Default::default()
    };
    let out = serde_json::to_value(&entry).unwrap();
    assert_eq!(out["messaging"][1], "late");
    assert_eq!(out["standby"], json!(["s"]));
    assert_eq!(EventList::Standby.as_str(), "standby");
    assert_eq!(EventList::Entry.to_string(), "entry");
    assert_eq!(
        serde_json::to_value(EventList::Messaging).unwrap(),
        "messaging"
    );
}

#[test]
fn an_entry_that_is_not_an_object_fails_alone() {
    let err = serde_json::from_value::<Entry>(json!([1])).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected an entry (a JSON object)"),
        "{err}"
    );
    let p = body(json!({"entry": "nope"}));
    assert_eq!(p.unparsed[0].list, EventList::Entry);
    assert!(
        p.unparsed[0].error.contains("expected an array of entries"),
        "{}",
        p.unparsed[0].error
    );
    let (entry, u) = p.unparsed_events().next().unwrap();
    assert!(entry.is_none());
    assert_eq!(u.raw, "nope");
}

#[test]
fn a_second_handover_field_stays_in_extra_and_null_ones_are_ignored() {
    let p = one_event(json!({
        "sender": {"id": "U"}, "timestamp": 9,
        "pass_thread_control": null,
        "take_thread_control": {"previous_owner_app_id": null, "new_owner_app_id": 263_902_037_430_900_u64},
        "app_roles": {"1": ["primary_receiver"]},
    }));
    let e = &p.entry[0].messaging[0];
    let EventKind::Handover(h) = e.kind() else {
        panic!("not a handover")
    };
    assert_eq!(h.kind, HandoverKind::TakeThreadControl);
    assert_eq!(h.new_owner_app_id.as_deref(), Some("263902037430900"));
    assert!(e.extra["pass_thread_control"].is_null());
    assert_eq!(e.extra["app_roles"], json!({"1": ["primary_receiver"]}));
    assert_eq!(e.dedupe_key(), "take_thread_control:U:263902037430900:9");
    let out = serde_json::to_value(e).unwrap();
    assert_eq!(
        out["take_thread_control"]["new_owner_app_id"],
        "263902037430900"
    );
    assert!(out["take_thread_control"].get("kind").is_none());
    // A handover body of the wrong shape fails the event.
    let p = one_event(json!({"timestamp": 1, "pass_thread_control": "x"}));
    assert!(p.entry[0].unparsed[0]
        .error
        .starts_with("pass_thread_control: "));
}

#[test]
fn a_handover_built_in_code_serializes_under_its_field() {
    let mut h = Handover::new(HandoverKind::RequestThreadControl);
    h.metadata = Some("please".into());
    h.extra.insert(
        "requested_owner_app_id".into(),
        json!(263_902_037_430_900_u64),
    );
    let e = MessagingEvent {
        timestamp: 5,
        handover: Some(h),
        ..Default::default()
    };
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        r#"{"timestamp":5,"request_thread_control":{"metadata":"please","requested_owner_app_id":263902037430900}}"#
    );
    assert_eq!(serde_json::from_str::<MessagingEvent>(&json).unwrap(), e);
}

#[test]
fn dedupe_keys_without_timestamp_differ_by_content() {
    let a = one_event(json!({"sender": {"id": "U"}, "postback": {"payload": "A"}}));
    let b = one_event(json!({"sender": {"id": "U"}, "postback": {"payload": "B"}}));
    let (ka, kb) = (
        a.entry[0].messaging[0].dedupe_key(),
        b.entry[0].messaging[0].dedupe_key(),
    );
    assert!(ka.starts_with("postback:U:0:") && kb.starts_with("postback:U:0:"));
    assert_ne!(ka, kb);
    let with_ts =
        one_event(json!({"sender": {"id": "U"}, "timestamp": 4, "postback": {"payload": "A"}}));
    assert_eq!(with_ts.entry[0].messaging[0].dedupe_key(), "postback:U:4");
}

/// Leaves of arbitrary JSON, including the shapes the lenient readers look at.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000i64..1_000_000).prop_map(|n| json!(n as f64 / 4.0)),
        "[0-9]{0,20}".prop_map(Value::String),
        "\\PC{0,8}".prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("\\PC{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An object whose keys are (mostly) ones the model reads, with arbitrary values.
fn object_with(keys: &'static [&'static str], value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    proptest::collection::vec((proptest::sample::select(keys), value), 0..6)
        .prop_map(|kv| {
            Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>(),
            )
        })
        .boxed()
}

fn event_json() -> BoxedStrategy<Value> {
    let party = object_with(&["id", "user_ref", "x"], leaf().boxed());
    let inner = object_with(
        &[
            "mid",
            "text",
            "watermark",
            "mids",
            "payload",
            "ref",
            "is_echo",
            "attachments",
            "new_owner_app_id",
            "previous_owner_app_id",
            "metadata",
            "reply_to",
            "quick_reply",
        ],
        any_json().boxed(),
    );
    let value = prop_oneof![party, inner, any_json()].boxed();
    object_with(
        &[
            "sender",
            "recipient",
            "timestamp",
            "message",
            "postback",
            "optin",
            "delivery",
            "read",
            "referral",
            "reaction",
            "pass_thread_control",
            "take_thread_control",
            "request_thread_control",
            "app_roles",
            "message_edit",
        ],
        value,
    )
}

fn list_json() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => proptest::collection::vec(prop_oneof![4 => event_json(), 1 => any_json()], 0..4)
            .prop_map(Value::Array),
        1 => any_json(),
    ]
    .boxed()
}

fn body_json() -> BoxedStrategy<Value> {
    let entry = object_with(
        &["id", "time", "messaging", "standby", "changes"],
        prop_oneof![list_json(), leaf()].boxed(),
    );
    let entries = prop_oneof![
        4 => proptest::collection::vec(prop_oneof![4 => entry, 1 => any_json()], 0..3)
            .prop_map(Value::Array),
        1 => any_json(),
    ];
    object_with(&["object", "entry", "x"], entries.boxed())
}

/// Parsing never panics, drops nothing, and after one round trip is a fixed point.
fn check_body(v: &Value) -> Result<(), TestCaseError> {
    let bytes = serde_json::to_vec(v).unwrap();
    let parsed = WebhookPayload::from_json(&bytes);
    prop_assert_eq!(parsed.is_ok(), v.is_object());
    let Ok(p) = parsed else { return Ok(()) };
    prop_assert_eq!(
        raw_event_count(v),
        p.events().count() + p.unparsed_events().count()
    );
    for (_, _, e) in p.events() {
        let _ = (e.kind(), e.dedupe_key(), e.occurred_at_or(1));
    }
    let once = WebhookPayload::from_json(&serde_json::to_vec(&p).unwrap()).unwrap();
    let twice = WebhookPayload::from_json(&serde_json::to_vec(&once).unwrap()).unwrap();
    prop_assert_eq!(twice, once);
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        check_body(&v)?;
    }

    #[test]
    fn arbitrary_bodies_with_random_entries_and_events_never_panic(v in body_json()) {
        check_body(&v)?;
    }
}
