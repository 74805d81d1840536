//! Sends per second from one GraphClient to graph-sim over loopback HTTP with 64 requests in
//! flight, next to a bare reqwest loop posting the same JSON to the same simulator (which
//! records nothing: `record_requests(false)`).
//!
//! Two measurements in one run:
//! - criterion's, one function after the other (`sends_per_second/graph_client`,
//!   `sends_per_second/bare_reqwest`);
//! - an interleaved comparison, client and bare loop alternating round by round, printed as
//!   medians and a ratio: on a shared 2-core machine load drifts, and alternating keeps the
//!   ratio honest.
//!
//! `cargo bench -p messenger-graph --bench throughput`; figures go to docs/performance.md.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use graph_sim::GraphSim;
use hmac::{Hmac, Mac};
use messenger_graph::GraphClient;
use messenger_model::graph::{GraphSendRequest, Message, Recipient};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use sha2::Sha256;
use tokio::runtime::Runtime;

const PAGE_ID: &str = "100200300400500";
const TOKEN: &str = "EAAG-bench-page-token";
const APP_SECRET: &str = "bench-app-secret";
const IN_FLIGHT: u64 = 64;
/// Sends per criterion iteration (each of the 64 workers sends BATCH / 64 in sequence).
const BATCH: u64 = IN_FLIGHT * 100;
/// Interleaved comparison: rounds, and sends per loop per round.
const ROUNDS: usize = 9;
const ROUND_SENDS: u64 = IN_FLIGHT * 300;

fn request() -> GraphSendRequest {
    GraphSendRequest::message(
        Recipient::psid("1000000000000001"),
        Message::text("Your order #1234 has shipped and will arrive tomorrow."),
    )
}

/// The simulator, the client under test and the bare loop's ingredients.
struct Setup {
    rt: Runtime,
    sim: GraphSim,
    client: GraphClient,
    req: Arc<GraphSendRequest>,
    bare: reqwest::Client,
    url: Arc<str>,
    body: Bytes,
    bearer: HeaderValue,
}

impl Setup {
    fn new() -> Self {
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
        let body = Bytes::from(serde_json::to_vec(&request()).expect("json"));
        let bearer = HeaderValue::from_str(&format!("Bearer {TOKEN}")).expect("header");
        let setup = Self {
            rt,
            sim,
            client,
            req: Arc::new(request()),
            bare,
            url: url.into(),
            body,
            bearer,
        };
        // Both loops must really succeed, or the figures mean nothing.
        let before = setup.sim.sent_count();
        setup.client_round(IN_FLIGHT);
        setup.bare_round(IN_FLIGHT);
        assert_eq!(setup.sim.sent_count() - before, 2 * IN_FLIGHT);
        setup
    }

    /// `total` sends through the GraphClient, 64 in flight; the wall time.
    fn client_round(&self, total: u64) -> Duration {
        let (client, req) = (self.client.clone(), Arc::clone(&self.req));
        self.rt.block_on(in_flight(total, move || {
            let (client, req) = (client.clone(), Arc::clone(&req));
            async move {
                let sent = client.send(&req).await.expect("send");
                assert!(sent.message_id.is_some());
            }
        }))
    }

    /// `total` posts of the same JSON with bare reqwest, 64 in flight; the wall time.
    fn bare_round(&self, total: u64) -> Duration {
        let (bare, url, body, bearer) = (
            self.bare.clone(),
            Arc::clone(&self.url),
            self.body.clone(),
            self.bearer.clone(),
        );
        self.rt.block_on(in_flight(total, move || {
            let (bare, url, body, bearer) =
                (bare.clone(), Arc::clone(&url), body.clone(), bearer.clone());
            async move {
                let r = bare
                    .post(&*url)
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
    }
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn sends_per_second(c: &mut Criterion) {
    let setup = Setup::new();

    let mut group = c.benchmark_group("sends_per_second");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("graph_client", |b| {
        b.iter_custom(|iters| setup.client_round(iters * BATCH))
    });
    group.bench_function("bare_reqwest", |b| {
        b.iter_custom(|iters| setup.bare_round(iters * BATCH))
    });
    group.finish();

    let rate = |d: Duration| ROUND_SENDS as f64 / d.as_secs_f64();
    let (mut client, mut bare, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Alternate which loop goes first, so drift does not favour either.
        let (c, b) = if round % 2 == 0 {
            let c = setup.client_round(ROUND_SENDS);
            (c, setup.bare_round(ROUND_SENDS))
        } else {
            let b = setup.bare_round(ROUND_SENDS);
            (setup.client_round(ROUND_SENDS), b)
        };
        client.push(rate(c));
        bare.push(rate(b));
        ratios.push(rate(c) / rate(b));
    }
    println!(
        "interleaved ({ROUNDS} rounds x {ROUND_SENDS} sends, {IN_FLIGHT} in flight): \
         graph_client median {:.0} sends/s, bare_reqwest median {:.0} sends/s, \
         median ratio {:.2}",
        median(client),
        median(bare),
        median(ratios)
    );

    let Setup { rt, sim, .. } = setup;
    println!("graph-sim accepted {} sends in all", sim.sent_count());
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, sends_per_second);
criterion_main!(benches);
