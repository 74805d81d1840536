//! Graph's send checks, Messenger's and Instagram's.

use super::*;

fn wire(v: serde_json::Value) -> WireSend {
    serde_json::from_value(v).unwrap()
}

fn accepted() -> Vec<String> {
    ACCEPTED_TAGS.iter().map(|t| t.to_string()).collect()
}

fn message_of(f: GraphFailure) -> String {
    match *f.body {
        crate::graph_api::FailureBody::Graph(e) => e.message,
        crate::graph_api::FailureBody::Raw(v) => v.to_string(),
    }
}

#[test]
fn accepts_a_plain_text_send() {
    let r = check_send(
        wire(serde_json::json!({"recipient":{"id":"1"},"message":{"text":"hi"}})),
        &accepted(),
        Platform::Messenger,
    )
    .unwrap()
    .request;
    assert_eq!(r.message.unwrap().text.as_deref(), Some("hi"));
}

#[test]
fn refusals() {
    let cases = [
        (
            serde_json::json!({"message":{"text":"hi"}}),
            "recipient is required",
        ),
        (
            serde_json::json!({"recipient":{"id":"1","user_ref":"u"},"message":{"text":"x"}}),
            "Only one of",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"}}),
            "either message or sender_action",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","message":{"text":"x"}}),
            "tag is required",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"messaging_type":"MESSAGE_TAG","tag":"SHIPPING_UPDATE","message":{"text":"x"}}),
            "Param tag must be one of {HUMAN_AGENT, CUSTOMER_FEEDBACK}",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"message":{"text":"x","preview":1}}),
            "Invalid keys \"preview\"",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"message":{"text":"x".repeat(2001)}}),
            "message[text] must be less than or equal to 2000",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"message":{"text":"x"},"sender_action":"typing_on"}),
            "Cannot send both message and state",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"messaging_type":"RESPONSE","sender_action":"typing_on"}),
            "send messaging_type in a separate request",
        ),
        (
            serde_json::json!({"recipient":{"id":"1"},"persona_id":"7","sender_action":"mark_seen"}),
            "send persona_id in a separate request",
        ),
    ];
    for (body, expected) in cases {
        let err = check_send(wire(body.clone()), &accepted(), Platform::Messenger).unwrap_err();
        let msg = message_of(err);
        assert!(msg.contains(expected), "{body} -> {msg}");
    }
}

#[test]
fn typing_may_carry_a_persona() {
    let r = check_send(
        wire(serde_json::json!({"recipient":{"id":"1"},"sender_action":"typing_on","persona_id":"7"})),
        &accepted(),
            Platform::Messenger,
    )
    .unwrap()
    .request;
    assert_eq!(r.sender_action, Some(SenderAction::TypingOn));
    assert_eq!(r.persona_id.as_deref(), Some("7"));
}

#[test]
fn text_of_exactly_2000_characters_is_accepted() {
    let text = "é".repeat(MAX_TEXT_CHARS);
    check_send(
        wire(serde_json::json!({"recipient":{"id":"1"},"message":{"text":text}})),
        &accepted(),
        Platform::Messenger,
    )
    .unwrap();
}
