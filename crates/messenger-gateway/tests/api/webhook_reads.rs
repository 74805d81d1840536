//! Reading `POST /webhooks/facebook` bodies before the signature is checked, over raw TCP:
//! a body that arrives too slowly is 408, a `Content-Length` over the limit is 413 at once, and
//! past `server.webhook_concurrent_reads` bodies being read, 503 with `Retry-After: 1` at once.
//! A body whose first byte does not come holds no reading place, and one address holds at most
//! `server.webhook_reads_per_client`, so keyless clients cannot keep Meta's deliveries out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

/// A signature of the right form that matches nothing.
const WRONG_SIGNATURE: &str =
    "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// A raw answer: status, headers (lowercase names), body.
struct RawAnswer {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Connects and writes the head of a webhook POST declaring `content_length` bytes.
async fn open_post(env: &Env, content_length: u64) -> TcpStream {
    let addr = env.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /webhooks/facebook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {WRONG_SIGNATURE}\r\nContent-Length: {content_length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Reads one answer (its head, then `Content-Length` bytes of body), within 5 s.
async fn read_answer(stream: &mut TcpStream) -> RawAnswer {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed before an answer");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: HashMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .map_or(0, |v| v.parse().unwrap());
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed in the middle of the answer");
            buf.extend_from_slice(&chunk[..n]);
        }
        RawAnswer {
            status,
            headers,
            body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
        }
    })
    .await
    .expect("an answer within 5 s")
}

#[tokio::test]
async fn a_body_arriving_too_slowly_is_408() {
    let env = Env::start_configured("webhook_read_timeout_secs = 1", "").await;
    let stream = open_post(&env, 20).await;
    let (mut reader, mut writer) = stream.into_split();
    // One byte every 200 ms: the 20 bytes would take 4 s; the limit is 1 s.
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = reader.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed without an answer");
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert!(got.is_ok(), "no answer within 5 s");
    let sent_by_then = written.load(Ordering::SeqCst);
    let head = String::from_utf8_lossy(&buf).into_owned();
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(sent_by_then < 20, "answered before the body was complete");
    trickle.abort();
    assert_eq!(
        env.gateway
            .as_ref()
            .unwrap()
            .messenger()
            .store()
            .webhook_backlog()
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_declared_gigabyte_is_413_at_once() {
    let env = Env::start().await;
    let mut stream = open_post(&env, 1_000_000_000).await;
    stream.write_all(b"{}").await.unwrap();
    let a = read_answer(&mut stream).await;
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(
        a.headers.get("content-type").map(String::as_str),
        Some("application/problem+json")
    );
    assert!(a.body.contains("1048576"), "{}", a.body);
}

#[tokio::test]
async fn past_the_concurrent_reads_webhooks_are_503_at_once() {
    let env = Env::start_configured(
        "webhook_concurrent_reads = 2\nwebhook_first_byte_timeout_ms = 500",
        "",
    )
    .await;
    // A complete body with a wrong signature: 403 while there is room to read it.
    let probe = |content_length: u64, body: &'static [u8]| {
        let env = &env;
        async move {
            let mut stream = open_post(env, content_length).await;
            stream.write_all(body).await.unwrap();
            read_answer(&mut stream).await
        }
    };
    assert_eq!(probe(2, b"{}").await.status, 403);
    // Two slow bodies being read hold both places.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut s = open_post(&env, 100).await;
        s.write_all(b"{").await.unwrap();
        holders.push(s);
    }
    // The holders' handlers start reading as soon as their heads arrive; wait for that.
    let mut busy = None;
    for _ in 0..100 {
        let a = probe(2, b"{}").await;
        if a.status == 503 {
            busy = Some(a);
            break;
        }
        assert_eq!(a.status, 403, "{}", a.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let busy = busy.expect("503 once two bodies are being read");
    assert_eq!(
        busy.headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        busy.headers.get("content-type").map(String::as_str),
        Some("application/problem+json")
    );
    // A request that never sends its body holds no place: 408 after the first-byte timeout.
    let mut unsent = open_post(&env, 100).await;
    assert_eq!(read_answer(&mut unsent).await.status, 408);
    // The places free up when the slow bodies go away.
    drop(holders);
    let mut freed = false;
    for _ in 0..100 {
        if probe(2, b"{}").await.status == 403 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(freed, "the places were not freed");
}

/// Opens a webhook POST from `from` declaring `length` bytes, sending `first` of them.
async fn open_post_from(env: &Env, from: &str, length: usize, first: &[u8]) -> TcpStream {
    let mut stream = crate::exposure::connect_from(env, from).await;
    let head = format!(
        "POST /webhooks/facebook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {WRONG_SIGNATURE}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

#[tokio::test]
async fn connections_that_declare_a_body_and_send_nothing_keep_nobody_out() {
    // The documented defaults: 64 reading places, 2 s for the first byte, 10 s for the body.
    let env = Env::start().await;
    let mut silent = Vec::new();
    for i in 0..200 {
        silent.push(open_post_from(&env, &format!("127.0.0.{}", 2 + i % 50), 100, b"").await);
    }
    // Meta's delivery is answered while all 200 are open and silent.
    assert_eq!(crate::exposure::post_signed_delivery(&env).await, 200);
    // They were still open: each is answered 408 now (no body byte came), none was served.
    for s in &mut silent[..5] {
        assert_eq!(read_answer(s).await.status, 408);
    }
}

#[tokio::test]
async fn one_address_never_holds_more_than_its_share_of_reads() {
    let env = Env::start_configured(
        "webhook_concurrent_reads = 16\nwebhook_reads_per_client = 4\n\
         webhook_read_timeout_secs = 120",
        "",
    )
    .await;
    // One address starts 20 bodies, sending a byte of each: 4 are being read (they answer
    // nothing until their body ends), the other 16 are refused at once.
    let refused = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..20 {
        let mut s = open_post_from(&env, "127.0.0.2", 100, b"{").await;
        let refused = Arc::clone(&refused);
        readers.push(tokio::spawn(async move {
            let mut byte = [0u8; 1];
            // Waits for the first byte of an answer, however long.
            let _ = s.peek(&mut byte).await;
            let a = read_answer(&mut s).await;
            assert_eq!(a.status, 503, "{}", a.body);
            assert_eq!(a.headers.get("retry-after").map(String::as_str), Some("1"));
            refused.fetch_add(1, Ordering::SeqCst);
        }));
    }
    tokio::time::timeout(Duration::from_secs(30), async {
        while refused.load(Ordering::SeqCst) < 16 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("16 refused");
    // Another address, and Meta, still have places.
    let mut other = open_post_from(&env, "127.0.0.3", 2, b"{}").await;
    assert_eq!(read_answer(&mut other).await.status, 403);
    assert_eq!(crate::exposure::post_signed_delivery(&env).await, 200);
    assert_eq!(
        refused.load(Ordering::SeqCst),
        16,
        "the address keeps 4 places"
    );
    for r in readers {
        r.abort();
    }
}
