//! What one caller may ask: a space over its `api_rate` gets 429 with `Retry-After` (each
//! message of a batch counts) while another space is unaffected; past `server.max_in_flight`
//! requests, 503 with `Retry-After`.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;
use messenger_test_support::wait;

async fn space_a_with_rate() -> Env {
    Env::start_edited("", "", |toml| {
        toml.replacen(
            &format!("keys = [\"{KEY_A}\"]\n"),
            &format!("keys = [\"{KEY_A}\"]\napi_rate = 2\napi_burst = 4\n"),
            1,
        )
    })
    .await
}

#[tokio::test]
async fn a_space_over_its_rate_gets_429_and_others_do_not() {
    let env = space_a_with_rate().await;
    let path = format!("/apispaces/{SPACE_A}/profiles/nobody");
    for _ in 0..4 {
        assert_eq!(env.get(&path, KEY_A).await.status, 404, "within the burst");
    }
    let over = env.get(&path, KEY_A).await;
    let p = over.problem(429);
    assert_eq!(p["type"], "/problems/rate-limited");
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Space B has no rate: unaffected.
    for _ in 0..20 {
        let b = env
            .get(&format!("/apispaces/{SPACE_B}/profiles/nobody"), KEY_B)
            .await;
        assert_eq!(b.status, 404);
    }
    // A batch counts each message: once the bucket has refilled, a batch of 3 takes 3 of the
    // 4 tokens, and the next request of 2 messages is over.
    env.advance(Duration::from_millis(2_100));
    let msg = |t: &str| json!({"to": {"fbMessengerId": "24000000000901"}, "body": t, "rules": ["fbMessenger"]});
    let batch = |n: usize| {
        let body: Vec<_> = (0..n).map(|i| msg(&format!("q{i}"))).collect();
        serde_json::to_string(&body).unwrap()
    };
    env.inbound("24000000000901").await;
    let path = format!("/apispaces/{SPACE_A}/messages/batch");
    let first = env.json(Method::POST, &path, KEY_A, &batch(3)).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let second = env.json(Method::POST, &path, KEY_A, &batch(2)).await;
    second.problem(429);
}

#[tokio::test]
async fn past_max_in_flight_requests_are_shed_with_503() {
    let env = Env::start_configured("max_in_flight = 1", "").await;
    // Hold the one place with a request whose body never finishes arriving.
    let addr = env.base.trim_start_matches("http://").to_owned();
    let mut held = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::AsyncWriteExt;
    held.write_all(
        format!(
            "PUT /apispaces/{SPACE_A}/profiles/held HTTP/1.1\r\nhost: x\r\n\
             authorization: Bearer {KEY_A}\r\ncontent-type: application/json\r\n\
             content-length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // Once the held request has its place, the next one is shed.
    let shed = b_answers(&env, 503).await;
    shed.problem(503);
    assert_eq!(shed.header("retry-after"), Some("1"));
    // Probes are always answered.
    assert_eq!(
        env.call(Method::GET, "/healthz", None, &[], None)
            .await
            .status,
        200
    );
    let metrics = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert!(
        metric(&metrics, "messenger_gateway_requests_shed_total") >= 1,
        "{metrics}"
    );
    drop(held);
    // The place is free again once the gateway has seen the connection close.
    b_answers(&env, 404).await;
}

/// Asks space B for a profile until the gateway answers `status` (503 while its place is taken,
/// 404 once it is free).
async fn b_answers(env: &Env, status: u16) -> Answer {
    wait::until("space B's answer", Duration::from_millis(20), || async {
        let r = env
            .get(&format!("/apispaces/{SPACE_B}/profiles/nobody"), KEY_B)
            .await;
        if r.status == status {
            Ok(r)
        } else {
            Err(format!("{}: {}", r.status, r.text))
        }
    })
    .await
}
