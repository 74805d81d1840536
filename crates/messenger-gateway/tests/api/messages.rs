//! Sending: idempotency, batches (all or nothing, limits), body limits, media types, and the
//! message resource after dispatch.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

fn text_to(psid: &str, body: &str) -> Value {
    json!({"to": {"fbMessengerId": psid}, "body": body, "rules": ["fbMessenger"]})
}

#[tokio::test]
async fn a_sent_message_shows_its_graph_ids_and_trace() {
    let env = Env::start().await;
    env.inbound("24000000000101").await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &text_to("24000000000101", "Your table is ready"),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.header("location"),
        Some(format!("/apispaces/{SPACE_A}/messages/{id}").as_str())
    );
    let m = env.settled(&id).await;
    assert_eq!(m["status"], "sent");
    assert_eq!(m["id"], id.as_str());
    let sent = env.sim.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(m["graphMessageIds"], json!([sent[0].mid]));
    assert_eq!(m["ruleTrace"][0]["outcome"], "used");
    let history: Vec<&str> = m["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["processing", "sent"]);
    assert!(m["createdAt"].is_string());

    let missing = env
        .get(&format!("/apispaces/{SPACE_A}/messages/no-such-id"), KEY_A)
        .await;
    missing.problem(404);
}

#[tokio::test]
async fn idempotency_keys_replay_and_conflict() {
    let env = Env::start().await;
    env.inbound("24000000000102").await;
    let body = text_to("24000000000102", "once").to_string();
    let path = format!("/apispaces/{SPACE_A}/messages");
    let post = |body: String, key: &'static str| {
        let env = &env;
        let path = path.clone();
        async move {
            env.call(
                Method::POST,
                &path,
                Some(KEY_A),
                &[
                    ("content-type", "application/json"),
                    ("idempotency-key", key),
                ],
                Some(body.into_bytes()),
            )
            .await
        }
    };
    let first = post(body.clone(), "order-42").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.json()["id"].as_str().unwrap().to_owned();
    env.settled(&id).await;
    let replay = post(body.clone(), "order-42").await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.text, first.text, "a replay answers the first body");
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.sim.sent_messages().len(), 1, "sent once");

    let other = text_to("24000000000102", "another text").to_string();
    let p = post(other, "order-42").await.problem(409);
    assert!(p["detail"].as_str().unwrap().contains(&id), "{p}");

    let bad = env
        .call(
            Method::POST,
            &path,
            Some(KEY_A),
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "has space"),
            ],
            Some(body.into_bytes()),
        )
        .await;
    bad.problem(400);
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let env = Env::start().await;
    env.inbound("24000000000103").await;
    let path = format!("/apispaces/{SPACE_A}/messages/batch");
    let bad = json!([
        text_to("24000000000103", "one"),
        {"to": {"fbMessengerId": "24000000000103"}, "body": "two", "rules": ["fbMessenger", "pigeon"]},
        text_to("24000000000103", "three"),
    ]);
    let p = env
        .json(Method::POST, &path, KEY_A, &bad.to_string())
        .await
        .problem(400);
    assert_eq!(p["type"], "/problems/invalid-batch");
    assert_eq!(p["errors"][0]["path"], "/1/rules/1");
    assert_eq!(p["errors"][0]["code"], "rules.unknown");
    assert!(p["detail"].as_str().unwrap().contains("index 1"), "{p}");
    // Nothing was queued: the store holds no unsent message (a 400 is answered after the
    // store was, or was not, written, so no waiting is needed), and nothing was sent.
    let store = env.gateway.as_ref().unwrap().messenger().store().clone();
    assert_eq!(store.unsent_count().await.unwrap(), 0, "nothing was queued");
    assert!(env.sim.sent_messages().is_empty(), "nothing was sent");

    let good = json!([
        text_to("24000000000103", "one"),
        text_to("24000000000103", "two"),
        text_to("24000000000103", "three"),
    ]);
    let a = env
        .json(Method::POST, &path, KEY_A, &good.to_string())
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let items = a.json();
    let ids: Vec<String> = (0..3)
        .map(|i| {
            assert_eq!(items[i]["index"], i);
            items[i]["messageId"].as_str().unwrap().to_owned()
        })
        .collect();
    for id in &ids {
        assert_eq!(env.settled(id).await["status"], "sent");
    }
    let texts: Vec<String> = env
        .sim
        .sent_messages()
        .iter()
        .map(|s| s.request.message.as_ref().unwrap().text.clone().unwrap())
        .collect();
    assert_eq!(texts, ["one", "two", "three"], "one recipient: in order");
}

