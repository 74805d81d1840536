//! What a client without a key can do to the listener, over raw TCP where it matters: invented
//! methods never become metric series, slow and idle connections are closed by their timers,
//! connection caps (in all and per address) refuse cleanly, one space's slow requests leave the
//! other spaces and Meta served, `/metrics` needs a key on the public listener, hyper's own
//! refusals are problem documents, and every JSON answer says `no-store` and `nosniff`.
//!
//! Addresses 127.0.0.2 and up are other clients: Linux routes all of 127.0.0.0/8 to loopback.

use std::time::Duration;

use reqwest::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::*;
use crate::raw_tcp::{body_json, read_one_answer, read_until_closed};

/// Connects to the gateway from `from` (an address of 127.0.0.0/8).
pub(crate) async fn connect_from(env: &Env, from: &str) -> TcpStream {
    crate::raw_tcp::connect_from(&env.base, from).await
}

/// A signed Meta delivery receipt for page A: what Meta posts.
pub(crate) fn signed_delivery() -> (Vec<u8>, String) {
    let body = serde_json::json!({"object": "page", "entry": [{"id": PAGE_A, "time": 1,
        "messaging": [{"sender": {"id": "24000000000999"}, "recipient": {"id": PAGE_A},
        "timestamp": messenger_model::Timestamp::now().millis(),
        "delivery": {"mids": ["m_exposure"], "watermark": 1}}]}]})
    .to_string()
    .into_bytes();
    let signature = messenger::webhook::sign_body(APP_SECRET, &body);
    (body, signature)
}

/// Posts [`signed_delivery`] over a new connection from 127.0.0.1; the answer's status.
pub(crate) async fn post_signed_delivery(env: &Env) -> u16 {
    let (body, signature) = signed_delivery();
    let answer = env
        .call(
            Method::POST,
            "/webhooks/facebook",
            None,
            &[
                ("x-hub-signature-256", signature.as_str()),
                ("content-type", "application/json"),
            ],
            Some(body),
        )
        .await;
    answer.status
}

#[tokio::test]
async fn invented_methods_never_become_series() {
    let env = Env::start().await;
    let scrape = || env.call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None);
    let http = reqwest::Client::new();
    // One invented method makes the `other` series; thousands more add nothing but counts.
    let first = reqwest::Method::from_bytes(b"FIRSTINVENTED").unwrap();
    http.request(first, format!("{}/nope", env.base))
        .send()
        .await
        .unwrap();
    // A scrape's own series appear after it: scrape twice.
    scrape().await;
    let before = scrape().await.text;
    let sent = futures::future::join_all((0..16).map(|worker| {
        let http = http.clone();
        let base = env.base.clone();
        async move {
            for i in 0..313 {
                let token = format!("M{worker}X{i}{}", "Q".repeat(4000));
                let method = reqwest::Method::from_bytes(token.as_bytes()).unwrap();
                let res = http.request(method, format!("{base}/nope")).send().await;
                assert_eq!(res.unwrap().status().as_u16(), 404);
            }
        }
    }));
    sent.await;
    let after = scrape().await.text;
    assert!(!after.contains("QQQQ"), "an invented method is a label");
    assert_eq!(
        metric(
            &after,
            "messenger_gateway_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"}"
        ),
        16 * 313 + 1
    );
    // The same request series as before (their values grow a few digits). Other families may
    // appear meanwhile (housekeeping's retention series after its first round), so the whole
    // page may grow by a few lines, never by what one invented method would add (4,000 bytes).
    let series = |text: &str| text.lines().filter(|l| l.contains("method=\"")).count();
    assert_eq!(series(&after), series(&before), "request series were added");
    assert!(
        after.len() < before.len() + 4_000,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_by_their_timers() {
    let env =
        Env::start_configured("header_read_timeout_secs = 1\nidle_timeout_secs = 2", "").await;
    let cap = Duration::from_secs(30);
    // A connection that sends nothing, and one whose headers never end.
    let mut empty = connect_from(&env, "127.0.0.1").await;
    let mut half = connect_from(&env, "127.0.0.1").await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(read_until_closed(&mut empty, cap).await.is_empty());
    assert!(read_until_closed(&mut half, cap).await.is_empty());
    // A kept-alive connection is served as long as it asks, then closed once idle.
    let mut kept = connect_from(&env, "127.0.0.1").await;
    for _ in 0..6 {
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_one_answer(&mut kept, cap).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    read_until_closed(&mut kept, cap).await;
    let text = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert!(
        metric(
            &text,
            "messenger_gateway_connections_closed_total{reason=\"header_timeout\"}"
        ) >= 2,
        "{text}"
    );
    assert!(
        metric(
            &text,
            "messenger_gateway_connections_closed_total{reason=\"idle_timeout\"}"
        ) >= 1
    );
}

#[tokio::test]
async fn connections_past_a_cap_are_refused_with_a_problem_and_the_rest_served() {
    let env =
        Env::start_configured("max_connections = 12\nmax_connections_per_client = 3", "").await;
    let cap = Duration::from_secs(30);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(&env, "127.0.0.2").await);
    }
    // The fourth from the same address is answered 503 and closed, without a request.
    let mut fourth = connect_from(&env, "127.0.0.2").await;
    let answer = String::from_utf8(read_until_closed(&mut fourth, cap).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert_eq!(
        body_json(&answer)["errors"][0]["code"],
        "connections.per_client"
    );
    // Other addresses are served; nine more connections fill the listener.
    for from in ["127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        for _ in 0..3 {
            held.push(connect_from(&env, from).await);
        }
    }
    let mut over = connect_from(&env, "127.0.0.6").await;
    let answer = String::from_utf8(read_until_closed(&mut over, cap).await).unwrap();
    assert_eq!(body_json(&answer)["errors"][0]["code"], "connections.total");
    // The connections in progress are untouched: one of them is served.
    let mut first = held.remove(0);
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_one_answer(&mut first, cap)
        .await
        .starts_with("HTTP/1.1 200"));
    // Once some close, new clients are taken again.
    drop(first);
    drop(held);
    let mut served = false;
    for _ in 0..100 {
        let mut s = connect_from(&env, "127.0.0.6").await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        if read_one_answer(&mut s, cap)
            .await
            .starts_with("HTTP/1.1 200")
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the places were not given back");
}

