//! Instagram Direct through the real binary, with the guarantees Messenger has: `rules:
//! ["instagram", "sms"]` across a `kill -9`, with Graph at Meta's speed, sends every message
//! once, in order per customer
//! (Instagram's echoes, in the `messages` field with `is_echo`, carry the send tag as
//! Messenger's do); and two processes on one PostgreSQL keep an Instagram account to its
//! `send_rate` together.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule, GraphSim, InstagramLogin};
use serde_json::{json, Value};

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{Plan, Sends};
use crate::sim::{
    config_toml, free_port, http, post_batch, wait_all_sent, Dispatch, APP_SECRET, PAGE, PAGE_TOKEN,
};
use crate::two_gateways::TwoGateways;
use crate::window::max_in_one_second;

/// The Instagram account linked to the page (Facebook Login).
const ACCOUNT: &str = "17841400000000777";
const SMS_SID: &str = "AC00000000000000000000000000000031";
const SMS_TOKEN: &str = "sms-auth-token-for-instagram-tests";

/// graph-sim for the page, its Instagram account (window not enforced: the space's window
/// check is off, as for the other process tests) and as Twilio, posting its webhooks (echoes
/// too, when `echoes`) to `webhook_url`.
async fn sim(webhook_url: Option<&str>, echoes: bool) -> GraphSim {
    let mut b = GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .instagram_account(ACCOUNT, InstagramLogin::Page(PAGE.into()))
        .instagram_window(false)
        .sms_account(SMS_SID, SMS_TOKEN)
        .echoes(echoes);
    if let Some(url) = webhook_url {
        b = b.webhook_url(url);
    }
    b.start().await.expect("starting graph-sim")
}

/// The space's Instagram account (with `send_rate`) and SMS provider, added to a test
/// configuration whose last section is the space.
fn with_instagram(toml: String, sim_url: &str, send_rate: u32) -> String {
    format!(
        "{toml}\n[spaces.sms]\nbase_url = \"{sim_url}\"\naccount_sid = \"{SMS_SID}\"\n\
         auth_token = \"{SMS_TOKEN}\"\nfrom = \"+15005550006\"\n\n[[spaces.instagram]]\n\
         account_id = \"{ACCOUNT}\"\nsend_rate = {send_rate}\n"
    )
}

/// `n` Instagram users of the account (their IGSIDs, recipient `r` at index `r`).
fn users(sim: &GraphSim, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| sim.new_instagram_user(ACCOUNT).expect("an Instagram user"))
        .collect()
}

/// Messages `ms` of every recipient (each to `igsids[r]`, Instagram then SMS), in acceptance
/// order.
fn requests(igsids: &[String], ms: std::ops::Range<usize>) -> Vec<Value> {
    ms.flat_map(|m| {
        igsids.iter().enumerate().map(move |(r, igsid)| {
            json!({
                "to": {"instagramId": igsid, "mobileNumber": format!("+4477009{r:05}")},
                "body": Plan::text(r, m),
                "rules": ["instagram", "sms"],
            })
        })
    })
    .collect()
}

/// What the account sent, as the plan's `(recipient, message)`; every send a planned text to
/// its own recipient.
fn sends(sim: &GraphSim, igsids: &[String]) -> Sends {
    let recipient: HashMap<&str, usize> = igsids
        .iter()
        .enumerate()
        .map(|(r, id)| (id.as_str(), r))
        .collect();
    let texts = sim.instagram_sent(ACCOUNT).into_iter().map(|s| {
        let text = s.request.message.and_then(|m| m.text).unwrap_or_default();
        let r = recipient[s.recipient_id.as_str()];
        (r, text)
    });
    Sends::from_texts(texts)
}