#[tokio::test]
async fn batch_limits() {
    let env = Env::start().await;
    let path = format!("/apispaces/{SPACE_A}/messages/batch");
    let one = text_to("24000000000104", "x");
    let many = Value::Array(vec![one; 5001]);
    let p = env
        .json(Method::POST, &path, KEY_A, &many.to_string())
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "batch.too_large");
    assert!(p["detail"].as_str().unwrap().contains("5000"), "{p}");
    let p = env
        .json(Method::POST, &path, KEY_A, "[]")
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "batch.empty");
    let p = env
        .json(Method::POST, &path, KEY_A, "{}")
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "field.type");
    // Over 10 MB.
    let huge = format!("[\"{}\"]", "x".repeat(10 * 1024 * 1024 + 1));
    env.json(Method::POST, &path, KEY_A, &huge)
        .await
        .problem(413);
}

#[tokio::test]
async fn body_limits_and_media_types() {
    let env = Env::start().await;
    let path = format!("/apispaces/{SPACE_A}/messages");
    // The test configuration limits single sends to 64 KiB.
    let big = json!({"to": {"fbMessengerId": "1"}, "body": "x".repeat(70 * 1024), "rules": ["fbMessenger"]});
    let p = env
        .json(Method::POST, &path, KEY_A, &big.to_string())
        .await
        .problem(413);
    assert!(p["detail"].as_str().unwrap().contains("65536"), "{p}");
    // Without Content-Length (chunked), the limit holds too.
    assert_eq!(chunked_post(&env, &path, 80 * 1024).await, 413);

    let wrong = env
        .call(
            Method::POST,
            &path,
            Some(KEY_A),
            &[("content-type", "text/plain")],
            Some(b"{}".to_vec()),
        )
        .await;
    let p = wrong.problem(415);
    assert!(p["detail"].as_str().unwrap().contains("text/plain"));
    let none = env
        .call(Method::POST, &path, Some(KEY_A), &[], Some(b"{}".to_vec()))
        .await;
    none.problem(415);
}

#[tokio::test]
async fn invalid_requests_name_each_violation() {
    let env = Env::start().await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": 5, "bodyy": "hi", "rules": ["fbMessenger"]}),
        )
        .await;
    let p = a.problem(400);
    assert_eq!(p["type"], "/problems/invalid-request");
    let got: Vec<(String, String)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        got.contains(&("/bodyy".into(), "field.unknown".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("/to".into(), "field.type".into())),
        "{got:?}"
    );
}

#[tokio::test]
async fn sms_fallback_and_unknown_routes() {
    let env = Env::start().await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"fbMessengerId": "24000000000105", "mobileNumber": "+447700900123"},
                    "body": "Your parcel is here", "rules": ["fbMessenger", "sms"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "sent");
    assert_eq!(m["channel"], "sms");
    assert_eq!(env.sim.sms_messages()[0].to, "+447700900123");

    let p = env
        .get("/apispaces/acme/nothing-here", KEY_A)
        .await
        .problem(404);
    assert_eq!(p["errors"][0]["code"], "route.unknown");
    let p = env
        .call(
            Method::DELETE,
            "/apispaces/acme/messages",
            Some(KEY_A),
            &[],
            None,
        )
        .await
        .problem(405);
    assert!(p["detail"].is_string());
}

/// Posts `len` bytes of JSON whitespace with `Transfer-Encoding: chunked` (no Content-Length)
/// and returns the status.
async fn chunked_post(env: &Env, path: &str, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY_A}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 1024];
    for _ in 0..len / 1024 {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        // The server may answer and close before reading everything.
        if tcp.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&answer);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
