//! The hostile-client suite: the real binary with the documented defaults of `[server]`, and
//! each attack a client without a key can make on the public listener, bounded in count and
//! time, all on loopback (other clients are other addresses of 127.0.0.0/8). Each test asserts
//! that the gateway kept serving: a signed delivery from Meta is answered 200 while the attack
//! holds, the probes answer, and what the attack left open is closed by the gateway's timers.
//! Each prints its figures (`hostile: ...`: RSS, `/metrics` size, Meta's time to 200); the
//! release figures are in docs/performance.md ("A client without a key"), from
//! `cargo test --release -p messenger-gateway --test process hostile -- --nocapture`.

use std::time::{Duration, Instant};

use messenger_test_support::wait;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::child::status_kb;
use crate::child::{GatewayProcess, Workdir};
use crate::raw_tcp::{body_json, connect_from, read_until_closed};
use crate::sim::{default_dispatch_toml, http, metrics_text, start_sim, APP_SECRET, KEY, PAGE};

/// A second space, for the tenant attack.
const SPACE_B: &str = "globex";
const KEY_B: &str = "globex-key-0123456789abcdef";

/// A gateway child under attack.
struct Target {
    child: GatewayProcess,
    http: reqwest::Client,
    _sim: graph_sim::GraphSim,
    _dir: Workdir,
}

impl Target {
    /// The binary with the defaults (and a second space), under an open-file limit of
    /// `nofile` when given.
    async fn start(nofile: Option<u64>) -> Self {
        raise_own_file_limit();
        let dir = Workdir::new();
        let sim = start_sim().await;
        let toml = default_dispatch_toml(&sim, &dir.sqlite_url("hostile.db"))
            + &format!(
                "\n[[spaces]]\nid = \"{SPACE_B}\"\npage_id = \"5550001\"\npage_token = \
                 \"page-token-b-for-hostile-tests\"\nkeys = [\"{KEY_B}\"]\n"
            );
        let config = dir.write("gateway.toml", &toml);
        let child = GatewayProcess::start_with_file_limit(&dir, "gw", &config, nofile).await;
        Self {
            child,
            http: http(),
            _sim: sim,
            _dir: dir,
        }
    }

    fn base(&self) -> &str {
        &self.child.base
    }

    /// A signed delivery receipt from Meta, from 127.0.0.1: its status and how long it took.
    async fn meta_delivery(&self) -> (u16, Duration) {
        let body = serde_json::json!({"object": "page", "entry": [{"id": PAGE, "time": 1,
            "messaging": [{"sender": {"id": "24000000000777"}, "recipient": {"id": PAGE},
            "timestamp": messenger_model::Timestamp::now().millis(),
            "delivery": {"mids": ["m_hostile"], "watermark": 1}}]}]})
        .to_string();
        let signature = messenger::webhook::sign_body(APP_SECRET, body.as_bytes());
        let started = Instant::now();
        let status = self
            .http
            .post(format!("{}/webhooks/facebook", self.base()))
            .header("x-hub-signature-256", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        (status, started.elapsed())
    }

    async fn health(&self) -> u16 {
        self.http
            .get(format!("{}/healthz", self.base()))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16())
    }

    /// `connections_open` as the gateway reports it.
    async fn open_connections(&self) -> u64 {
        let text = metrics_text(&self.http, self.base()).await;
        text.lines()
            .find_map(|l| l.strip_prefix("messenger_gateway_connections_open "))
            .map_or(0, |v| v.trim().parse().unwrap_or(0))
    }

    /// Waits (with the guard against hanging) until the gateway has closed what the
    /// attack left open.
    async fn wait_until_closed(&self) {
        let what = "the attack's connections closed";
        wait::until(what, Duration::from_millis(200), || async {
            // The scrape's own connection is one.
            match self.open_connections().await {
                open if open <= 1 => Ok(()),
                open => Err(format!("{open} open")),
            }
        })
        .await;
    }

    /// Prints the figures of `attack`.
    async fn report(&self, attack: &str, meta: Duration) {
        let pid = self.child.pid();
        let metrics = metrics_text(&self.http, self.base()).await;
        eprintln!(
            "hostile: {attack}: Meta answered 200 in {:.1} ms; RSS {} MiB, peak {} MiB; /metrics \
             {} bytes",
            meta.as_secs_f64() * 1000.0,
            status_kb(pid, "VmRSS") / 1024,
            status_kb(pid, "VmHWM") / 1024,
            metrics.len()
        );
    }
}

/// This test process holds hundreds of sockets: take what the hard limit allows.
fn raise_own_file_limit() {
    if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE) {
        if soft < hard {
            let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard);
        }
    }
}

/// Opens `n` connections spread over `addresses` addresses from 127.0.0.`first`, writing
/// `bytes` on each.
async fn open_many(
    base: &str,
    n: usize,
    first: usize,
    addresses: usize,
    bytes: &[u8],
) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = connect_from(base, &format!("127.0.0.{}", first + i % addresses)).await;
        if !bytes.is_empty() {
            // A refused connection may be closed already; what matters is what the gateway does.
            let _ = s.write_all(bytes).await;
        }
        out.push(s);
    }
    out
}

