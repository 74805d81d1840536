//! The console end to end in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `cargo xtask browser` installs when missing) driven over WebDriver
//! against the demo. It signs in with the demo's key, finds a message of the demo's flow and
//! reads its rule trace, redrives a dead letter and sees its event delivered, and sees the live
//! chart with points on it. On a gateway with an Instagram account ([`instagram`]) it filters
//! the listing by channel and reads an Instagram message's account and statuses. Screenshots
//! go to `target/console-screenshots/`.
//!
//! Without `/usr/bin/chromedriver` the test fails under `CI=true` and otherwise says so on
//! stderr and passes.
#![cfg(feature = "demo")]

mod instagram;
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use messenger_gateway::demo::{self, Running};
use serde_json::{json, Value};

use webdriver::{Driver, Session, CHROMEDRIVER};

/// Whether the browser is missing: then the test fails under `CI=true` and otherwise says so
/// on stderr and passes.
fn browser_missing() -> bool {
    if std::path::Path::new(CHROMEDRIVER).exists() {
        return false;
    }
    let why = format!(
        "{CHROMEDRIVER} is missing: install chromium and chromium-driver (`cargo xtask browser`)"
    );
    messenger_test_support::ci::skip_or_fail("console browser", &why);
    true
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends one more message to the flow's profile while the business refuses events, and waits
/// until its `message.sent` event is a dead letter; returns the message id.
async fn dead_letter(running: &Running, http: &reqwest::Client) -> String {
    running.refuse_events(true);
    let space = format!("{}/apispaces/{}", running.url, Running::SPACE);
    let sent: Value = http
        .post(format!("{space}/messages"))
        .bearer_auth(Running::KEY)
        .json(
            &json!({"to": {"profileId": "alice"}, "body": "Your parcel is on its way",
                      "rules": ["fbMessenger"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = sent["id"].as_str().expect("accepted").to_owned();
    for _ in 0..200 {
        let dead: Value = http
            .get(format!("{space}/webhooks/dead"))
            .bearer_auth(Running::KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if dead.as_array().is_some_and(|d| !d.is_empty()) {
            running.refuse_events(false);
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no dead letter");
}

/// Polls `check` (a script returning a boolean) for up to `secs`.
async fn until(browser: &Session, what: &str, check: &str, secs: u64) {
    for _ in 0..secs * 5 {
        if browser.script(check, json!([])).await == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page = browser
        .script("return document.body.innerText", json!([]))
        .await;
    panic!("{what}: not after {secs} s; the page says: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_answers_did_my_message_arrive() {
    if browser_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let running = demo::start(dir.path()).await.expect("the demo runs");
    let http = reqwest::Client::new();
    let dead_id = dead_letter(&running, &http).await;
    let shots = screenshots();

    let driver = Driver::start().await;
    let browser = driver.session().await;

    // Sign in with the demo's key.
    browser.goto(&running.console_url()).await;
    let key = browser.wait_for("#key", 10).await;
    browser.type_into(&key, Running::KEY).await;
    let sign_in = browser.wait_for("#signin", 5).await;
    browser.click(&sign_in).await;
    browser.wait_for("#message-list table", 10).await;
    browser.screenshot(&shots.join("messages.png")).await;

    // The messages of the flow's profile; the oldest is the demo's send by profile id.
    browser
        .goto(&format!(
            "{}#/messages?profileId=alice",
            running.console_url()
        ))
        .await;
    browser.wait_for("#message-list table", 10).await;
    let links = browser.find_all("#message-list tbody a").await;
    assert!(links.len() >= 2, "the flow's message and the dead letter's");
    let oldest = links.last().unwrap().clone();
    let flow_id = browser.text(&oldest).await;
    assert_ne!(flow_id, dead_id);
    browser.click(&oldest).await;
    let rule = browser.wait_for("tr.rule", 10).await;
    let trace = browser.text(&rule).await;
    assert!(trace.contains("Messenger"), "{trace}");
    assert!(trace.contains("used"), "{trace}");
    let timeline = browser.text(&browser.wait_for("#timeline", 5).await).await;
    assert!(timeline.contains("sent"), "{timeline}");
    browser.screenshot(&shots.join("message.png")).await;

    // Redrive the dead letter, then see its event delivered on the message's page.
    let nav = browser.wait_for("a[href='#/dead']", 5).await;
    browser.click(&nav).await;
    let boxes = browser
        .wait_for("#dead-list input[type=checkbox]", 10)
        .await;
    browser.screenshot(&shots.join("dead-letters.png")).await;
    browser.click(&boxes).await;
    let redrive = browser.wait_for("#redrive-selected", 5).await;
    browser.click(&redrive).await;
    let done = browser.wait_for("#redrive-result li.redriven", 10).await;
    assert!(browser.text(&done).await.contains("pending again"));
    browser.screenshot(&shots.join("redriven.png")).await;
    let mut delivered = false;
    for n in 0..50 {
        browser
            .goto(&format!(
                "{}#/messages/{dead_id}?n={n}",
                running.console_url()
            ))
            .await;
        browser.wait_for("#timeline", 10).await;
        let state = browser
            .script(
                "const row = [...document.querySelectorAll('tr')]
                   .find((tr) => tr.cells.length > 3 && tr.cells[0].textContent === arguments[0]);
                 return row ? row.cells[3].textContent : null;",
                json!([format!("{dead_id}.sent")]),
            )
            .await;
        if state == "delivered" {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(delivered, "the redriven event was delivered");
    browser.screenshot(&shots.join("event-delivered.png")).await;

    // The live chart has points (the flow's and the dead letter's messages).
    let live = browser.wait_for("a[href='#/live']", 5).await;
    browser.click(&live).await;
    until(
        &browser,
        "a point on the messages chart",
        "return document.querySelectorAll('#chart-messages circle.point').length > 0",
        20,
    )
    .await;
    browser.screenshot(&shots.join("live.png")).await;

    // The page's connection: the doctor's findings for the demo's page (subscribed, token
    // valid), each with what to do.
    let connection = browser.wait_for("a[href='#/connection']", 5).await;
    browser.click(&connection).await;
    let found = browser.wait_for("#connection table", 20).await;
    let findings = browser.text(&found).await;
    assert!(findings.contains("subscription"), "{findings}");
    assert!(findings.contains("debug_token: valid"), "{findings}");
    browser.screenshot(&shots.join("connection.png")).await;

    browser.quit().await;
    drop(driver);
    running.shutdown().await;
}
