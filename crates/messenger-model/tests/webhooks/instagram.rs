//! Instagram Direct bodies (`tests/webhook_corpus/instagram/`, in the shapes Meta documents and
//! sends): each parses to the expected kinds and quarantines; and a property test that arbitrary
//! or mutated bodies never panic and always give events or a quarantine reason.

use messenger_model::webhook::{InstagramBody, InstagramKind, InstagramList};
use proptest::prelude::*;
use serde_json::Value;

/// The Instagram professional account most corpus bodies are for.
const ACCOUNT: &str = "17841400000000001";

fn corpus() -> Vec<(String, Vec<u8>)> {
    super::corpus_files("webhook_corpus/instagram")
}

fn parse(name: &str) -> InstagramBody {
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n.starts_with(name))
        .unwrap_or_else(|| panic!("no corpus file {name}"));
    InstagramBody::parse(&bytes)
}

/// `list:kind` of every event, in body order.
fn kinds(b: &InstagramBody) -> Vec<String> {
    b.events
        .iter()
        .map(|e| format!("{}:{}", e.list.as_str(), e.kind.name()))
        .collect()
}

/// What each corpus file holds: its events' `list:kind`, and how many elements are quarantined.
const EXPECTED: &[(&str, &[&str], usize)] = &[
    ("01", &["messaging:message"], 0),
    ("02", &["messaging:message"], 0),
    ("03", &["messaging:echo"], 0),
    ("04", &["messaging:seen"], 0),
    ("05", &["messaging:reaction", "messaging:reaction"], 0),
    ("06", &["messaging:postback"], 0),
    ("07", &["messaging:referral"], 0),
    ("08", &["messaging:story_reply"], 0),
    ("09", &["messaging:story_mention"], 0),
    (
        "10",
        &["messaging:share", "messaging:share", "messaging:share"],
        0,
    ),
    ("11", &["messaging:unsupported"], 0),
    ("12", &["messaging:deleted"], 0),
    ("13", &["changes:message"], 0),
    ("14", &["changes:postback", "changes:message"], 0),
    ("15", &["messaging:message", "messaging:message"], 0),
    ("16", &[], 0),
    ("17", &["messaging:message"], 1),
    ("18", &[], 2),
    ("19", &["messaging:message", "standby:message"], 0),
    ("20", &[], 1),
    (
        "21",
        &["changes:seen", "changes:reaction", "changes:referral"],
        1,
    ),
    ("22", &["messaging:message", "changes:postback"], 1),
    ("23", &[], 0),
    ("24", &[], 2),
];

#[test]
fn every_instagram_body_parses_to_its_expected_kinds() {
    let files = corpus();
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "a corpus file without expectations"
    );
    for ((name, bytes), (nn, expected, quarantined)) in files.iter().zip(EXPECTED) {
        assert!(name.starts_with(nn), "{name} vs {nn}");
        let b = InstagramBody::parse(bytes);
        assert_eq!(kinds(&b), *expected, "{name}");
        assert_eq!(
            b.quarantined.len(),
            *quarantined,
            "{name}: {:?}",
            b.quarantined
        );
        for q in &b.quarantined {
            assert!(!q.reason.is_empty(), "{name}");
        }
    }
}

#[test]
fn the_entry_id_is_the_account_and_ids_are_kept_as_text() {
    let b = parse("19");
    assert_eq!(b.events[0].account_id, ACCOUNT);
    assert_eq!(b.events[1].account_id, "17841400000000002");
    assert_eq!(b.events[1].list, InstagramList::Standby);
    assert_eq!(b.events[0].event.sender_id(), Some("6543210987654321"));
}

#[test]
fn reads_carry_the_mid_seen_and_echoes_swap_sender_and_recipient() {
    let seen = parse("04");
    assert_eq!(
        seen.events[0].kind,
        InstagramKind::Seen {
            mid: Some("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjM".to_owned())
        }
    );
    let echo = parse("03");
    assert_eq!(echo.events[0].event.sender_id(), Some(ACCOUNT));
    assert_eq!(
        echo.events[0].event.recipient_id(),
        Some("6543210987654321")
    );
}

