//! The page-trouble promises at the scale they were made for: a page throttled for 30 s
//! while another page sends, and Meta failing for 60 s under 500 queued messages. The scaled
//! down versions are in `page_trouble.rs`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graph_sim::{Fault, FaultRule, UsageHeaders};
use serde_json::{json, Value};

use crate::harness::*;
use crate::page_trouble::{accepted, settled_in, trace_text, with_sms_fallback};
use messenger_test_support::wait::HANG_GUARD;

fn epoch_millis() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// When graph-sim accepted each text (milliseconds since the epoch), first send only.
fn sent_at(env: &Env) -> HashMap<String, i64> {
    let mut at = HashMap::new();
    for s in env.sim.sent_messages() {
        if let Some(text) = s.request.message.as_ref().and_then(|m| m.text.clone()) {
            at.entry(text).or_insert(s.at_millis);
        }
    }
    at
}

/// The user `psid` writes to `page` (opens the window).
async fn writes(env: &Env, page: &str, psid: &str) {
    let status = env
        .sim
        .post_inbound_text(page, psid, "hello")
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_a_throttled_for_30_s_of_its_clock_while_page_b_sends() {
    const THROTTLE: Duration = Duration::from_secs(30);
    let env = Env::start().await;
    let psids_a: Vec<String> = (0..5)
        .map(|i| format!("2400000000{:04}", 7100 + i))
        .collect();
    let psids_b: Vec<String> = (0..10)
        .map(|i| format!("2400000000{:04}", 7200 + i))
        .collect();
    for p in &psids_a {
        writes(&env, PAGE_A, p).await;
    }
    for p in &psids_b {
        writes(&env, PAGE_B, p).await;
    }
    env.webhooks_applied().await;
    // Page A is throttled (613, no usage headers: the circuit's own pause) for 30 s.
    for p in &psids_a {
        env.sim.fault(FaultRule::recipient(
            p,
            Fault::RateLimit {
                code: 613,
                usage: Some(UsageHeaders::default()),
            },
        ));
    }
    let mut a_ids = Vec::new();
    for m in 0..4 {
        for (r, p) in psids_a.iter().enumerate() {
            let body = with_sms_fallback(p, &format!("a-r{r}-m{m}"));
            a_ids.push(accepted(&env, SPACE_A, KEY_A, &body).await);
        }
    }
    // Page B sends throughout 30 s of the gateway's time, ten users in turn: its clock moves
    // 300 ms after each message instead of the test waiting (page A's circuit opens and
    // probes on that clock).
    let mut b_accepted: HashMap<String, i64> = HashMap::new();
    for i in 0..100 {
        let text = format!("b-{i}");
        let body = json!({"to": {"fbMessengerId": psids_b[i % psids_b.len()]}, "body": text,
                          "rules": ["fbMessenger"]});
        let before = epoch_millis();
        accepted(&env, SPACE_B, KEY_B, &body).await;
        b_accepted.insert(text, before);
        env.advance(THROTTLE / 100);
    }
    // Every message of page B goes out while page A is still throttled: B never waits for A.
    // (How long B's sends take under a busy page is a figure of the load harness's `pages`
    // scenario; here only the order is asserted, with a cap that guards against hanging.)
    let sent = tokio::time::timeout(HANG_GUARD, async {
        loop {
            let sent = sent_at(&env);
            if b_accepted.keys().all(|t| sent.contains_key(t)) {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("page B's messages are sent while page A is throttled");
    assert!(b_accepted.len() >= 100, "{} sends of B", b_accepted.len());
    // Nothing of page A went out while it was throttled, by Messenger or by SMS.
    assert!(
        !sent.keys().any(|t| t.starts_with("a-")),
        "page A sent while throttled"
    );
    assert!(env.sim.sms_messages().is_empty(), "a throttle sent SMS");
    let mut lags: Vec<i64> = b_accepted.iter().map(|(t, at)| sent[t] - at).collect();
    lags.sort_unstable();
    eprintln!(
        "page B while page A throttled: {} sends, p50 {} ms, max {} ms",
        lags.len(),
        lags[lags.len() / 2],
        lags[lags.len() - 1]
    );
    env.sim.clear_faults();
    env.next_pass(SPACE_A).await;

    // A's messages go by Messenger after the throttle; none by SMS.
    for id in &a_ids {
        let m = settled_in(&env, SPACE_A, KEY_A, id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(m["channel"], "fbMessenger", "{}", trace_text(&m));
    }
    assert!(env.sim.sms_messages().is_empty(), "the throttle sent SMS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_failing_a_minute_under_500_messages_sends_no_sms() {
    const OUTAGE: Duration = Duration::from_secs(60);
    let env = Env::start().await;
    let psids: Vec<String> = (0..50)
        .map(|i| format!("2400000000{:04}", 7300 + i))
        .collect();
    let unavailable = "24000000007399";
    for p in psids.iter().map(String::as_str).chain([unavailable]) {
        writes(&env, PAGE_A, p).await;
    }
    env.webhooks_applied().await;
    let outage = |env: &Env| {
        for p in &psids {
            env.sim
                .fault(FaultRule::recipient(p, Fault::ServerError { status: 503 }));
        }
        env.sim
            .fault(FaultRule::recipient(unavailable, Fault::UserUnavailable));
    };
    outage(&env);
    // 500 messages, Messenger first and SMS second, ten to each of 50 users, in one batch.
    let requests: Vec<Value> = (0..10)
        .flat_map(|m| {
            psids
                .iter()
                .enumerate()
                .map(move |(r, p)| with_sms_fallback(p, &format!("o-r{r}-m{m}")))
        })
        .collect();
    let answer = env
        .json(
            reqwest::Method::POST,
            &format!("/apispaces/{SPACE_A}/messages/batch"),
            KEY_A,
            &Value::from(requests).to_string(),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let ids: Vec<String> = answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["messageId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 500);
    let lost = accepted(&env, SPACE_A, KEY_A, &with_sms_fallback(unavailable, "u-1")).await;

    // A minute of the gateway's time, each opening of the page's circuit passed at once.
    env.pass_time(SPACE_A, OUTAGE).await;
    assert!(
        env.sim.sms_messages().len() <= 1,
        "the outage sent SMS: {:?}",
        env.sim.sms_messages().len()
    );
    env.sim.clear_faults();
    env.sim
        .fault(FaultRule::recipient(unavailable, Fault::UserUnavailable));
    env.next_pass(SPACE_A).await;

    // Every message goes by Messenger once Meta answers again.
    for id in &ids {
        let m = settled_in(&env, SPACE_A, KEY_A, id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(m["channel"], "fbMessenger", "{}", trace_text(&m));
    }
    // The recipient Messenger cannot reach gets the SMS, and its trace says why.
    let m = settled_in(&env, SPACE_A, KEY_A, &lost).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(m["channel"], "sms", "{}", trace_text(&m));
    assert!(
        trace_text(&m).contains("graph.user_unavailable"),
        "{}",
        trace_text(&m)
    );
    let sms = env.sim.sms_messages();
    assert_eq!(sms.len(), 1, "only the unreachable recipient's message");
}
