//! Sends per second from one GraphClient to graph-sim over loopback HTTP with 64 requests in
//! flight, next to a bare reqwest loop posting the same JSON to the same simulator.
//!
//! `cargo bench -p messenger-graph --bench throughput`; figures go to docs/performance.md.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use graph_sim::GraphSim;
use hmac::{Hmac, Mac};
use messenger_graph::GraphClient;
use messenger_model::graph::{GraphSendRequest, Message, Recipient};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use sha2::Sha256;
use std::sync::Arc;

const PAGE_ID: &str = "100200300400500";
const TOKEN: &str = "EAAG-bench-page-token";
const APP_SECRET: &str = "bench-app-secret";
const IN_FLIGHT: u64 = 64;
/// Sends per measured iteration (each of the 64 workers sends BATCH / 64 in sequence).
const BATCH: u64 = IN_FLIGHT * 100;

fn request() -> GraphSendRequest {
    GraphSendRequest::message(
        Recipient::psid("1000000000000001"),
        Message::text("Your order #1234 has shipped and will arrive tomorrow."),
    )
}

/// Runs `total` sends on 64 concurrent workers; returns the wall time.
async fn in_flight<F, Fut>(total: u64, send: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let per_worker = total.div_ceil(IN_FLIGHT);
    let started = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let send = send.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    send().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    started.elapsed()
}

fn sends_per_second(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = rt.block_on(async {
        GraphSim::builder()
            .page(PAGE_ID, TOKEN)
            .app_secret(APP_SECRET)
            .record_requests(false)
            .start()
            .await
            .expect("graph-sim")
    });
    let client = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .build()
        .expect("client");

    let bare = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("reqwest");
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
    mac.update(TOKEN.as_bytes());
    let url = format!(
        "{}/v26.0/me/messages?appsecret_proof={}",
        sim.base_url(),
        hex::encode(mac.finalize().into_bytes())
    );
    let body = bytes::Bytes::from(serde_json::to_vec(&request()).expect("json"));
    let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("header");

    // Both paths must really succeed, or the figures mean nothing.
    rt.block_on(async {
        client.send(&request()).await.expect("client send works");
        let r = bare
            .post(&url)
            .header(AUTHORIZATION, bearer.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("bare send works");
        assert!(r.status().is_success(), "bare send: HTTP {}", r.status());
    });

    let mut group = c.benchmark_group("sends_per_second");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));

    let req = Arc::new(request());
    group.bench_function("graph_client", |b| {
        b.iter_custom(|iters| {
            let (client, req) = (client.clone(), Arc::clone(&req));
            rt.block_on(in_flight(iters * BATCH, move || {
                let (client, req) = (client.clone(), Arc::clone(&req));
                async move {
                    let sent = client.send(&req).await.expect("send");
                    assert!(sent.message_id.is_some());
                }
            }))
        })
    });

    group.bench_function("bare_reqwest", |b| {
        b.iter_custom(|iters| {
            let (bare, url, body, bearer) =
                (bare.clone(), url.clone(), body.clone(), bearer.clone());
            rt.block_on(in_flight(iters * BATCH, move || {
                let (bare, url, body, bearer) =
                    (bare.clone(), url.clone(), body.clone(), bearer.clone());
                async move {
                    let r = bare
                        .post(url)
                        .header(AUTHORIZATION, bearer)
                        .header(CONTENT_TYPE, "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("send");
                    assert!(r.status().is_success());
                    let _ = r.bytes().await.expect("body");
                }
            }))
        })
    });
    group.finish();

    let sent = sim.sent_count();
    rt.block_on(sim.shutdown());
    println!("graph-sim accepted {sent} sends in all");
}

criterion_group!(benches, sends_per_second);
criterion_main!(benches);