#[test]
fn stories_and_shares_keep_their_urls() {
    match &parse("08").events[0].kind {
        InstagramKind::StoryReply { url, story_id } => {
            assert!(url
                .as_deref()
                .unwrap()
                .contains("asset_id=17900000000000008"));
            assert_eq!(story_id.as_deref(), Some("17900000000000008"));
        }
        other => panic!("{other:?}"),
    }
    match &parse("09").events[0].kind {
        InstagramKind::StoryMention { url } => {
            assert!(url
                .as_deref()
                .unwrap()
                .starts_with("https://lookaside.fbsbx.com/"))
        }
        other => panic!("{other:?}"),
    }
    let shares: Vec<String> = parse("10")
        .events
        .iter()
        .map(|e| match &e.kind {
            InstagramKind::Share { share_kind, url } => {
                assert!(url.is_some());
                share_kind.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(shares, ["ig_post", "ig_story", "ig_reel"]);
}

#[test]
fn the_two_shapes_give_the_same_event() {
    let changes = parse("14");
    let messaging = parse("15");
    assert_eq!(changes.events[1].event, messaging.events[0].event);
    assert_eq!(
        changes.events[0]
            .event
            .postback
            .as_ref()
            .unwrap()
            .payload
            .as_deref(),
        Some("TALK")
    );
    let test = parse("13");
    assert_eq!(test.events[0].account_id, "0");
    assert_eq!(
        test.events[0]
            .event
            .message
            .as_ref()
            .unwrap()
            .text
            .as_deref(),
        Some("random_text")
    );
}

#[test]
fn dashboard_test_payloads_in_changes_read_like_real_ones() {
    let b = parse("21");
    assert_eq!(
        b.events[0].kind,
        InstagramKind::Seen {
            mid: Some("random_mid".to_owned())
        }
    );
    let referral = b.events[2].event.referral.as_ref().unwrap();
    assert_eq!(referral.data_ref.as_deref(), Some("random_ref"));
    assert!(b.quarantined[0].reason.contains("`messages` has no value"));
    let mixed = parse("22");
    assert_eq!(mixed.events[0].account_id, ACCOUNT);
    let postback = mixed.events[1].event.postback.as_ref().unwrap();
    assert_eq!(
        postback.referral.as_ref().unwrap().data_ref.as_deref(),
        Some("spring")
    );
    assert!(mixed.quarantined[0].reason.contains("no field"));
    assert_eq!(mixed.quarantined[0].index, 1);
}

#[test]
fn comments_name_the_commenter_the_text_and_the_media() {
    let b = parse("16");
    let c = &b.comments[0];
    assert_eq!(c.account_id, ACCOUNT);
    assert_eq!(c.field, "comments");
    assert_eq!(c.id, "17900000000000017");
    assert_eq!(c.from_id.as_deref(), Some("6543210987654321"));
    assert_eq!(c.from_username.as_deref(), Some("a_customer"));
    assert_eq!(c.text.as_deref(), Some("How much is it?"));
    assert_eq!(c.media_id.as_deref(), Some("17900000000000016"));
    assert_eq!(c.media_product_type.as_deref(), Some("FEED"));
    assert_eq!(c.parent_id, None);
    assert_eq!(c.time, 1_764_400_000_100, "milliseconds are kept");
    assert_eq!(c.raw["from"]["username"], "a_customer");

    let b = parse("23");
    let fields: Vec<&str> = b.comments.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["live_comments", "comments"]);
    assert_eq!(b.comments[0].media_product_type.as_deref(), Some("LIVE"));
    assert_eq!(b.comments[1].index, 1);
    assert_eq!(
        b.comments[1].parent_id.as_deref(),
        Some("17900000000000017")
    );
    assert_eq!(
        b.comments[1].time, 1_764_400_001_000,
        "seconds are read as milliseconds"
    );
    assert_ne!(b.comments[0].dedupe_key(), b.comments[1].dedupe_key());

    let b = parse("24");
    assert!(b.comments.is_empty());
    assert!(
        b.quarantined[0].reason.contains("no id"),
        "{:?}",
        b.quarantined
    );
    assert!(b.quarantined[1].reason.contains("`comments` has no value"));
}

#[test]
fn quarantine_says_why_and_keeps_the_raw_element() {
    let delivery = parse("17");
    assert!(delivery.quarantined[0]
        .reason
        .contains("no delivery receipts"));
    assert!(delivery.quarantined[0].raw.get("delivery").is_some());
    let unknown = parse("18");
    assert!(unknown.quarantined[0].reason.contains("something_new"));
    assert_eq!(unknown.quarantined[1].index, 1);
    assert!(parse("20").quarantined[0].reason.contains("\"page\""));
    for bad in [
        &b"{"[..],
        b"[1]",
        b"{\"object\":\"instagram\"}",
        b"{\"object\":\"instagram\",\"entry\":[]}",
    ] {
        let b = InstagramBody::parse(bad);
        assert!(b.events.is_empty());
        assert_eq!(b.quarantined.len(), 1, "{}", String::from_utf8_lossy(bad));
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{0,20}".prop_map(Value::String),
        "\\PC{0,8}".prop_map(Value::String),
        Just(Value::String("instagram".to_owned())),
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

/// Every JSON pointer into `v` (the root included).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// A corpus body with one node replaced by arbitrary JSON (or removed from its parent).
fn mutated() -> impl Strategy<Value = Value> {
    let bodies: Vec<Value> = corpus()
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    (
        proptest::sample::select(bodies),
        any::<proptest::sample::Index>(),
        any_json(),
        any::<bool>(),
    )
        .prop_map(|(mut body, index, replacement, remove)| {
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            let at = index.get(&all).clone();
            match at.rsplit_once('/') {
                Some((parent, key)) if remove => match body.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            a.remove(i);
                        }
                    }
                    _ => {}
                },
                _ => {
                    if let Some(node) = body.pointer_mut(&at) {
                        *node = replacement;
                    }
                }
            }
            body
        })
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let b = InstagramBody::parse(bytes);
    prop_assert!(
        !(b.events.is_empty() && b.comments.is_empty() && b.quarantined.is_empty()),
        "neither events, comments nor a quarantine reason"
    );
    for q in &b.quarantined {
        prop_assert!(!q.reason.is_empty());
    }
    for e in &b.events {
        prop_assert!(!e.account_id.is_empty());
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check(&bytes)?;
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        check(&serde_json::to_vec(&v).unwrap())?;
    }

    #[test]
    fn mutated_instagram_bodies_never_panic(v in mutated()) {
        check(&serde_json::to_vec(&v).unwrap())?;
    }
}
