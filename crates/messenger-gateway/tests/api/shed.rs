//! An instance whose sending falls behind sheds the space that adds to its backlog, not the quiet
//! one: with Graph answering in a second and one worker leasing one message a round, page A
//! sends far under its rate with a backlog; space A's next messages get 429 with `Retry-After`
//! while space B's are accepted, and once Graph is quick again A is accepted again.

use std::time::Duration;

use graph_sim::{Fault, FaultRule};
use messenger_test_support::wait;
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

fn msg(user: &str, text: &str) -> serde_json::Value {
    json!({"to": {"fbMessengerId": user}, "body": text, "rules": ["fbMessenger"]})
}

#[tokio::test]
async fn a_space_that_adds_more_than_its_page_sends_is_shed_and_a_quiet_one_is_not() {
    let env = Env::start_edited("", "", |toml| {
        toml.replacen("workers = 2\n", "workers = 1\nbatch_size = 1\n", 1)
            .replacen(
                &format!("keys = [\"{KEY_A}\"]\n"),
                &format!("keys = [\"{KEY_A}\"]\nsend_rate = 50\nwindow_check = \"off\"\n"),
                1,
            )
            .replacen(
                &format!("keys = [\"{KEY_B}\"]\n"),
                &format!("keys = [\"{KEY_B}\"]\nwindow_check = \"off\"\n"),
                1,
            )
    })
    .await;
    // Graph answers in a second: one worker's rounds send a few messages a second, far under
    // page A's 50.
    env.sim.fault(FaultRule::global(Fault::Slow {
        delay: Duration::from_secs(1),
    }));
    let batch: Vec<_> = (0..300)
        .map(|i| msg(&format!("2400000000{:04}", 3000 + i), &format!("a{i}")))
        .collect();
    let path = format!("/apispaces/{SPACE_A}/messages/batch");
    let first = env
        .json(
            Method::POST,
            &path,
            KEY_A,
            &serde_json::to_string(&batch).unwrap(),
        )
        .await;
    assert_eq!(first.status, 202, "{}", first.text);

    // Space A is refused once the instance sees it is behind; space B, which adds one message
    // at a time, is accepted all along.
    let mut b_sent = 0;
    let shed = wait::until("space A shed", Duration::from_millis(100), || {
        b_sent += 1;
        let b_text = format!("b{b_sent}");
        let env = &env;
        async move {
            let b = env
                .send(SPACE_B, KEY_B, &msg("24000000004001", &b_text))
                .await;
            assert_eq!(b.status, 201, "the quiet space is never shed: {}", b.text);
            let a = env
                .send(SPACE_A, KEY_A, &msg("24000000004002", "one more"))
                .await;
            match a.status {
                429 => Ok(a),
                _ => Err(format!("{} {}", a.status, a.text)),
            }
        }
    })
    .await;
    let p = shed.problem(429);
    assert!(
        p["detail"].as_str().unwrap().contains("sending is behind"),
        "{p}"
    );
    let retry: u64 = shed.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let metrics = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert!(
        metrics.contains(&format!(
            "messenger_gateway_space_shedding{{space=\"{SPACE_A}\"}} 1"
        )),
        "{metrics}"
    );
    let b = env
        .send(SPACE_B, KEY_B, &msg("24000000004001", "still"))
        .await;
    assert_eq!(b.status, 201, "{}", b.text);

    // Graph is quick again: the backlog goes, the instance keeps up, space A is accepted.
    env.sim.clear_faults();
    wait::until(
        "space A accepted again",
        Duration::from_millis(200),
        || async {
            let a = env
                .send(SPACE_A, KEY_A, &msg("24000000004002", "later"))
                .await;
            match a.status {
                201 => Ok(()),
                _ => Err(format!("{} {}", a.status, a.text)),
            }
        },
    )
    .await;
}
