//! Every violation code: a minimal input that produces it, and the nearest input that does not
//! (the cases are in `rule_cases/`), plus the rules that hold across codes.

use std::collections::BTreeSet;

use crate::rule_cases::*;
use messenger_validate::{check_window, validate_json, Policy, ViolationCode, Window};
use serde_json::{json, Value};

#[test]
fn each_code_is_produced_by_its_bad_input_and_not_by_its_good_one() {
    for c in cases() {
        let bad = codes(&c.bad, &c.policy, c.window);
        assert!(
            bad.contains(&c.code),
            "{}: bad input gave {bad:?}\n{}",
            c.code,
            c.bad
        );
        let good = codes(
            &c.good,
            c.good_policy.as_ref().unwrap_or(&c.policy),
            c.window,
        );
        assert!(
            !good.contains(&c.code),
            "{}: good input gave {good:?}\n{}",
            c.code,
            c.good
        );
    }
}

#[test]
fn the_window_tag_expired_case_passes_within_seven_days() {
    let req = validate_json(&tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")), &policy()).unwrap();
    let p = Policy {
        window: Window::Closed {
            last_inbound: Some("2026-05-04T12:00:00Z".parse().unwrap()),
        },
        ..policy()
    };
    assert!(check_window(&req, &p).is_ok());
}

#[test]
fn every_code_has_a_case_except_the_serde_fallback() {
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.code).collect();
    let missing: Vec<&str> = ViolationCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(c) && *c != "json.shape")
        .collect();
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}

#[test]
fn all_violations_are_collected_not_just_the_first() {
    let bad = json!({
        "to": {"fbMessengerId": "1", "phoneNumber": "x"},
        "body": s(2001),
        "channelOptions": {"fbMessenger": {"messagingType": "RESPONSE", "messageTag": "SHIPPING_UPDATE"}},
        "rules": ["fbMessenger", "fbMessenger"]
    });
    let err = validate_json(&bad, &policy()).unwrap_err();
    let found: Vec<(&str, &str)> = err
        .violations()
        .iter()
        .map(|v| (v.code.as_str(), v.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("phone.invalid", "/to/phoneNumber"),
            ("text.too_long", "/body"),
            (
                "tag.requires_message_tag",
                "/channelOptions/fbMessenger/messagingType"
            ),
            ("tag.retired", "/channelOptions/fbMessenger/messageTag"),
            ("rules.repeated", "/rules/1"),
        ]
    );
}

#[test]
fn channel_options_and_custom_body_together_are_allowed() {
    let req = r(json!({
        "customBody": {"fbMessenger": {"text": "x"}},
        "channelOptions": {"fbMessenger": {"messagingType": "MESSAGE_TAG", "messageTag": "HUMAN_AGENT"}}
    }));
    assert!(validate_json(&req, &policy()).is_ok());
}

#[test]
fn unknown_properties_of_to_are_kept() {
    let req = validate_json(
        &r(json!({"to": {"profileId": "p", "loyaltyTier": "gold"}})),
        &policy(),
    )
    .unwrap();
    assert_eq!(req.to.other["loyaltyTier"], "gold");
}

#[test]
fn offending_values_are_cut_to_about_100_characters() {
    let err = validate_json(&r(json!({"body": "x".repeat(5000)})), &policy()).unwrap_err();
    let value = err.violations()[0].value.as_deref().unwrap();
    assert_eq!(value.chars().count(), 101);
}

#[test]
fn huge_inputs_stop_at_the_cap() {
    let replies = qr(100_000);
    let mut bad: Vec<Value> = replies
        .into_iter()
        .map(|mut q| {
            q["title"] = json!(s(30));
            q
        })
        .collect();
    bad.truncate(100_000);
    let err = validate_json(&quick_replies(bad), &policy()).unwrap_err();
    assert_eq!(err.violations().len(), 101);
    assert_eq!(
        err.violations()[100].code,
        ViolationCode::ViolationsTruncated
    );
}
