//! Per-page pacing and fairness between spaces: a page keeps to its `send_rate` (text) and
//! `media_send_rate` (audio and video), its metrics say what it sent and waited, and a backlog
//! of 100,000 messages in one space does not delay another space's message.

use std::time::Duration;

use messenger_model::{Channel, SendRequest, Timestamp, To};
use messenger_store::NewMessage;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use messenger_test_support::wait;

/// Space `key`'s settings with `extra` lines added (the space's own keys, before its tables).
fn with_space_settings(toml: String, key: &str, extra: &str) -> String {
    let line = format!("keys = [\"{key}\"]\n");
    toml.replacen(&line, &format!("{line}{extra}\n"), 1)
}

/// When graph-sim accepted each send of `page`, in milliseconds, in order.
fn send_times(env: &Env, page: &str) -> Vec<i64> {
    let mut at: Vec<i64> = env
        .sim
        .sent_messages()
        .iter()
        .filter(|s| s.page_id == page)
        .map(|s| s.at_millis)
        .collect();
    at.sort_unstable();
    at
}

/// The most of `at` (sorted, milliseconds) in any one-second window.
fn most_in_a_second(at: &[i64]) -> usize {
    let mut first = 0;
    (0..at.len())
        .map(|last| {
            while at[last] - at[first] >= 1_000 {
                first += 1;
            }
            last + 1 - first
        })
        .max()
        .unwrap_or(0)
}

async fn post_batch(env: &Env, space: &str, key: &str, requests: &[Value]) {
    let a = env
        .json(
            Method::POST,
            &format!("/apispaces/{space}/messages/batch"),
            key,
            &Value::from(requests.to_vec()).to_string(),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
}

async fn wait_for_sends(env: &Env, page: &str, n: usize) {
    let what = format!("{n} sends of {page}");
    wait::until(&what, Duration::from_millis(20), || async {
        match send_times(env, page).len() {
            sent if sent >= n => Ok(()),
            sent => Err(format!("{sent} sends")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_keeps_to_its_rates_and_its_metrics_say_so() {
    let env = Env::start_edited("", "", |toml| {
        with_space_settings(
            toml,
            KEY_A,
            "window_check = \"off\"\nsend_rate = 20\nmedia_send_rate = 2",
        )
    })
    .await;
    let texts: Vec<Value> = (0..40)
        .map(|i| json!({"to": {"fbMessengerId": format!("2480000000{i:04}")}, "body": format!("t{i}"), "rules": ["fbMessenger"]}))
        .collect();
    let videos: Vec<Value> = (0..4)
        .map(|i| {
            json!({
                "to": {"fbMessengerId": format!("2481000000{i:04}")},
                "messageParts": [{"type": "video/mp4", "url": format!("https://example.com/v{i}.mp4")}],
                "rules": ["fbMessenger"],
            })
        })
        .collect();
    post_batch(&env, SPACE_A, KEY_A, &videos).await;
    post_batch(&env, SPACE_A, KEY_A, &texts).await;
    wait_for_sends(&env, PAGE_A, 44).await;

    let sent = env.sim.sent_messages();
    let times_of = |video: bool| {
        let mut at: Vec<i64> = sent
            .iter()
            .filter(|s| {
                let is_video = s
                    .request
                    .message
                    .as_ref()
                    .and_then(|m| m.attachment.as_ref())
                    .is_some();
                is_video == video
            })
            .map(|s| s.at_millis)
            .collect();
        at.sort_unstable();
        at
    };
    let (text_at, video_at) = (times_of(false), times_of(true));
    assert_eq!((text_at.len(), video_at.len()), (40, 4));
    // 20 a second with a burst of 1: 40 texts over about two seconds, never over 21 in one
    // (and one more for the jitter of the way from the gateway to graph-sim).
    assert!(most_in_a_second(&text_at) <= 22, "{text_at:?}");
    assert!(text_at[39] - text_at[0] >= 1_800, "{text_at:?}");
    // 2 a second for video, on their own bucket: 4 over 1.5 s, never held back by the texts.
    assert!(most_in_a_second(&video_at) <= 3, "{video_at:?}");
    assert!(video_at[3] - video_at[0] >= 1_400, "{video_at:?}");
    // The texts, accepted after the videos, do not wait for the media rate (40 at 2 a second
    // would take 20 s).
    assert!(
        text_at[39] - video_at[0] < 3_500,
        "texts wait for their own rate only"
    );

    let text = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    let labels = format!("{{space=\"{SPACE_A}\",page=\"{PAGE_A}\"}}");
    assert_eq!(
        metric(
            &text,
            &format!("messenger_gateway_page_sends_total{labels}")
        ),
        44
    );
    assert_eq!(
        metric(
            &text,
            &format!("messenger_gateway_page_throttled_total{labels}")
        ),
        0
    );
    let waited = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!(
                "messenger_gateway_page_bucket_wait_seconds_total{labels} "
            ))
        })
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        waited > 0.5,
        "sends waited for their slots: {waited} s\n{text}"
    );
    assert!(
        text.contains(&format!(
            "messenger_gateway_page_circuit{{space=\"{SPACE_A}\",state=\"closed\"}} 1"
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_in_one_space_does_not_delay_another_space() {
    let env = Env::start_edited("", "", |toml| {
        let toml = with_space_settings(toml, KEY_A, "window_check = \"off\"");
        with_space_settings(toml, KEY_B, "window_check = \"off\"")
    })
    .await;
    // 100,000 messages to 1,000 recipients of space A, straight into the store the gateway
    // uses (the batch endpoint would take 20 requests and much longer).
    let url = env
        .toml
        .lines()
        .find_map(|l| l.strip_prefix("url = \"sqlite:"))
        .map(|rest| format!("sqlite:{}", rest.trim_end_matches('"')))
        .expect("the database URL");
    let store = messenger_store_sql::connect(&url).await.unwrap();
    let now = Timestamp::now();
    for chunk in 0..20 {
        let batch: Vec<NewMessage> = (0..5_000)
            .map(|i| {
                let psid = format!("2482000{:06}", (chunk * 5_000 + i) % 1_000);
                let request = SendRequest::new(To::fb_messenger_id(&psid))
                    .body("backlog")
                    .rules([Channel::FbMessenger]);
                NewMessage::new(SPACE_A, format!("psid:{psid}"), request, now)
            })
            .collect();
        store.insert_messages(batch).await.unwrap();
    }
    // Space A is sending its backlog (at its page's rate, 250 a second).
    wait_for_sends(&env, PAGE_A, 100).await;

    let posted = Timestamp::now();
    let a = env
        .send(
            SPACE_B,
            KEY_B,
            &json!({"to": {"fbMessengerId": "24830000000001"}, "body": "not behind A", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let answered = Timestamp::now().millis() - posted.millis();
    wait_for_sends(&env, PAGE_B, 1).await;
    let sent_at = send_times(&env, PAGE_B)[0];
    let waited = sent_at - posted.millis();
    // The order is what is asserted: B's message went while A's backlog was still there (how
    // long B waited is a figure, printed below and measured by the load harness's `pages`).
    let unsent = store.unsent_count().await.unwrap();
    assert!(
        unsent > 90_000,
        "space B's message waited for A's backlog: {unsent} of it left"
    );
    eprintln!(
        "space B's message answered in {answered} ms, sent {waited} ms after it was posted, \
         {unsent} of A's unsent"
    );
    store.close().await;
}
