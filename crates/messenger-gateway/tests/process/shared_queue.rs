//! Two gateway processes on one PostgreSQL share the queue: each message is sent exactly once,
//! one recipient's messages leave in acceptance order, and both processes send (their
//! `dispatch_sends_total{outcome="sent"}` counters add up to the total).

use std::time::{Duration, Instant};

use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{http, post_batch, sends_metric, wait_all_sent, Dispatch, UNPACED};
use crate::two_gateways::TwoGateways;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_send_each_message_once_in_order() {
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 60,
    };
    let Some(two) = TwoGateways::start(dispatch, UNPACED).await else {
        return;
    };
    let (a, b, sim) = (&two.a, &two.b, &two.sim);
    let plan = Plan {
        recipients: 50,
        per_recipient: 20,
    };
    let http = http();

    assert_ne!(a.instance, b.instance, "each process names its own leases");

    // Half through each; the first batch is accepted before the second.
    let started = Instant::now();
    let half = plan.per_recipient / 2;
    let mut ids = post_batch(&http, &a.base, &plan.requests(0..half)).await;
    ids.extend(post_batch(&http, &b.base, &plan.requests(half..plan.per_recipient)).await);
    assert_eq!(ids.len(), plan.total());
    wait_all_received(sim, plan, Duration::from_secs(60)).await;
    wait_all_sent(&http, &a.base, &ids, Duration::from_secs(10)).await;
    let drain = started.elapsed();

    let sends = Sends::from_sim(sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    // A round's sends are counted when the whole round ends, just after its last status.
    let total = u64::try_from(plan.total()).expect("a count");
    let counted = Instant::now();
    let (by_a, by_b) = loop {
        let by_a = sends_metric(&http, &a.base).await;
        let by_b = sends_metric(&http, &b.base).await;
        if by_a + by_b >= total || counted.elapsed() > Duration::from_secs(5) {
            break (by_a, by_b);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        by_a + by_b,
        total,
        "the processes' sent counters add up to the sends"
    );
    assert!(
        by_a > 0 && by_b > 0,
        "both processes send: {} sent {by_a}, {} sent {by_b}",
        a.instance,
        b.instance
    );
    eprintln!(
        "two processes on PostgreSQL: {} messages sent once each in {:.1} s ({} by {}, {} by {})",
        plan.total(),
        drain.as_secs_f64(),
        by_a,
        a.instance,
        by_b,
        b.instance
    );
}
