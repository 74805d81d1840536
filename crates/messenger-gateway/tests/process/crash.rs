//! `kill -9` in the middle of a batch: every accepted message is sent after the restart, one
//! recipient's messages leave in acceptance order, and the only messages sent twice are those
//! that were in flight at the kill.
//!
//! Meta's Send API has no idempotency key: a send that reached Graph just before the kill, but
//! whose result was not yet committed, is sent again once its lease expires. The store leases
//! at most one message per recipient at a time, so such a duplicate is always the last message
//! of its recipient that reached Graph before the kill, and there are at most
//! `workers x batch_size` of them.

use std::time::{Duration, Instant};

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{config_toml, http, post_batch, start_sim, wait_all_sent, wait_until, Dispatch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_batch_loses_nothing_and_resends_only_what_was_in_flight() {
    let dir = Workdir::new();
    let sim = start_sim().await;
    // The shortest lease the configuration allows: after the restart, the messages the killed
    // process held are leased again after at most 5 s.
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 5,
    };
    let db = dir.sqlite_url("messenger.db");
    let config = dir.write("gateway.toml", &config_toml(&sim, &db, dispatch));
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
    for ((r, m), at) in &duplicates {
        let text = Plan::text(*r, *m);
        assert_eq!(
            at.len(),
            2,
            "{text} was sent {} times, at sends {at:?}",
            at.len()
        );
        assert!(
            at[0] < at_kill && at[1] >= at_kill,
            "{text} was sent twice, at sends {at:?}, not across the kill (send {at_kill})"
        );
        // In flight at the kill: the latest of its recipient's messages to reach Graph then
        // (the next one could not have been leased before this one was settled).
        let last_before_kill = sends.sends[..at_kill]
            .iter()
            .filter(|(rr, _)| rr == r)
            .map(|(_, mm)| *mm)
            .max();
        assert_eq!(
            last_before_kill,
            Some(*m),
            "{text} was sent twice but was not in flight at the kill"
        );
    }
    assert!(
        duplicates.len() <= dispatch.concurrency(),
        "{} duplicates, more than the {} messages one process can have in flight",
        duplicates.len(),
        dispatch.concurrency()
    );
    eprintln!(
        "kill -9 (+{jitter:?}) after {at_kill} of {} sends; after the restart all were sent in {:.1} s \
         (lease {} s); {} sent twice (in flight at the kill, bound {}): {:?}",
        plan.total(),
        drain.as_secs_f64(),
        dispatch.lease_secs,
        duplicates.len(),
        dispatch.concurrency(),
        duplicates
            .iter()
            .map(|((r, m), _)| Plan::text(*r, *m))
            .collect::<Vec<_>>()
    );
}
