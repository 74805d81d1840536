//! SIGTERM while messages are being dispatched: the process finishes its workers' current
//! rounds and exits 0 within seconds; nothing is lost, nothing is sent twice, and no lease is
//! left behind (the lease here is an hour, so a message left leased would not be sent again
//! within the test's timeout).

use std::time::{Duration, Instant};

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{config_toml, http, post_batch, start_sim, wait_all_sent, wait_until, Dispatch};

/// How long the process may take to exit after SIGTERM (its grace period is 20 s).
const EXIT_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_dispatch_exits_0_and_leaves_nothing_leased() {
    let dir = Workdir::new();
    let sim = start_sim().await;
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 3600,
    };
    let db = dir.sqlite_url("messenger.db");
    let config = dir.write("gateway.toml", &config_toml(&sim, &db, dispatch));
    let plan = Plan {
        recipients: 50,
        per_recipient: 20,
    };
    let http = http();

    let mut gateway = GatewayProcess::start(&dir, "1-terminated", &config).await;
    let ids = post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    wait_until("200 sends before SIGTERM", Duration::from_secs(60), || {
        sim.sent_count() >= 200
    })
    .await;
    let (status, took) = gateway.terminate(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "exit status {status} after SIGTERM:\n{}",
        gateway.log()
    );
    assert!(
        took < EXIT_WITHIN,
        "the gateway took {took:?} to exit after SIGTERM"
    );
    let log = gateway.log();
    assert!(log.contains("gateway stopped"), "{log}");
    assert!(
        !log.contains("grace period over"),
        "the workers did not finish their rounds within the grace period:\n{log}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_term = usize::try_from(sim.sent_count()).expect("a count");
    assert!(
        at_term < plan.total(),
        "everything was sent before SIGTERM took effect ({at_term}): the test proves nothing"
    );

    let restarted = Instant::now();
    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    // Far shorter than the lease: only a message nobody holds can be sent in time.
    wait_all_received(&sim, plan, Duration::from_secs(60)).await;
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(10)).await;
    let drain = restarted.elapsed();

    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_order(plan);
    sends.assert_exactly_once();
    eprintln!(
        "SIGTERM after {at_term} of {} sends: exit 0 in {:.2} s; the restarted process sent \
         the rest in {:.1} s; no duplicates",
        plan.total(),
        took.as_secs_f64(),
        drain.as_secs_f64()
    );
}
