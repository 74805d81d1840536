//! Snapshots of the violations for the seed examples that break Meta's policy, and for a few
//! crafted bad requests. The malformed seeds (02, 03, 04, 06: not JSON) are the gateway's
//! concern and are not read here.

use std::path::PathBuf;

use messenger_model::Timestamp;
use messenger_validate::{check_window, validate_json, Policy, Violation, Window};
use serde_json::{json, Value};

fn seed(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/seed-examples")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

fn now() -> Timestamp {
    "2026-05-10T12:00:00Z".parse().unwrap()
}

fn policy(window: Window) -> Policy {
    Policy {
        window,
        customer_matching: false,
        now: now(),
    }
}

fn violations(v: &Value, p: &Policy) -> Vec<Violation> {
    match validate_json(v, p) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_violations().into_vec(),
    }
}

#[test]
fn well_formed_seeds_that_follow_policy_pass() {
    for name in [
        "01-profile-id-plain.json",
        "05-message-parts-image.json",
        "09-type-response.json",
        "10-type-update.json",
        "11-custom-body-image.json",
        "12-custom-body-quick-replies.json",
        "13-custom-body-receipt.json",
    ] {
        let p = policy(Window::Open);
        let req = validate_json(&seed(name), &p).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(check_window(&req, &p).is_ok(), "{name}");
    }
}

#[test]
fn seed_07_retired_non_promotional_subscription() {
    let v = violations(
        &seed("07-tag-non-promotional.json"),
        &policy(Window::Unchecked),
    );
    insta::assert_json_snapshot!(v);
}

#[test]
fn seed_08_retired_shipping_update() {
    let v = violations(
        &seed("08-tag-shipping-update.json"),
        &policy(Window::Unchecked),
    );
    insta::assert_json_snapshot!(v);
}

#[test]
fn seed_10_update_outside_a_closed_window() {
    let p = policy(Window::Closed {
        last_inbound: Some("2026-05-08T09:30:00Z".parse().unwrap()),
    });
    let req = validate_json(&seed("10-type-update.json"), &p).unwrap();
    let v = check_window(&req, &p).unwrap_err();
    insta::assert_json_snapshot!(v);
}

#[test]
fn seed_09_response_with_no_inbound_known() {
    let p = policy(Window::Closed { last_inbound: None });
    let req = validate_json(&seed("09-type-response.json"), &p).unwrap();
    let v = check_window(&req, &p).unwrap_err();
    insta::assert_json_snapshot!(v);
}

#[test]
fn crafted_structural_errors() {
    let v = json!({
        "to": {"profileId": 42, "loyalty": "kept"},
        "bodyy": "typo",
        "messageParts": [
            {"type": "image/png", "url": "https://e.com/a.png", "sizee": 3},
            "not a part",
            {"url": "https://e.com/b.png", "channels": ["fbMessenger", "email"]}
        ],
        "channelOptions": {"fbMessenger": {"messagingtype": "UPDATE"}, "whatsapp": {}},
        "customBody": {"fbMessenger": {"quick_replies": [{"content_type": "location"}]}},
        "rules": ["fbMessenger", "whatsapp", 3],
        "expiresOn": "31/01/2026"
    });
    insta::assert_json_snapshot!(violations(&v, &policy(Window::Unchecked)));
}

#[test]
fn crafted_generic_template_errors() {
    let long = "x".repeat(90);
    let v = json!({
        "to": {"fbMessengerId": "1234567890"},
        "customBody": {"fbMessenger": {
            "attachment": {"type": "template", "payload": {
                "template_type": "generic",
                "elements": [
                    {"title": long, "subtitle": "ok", "image_url": "ftp://cdn.example.com/a.png",
                     "buttons": [
                        {"type": "web_url", "title": "Open the full catalogue", "url": "https://e.com"},
                        {"type": "postback", "title": "Buy", "payload": "BUY"},
                        {"type": "phone_number", "title": "Call", "payload": "0800 123"},
                        {"type": "postback", "title": "More", "payload": "MORE"}
                     ]},
                    {"title": "", "default_action": {"type": "web_url", "url": "example.com"}}
                ]
            }},
            "quick_replies": [{"content_type": "text", "title": "Yes"}]
        }},
        "rules": ["fbMessenger"]
    });
    insta::assert_json_snapshot!(violations(&v, &policy(Window::Unchecked)));
}

#[test]
fn crafted_parts_and_envelope_errors() {
    let v = json!({
        "to": {"phoneNumber": "07123 123123", "firstName": "Dave"},
        "body": "Your order has shipped",
        "messageParts": [
            {"type": "image/png", "data": "data:image/png;base64,iVBORw0KGgo="},
            {"type": "application/pdf", "url": "https://e.com/a.pdf", "data": "aGk="},
            {"type": "video", "url": "https://e.com/v.mp4", "size": 104_857_600u64}
        ],
        "channelOptions": {"fbMessenger": {"messagingType": "MESSAGE_TAG"}},
        "rules": ["fbMessenger", "sms", "fbMessenger"]
    });
    insta::assert_json_snapshot!(violations(&v, &policy(Window::Unchecked)));
}
