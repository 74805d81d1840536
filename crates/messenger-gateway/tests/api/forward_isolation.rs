//! Forwarding isolated per target (decision 0014): a business webhook that hangs until its
//! timeout delays only its own space's events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

/// A webhook that accepts connections and never answers (holding each one open).
async fn hanging_webhook() -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            held.push(socket);
        }
    });
    (url, accepted)
}

/// Space B's webhook: each inbound text's lag, its arrival minus its event's `timestamp`.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<HashMap<String, Duration>>>);

async fn arrive(State(a): State<Arrivals>, body: Bytes) -> StatusCode {
    let arrived = messenger_model::Timestamp::now().millis();
    let event: Value = serde_json::from_slice(&body).unwrap();
    let at: messenger_model::Timestamp =
        serde_json::from_value(event["timestamp"].clone()).unwrap();
    let lag = Duration::from_millis(u64::try_from(arrived - at.millis()).unwrap_or(0));
    if let Some(text) = event["payload"]["text"].as_str() {
        a.0.lock().unwrap().entry(text.to_owned()).or_insert(lag);
    }
    StatusCode::OK
}

async fn arrivals_webhook() -> (Arrivals, String) {
    let arrivals = Arrivals::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(arrive))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (arrivals, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_webhook_delays_only_its_own_space() {
    const EVENTS: usize = 60;
    let (hang_url, hung) = hanging_webhook().await;
    let (arrivals, b_url) = arrivals_webhook().await;
    let hook_b = format!(
        "keys = [\"{KEY_B}\"]\n[spaces.webhook]\nurl = \"{b_url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.inbound\"]\n"
    );
    // A's webhook: the default 10 s timeout, at most 4 requests at once.
    let env = Env::start_edited("", &webhook_toml(&hang_url, "max_in_flight = 4\n"), |t| {
        t.replacen(&format!("keys = [\"{KEY_B}\"]\n"), &hook_b, 1)
    })
    .await;

    // Both pages' users write, one message each 100 ms: A's events hang, B's must not wait.
    let mut posted = HashMap::new();
    let started = Instant::now();
    for i in 0..EVENTS {
        let a = env
            .sim
            .post_inbound_text(
                PAGE_A,
                &format!("2400000000{:04}", 9000 + i),
                &format!("a{i}"),
            )
            .await
            .unwrap();
        assert_eq!(a, 200);
        let text = format!("b{i}");
        posted.insert(text.clone(), started.elapsed());
        let b = env
            .sim
            .post_inbound_text(PAGE_B, &format!("2400000000{:04}", 8000 + i), &text)
            .await
            .unwrap();
        assert_eq!(b, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every event of B arrives while A's webhook still hangs (the order is what is asserted;
    // the cap only guards against hanging, and the lag is printed as a figure).
    tokio::time::timeout(messenger_test_support::wait::HANG_GUARD, async {
        while arrivals.0.lock().unwrap().len() < EVENTS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "B's events did not all arrive: {} of {EVENTS}",
            arrivals.0.lock().unwrap().len()
        )
    });
    let mut lags: Vec<Duration> = {
        let got = arrivals.0.lock().unwrap();
        posted.keys().map(|text| got[text]).collect()
    };
    lags.sort_unstable();
    let p99 = lags[(lags.len() * 99).div_ceil(100) - 1];
    eprintln!(
        "space B's events while A's webhook hangs: {} events, p50 {:?}, p99 {p99:?}",
        lags.len(),
        lags[lags.len() / 2]
    );

    // A's webhook holds its 4 requests and no more; its lag shows.
    let m = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert_eq!(
        metric(
            &m,
            &format!("messenger_gateway_forward_in_flight{{space=\"{SPACE_A}\"}}")
        ),
        4,
        "{m}"
    );
    assert!(*hung.lock().unwrap() <= 4 * 2, "more requests than slots");
    let lag_a = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "messenger_gateway_forward_oldest_pending_seconds{{space=\"{SPACE_A}\"}} "
            ))
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no lag for {SPACE_A}: {m}"));
    assert!(lag_a >= 5.0, "A's oldest event waits: {lag_a}");
    let lag_b = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "messenger_gateway_forward_oldest_pending_seconds{{space=\"{SPACE_B}\"}} "
            ))
        })
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert_eq!(lag_b, Some(0.0), "{m}");
}
