//! Problem documents quote a client's input only up to a bounded length and list a bounded
//! number of errors (the rest counted in `moreErrors`): a 60 KB query or a body with thousands
//! of bad fields gets an answer of a few kilobytes that still names the fields.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::harness::*;

/// The most a problem document may weigh here.
const FEW_KB: usize = 8 * 1024;

#[track_caller]
fn assert_bounded(answer: &Answer, status: u16) -> Value {
    let p = answer.problem(status);
    assert!(
        answer.text.len() < FEW_KB,
        "a problem of {} bytes: {}...",
        answer.text.len(),
        &answer.text[..answer.text.len().min(600)]
    );
    p
}

#[tokio::test]
async fn a_60_kb_listing_query_gets_a_few_kb_naming_the_parameters() {
    let env = Env::start().await;
    // Thousands of unknown parameters, one huge value and one huge parameter name.
    let mut query: String = (0..6_000).map(|i| format!("p{i}=x&")).collect();
    query.push_str(&format!("status={}&", "z".repeat(7_000)));
    query.push_str(&format!("{}=1", "n".repeat(7_000)));
    assert!(query.len() > 60_000 && query.len() < 65_000);
    let answer = env
        .get(&format!("/apispaces/{SPACE_A}/messages?{query}"), KEY_A)
        .await;
    let p = assert_bounded(&answer, 400);
    let errors = p["errors"].as_array().unwrap();
    assert!(!errors.is_empty() && errors.len() <= 10, "{p}");
    assert_eq!(errors[0]["code"], "query.unknown");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("\"p0\""),
        "{p}"
    );
    // 6,000 unknown names, the bad status and the unknown long name: 6,002 in all.
    assert_eq!(
        p["moreErrors"].as_u64().unwrap() + errors.len() as u64,
        6_002,
        "{p}"
    );
    assert!(p["detail"].as_str().unwrap().contains("more"), "{p}");
}

#[tokio::test]
async fn a_long_value_is_quoted_only_in_part() {
    let env = Env::start().await;
    let long = "q".repeat(50_000);
    let answer = env
        .get(
            &format!("/apispaces/{SPACE_A}/messages?status={long}"),
            KEY_A,
        )
        .await;
    let p = assert_bounded(&answer, 400);
    assert_eq!(p["errors"][0]["code"], "query.status");
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&"q".repeat(60)), "{message}");
    assert!(!message.contains(&"q".repeat(65)), "{message}");
    assert!(p.get("moreErrors").is_none(), "{p}");
}

#[tokio::test]
async fn thousands_of_bad_fields_in_a_body_get_a_few_kb() {
    let env = Env::start().await;
    let mut body = Map::new();
    body.insert("to".into(), json!({"profileId": "alice"}));
    body.insert("body".into(), json!("hello"));
    for i in 0..3_000 {
        body.insert(format!("field{i:05}"), json!(i));
    }
    body.insert("k".repeat(10_000), json!(1));
    assert!(Value::Object(body.clone()).to_string().len() < 64 * 1024);
    let answer = env.send(SPACE_A, KEY_A, &Value::Object(body)).await;
    let p = assert_bounded(&answer, 400);
    let errors = p["errors"].as_array().unwrap();
    assert!(errors.len() <= 10, "{p}");
    assert!(p["moreErrors"].as_u64().unwrap() > 0, "{p}");
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap().starts_with("/field0")),
        "the fields are named: {p}"
    );

    // A batch of a thousand bad requests.
    let batch: Vec<Value> = (0..1_000)
        .map(|i| json!({"to": {"profileId": "alice"}, "body": "hi", format!("x{i}"): 1, "k".repeat(300): 2}))
        .collect();
    let answer = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/messages/batch"),
            KEY_A,
            &Value::Array(batch).to_string(),
        )
        .await;
    let p = assert_bounded(&answer, 400);
    assert!(p["moreErrors"].as_u64().unwrap() >= 1_990, "{p}");
    assert!(
        p["errors"][0]["path"].as_str().unwrap().starts_with("/0/"),
        "{p}"
    );

    // A profile with thousands of unknown facebook fields.
    let mut facebook = Map::new();
    for i in 0..3_000 {
        facebook.insert(format!("f{i}"), json!("x"));
    }
    let answer = env
        .json(
            Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/alice"),
            KEY_A,
            &json!({"facebook": facebook}).to_string(),
        )
        .await;
    let p = assert_bounded(&answer, 400);
    assert!(p["errors"][0]["path"]
        .as_str()
        .unwrap()
        .starts_with("/facebook/f"));
    assert!(p["moreErrors"].as_u64().unwrap() >= 2_990, "{p}");
}
