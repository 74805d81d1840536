//! Property tests of addressing across channels: `to.unaddressable` is reported exactly when
//! no channel of `rules` can reach the recipient, Messenger and Instagram each by their own
//! scoped id or a profile, and a phone number never reaches Instagram.

use messenger_validate::{validate_json, Policy};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::rule_cases::policy;

/// An address field: absent, blank, or set.
fn field(value: &'static str) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![Just(None), Just(Some("  ")), Just(Some(value))]
}

/// A non-empty ordered selection of the three channels.
fn rules() -> impl Strategy<Value = Vec<&'static str>> {
    Just(vec!["fbMessenger", "instagram", "sms"])
        .prop_shuffle()
        .prop_flat_map(|all| (1..=3usize).prop_map(move |n| all[..n].to_vec()))
}

fn set(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.trim().is_empty())
}

fn unaddressable(to: &Map<String, Value>, rules: &[&str], matching: bool) -> bool {
    let p = Policy {
        customer_matching: matching,
        ..policy()
    };
    let req = json!({"to": to, "body": "hi", "rules": rules});
    match validate_json(&req, &p) {
        Ok(_) => false,
        Err(e) => e
            .violations()
            .iter()
            .any(|v| v.code.as_str() == "to.unaddressable" && v.pointer == "/to"),
    }
}

proptest! {
    #[test]
    fn unaddressable_exactly_when_no_rule_reaches_the_recipient(
        profile in field("alice"),
        psid in field("1234567890"),
        igsid in field("IGSID-1"),
        phone in field("+447700900123"),
        mobile in field("+447700900124"),
        rules in rules(),
        matching in any::<bool>(),
    ) {
        let mut to = Map::new();
        for (key, value) in [
            ("profileId", profile),
            ("fbMessengerId", psid),
            ("instagramId", igsid),
            ("phoneNumber", phone),
            ("mobileNumber", mobile),
        ] {
            if let Some(v) = value {
                to.insert(key.into(), json!(v));
            }
        }
        let reaches = |channel: &str| match channel {
            "fbMessenger" => set(profile) || set(psid) || (matching && set(phone)),
            "instagram" => set(profile) || set(igsid),
            _ => set(profile) || set(phone) || set(mobile),
        };
        let expected = !rules.iter().any(|c| reaches(c));
        prop_assert_eq!(unaddressable(&to, &rules, matching), expected, "to {:?} rules {:?}", to, rules);
    }

    #[test]
    fn a_phone_number_never_reaches_instagram(
        matching in any::<bool>(),
        psid in field("1234567890"),
    ) {
        let mut to = Map::new();
        to.insert("phoneNumber".into(), json!("+447700900123"));
        to.insert("mobileNumber".into(), json!("+447700900124"));
        if let Some(v) = psid {
            to.insert("fbMessengerId".into(), json!(v));
        }
        prop_assert!(unaddressable(&to, &["instagram"], matching));
        // A Messenger ID does not reach Instagram either: the ids are scoped per channel.
        to.insert("instagramId".into(), json!("IGSID-1"));
        prop_assert!(!unaddressable(&to, &["instagram"], matching));
    }
}
