//! Validation never panics, on any JSON value and on mutated seed examples, and what it accepts
//! the mapping can send.

use std::path::PathBuf;
use std::sync::OnceLock;

use messenger_model::graph::Recipient;
use messenger_model::{plan_graph_sends, Channel, Timestamp};
use messenger_validate::{
    check_window, validate_graph_message, validate_json, validate_request, Policy, Window,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Strings that steer random JSON into the validator's known paths.
const WORDS: &[&str] = &[
    "to",
    "body",
    "title",
    "messageParts",
    "channelOptions",
    "customBody",
    "rules",
    "expiresOn",
    "metadata",
    "conversationId",
    "profileId",
    "fbMessengerId",
    "phoneNumber",
    "mobileNumber",
    "fbMessenger",
    "sms",
    "messagingType",
    "messageTag",
    "MESSAGE_TAG",
    "RESPONSE",
    "UPDATE",
    "HUMAN_AGENT",
    "SHIPPING_UPDATE",
    "type",
    "url",
    "data",
    "size",
    "channels",
    "name",
    "text/plain",
    "image/png",
    "https://example.com/a.png",
    "ftp://x",
    "aGk=",
    "text",
    "attachment",
    "payload",
    "template",
    "image",
    "template_type",
    "generic",
    "button",
    "media",
    "receipt",
    "elements",
    "buttons",
    "postback",
    "web_url",
    "phone_number",
    "quick_replies",
    "content_type",
    "user_email",
    "summary",
    "total_cost",
    "price",
    "recipient_name",
    "2026-01-31T12:00:00Z",
    "447123123123",
    "",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The well-formed seed examples, read once.
fn seeds() -> &'static [Value] {
    static SEEDS: OnceLock<Vec<Value>> = OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-examples");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".malformed.json"))
        .collect();
    names.sort();
    let seeds: Vec<Value> = names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(seeds.len(), 9);
    seeds
}

/// Every node of `v` as a path of keys and indices.
fn paths(v: &Value, here: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                here.push(PathStep::Key(k.clone()));
                paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                here.push(PathStep::Index(i));
                paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn node_mut<'v>(v: &'v mut Value, path: &[PathStep]) -> &'v mut Value {
    path.iter().fold(v, |v, step| match step {
        PathStep::Key(k) => &mut v[k.as_str()],
        PathStep::Index(i) => &mut v[*i],
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the node by a random value.
    Replace(Value),
    /// Delete the node (from its object or array).
    Delete,
    /// Add a key to the node, if it is an object.
    AddKey(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        json_value().prop_map(Mutation::Replace),
        Just(Mutation::Delete),
        (word(), json_value()).prop_map(|(k, v)| Mutation::AddKey(k, v)),
    ]
}

fn mutate(v: &mut Value, pick: usize, m: Mutation) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = &all[pick % all.len()];
    match m {
        Mutation::Replace(new) => *node_mut(v, path) = new,
        Mutation::Delete => {
            if let Some((last, parent)) = path.split_last() {
                match (node_mut(v, parent), last) {
                    (Value::Object(o), PathStep::Key(k)) => {
                        o.shift_remove(k);
                    }
                    (Value::Array(a), PathStep::Index(i)) => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        Mutation::AddKey(k, new) => {
            if let Value::Object(o) = node_mut(v, path) {
                o.insert(k, new);
            }
        }
    }
}

fn policy() -> Policy {
    Policy {
        window: Window::Closed {
            last_inbound: Some("2026-05-08T12:00:00Z".parse().unwrap()),
        },
        customer_matching: true,
        now: "2026-05-10T12:00:00Z".parse::<Timestamp>().unwrap(),
    }
}

/// Validates `v` and checks the invariants every answer must keep.
fn check(v: &Value) -> Result<(), TestCaseError> {
    let p = policy();
    match validate_json(v, &p) {
        Err(e) => {
            let list = e.violations();
            prop_assert!(!list.is_empty());
            prop_assert!(list.len() <= 101);
            for violation in list {
                // The structural pass names every shape problem: the serde fallback never shows.
                prop_assert_ne!(
                    violation.code.as_str(),
                    "json.shape",
                    "{:?}\n{}",
                    violation,
                    v
                );
                prop_assert!(violation.pointer.is_empty() || violation.pointer.starts_with('/'));
                if let Some(value) = &violation.value {
                    prop_assert!(value.chars().count() <= 101);
                }
            }
        }
        Ok(req) => {
            // Accepted means consistent and sendable.
            prop_assert!(validate_request(&req, &p).is_ok());
            let _ = check_window(&req, &p);
            if req.rules.contains(&Channel::FbMessenger) {
                let plan = plan_graph_sends(&req, &Recipient::psid("1"));
                prop_assert!(plan.is_ok(), "{:?}\n{}", plan, v);
                for mut send in plan.unwrap_or_default() {
                    if send.upload.is_some() {
                        send.set_attachment_id("att-1");
                    }
                    let msg = send.request.message.unwrap_or_default();
                    let found = validate_graph_message(&msg, "/message");
                    prop_assert!(found.is_empty(), "{:?}\n{}", found, v);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_json_value_gets_an_answer(v in json_value()) {
        check(&v)?;
    }

    #[test]
    fn any_object_with_a_to_gets_an_answer(
        to in json_value(),
        fields in prop::collection::vec((word(), json_value()), 0..10),
    ) {
        let mut m: Map<String, Value> = fields.into_iter().collect();
        m.insert("to".into(), to);
        check(&Value::Object(m))?;
    }

    #[test]
    fn mutated_seeds_get_an_answer(
        seed in 0usize..9,
        mutations in prop::collection::vec((any::<usize>(), mutation()), 1..4),
    ) {
        let mut v = seeds()[seed].clone();
        for (pick, m) in mutations {
            mutate(&mut v, pick, m);
        }
        check(&v)?;
    }
}

#[test]
fn unmutated_seeds_pass() {
    let p = Policy {
        window: Window::Unchecked,
        ..policy()
    };
    let accepted = seeds()
        .iter()
        .filter(|s| validate_json(s, &p).is_ok())
        .count();
    // 07 and 08 use retired tags.
    assert_eq!(accepted, 7);
}
