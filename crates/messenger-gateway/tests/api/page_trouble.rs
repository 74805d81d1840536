//! Trouble stays with its page, and SMS is the fallback for the recipient's trouble only:
//! Meta failing, a throttled page or an expired token make messages wait (never an SMS), while a
//! recipient Messenger cannot reach gets the SMS.

use std::time::Duration;

use graph_sim::{Fault, FaultRule, UsageHeaders};
use messenger_test_support::wait;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// A send to `psid` (window open) on Messenger first, SMS second.
pub(crate) fn with_sms_fallback(psid: &str, text: &str) -> Value {
    json!({
        "to": {"fbMessengerId": psid, "phoneNumber": "+447700900321"},
        "body": text,
        "rules": ["fbMessenger", "sms"],
    })
}

pub(crate) async fn accepted(env: &Env, space: &str, key: &str, body: &Value) -> String {
    let a = env.send(space, key, body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()["id"].as_str().unwrap().to_owned()
}

/// The message `id` of `space`, once it is no longer processing or retrying.
pub(crate) async fn settled_in(env: &Env, space: &str, key: &str, id: &str) -> Value {
    let path = format!("/apispaces/{space}/messages/{id}");
    wait::until("the message settles", Duration::from_millis(50), || async {
        let m = env.get(&path, key).await.json();
        match m["status"].as_str() {
            Some("processing" | "retrying") => Err(m.to_string()),
            _ => Ok(m),
        }
    })
    .await
}

pub(crate) fn trace_text(m: &Value) -> String {
    m["ruleTrace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let (channel, outcome) = (&t["channel"], &t["outcome"]);
            format!("{channel} {outcome} {} {}", t["cause"], t["reason"])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn meta_failing_delays_messages_and_never_sends_them_by_sms() {
    let env = Env::start().await;
    let psid = "24000000000801";
    env.inbound(psid).await;
    // Meta fails for longer than the retry schedule lasts (10 attempts, 20 ms doubling to 1 s:
    // about 4 s), which used to send every message by SMS.
    env.sim
        .fault(FaultRule::global(Fault::ServerError { status: 503 }));
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            accepted(
                &env,
                SPACE_A,
                KEY_A,
                &with_sms_fallback(psid, &format!("o{i}")),
            )
            .await,
        );
    }
    // While the circuit is open, /readyz names the page and its trouble.
    let paused = wait::until(
        "/readyz names a paused page",
        Duration::from_millis(20),
        || async {
            let ready = env
                .call(Method::GET, "/readyz", None, &[], None)
                .await
                .json();
            match ready["pausedPages"].as_array().and_then(|p| p.first()) {
                Some(page) => Ok(page.clone()),
                None => Err(ready.to_string()),
            }
        },
    )
    .await;
    assert_eq!(paused["space"], SPACE_A);
    assert_eq!(paused["trouble"], "platform");
    // Past the retry schedule without waiting for it: the gateway's clock moves past each
    // opening of the circuit and its probe fails, until the first message has been tried more
    // often than the schedule allows (10 attempts).
    for _ in 0..11 {
        env.next_pass(SPACE_A).await;
    }
    for id in &ids {
        let m = env
            .get(&format!("/apispaces/{SPACE_A}/messages/{id}"), KEY_A)
            .await
            .json();
        // The first waits (retrying); the others wait behind it (one recipient's order).
        assert!(
            matches!(m["status"].as_str(), Some("retrying" | "processing")),
            "{m}"
        );
    }
    env.sim.clear_faults();
    // Meta answers again: the next probe (past the circuit's opening) succeeds.
    env.next_pass(SPACE_A).await;
    for id in &ids {
        let m = settled_in(&env, SPACE_A, KEY_A, id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(m["channel"], "fbMessenger", "{}", trace_text(&m));
    }
    assert!(env.sim.sms_messages().is_empty(), "an outage sent SMS");
}

#[tokio::test]
async fn a_recipient_messenger_cannot_reach_gets_the_sms() {
    let env = Env::start().await;
    let psid = "24000000000802";
    env.inbound(psid).await;
    env.sim
        .fault(FaultRule::recipient(psid, Fault::UserUnavailable));
    let id = accepted(&env, SPACE_A, KEY_A, &with_sms_fallback(psid, "u1")).await;
    let m = settled_in(&env, SPACE_A, KEY_A, &id).await;
    assert_eq!(m["status"], "sent");
    assert_eq!(m["channel"], "sms");
    assert!(
        trace_text(&m).contains("\"fbMessenger\" \"failed\" \"recipient_error\""),
        "{}",
        trace_text(&m)
    );
    assert!(
        trace_text(&m).contains("graph.user_unavailable"),
        "{}",
        trace_text(&m)
    );
    assert_eq!(env.sim.sms_messages().len(), 1);
}

#[tokio::test]
async fn a_throttled_page_waits_alone() {
    let env = Env::start().await;
    let (psid_a, psid_b) = ("24000000000803", "24000000000804");
    env.inbound(psid_a).await;
    // Space B's user writes to page B.
    assert_eq!(
        env.sim
            .post_inbound_text(PAGE_B, psid_b, "hi")
            .await
            .unwrap(),
        200
    );
    env.webhooks_applied().await;
    // Page A is throttled once (code 613, no usage headers: the circuit's own pause).
    env.sim.fault(
        FaultRule::recipient(
            psid_a,
            Fault::RateLimit {
                code: 613,
                usage: Some(UsageHeaders::default()),
            },
        )
        .times(1),
    );
    let a = accepted(&env, SPACE_A, KEY_A, &with_sms_fallback(psid_a, "a1")).await;
    let a_second = accepted(&env, SPACE_A, KEY_A, &with_sms_fallback(psid_a, "a2")).await;
    // Wait for the throttle to be met, then page B sends at once.
    let path = format!("/apispaces/{SPACE_A}/messages/{a}");
    wait::until(
        "page A's message retrying",
        Duration::from_millis(20),
        || async {
            let m = env.get(&path, KEY_A).await.json();
            if m["status"] == "retrying" {
                Ok(())
            } else {
                Err(m.to_string())
            }
        },
    )
    .await;
    let b = accepted(
        &env,
        SPACE_B,
        KEY_B,
        &json!({"to": {"fbMessengerId": psid_b}, "body": "b1", "rules": ["fbMessenger"]}),
    )
    .await;
    let mb = settled_in(&env, SPACE_B, KEY_B, &b).await;
    assert_eq!(mb["status"], "sent");
    // Page B's message went out while page A's is still held by A's pause: B did not wait.
    let ma = env
        .get(&format!("/apispaces/{SPACE_A}/messages/{a}"), KEY_A)
        .await
        .json();
    assert_eq!(ma["status"], "retrying", "page B waited for page A: {ma}");
    // Page A's messages go by Messenger once its pause ends; none by SMS.
    for id in [&a, &a_second] {
        let m = settled_in(&env, SPACE_A, KEY_A, id).await;
        assert_eq!(m["channel"], "fbMessenger", "{}", trace_text(&m));
    }
    assert!(env.sim.sms_messages().is_empty());
}
