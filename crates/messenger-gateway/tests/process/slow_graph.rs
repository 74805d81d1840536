//! Graph at Meta's speed: graph-sim answers every call after 100 ms (Meta's Send API takes
//! 100-500 ms; graph-sim alone answers in well under a millisecond, which hides what a slow
//! Graph does to the store's small connection pool). The gateways run the documented defaults:
//! 2 workers leasing 64 messages each, a pool of 4 connections, 60 s leases.
//!
//! - Two processes on one PostgreSQL send 1,000 messages to 50 recipients each exactly once,
//!   in order, close to the floor the latency sets (20 messages a recipient, one at a time).
//! - A batch posted while one process dispatches 1,000 messages is answered within a second;
//!   SIGTERM then ends the process within its grace, with no lease left behind.
//! - `kill -9` mid-dispatch and a restart under the same `instance_id`: the restarted process
//!   takes its dead run's leases back at once instead of waiting 60 s for them to expire.

use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule, GraphSim};

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::postgres::TestSchema;
use crate::sim::{
    default_dispatch_toml, http, post_batch, start_sim, start_sim_with_echoes, wait_all_sent,
    wait_until,
};

/// How long graph-sim takes to answer each call.
const GRAPH_LATENCY: Duration = Duration::from_millis(100);

/// Makes every Graph call take [`GRAPH_LATENCY`].
fn slow(sim: &GraphSim) {
    sim.fault(FaultRule::global(Fault::Slow {
        delay: GRAPH_LATENCY,
    }));
}

/// The least time `plan` can take: each recipient's messages leave one after the other.
fn floor(plan: Plan) -> Duration {
    GRAPH_LATENCY * u32::try_from(plan.per_recipient).expect("a small count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_postgres_at_graph_speed_send_each_message_once_in_order() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let dir = Workdir::new();
    let sim = start_sim().await;
    slow(&sim);
    let config = dir.write(
        "gateway.toml",
        &default_dispatch_toml(&sim, &schema.gateway_url()),
    );
    let plan = Plan {
        recipients: 50,
        per_recipient: 20,
    };
    let http = http();
    let a = GatewayProcess::start(&dir, "a", &config).await;
    let b = GatewayProcess::start(&dir, "b", &config).await;

    let started = Instant::now();
    let half = plan.per_recipient / 2;
    let mut ids = post_batch(&http, &a.base, &plan.requests(0..half)).await;
    ids.extend(post_batch(&http, &b.base, &plan.requests(half..plan.per_recipient)).await);
    // Twice the floor and then some: every round costs a lease and a settlement besides the
    // sends, and the two processes share two cores with this test.
    let limit = floor(plan) * 3 + Duration::from_secs(4);
    wait_all_received(&sim, plan, limit).await;
    let drain = started.elapsed();
    wait_all_sent(&http, &a.base, &ids, Duration::from_secs(10)).await;

    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    for process in [&a, &b] {
        let log = process.log();
        for sign in [
            "dispatch round failed",
            "slow threshold",
            "failed; retrying",
        ] {
            assert!(
                !log.contains(sign),
                "{}: {sign:?} in the log:\n{log}",
                process.instance
            );
        }
    }
    eprintln!(
        "two processes on PostgreSQL, Graph at {GRAPH_LATENCY:?}: {} messages sent once each \
         in {:.2} s (floor {:.1} s)",
        plan.total(),
        drain.as_secs_f64(),
        floor(plan).as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_graph_speed_a_batch_is_answered_at_once_and_sigterm_leaves_no_lease() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let dir = Workdir::new();
    let sim = start_sim().await;
    slow(&sim);
    let config = dir.write(
        "gateway.toml",
        &default_dispatch_toml(&sim, &schema.gateway_url()),
    );
    let plan = Plan {
        recipients: 50,
        per_recipient: 22,
    };
    let http = http();
    let mut gateway = GatewayProcess::start(&dir, "1-terminated", &config).await;
    let mut ids = post_batch(&http, &gateway.base, &plan.requests(0..20)).await;
    wait_until("100 sends", Duration::from_secs(30), || {
        sim.sent_count() >= 100
    })
    .await;

    let posted = Instant::now();
    ids.extend(post_batch(&http, &gateway.base, &plan.requests(20..22)).await);
    let answered = posted.elapsed();
    assert!(
        answered < Duration::from_secs(1),
        "a batch of 100 took {answered:?} to answer while 1,000 messages dispatched"
    );
    assert!(
        sim.sent_count() < 1000,
        "dispatch was over before the batch was posted: the test proves nothing"
    );

    let (status, took) = gateway.terminate(Duration::from_secs(30)).await;
    let log = gateway.log();
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{log}"
    );
    assert!(
        took < Duration::from_secs(20) && !log.contains("grace period over"),
        "SIGTERM took {took:?}, past the 20 s grace:\n{log}"
    );
    let leased = schema
        .count(
            "SELECT COUNT(*) FROM messages WHERE lease_holder IS NOT NULL \
             AND status IN ('processing', 'retrying')",
        )
        .await;
    assert_eq!(leased, 0, "leases left behind after SIGTERM");

    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    wait_all_received(&sim, plan, Duration::from_secs(60)).await;
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(10)).await;
    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    eprintln!(
        "Graph at {GRAPH_LATENCY:?}, PostgreSQL: a batch of 100 answered in {} ms while 1,000 \
         dispatched; SIGTERM exit in {:.2} s, no lease left",
        answered.as_millis(),
        took.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_the_same_instance_id_takes_its_leases_back_at_once() {
    let dir = Workdir::new();
    // One port for both runs, so Meta's echoes reach the restarted one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let sim = start_sim_with_echoes(&format!("http://127.0.0.1:{port}/webhooks/facebook")).await;
    slow(&sim);
    let toml = default_dispatch_toml(&sim, &dir.sqlite_url("messenger.db")).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\"\ninstance_id = \"gw-restart\""),
    );
    let config = dir.write("gateway.toml", &toml);
    let plan = Plan {
        recipients: 40,
        per_recipient: 50,
    };
    let http = http();
    let mut gateway = GatewayProcess::start(&dir, "1-killed", &config).await;
    let ids = post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    wait_until("600 sends before the kill", Duration::from_secs(60), || {
        sim.sent_count() >= 600
    })
    .await;
    gateway.kill9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_kill = usize::try_from(sim.sent_count()).expect("a count");
    assert!(
        at_kill < plan.total(),
        "everything was sent before the kill"
    );

    let restarted = Instant::now();
    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    // The lease is 60 s: only leases taken back at start let the rest go within this.
    let limit = Duration::from_secs(30);
    wait_all_received(&sim, plan, limit).await;
    let drain = restarted.elapsed();
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(10)).await;
    assert!(
        gateway.log().contains("took back the leases"),
        "{}",
        gateway.log()
    );
    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_order(plan);
    sends.assert_exactly_once();
    eprintln!(
        "kill -9 after {at_kill} of {} sends (Graph at {GRAPH_LATENCY:?}, 60 s leases); the \
         restart under the same instance_id sent the rest in {:.1} s (echo grace 10 s), none twice",
        plan.total(),
        drain.as_secs_f64()
    );
}
