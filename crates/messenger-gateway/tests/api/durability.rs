//! What "nothing lost" means (docs/design.md §7): an accepted message survives a restart and is
//! sent after it; two instances on one database never send a message twice, and one recipient's
//! messages leave in the order they were accepted.

use std::time::Duration;

use graph_sim::{Fault, FaultRule};
use reqwest::Method;
use serde_json::json;

use crate::harness::*;
use messenger_test_support::wait;

#[tokio::test]
async fn a_message_accepted_before_a_restart_is_sent_after_it() {
    let mut env = Env::start().await;
    env.inbound("24000000000601").await;
    // Graph is down: the message is accepted, tried, and put back to retry.
    env.sim
        .fault(FaultRule::global(Fault::ServerError { status: 503 }));
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"fbMessengerId": "24000000000601"}, "body": "survives", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..250 {
        if env.message(&id).await["status"] == "retrying" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(env.message(&id).await["status"], "retrying");

    env.restart().await;
    env.sim.clear_faults();
    let m = env.settled(&id).await;
    assert_eq!(m["status"], "sent", "{m}");
    let sent = env.sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(m["graphMessageIds"], json!([sent[0].mid]));
}

#[tokio::test]
async fn a_second_gateway_on_the_same_sqlite_file_is_refused() {
    let env = Env::start().await;
    match env.try_another_instance().await {
        Err(e @ messenger_gateway::GatewayError::DatabaseInUse { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("messenger.db is in use by another messenger-gateway process")
                    && text.contains(&format!("(process {})", std::process::id())),
                "{text}"
            );
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("two gateways own one SQLite file"),
    }
    // The first one serves on.
    let ready = env
        .http
        .get(format!("{}/readyz", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn two_instances_send_each_message_once_and_in_order() {
    let env = Env::start().await;
    let second = env.instance_sharing_the_store().await;
    env.inbound("24000000000602").await;
    let n = 40;
    for i in 0..n {
        // Alternate between the instances' APIs.
        let base = if i % 2 == 0 {
            env.base.clone()
        } else {
            format!("http://{}", second.addr)
        };
        let res = env
            .http
            .post(format!("{base}/apispaces/{SPACE_A}/messages"))
            .bearer_auth(KEY_A)
            .json(&json!({"to": {"fbMessengerId": "24000000000602"}, "body": format!("message {i}"), "rules": ["fbMessenger"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    wait::until(
        "every message reaches Graph",
        Duration::from_millis(20),
        || async {
            let sent = env.sim.sent_messages().len();
            if sent >= n {
                Ok(())
            } else {
                Err(format!("{sent} of {n}"))
            }
        },
    )
    .await;
    // A witness after them, to the same customer: once it is sent, both instances' rounds
    // have passed the others (one customer's messages go in order).
    let res = env
        .http
        .post(format!("http://{}/apispaces/{SPACE_A}/messages", second.addr))
        .bearer_auth(KEY_A)
        .json(&json!({"to": {"fbMessengerId": "24000000000602"}, "body": "witness", "rules": ["fbMessenger"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    wait::until(
        "the witness reaches Graph",
        Duration::from_millis(20),
        || async {
            let sent = env.sim.sent_messages().len();
            if sent > n {
                Ok(())
            } else {
                Err(format!("{sent} of {}", n + 1))
            }
        },
    )
    .await;
    let texts: Vec<String> = env
        .sim
        .sent_messages()
        .iter()
        .map(|s| s.request.message.as_ref().unwrap().text.clone().unwrap())
        .collect();
    let mut expected: Vec<String> = (0..n).map(|i| format!("message {i}")).collect();
    expected.push("witness".to_owned());
    assert_eq!(texts, expected, "each once, in acceptance order");
    second.shutdown().await;
    let h = env.call(Method::GET, "/healthz", None, &[], None).await;
    assert_eq!(h.status, 200);
}