#[tokio::test]
async fn one_space_holding_slow_bodies_leaves_the_others_and_meta_served() {
    let env = Env::start_configured("max_in_flight = 8\nspace_max_in_flight = 4", "").await;
    let cap = Duration::from_secs(30);
    // Space A starts more slow bodies than the whole API's cap.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut s = connect_from(&env, "127.0.0.1").await;
        let head = format!(
            "POST /apispaces/{SPACE_A}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \
             {KEY_A}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(s);
    }
    // Past its share, A is refused at once; the others wait for their bodies (30 s).
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let readers: Vec<_> = slow
        .into_iter()
        .map(|mut s| {
            let refused = std::sync::Arc::clone(&refused);
            tokio::spawn(async move {
                let answer = read_one_answer(&mut s, Duration::from_secs(25)).await;
                assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
                refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s
            })
        })
        .collect();
    let count = || refused.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::timeout(cap, async {
        while count() < 6 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("A refused past its share");
    // Space B and Meta are served while A holds its share.
    let b = env
        .get(&format!("/apispaces/{SPACE_B}/messages"), KEY_B)
        .await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(post_signed_delivery(&env).await, 200);
    assert_eq!(count(), 6, "A keeps its 4 places");
    for r in readers {
        r.abort();
    }
}

#[tokio::test]
async fn metrics_on_the_public_listener_need_a_key() {
    let env = Env::start().await;
    let no_key = env.call(Method::GET, "/metrics", None, &[], None).await;
    no_key.problem(401);
    let space_key = env
        .call(Method::GET, "/metrics", Some(KEY_A), &[], None)
        .await;
    space_key.problem(403);
    let scraped = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.text.contains("messenger_gateway_connections_open"));
    // Probes stay open to anyone.
    assert_eq!(
        env.call(Method::GET, "/healthz", None, &[], None)
            .await
            .status,
        200
    );

    // With no metrics or admin key configured, the metrics are closed there, saying why.
    let closed = Env::start_edited("", "", |toml| {
        toml.replace(&format!("metrics_keys = [\"{METRICS_KEY}\"]\n"), "")
    })
    .await;
    let p = closed
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .problem(403);
    assert_eq!(p["errors"][0]["code"], "metrics.closed");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("server.metrics_keys"));
}

#[tokio::test]
async fn every_json_answer_says_no_store_and_nosniff() {
    let env = Env::start().await;
    for answer in [
        env.get(&format!("/apispaces/{SPACE_A}/messages"), KEY_A)
            .await,
        env.call(Method::GET, "/nope", None, &[], None).await,
        env.call(Method::GET, "/openapi.json", None, &[], None)
            .await,
        env.call(Method::GET, "/healthz", None, &[], None).await,
    ] {
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{answer:?}"
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }
    let console = env.call(Method::GET, "/console", None, &[], None).await;
    assert_eq!(console.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn hypers_own_refusals_are_problem_documents() {
    let env = Env::start().await;
    let cap = Duration::from_secs(30);
    // Too many headers: 431.
    let mut s = connect_from(&env, "127.0.0.1").await;
    let mut head = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        head.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = String::from_utf8(read_until_closed(&mut s, cap).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    let p = body_json(&answer);
    assert_eq!(p["status"], 431);
    assert_eq!(p["errors"][0]["code"], "request.headers_too_large");
    // A 70 KB target: 414.
    let mut s = connect_from(&env, "127.0.0.1").await;
    let target = format!("/apispaces/{SPACE_A}/messages?q={}", "a".repeat(70_000));
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answer = String::from_utf8(read_until_closed(&mut s, cap).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert_eq!(
        body_json(&answer)["errors"][0]["code"],
        "request.target_too_long"
    );
    // A request line that is not HTTP: 400.
    let mut s = connect_from(&env, "127.0.0.1").await;
    s.write_all(b"GET /healthz HTTP/9.9\r\n\r\n").await.unwrap();
    let answer = String::from_utf8(read_until_closed(&mut s, cap).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(body_json(&answer)["errors"][0]["code"], "request.malformed");
    // The service's own 400s are untouched.
    let own = env
        .call(
            Method::GET,
            &format!("/apispaces/{SPACE_A}/messages?limit=x"),
            Some(KEY_A),
            &[],
            None,
        )
        .await;
    let p = own.problem(400);
    assert_ne!(p["errors"][0]["code"], "request.malformed");
}

#[tokio::test]
async fn cleartext_http2_is_served_and_closed_when_idle() {
    let env = Env::start_configured("idle_timeout_secs = 2", "").await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let answer = h2
        .get(format!("{}/healthz", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.version(), reqwest::Version::HTTP_2);
    assert_eq!(answer.status().as_u16(), 200);
    // The HTTP/2 connection stays open while idle for less than the idle timeout, then the
    // gateway closes it: only the scrapes' own connection is left.
    let open = || async {
        let text = env
            .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
            .await
            .text;
        metric(&text, "messenger_gateway_connections_open")
    };
    assert!(open().await >= 2, "the HTTP/2 connection and the scrape's");
    let mut closed = false;
    for _ in 0..300 {
        if open().await == 1 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the idle HTTP/2 connection was not closed");
    drop(h2);
}
