//! A space's backlog is bounded in time (`max_backlog_secs` of its page's `send_rate`): past
//! it, sends get 429 with `Retry-After`, a batch that could never fit gets 400, other spaces are
//! unaffected, and once the page has sent, the space is accepted again.

use std::time::Duration;

use graph_sim::{Fault, FaultRule};
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

const USER: &str = "24000000000951";

fn msg(text: &str) -> serde_json::Value {
    json!({"to": {"fbMessengerId": USER}, "body": text, "rules": ["fbMessenger"]})
}

#[tokio::test]
async fn a_full_backlog_refuses_with_429_until_the_page_has_sent() {
    // Room for 3 messages: 1 a second for 3 s.
    let env = Env::start_edited("", "", |toml| {
        toml.replacen(
            &format!("keys = [\"{KEY_A}\"]\n"),
            &format!("keys = [\"{KEY_A}\"]\nsend_rate = 1\nmax_backlog_secs = 3\n"),
            1,
        )
    })
    .await;
    env.inbound(USER).await;
    // Meta fails every send to the user: the messages stay unsent.
    env.sim.fault(FaultRule::recipient(
        USER,
        Fault::ServerError { status: 503 },
    ));
    let path = format!("/apispaces/{SPACE_A}/messages/batch");
    let batch = |n: usize| {
        let body: Vec<_> = (0..n).map(|i| msg(&format!("b{i}"))).collect();
        serde_json::to_string(&body).unwrap()
    };
    let first = env.json(Method::POST, &path, KEY_A, &batch(3)).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let ids: Vec<String> = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["messageId"].as_str().unwrap().to_owned())
        .collect();

    let full = env.send(SPACE_A, KEY_A, &msg("one more")).await;
    let p = full.problem(429);
    assert!(
        p["detail"].as_str().unwrap().contains("backlog is full"),
        "{p}"
    );
    let retry: u64 = full.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    // Larger than the whole backlog: never fits, so a 400, not a 429.
    let never = env.json(Method::POST, &path, KEY_A, &batch(4)).await;
    let p = never.problem(400);
    assert_eq!(p["errors"][0]["code"], "batch.over_backlog", "{p}");
    // Another space has its own backlog.
    env.inbound_to(PAGE_B, "24000000000952", "hello").await;
    let b = env
        .send(
            SPACE_B,
            KEY_B,
            &json!({"to": {"fbMessengerId": "24000000000952"}, "body": "hi", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);

    // Meta recovers; once the three are sent, there is room again.
    env.sim.clear_faults();
    tokio::time::timeout(Duration::from_secs(120), async {
        for id in &ids {
            while env.message(id).await["status"] != "sent" {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
    .await
    .expect("the three are sent once Meta recovers");
    let again = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let a = env.send(SPACE_A, KEY_A, &msg("after")).await;
            if a.status == 201 {
                return a;
            }
            a.problem(429);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("room again once the page has sent");
    assert_eq!(again.status, 201);
}
