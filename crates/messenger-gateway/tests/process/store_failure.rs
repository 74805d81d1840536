//! The store refuses to record sends that reached Graph: the gateway retries the recording
//! instead of sending again. The failure is real: a PostgreSQL trigger refuses the first
//! `FAILURES` updates that mark a message sent (a sequence counts them, outside any
//! transaction), exactly as a database that briefly refuses writes would.

use std::time::Duration;

use crate::child::{GatewayProcess, Workdir};
use crate::plan::{wait_all_received, Plan, Sends};
use crate::sim::{default_dispatch_toml, http, metrics_text, post_batch, start_sim, wait_all_sent};
use messenger_test_support::postgres::TestSchema;

/// How many "mark sent" updates the database refuses.
const FAILURES: i64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_whose_recording_fails_are_recorded_by_retrying_not_sent_again() {
    let Some(schema) = TestSchema::create("gw_process").await else {
        return;
    };
    let dir = Workdir::new();
    let sim = start_sim().await;
    sim.fault(graph_sim::FaultRule::global(graph_sim::Fault::Slow {
        delay: Duration::from_millis(100),
    }));
    let config = dir.write(
        "gateway.toml",
        &default_dispatch_toml(&sim, &schema.url_with_search_path()),
    );
    // Started first: its migrations create the table the trigger goes on.
    let gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    schema
        .execute(&format!(
            "CREATE SEQUENCE refused_sends; \
             CREATE FUNCTION refuse_sends() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF NEW.status = 'sent' AND OLD.status <> 'sent' \
                  AND nextval('refused_sends') <= {FAILURES} THEN \
                 RAISE EXCEPTION 'injected failure: recording a send refused'; \
               END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_sends BEFORE UPDATE ON messages \
               FOR EACH ROW EXECUTE FUNCTION refuse_sends();"
        ))
        .await;
    let plan = Plan {
        recipients: 10,
        per_recipient: 5,
    };
    let http = http();
    let ids = post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    // Well under the 60 s lease: nothing may wait for a lease to expire.
    wait_all_received(&sim, plan, Duration::from_secs(20)).await;
    wait_all_sent(&http, &gateway.base, &ids, Duration::from_secs(20)).await;

    let sends = Sends::from_sim(&sim);
    sends.assert_none_lost(plan);
    sends.assert_exactly_once();
    sends.assert_order(plan);
    let refused = schema.count("SELECT last_value FROM refused_sends").await;
    assert!(
        refused >= FAILURES,
        "the trigger refused only {refused} updates"
    );
    let log = gateway.log();
    assert!(
        log.contains("failed; retrying") && log.contains("injected failure"),
        "the retries are logged with the database's words:\n{log}"
    );
    let metrics = metrics_text(&http, &gateway.base).await;
    let failures: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("messenger_gateway_store_failures_total{")
                && l.contains("kind=\"backend\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(
        failures >= u64::try_from(FAILURES).expect("small"),
        "store_failures_total counts the refusals:\n{metrics}"
    );
}
