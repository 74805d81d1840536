//! Throughput of the simulator's hot path: `POST /v21.0/me/messages` from 64 concurrent reqwest
//! tasks over loopback, recording off (as the Graph client benchmark runs it), and with
//! recording on, and against a bare axum handler answering a fixed body (the floor the machine
//! allows: the simulator's own cost is the difference).
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use graph_sim::GraphSim;

const CONCURRENCY: u64 = 64;

/// Posts `iters` requests from 64 tasks and returns the elapsed time.
async fn run(
    client: &reqwest::Client,
    url: &Arc<str>,
    body: &bytes::Bytes,
    iters: u64,
) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let n = iters / CONCURRENCY + u64::from(t < iters % CONCURRENCY);
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                let r = client
                    .post(&*url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("post");
                assert_eq!(r.status(), 200);
                r.bytes().await.expect("body");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    started.elapsed()
}

fn bench_send(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut group = c.benchmark_group("graph_sim_send");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    let body = bytes::Bytes::from_static(
        br#"{"recipient":{"id":"1234567890"},"messaging_type":"RESPONSE","message":{"text":"Your table is ready"}}"#,
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY as usize)
        .build()
        .expect("client");
    for record in [false, true] {
        let sim = rt.block_on(async {
            GraphSim::builder()
                .page("1000001", "TOKEN")
                .record_requests(record)
                .start()
                .await
                .expect("sim starts")
        });
        let url: Arc<str> =
            format!("{}/v21.0/me/messages?access_token=TOKEN", sim.base_url()).into();
        let name = if record {
            "64_concurrent_recording"
        } else {
            "64_concurrent"
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // Keep memory flat across samples: only the current sample's records stay.
                sim.reset_records();
                rt.block_on(run(&client, &url, &body, iters))
            });
        });
        rt.block_on(sim.shutdown());
    }
    let url: Arc<str> = rt.block_on(async {
        let app = axum::Router::new().route(
            "/v21.0/me/messages",
            axum::routing::post(|_body: bytes::Bytes| async {
                (
                    [("content-type", "application/json")],
                    r#"{"recipient_id":"1234567890","message_id":"m_1"}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/v21.0/me/messages").into()
    });
    group.bench_function("64_concurrent_bare_axum_baseline", |b| {
        b.iter_custom(|iters| rt.block_on(run(&client, &url, &body, iters)));
    });
    group.finish();
}

criterion_group!(benches, bench_send);
criterion_main!(benches);