#[tokio::test]
async fn five_thousand_invented_methods_grow_neither_memory_nor_metrics() {
    let t = Target::start(None).await;
    let client = reqwest::Client::new();
    let send = |i: usize| {
        let client = client.clone();
        let url = format!("{}/nope", t.base());
        async move {
            let method = format!("X{i}{}", "Q".repeat(4000));
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            client
                .request(method, url)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    // One first, so the `other` series exist before the baseline.
    assert_eq!(send(0).await.unwrap(), 404);
    metrics_text(&t.http, t.base()).await;
    let before = metrics_text(&t.http, t.base()).await.len();
    for chunk in (1..5_000).collect::<Vec<_>>().chunks(16) {
        for status in futures::future::join_all(chunk.iter().map(|&i| send(i))).await {
            assert_eq!(status.unwrap(), 404);
        }
    }
    let after = metrics_text(&t.http, t.base()).await;
    assert!(!after.contains("QQQQ"), "an invented method became a label");
    assert!(
        after.len() < before + 512,
        "/metrics grew from {before} to {} bytes",
        after.len()
    );
    let rss_mib = status_kb(t.child.pid(), "VmRSS") / 1024;
    assert!(
        rss_mib < 256,
        "RSS {rss_mib} MiB after the invented methods"
    );
    let (status, meta) = t.meta_delivery().await;
    assert_eq!(status, 200);
    t.report("5,000 invented 4 KB methods", meta).await;
    assert!(!t
        .child
        .log()
        .contains("QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"));
}

#[tokio::test]
async fn idle_and_half_sent_connections_under_a_256_file_limit() {
    let t = Target::start(Some(256)).await;
    // 300 connections that send nothing from one address, 100 whose headers never end.
    let idle = open_many(t.base(), 300, 2, 1, b"").await;
    let half = open_many(t.base(), 100, 3, 2, b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    assert_eq!(t.health().await, 200, "the probes are answered");
    let (status, meta) = t.meta_delivery().await;
    assert_eq!(status, 200, "Meta is answered");
    t.report("300 idle + 100 half-sent connections, file limit 256", meta)
        .await;
    // The header timer (10 s) closes them all.
    t.wait_until_closed().await;
    drop((idle, half));
    assert!(
        t.child.log().contains("open-file limit"),
        "the limits are logged"
    );
}

#[tokio::test]
async fn two_hundred_silent_webhook_bodies_keep_meta_out_for_no_time() {
    let t = Target::start(None).await;
    let head = "POST /webhooks/facebook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                X-Hub-Signature-256: sha256=00\r\nContent-Length: 5000\r\n\r\n";
    let silent = open_many(t.base(), 200, 10, 50, head.as_bytes()).await;
    let (status, meta) = t.meta_delivery().await;
    assert_eq!(status, 200);
    // Two addresses trickling bodies hold 16 of the 64 reading places at most.
    let trickle = open_many(t.base(), 40, 70, 2, format!("{head}{{").as_bytes()).await;
    let (status, meta_trickled) = t.meta_delivery().await;
    assert_eq!(status, 200);
    t.report("200 silent webhook bodies from 50 addresses", meta)
        .await;
    t.report("and 40 trickled from 2 addresses", meta_trickled)
        .await;
    // The first-byte timer (2 s) and the body timer (10 s) close them all.
    t.wait_until_closed().await;
    drop((silent, trickle));
}

#[tokio::test]
async fn one_tenant_holding_more_slow_bodies_than_the_global_cap() {
    let t = Target::start(None).await;
    // 1,100 slow message bodies of space A (the global cap is 1,024) from 5 addresses.
    let head = format!(
        "POST /apispaces/acme/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    let slow = open_many(t.base(), 1_100, 100, 5, head.as_bytes()).await;
    let started = Instant::now();
    let b = t
        .http
        .get(format!("{}/apispaces/{SPACE_B}/messages", t.base()))
        .bearer_auth(KEY_B)
        .send()
        .await
        .unwrap();
    let b_took = started.elapsed();
    assert_eq!(b.status().as_u16(), 200, "space B is served");
    let (status, meta) = t.meta_delivery().await;
    assert_eq!(status, 200);
    t.report("space A holding 1,100 slow bodies", meta).await;
    eprintln!(
        "hostile: space B's listing answered in {:.1} ms meanwhile",
        b_took.as_secs_f64() * 1000.0
    );
    drop(slow);
}

#[tokio::test]
async fn oversized_and_malformed_requests_get_bounded_problems() {
    let t = Target::start(None).await;
    let cap = Duration::from_secs(30);
    let cases: [(Vec<u8>, &str, &str); 3] = [
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..200)
                    .map(|i| format!("X-F{i}: {i}\r\n"))
                    .collect::<String>()
            )
            .into_bytes(),
            "HTTP/1.1 431",
            "request.headers_too_large",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            "HTTP/1.1 414",
            "request.target_too_long",
        ),
        (
            b"BREW /pot HTTP/1.1 extra\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
            "request.malformed",
        ),
    ];
    for (request, status, code) in cases {
        let mut s = connect_from(t.base(), "127.0.0.1").await;
        s.write_all(&request).await.unwrap();
        let answer = String::from_utf8(read_until_closed(&mut s, cap).await).unwrap();
        assert!(answer.starts_with(status), "{answer}");
        assert_eq!(body_json(&answer)["errors"][0]["code"], code, "{answer}");
    }
    // A 60 KB listing query: the problem quotes it only in part.
    let query: String = (0..6_000).map(|i| format!("x{i}=1&")).collect();
    let answer = t
        .http
        .get(format!("{}/apispaces/acme/messages?{query}", t.base()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let body = answer.text().await.unwrap();
    assert!(body.len() < 8 * 1024, "a {} byte problem", body.len());
    let (status, meta) = t.meta_delivery().await;
    assert_eq!(status, 200);
    t.report("431, 414, 400 and a 60 KB query", meta).await;
}