/// Waits (at most `timeout`) until the account sent every planned message at least once.
async fn wait_all_received(sim: &GraphSim, igsids: &[String], plan: Plan, timeout: Duration) {
    messenger_test_support::wait::until_within(
        timeout,
        "the Instagram account sent every planned message",
        Duration::from_millis(50),
        || async {
            let distinct = sends(sim, igsids).occurrences().len();
            if distinct >= plan.total() {
                Ok(())
            } else {
                Err(format!("{distinct} of {}", plan.total()))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_on_instagram_sends_each_message_once_in_order() {
    let dir = Workdir::new();
    let port = free_port();
    let sim = sim(
        Some(&format!("http://127.0.0.1:{port}/webhooks/facebook")),
        true,
    )
    .await;
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 5,
    };
    let toml = with_instagram(
        config_toml(&sim, &dir.sqlite_url("messenger.db"), dispatch),
        sim.base_url(),
        1_000_000,
    )
    .replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\"\ninstance_id = \"restarted-{port}\""),
    );
    let config = dir.write("gateway.toml", &toml);
    let plan = Plan {
        recipients: 30,
        per_recipient: 30,
    };
    let igsids = users(&sim, plan.recipients);
    // At Meta's speed: every Graph call takes 150 ms, so many sends are in flight at the kill.
    sim.fault(FaultRule::global(Fault::Slow {
        delay: Duration::from_millis(150),
    }));
    let http = http();

    let mut gateway = GatewayProcess::start(&dir, "1-killed", &config).await;
    let ids = post_batch(
        &http,
        &gateway.base,
        &requests(&igsids, 0..plan.per_recipient),
    )
    .await;
    messenger_test_support::wait::until_within(
        Duration::from_secs(60),
        "200 Instagram sends before the kill",
        Duration::from_millis(5),
        || async {
            let n = sim.instagram_sent(ACCOUNT).len();
            if n >= 200 {
                Ok(())
            } else {
                Err(format!("{n}"))
            }
        },
    )
    .await;
    gateway.kill9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = sim.instagram_sent(ACCOUNT).len();
    assert!(
        at_kill < plan.total(),
        "everything was sent before the kill: the test proves nothing"
    );

    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    wait_all_received(&sim, &igsids, plan, Duration::from_secs(90)).await;
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(30)).await;

    let sends = sends(&sim, &igsids);
    sends.assert_none_lost(plan);
    sends.assert_order(plan);
    sends.assert_exactly_once();
    assert!(
        sim.sms_messages().is_empty(),
        "Instagram took every message"
    );
    eprintln!(
        "Instagram: kill -9 after {at_kill} of {} sends; none lost, none sent twice",
        plan.total()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_keep_an_instagram_account_to_its_send_rate_together() {
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 64,
        lease_secs: 60,
    };
    let sim = sim(None, false).await;
    let sim_url = sim.base_url().to_owned();
    let plan = Plan {
        recipients: 50,
        per_recipient: 20,
    };
    let igsids = users(&sim, plan.recipients);
    // The page itself unpaced: only the account's rate holds the sends back.
    let Some(two) = TwoGateways::start_on(sim, dispatch, 1_000_000, |toml| {
        with_instagram(toml, &sim_url, 100)
    })
    .await
    else {
        return;
    };
    let (a, b, sim) = (&two.a, &two.b, &two.sim);
    let http = http();
    let half = plan.per_recipient / 2;
    let mut ids = post_batch(&http, &a.base, &requests(&igsids, 0..half)).await;
    ids.extend(post_batch(&http, &b.base, &requests(&igsids, half..plan.per_recipient)).await);
    let started = Instant::now();
    wait_all_received(sim, &igsids, plan, Duration::from_secs(60)).await;
    let drain = started.elapsed();

    let sends = sends(sim, &igsids);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    let mut at: Vec<i64> = sim
        .instagram_sent(ACCOUNT)
        .iter()
        .map(|s| s.at_millis)
        .collect();
    let span = at
        .iter()
        .max()
        .zip(at.iter().min())
        .map_or(0, |(l, f)| l - f);
    let most = max_in_one_second(&mut at);
    // 1,000 sends at 100 a second take at least 10 s, less the first burst: the two
    // instances together never ran ahead of the account's rate.
    assert!(
        span >= 9_000,
        "1,000 Instagram sends took {span} ms at send_rate = 100"
    );
    eprintln!(
        "two processes, Instagram send_rate = 100: 1,000 messages in {:.2} s (first to last {span} ms), \
         at most {most} in any second",
        drain.as_secs_f64()
    );
}
