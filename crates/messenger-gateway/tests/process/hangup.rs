//! SIGHUP reloads the configuration of the real binary (decision 0023):
//!
//! - a broken file changes nothing: the gateway logs every problem, the old key still works;
//! - the mended file with a rotated API key then takes over: the old key is refused (401), the
//!   new one accepted, and a client asking through both reloads gets only 200s and, after the
//!   switch, the expected 401s: never a connection error nor a 5xx.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messenger_test_support::wait;
use serde_json::Value;

use crate::child::{GatewayProcess, Workdir};
use crate::key_rotation::assert_each_key_switches_once;
use crate::sim::{default_dispatch_toml, http, start_sim, KEY, PAGE, SPACE};

/// How often a wait looks again.
const EVERY: Duration = Duration::from_millis(20);
/// The rotated key.
const NEW_KEY: &str = "acme-rotated-key-0123456789abcdef";

/// Sends SIGHUP to `pid`.
fn hangup(pid: u32) {
    let status = Command::new("kill")
        .arg("-HUP")
        .arg(pid.to_string())
        .status()
        .expect("running kill -HUP");
    assert!(status.success(), "kill -HUP {pid} failed: {status}");
}

/// How many lines of the JSON log have `message`.
fn lines_saying(log: &str, message: &str) -> usize {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message)
        .count()
}

/// Waits until the log has `n` lines saying `message`.
async fn wait_for_lines(gateway: &GatewayProcess, message: &str, n: usize) {
    wait::until(&format!("{n} log lines saying {message:?}"), EVERY, || {
        let log = gateway.log();
        let seen = lines_saying(&log, message);
        async move { (seen >= n).then_some(()).ok_or(format!("{seen} so far")) }
    })
    .await;
}

/// Waits until the client has had `n` answers.
async fn wait_for_answers(counted: &AtomicUsize, n: usize) {
    wait::until(&format!("{n} answers to the client"), EVERY, || {
        let seen = counted.load(Ordering::Relaxed);
        async move { (seen >= n).then_some(()).ok_or(format!("{seen} so far")) }
    })
    .await;
}

/// The status of `GET /apispaces/{space}/messages?limit=1` with `key`.
async fn list_status(http: &reqwest::Client, base: &str, key: &str) -> u16 {
    http.get(format!("{base}/apispaces/{SPACE}/messages?limit=1"))
        .bearer_auth(key)
        .send()
        .await
        .expect("GET .../messages")
        .status()
        .as_u16()
}

#[tokio::test]
async fn sighup_refuses_a_broken_file_then_rotates_a_key_without_a_request_dropped() {
    let sim = start_sim().await;
    let dir = Workdir::new();
    let good = default_dispatch_toml(&sim, &dir.sqlite_url("gateway.db"));
    let config = dir.write("gateway.toml", &good);
    let gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    let http = http();
    let base = gateway.base.clone();
    assert_eq!(list_status(&http, &base, KEY).await, 200);
    assert_eq!(list_status(&http, &base, NEW_KEY).await, 401);

    // A client asks with both keys, one request after the other, through both reloads.
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicUsize::new(0));
    let client = {
        let (http, base, stop) = (http.clone(), base.clone(), Arc::clone(&stop));
        let counted = Arc::clone(&counted);
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for key in [KEY, NEW_KEY] {
                    let res = http
                        .get(format!("{base}/apispaces/{SPACE}/messages?limit=1"))
                        .bearer_auth(key)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("a request was dropped: {e:?}"));
                    answers.push((key, res.status().as_u16()));
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
            answers
        })
    };
    wait_for_answers(&counted, 20).await;

    // A broken file (the rotated key beside a page id that is empty, and a key too short):
    // refused, logged, nothing changed.
    dir.write(
        "gateway.toml",
        &good
            .replace(
                &format!("keys = [\"{KEY}\"]"),
                &format!("keys = [\"{NEW_KEY}\"]"),
            )
            .replace(&format!("page_id = \"{PAGE}\""), "page_id = \"\""),
    );
    hangup(gateway.pid());
    wait_for_lines(&gateway, "configuration reload refused: nothing changed", 1).await;
    let n = counted.load(Ordering::Relaxed);
    wait_for_answers(&counted, n + 20).await;
    assert_eq!(list_status(&http, &base, KEY).await, 200);
    assert_eq!(list_status(&http, &base, NEW_KEY).await, 401);

    // Not TOML at all: refused too.
    dir.write("gateway.toml", &format!("{good}\n[[spaces]\n"));
    hangup(gateway.pid());
    wait_for_lines(&gateway, "configuration reload refused: nothing changed", 2).await;
    assert_eq!(list_status(&http, &base, KEY).await, 200);

    // The mended file with the rotated key: applied.
    dir.write(
        "gateway.toml",
        &good.replace(
            &format!("keys = [\"{KEY}\"]"),
            &format!("keys = [\"{NEW_KEY}\"]"),
        ),
    );
    hangup(gateway.pid());
    wait_for_lines(&gateway, "configuration reloaded", 1).await;
    let n = counted.load(Ordering::Relaxed);
    wait_for_answers(&counted, n + 20).await;
    assert_eq!(list_status(&http, &base, KEY).await, 401);
    assert_eq!(list_status(&http, &base, NEW_KEY).await, 200);

    stop.store(true, Ordering::Relaxed);
    let answers = client.await.expect("the client");
    // Each key changed its answer once: the old key worked until the reload and never after,
    // the new one the other way round.
    assert_each_key_switches_once(&answers, [(KEY, 200, 401), (NEW_KEY, 401, 200)]);
    let log = gateway.log();
    assert_eq!(lines_saying(&log, "configuration reloaded"), 1, "{log}");
}
