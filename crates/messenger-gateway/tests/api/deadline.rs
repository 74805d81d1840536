//! A delivery deadline. With `channelOptions.fbMessenger.deliveryTimeout`, a
//! message Messenger has not reported delivered in time is sent by the next rule (SMS here);
//! one delivered in time is not; a late Messenger receipt is still reported.

use std::time::Duration;

use messenger_model::Timestamp;
use messenger_test_support::wait;
use serde_json::{json, Value};

use crate::harness::*;

const PHONE: &str = "+447700900555";
const WITNESS_PHONE: &str = "+447700900999";

fn timed_request(psid: &str, secs: u64) -> Value {
    json!({
        "to": {"fbMessengerId": psid, "mobileNumber": PHONE},
        "body": "your table is ready",
        "channelOptions": {"fbMessenger": {"deliveryTimeout": secs}},
        "rules": ["fbMessenger", "sms"],
    })
}

fn all_events() -> String {
    webhook_toml("{url}", "").replace(
        "subscriptions = [\"message.sent\", \"message.inbound\"]",
        "subscriptions = [\"message.sent\", \"message.delivered\", \"message.read\"]",
    )
}

/// Polls the message until `done` holds.
async fn wait_until(env: &Env, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    wait::until(
        "the message reaches the state",
        Duration::from_millis(20),
        || async {
            let m = env.message(id).await;
            if done(&m) {
                Ok(m)
            } else {
                Err(m.to_string())
            }
        },
    )
    .await
}

/// Waits until the deadline pass has gone past `secs` seconds from now: a witness message with
/// that deadline, sent now to a customer who never gets it delivered, is sent by SMS (to a number
/// of its own). Deadlines fire in the order they fall, so every deadline before the witness's has
/// been looked at by then: what a test asserts afterwards is not a guess about how long to wait.
/// The gateway's clock is moved `secs` forward once the witness is on Messenger, instead of the
/// test waiting for them.
async fn deadline_pass_beyond(env: &Env, psid: &str, secs: u64) {
    env.inbound(psid).await;
    let mut witness = timed_request(psid, secs);
    witness["to"]["mobileNumber"] = json!(WITNESS_PHONE);
    let w = env.send(SPACE_A, KEY_A, &witness).await;
    assert_eq!(w.status, 201, "{}", w.text);
    let id = w.json()["id"].as_str().unwrap().to_owned();
    wait_until(env, &id, |m| {
        m["channel"] == "fbMessenger" && m["status"] == "sent"
    })
    .await;
    env.advance(Duration::from_secs(secs));
    wait_until(env, &id, |m| m["channel"] == "sms" && m["status"] == "sent").await;
}

/// The SMS sent to anyone but the witness.
fn sms_to_customers(env: &Env) -> Vec<String> {
    env.sim
        .sms_messages()
        .into_iter()
        .map(|s| s.to)
        .filter(|to| to != WITNESS_PHONE)
        .collect()
}

