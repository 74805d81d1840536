//! Through the real binary: a Messenger delivery deadline lives in the store.
//! A gateway killed between the Messenger send and the deadline still sends the SMS after its
//! restart, once; two processes on one PostgreSQL send each SMS once.

use std::collections::HashMap;
use std::time::Duration;

use graph_sim::GraphSim;
use serde_json::{json, Value};

use crate::child::{GatewayProcess, Workdir};
use crate::sim::{
    config_toml, get_message, http, post_batch, wait_all_sent, Dispatch, APP_SECRET, PAGE,
    PAGE_TOKEN,
};
use messenger_test_support::postgres::TestSchema;
use messenger_test_support::wait::{self, HANG_GUARD};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

const SMS_SID: &str = "AC00000000000000000000000000000014";
const SMS_TOKEN: &str = "sms-auth-token-for-process-tests";

/// graph-sim for the page and as Twilio; nobody's phone reports deliveries.
async fn start_sim_with_sms() -> GraphSim {
    GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .sms_account(SMS_SID, SMS_TOKEN)
        .start()
        .await
        .expect("starting graph-sim")
}

/// The test configuration with an SMS provider for the space (its section is the file's last).
fn config_with_sms(sim: &GraphSim, db_url: &str) -> String {
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 30,
    };
    format!(
        "{}\n[spaces.sms]\nbase_url = \"{}\"\naccount_sid = \"{SMS_SID}\"\nauth_token = \"{SMS_TOKEN}\"\nfrom = \"+15005550006\"\n",
        config_toml(sim, db_url, dispatch),
        sim.base_url()
    )
}

fn number(i: usize) -> String {
    format!("+4477009{i:05}")
}

/// `n` messages to different users, Messenger first with `secs` to deliver, then SMS.
fn timed_requests(n: usize, secs: u64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "to": {"fbMessengerId": format!("2500000000{i:04}"), "mobileNumber": number(i)},
                "body": format!("your table is ready ({i})"),
                "channelOptions": {"fbMessenger": {"deliveryTimeout": secs}},
                "rules": ["fbMessenger", "sms"],
            })
        })
        .collect()
}

/// SMS sent so far, per number.
fn sms_per_number(sim: &GraphSim) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for sms in sim.sms_messages() {
        *counts.entry(sms.to).or_default() += 1;
    }
    counts
}

/// The number a witness message falls back to (no customer has it).
const WITNESS: &str = "+447700999999";

/// Waits until `n` SMS were sent to customers, then until the deadline pass has gone past one
/// more deadline (a witness message with a 1 s deadline, sent now, gets its SMS: deadlines fire
/// in the order they fall, so any second claim of an earlier one would have been made), and
/// checks that each of the `n` numbers got exactly one.
async fn assert_one_sms_each(sim: &GraphSim, http: &reqwest::Client, base: &str, n: usize) {
    let customers = || {
        sim.sms_messages()
            .iter()
            .filter(|s| s.to != WITNESS)
            .count()
    };
    wait::until("an SMS to every customer", POLL, || {
        let sent = customers();
        async move {
            if sent >= n {
                Ok(())
            } else {
                Err(format!("{sent} of {n} SMS"))
            }
        }
    })
    .await;
    let mut witness = timed_requests(1, 1);
    witness[0]["to"] = json!({"fbMessengerId": "25000000009999", "mobileNumber": WITNESS});
    post_batch(http, base, &witness).await;
    wait::until("the witness's SMS", POLL, || {
        let sent = sim.sms_messages().iter().any(|s| s.to == WITNESS);
        async move {
            if sent {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        }
    })
    .await;
    let mut counts = sms_per_number(sim);
    assert_eq!(counts.remove(WITNESS), Some(1), "the witness: {counts:?}");
    assert_eq!(counts.len(), n, "{counts:?}");
    for i in 0..n {
        assert_eq!(
            counts.get(&number(i)),
            Some(&1),
            "{}: {counts:?}",
            number(i)
        );
    }
}

/// Each message: sent by SMS after one missed delivery deadline of N s.
async fn assert_traces(http: &reqwest::Client, base: &str, ids: &[String], secs: u64) {
    let missed = format!("no delivery receipt within the deliveryTimeout: {secs} s");
    for id in ids {
        let m = get_message(http, base, id).await;
        assert_eq!(m["status"], "sent", "{m}");
        assert_eq!(m["channel"], "sms", "{m}");
        let trace = m["ruleTrace"].as_array().expect("a rule trace");
        let misses = trace
            .iter()
            .filter(|e| e["cause"] == "delivery_deadline_missed" && e["reason"] == missed.as_str())
            .count();
        assert_eq!(misses, 1, "{m}");
        assert_eq!(trace.last().expect("an entry")["channel"], "sms", "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_before_the_deadline_sends_the_sms_after_restart_once() {
    let dir = Workdir::new();
    let sim = start_sim_with_sms().await;
    let config = dir.write(
        "gateway.toml",
        &config_with_sms(&sim, &dir.sqlite_url("messenger.db")),
    );
    let http = http();
    const N: usize = 5;
    const SECS: u64 = 3;

    let mut gateway = GatewayProcess::start(&dir, "first", &config).await;
    let ids = post_batch(&http, &gateway.base, &timed_requests(N, SECS)).await;
    wait_all_sent(&http, &gateway.base, &ids, HANG_GUARD).await;
    assert_eq!(sim.sent_messages().len(), N);
    gateway.kill9();

    // The deadline passes while no gateway runs: nothing can send.
    tokio::time::sleep(Duration::from_secs(SECS + 1)).await;
    assert!(sim.sms_messages().is_empty());

    let restarted = GatewayProcess::start(&dir, "restarted", &config).await;
    assert_one_sms_each(&sim, &http, &restarted.base, N).await;
    assert_traces(&http, &restarted.base, &ids, SECS).await;
    assert_eq!(
        sim.sent_messages().len(),
        N + 1,
        "Messenger is not sent to again (the witness's one send besides)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_send_each_deadline_sms_once() {
    let Some(schema) = TestSchema::create("gw_process").await else {
        return;
    };
    let dir = Workdir::new();
    let sim = start_sim_with_sms().await;
    let config = dir.write(
        "gateway.toml",
        &config_with_sms(&sim, &schema.url_with_search_path()),
    );
    let http = http();
    const N: usize = 40;
    const SECS: u64 = 2;

    let a = GatewayProcess::start(&dir, "a", &config).await;
    let b = GatewayProcess::start(&dir, "b", &config).await;
    let mut ids = post_batch(&http, &a.base, &timed_requests(N / 2, SECS)).await;
    let second: Vec<Value> = timed_requests(N, SECS).split_off(N / 2);
    ids.extend(post_batch(&http, &b.base, &second).await);
    wait_all_sent(&http, &a.base, &ids, HANG_GUARD).await;
    assert_one_sms_each(&sim, &http, &a.base, N).await;
    assert_traces(&http, &b.base, &ids, SECS).await;
    assert_eq!(
        sim.sent_messages().len(),
        N + 1,
        "Messenger is not sent to again (the witness's one send besides)"
    );
    let claims = |p: &GatewayProcess| p.log().matches("no delivery receipt in time").count();
    let (by_a, by_b) = (claims(&a), claims(&b));
    assert_eq!(
        by_a + by_b,
        N + 1,
        "each deadline (and the witness's) claimed once: {by_a} + {by_b}"
    );
    eprintln!("two processes on PostgreSQL: {N} deadlines, claimed {by_a} by a and {by_b} by b");
}
