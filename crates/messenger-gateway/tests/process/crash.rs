//! `kill -9` in the middle of a batch: every accepted message is sent after the restart, exactly
//! once, and one recipient's messages leave in acceptance order.
//!
//! Meta's Send API has no idempotency key: a send that reached Graph just before the kill, but
//! whose result was not yet committed, would be sent again once its lease expires. The pipeline
//! tags every send (`message.metadata`) and, after an interrupted attempt, waits for Meta's
//! message echoes (which carry the tag) before sending again; graph-sim posts echoes as Meta does
//! for a page subscribed to `message_echoes`, again and again while the gateway is down.

use std::time::{Duration, Instant};

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{echoing_sim_and_config, http, post_batch, wait_all_sent, wait_until, Dispatch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_loses_nothing_and_sends_each_message_exactly_once() {
    let dir = Workdir::new();
    // The shortest lease the configuration allows: after the restart, the messages the killed
    // process held are leased again after at most 5 s. One port for both processes, so Meta's
    // webhooks (the echoes) find the restarted one.
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 5,
    };
    let (sim, config) = echoing_sim_and_config(&dir, dispatch).await;
    let plan = Plan {
        recipients: 50,
        per_recipient: 40,
    };
    let http = http();

    let mut gateway = GatewayProcess::start(&dir, "1-killed", &config).await;
    let ids = post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    assert_eq!(ids.len(), 2000);
    wait_until("300 sends before the kill", Duration::from_secs(60), || {
        sim.sent_count() >= 300
    })
    .await;
    // Sends leave in bursts (a worker's round); a varying pause lands the kill anywhere
    // between a burst reaching Graph and its results being committed.
    let jitter = Duration::from_millis(u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default()
            % 50,
    ));
    tokio::time::sleep(jitter).await;
    gateway.kill9();
    // A request the child wrote just before it died may still be in graph-sim's socket.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = usize::try_from(sim.sent_count()).expect("a count");
    assert!(
        at_kill < plan.total(),
        "everything was sent before the kill ({at_kill}): the test proves nothing"
    );

    let restarted = Instant::now();
    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    wait_all_received(&sim, plan, Duration::from_secs(60)).await;
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(10)).await;
    let drain = restarted.elapsed();

    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_order(plan);
    let duplicates = sends.duplicates();
    assert!(
        duplicates.is_empty(),
        "{} messages were sent twice across the kill (send {at_kill}): {:?}",
        duplicates.len(),
        duplicates
            .iter()
            .map(|((r, m), at)| (Plan::text(*r, *m), at.clone()))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "kill -9 (+{jitter:?}) after {at_kill} of {} sends; after the restart all were sent in {:.1} s \
         (lease {} s, echo grace 10 s); none sent twice (up to {} were in flight)",
        plan.total(),
        drain.as_secs_f64(),
        dispatch.lease_secs,
        dispatch.concurrency(),
    );
}
