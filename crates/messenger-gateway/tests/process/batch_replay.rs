//! A batch retried with its `Idempotency-Key` after `kill -9`: the replay answers the first
//! response and queues nothing, so no message is sent twice.

use std::time::Duration;

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{echoing_sim_and_config, http, metrics_text, wait_all_sent, Dispatch, KEY, SPACE};

/// `POST .../messages/batch` with `key` and the raw `body`: status, `Idempotent-Replayed`,
/// and the answer.
async fn post_keyed(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &[u8],
) -> (u16, Option<String>, String) {
    let res = http
        .post(format!("{base}/apispaces/{SPACE}/messages/batch"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(body.to_vec())
        .send()
        .await
        .expect("POST .../messages/batch");
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, replayed, res.text().await.expect("an answer"))
}

fn ids(answer: &str) -> Vec<String> {
    let list: Vec<serde_json::Value> = serde_json::from_str(answer).expect("a JSON array");
    list.iter()
        .map(|a| a["messageId"].as_str().expect("messageId").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_replayed_after_kill_9_sends_each_message_once() {
    let dir = Workdir::new();
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 5,
    };
    let (sim, config) = echoing_sim_and_config(&dir, dispatch).await;
    let plan = Plan {
        recipients: 20,
        per_recipient: 10,
    };
    let body = serde_json::to_vec(&plan.requests(0..plan.per_recipient)).expect("JSON");
    let http = http();

    let mut gateway = GatewayProcess::start(&dir, "1-killed", &config).await;
    let (status, replayed, first) = post_keyed(&http, &gateway.base, "run-7", &body).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(replayed, None);
    // The client's request timed out right after the 202 was written; the process dies.
    gateway.kill9();

    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    let (status, replayed, again) = post_keyed(&http, &gateway.base, "run-7", &body).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(ids(&again), ids(&first), "the first response, again");
    let (status, _, conflict) =
        post_keyed(&http, &gateway.base, "run-7", &body[..body.len() - 1]).await;
    assert_eq!(status, 400, "not JSON any more: {conflict}");
    let other: Vec<serde_json::Value> = plan.requests(0..1);
    let other = serde_json::to_vec(&other).expect("JSON");
    let (status, _, conflict) = post_keyed(&http, &gateway.base, "run-7", &other).await;
    assert_eq!(status, 409, "{conflict}");

    wait_all_received(&sim, plan, Duration::from_secs(60)).await;
    wait_all_sent(&http, &gateway.base, &ids(&first), Duration::from_secs(30)).await;
    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    // The restarted process accepted nothing: the replay queued no message.
    let metrics = metrics_text(&http, &gateway.base).await;
    assert!(
        !metrics.contains("messenger_gateway_messages_accepted_total{"),
        "the replay queued messages: {}",
        metrics
            .lines()
            .filter(|l| l.contains("accepted"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