/// Waits until the business has received `n` events for message `id`.
async fn events_reach(receiver: &Receiver, id: &str, n: usize) {
    wait::until(
        "the business has the events",
        Duration::from_millis(20),
        || async {
            let got = events_of(receiver, id);
            if got.len() >= n {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        },
    )
    .await;
}

/// `(name, channel)` of each event the business received for message `id`, in order.
fn events_of(receiver: &Receiver, id: &str) -> Vec<(String, String)> {
    receiver
        .events()
        .into_iter()
        .flat_map(|(_, body)| match body {
            Value::Array(items) => items,
            one => vec![one],
        })
        .filter(|e| e["payload"]["messageId"] == id)
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["payload"]["channel"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_customer_messenger_never_delivers_to_gets_the_sms_after_the_deadline() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&all_events().replace("{url}", &url)).await;
    let psid = "24000000001401";
    env.inbound(psid).await;
    let a = env.send(SPACE_A, KEY_A, &timed_request(psid, 1)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();

    let first = env.settled(&id).await;
    assert_eq!(first["status"], "sent", "{first}");
    assert_eq!(first["channel"], "fbMessenger", "{first}");
    assert!(
        env.sim.sms_messages().is_empty(),
        "no SMS before the deadline"
    );

    // The deadline passes by the gateway's clock.
    env.advance(Duration::from_secs(1));
    let m = wait_until(&env, &id, |m| {
        m["channel"] == "sms" && m["status"] == "sent"
    })
    .await;
    let sms = env.sim.sms_messages();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].to, PHONE);
    assert_eq!(sms[0].body, "your table is ready");
    let trace: Vec<(String, String, String)> = m["ruleTrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["channel"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(trace.len(), 3, "{trace:?}");
    assert_eq!(trace[0].0, "fbMessenger");
    assert_eq!(trace[0].1, "used");
    assert_eq!(
        (
            trace[1].0.as_str(),
            trace[1].1.as_str(),
            trace[1].2.as_str()
        ),
        ("fbMessenger", "failed", "delivery_deadline_missed")
    );
    assert_eq!((trace[2].0.as_str(), trace[2].1.as_str()), ("sms", "used"));
    let history: Vec<&str> = m["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["processing", "sent", "retrying", "sent"]);
    // The deadline counts from the Messenger send.
    let sent_at: Timestamp = serde_json::from_value(m["statusHistory"][1]["at"].clone()).unwrap();
    let missed_at: Timestamp = serde_json::from_value(m["statusHistory"][2]["at"].clone()).unwrap();
    assert!(missed_at.millis() - sent_at.millis() >= 1_000, "{m}");

    // The business hears of both sends, then of Messenger's late delivery.
    receiver.wait_for(2).await;
    events_reach(&receiver, &id, 2).await;
    assert_eq!(
        events_of(&receiver, &id),
        [
            ("message.sent".to_owned(), "fbMessenger".to_owned()),
            ("message.sent".to_owned(), "sms".to_owned()),
        ]
    );
    let watermark = env.now().millis();
    env.sim
        .post_delivery(PAGE_A, psid, watermark, Vec::<String>::new())
        .await
        .unwrap();
    env.webhooks_applied().await;
    let m = env.message(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    events_reach(&receiver, &id, 3).await;
    assert_eq!(
        events_of(&receiver, &id)[2],
        ("message.delivered".to_owned(), "fbMessenger".to_owned())
    );
    // Exactly one SMS: a deadline that fires does not fire again.
    deadline_pass_beyond(&env, "24000000001491", 1).await;
    assert_eq!(sms_to_customers(&env), [PHONE]);
}

#[tokio::test]
async fn a_message_delivered_before_the_deadline_gets_no_sms() {
    let env = Env::start().await;
    let psid = "24000000001402";
    env.inbound(psid).await;
    let a = env.send(SPACE_A, KEY_A, &timed_request(psid, 2)).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    tokio::time::sleep(Duration::from_millis(5)).await;
    env.sim
        .post_delivery(PAGE_A, psid, env.now().millis(), Vec::<String>::new())
        .await
        .unwrap();
    env.webhooks_applied().await;
    assert_eq!(env.message(&id).await["status"], "delivered");

    // Past the deadline: still Messenger's, no SMS, nothing in the trace.
    deadline_pass_beyond(&env, "24000000001492", 2).await;
    let m = env.message(&id).await;
    assert_eq!(m["status"], "delivered", "{m}");
    assert_eq!(m["channel"], "fbMessenger");
    assert_eq!(m["ruleTrace"].as_array().unwrap().len(), 1, "{m}");
    assert!(sms_to_customers(&env).is_empty());

    // A read receipt also counts: a read message gets no SMS either.
    let b = env.send(SPACE_A, KEY_A, &timed_request(psid, 1)).await;
    let id = b.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    tokio::time::sleep(Duration::from_millis(5)).await;
    env.sim
        .post_read(PAGE_A, psid, env.now().millis())
        .await
        .unwrap();
    env.webhooks_applied().await;
    deadline_pass_beyond(&env, "24000000001493", 1).await;
    assert_eq!(env.message(&id).await["status"], "read");
    assert!(sms_to_customers(&env).is_empty());
}

#[tokio::test]
async fn a_delivery_timeout_is_validated_with_codes_and_pointers() {
    let env = Env::start().await;
    let cases = [
        (
            json!(0),
            json!(["fbMessenger", "sms"]),
            "delivery_timeout.range",
        ),
        (
            json!(604_801),
            json!(["fbMessenger", "sms"]),
            "delivery_timeout.range",
        ),
        (
            json!(60),
            json!(["fbMessenger"]),
            "delivery_timeout.no_next_rule",
        ),
        (
            json!(60),
            json!(["sms", "fbMessenger"]),
            "delivery_timeout.no_next_rule",
        ),
        (json!("60"), json!(["fbMessenger", "sms"]), "field.type"),
        (json!(1.5), json!(["fbMessenger", "sms"]), "field.type"),
        (json!(-1), json!(["fbMessenger", "sms"]), "field.type"),
        (json!(1e300), json!(["fbMessenger", "sms"]), "field.type"),
    ];
    for (timeout, rules, code) in cases {
        let body = json!({
            "to": {"fbMessengerId": "24000000001403", "mobileNumber": PHONE},
            "body": "hi",
            "channelOptions": {"fbMessenger": {"deliveryTimeout": timeout}},
            "rules": rules,
        });
        let p = env.send(SPACE_A, KEY_A, &body).await.problem(400);
        let errors = p["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["code"] == code
                    && e["path"] == "/channelOptions/fbMessenger/deliveryTimeout"),
            "{timeout} {rules}: {p}"
        );
    }
}
