//! PostgreSQL goes away and comes back, for the gateway alone (the machine's server runs on):
//!
//! - every gateway connection cut (`pg_terminate_backend` of the sessions named by the URL's
//!   `application_name`) again and again while batches are accepted and sent;
//! - the database unreachable for 30 s: the gateway connects through a TCP proxy the test stops
//!   (connections refused, open ones cut) and starts again.
//!
//! Either way the gateway answers 503 with `Retry-After` while it cannot store (never 500,
//! never a hang), `/readyz` says why, every batch a client got 202 for (the refused ones
//! retried with their `Idempotency-Key`) is sent exactly once and in order per recipient, and
//! sending resumes once the database is back; the times are printed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule, GraphSim};
use messenger_test_support::postgres::TestSchema;
use messenger_test_support::wait;

use crate::child::{GatewayProcess, Workdir};
use crate::disk_full::{ids, post_keyed_batch, readyz, try_again_later};
use crate::pg_proxy::PgProxy;
use crate::plan::Plan;
use crate::sim::{
    assert_all_sent_once, default_dispatch_toml, free_port, http, kill9_mid_plan,
    start_sim_with_echoes, wait_until,
};

/// A cap on each wait, against a hang only.
const HANG_GUARD: Duration = Duration::from_secs(180);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// What the clients were answered.
#[derive(Default)]
struct Answers {
    accepted: AtomicU64,
    refused: AtomicU64,
}

/// Posts message `m` of every recipient as one batch under its own `Idempotency-Key` until it
/// is answered 202, retrying every 503 and 429 (which must carry `Retry-After`: the store away,
/// or the instance shedding while it catches up); any other answer fails
/// the test. Returns the ids.
async fn post_until_accepted(
    http: &reqwest::Client,
    base: &str,
    plan: Plan,
    m: usize,
    answers: &Answers,
) -> Vec<String> {
    let requests = plan.requests(m..m + 1);
    let (what, key) = (format!("batch {m} accepted"), format!("batch-{m}"));
    let answer = wait::until_within(HANG_GUARD, &what, POLL, || async {
        let answer = post_keyed_batch(http, base, &key, &requests).await;
        match answer.status {
            202 => Ok(answer),
            503 | 429 => {
                answers.refused.fetch_add(1, Ordering::Relaxed);
                assert!(
                    try_again_later(&answer),
                    "a {} without Retry-After: {}",
                    answer.status,
                    answer.body
                );
                Err(answer.body)
            }
            other => panic!("batch {m}: {other}: {}", answer.body),
        }
    })
    .await;
    answers.accepted.fetch_add(1, Ordering::Relaxed);
    ids(&answer)
}

/// graph-sim posting echoes to a gateway on a fixed port, answering in 20 ms, and the
/// gateway's configuration on `db_url` (the documented defaults otherwise).
async fn sim_and_config(dir: &Workdir, db_url: &str) -> (GraphSim, std::path::PathBuf) {
    let port = free_port();
    let sim = start_sim_with_echoes(&format!("http://127.0.0.1:{port}/webhooks/facebook")).await;
    sim.fault(FaultRule::global(Fault::Slow {
        delay: Duration::from_millis(20),
    }));
    let toml = default_dispatch_toml(&sim, db_url).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    (sim, dir.write("gateway.toml", &toml))
}

/// `url` with `application_name` set, naming the gateway's sessions in `pg_stat_activity`.
fn named(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gateway_connection_cut_loses_nothing_and_sends_each_message_once() {
    let Some(schema) = TestSchema::create("gw_process").await else {
        return;
    };
    let dir = Workdir::new();
    let app = format!("gw_cut_{}", std::process::id());
    let (sim, config) = sim_and_config(&dir, &named(&schema.url_with_search_path(), &app)).await;
    let gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    let plan = Plan {
        recipients: 20,
        per_recipient: 30,
    };
    let http = http();
    let answers = Arc::new(Answers::default());
    let client = tokio::spawn({
        let (http, base, answers) = (http.clone(), gateway.base.clone(), Arc::clone(&answers));
        async move {
            let mut ids = Vec::new();
            for m in 0..plan.per_recipient {
                ids.extend(post_until_accepted(&http, &base, plan, m, &answers).await);
                // Batches keep coming after the last cut (8 x 300 ms).
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            ids
        }
    });
    // Cut every gateway session, again and again, while it accepts and sends.
    let terminate = format!(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = '{app}') AS cut"
    );
    let mut cut = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cut += schema.count(&terminate).await;
    }
    let last_cut = Instant::now();
    let at_last_cut = sim.sent_count();
    assert!(cut > 0, "no gateway session was found to cut");
    assert!(
        !client.is_finished(),
        "every batch was accepted before the last cut: the test proves nothing"
    );
    let ids = client.await.expect("the client task");
    wait_until("a send after the last cut", HANG_GUARD, || {
        sim.sent_count() > at_last_cut
    })
    .await;
    let resumed = last_cut.elapsed();
    assert_all_sent_once(&sim, &http, &gateway.base, &ids, plan, HANG_GUARD).await;
    let (status, _, body) = readyz(&http, &gateway.base).await;
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "{cut} gateway sessions cut over 8 rounds: {} batches accepted, {} answers 503; sends \
         went on {:.1} s after the last cut; all {} sent once",
        answers.accepted.load(Ordering::Relaxed),
        answers.refused.load(Ordering::Relaxed),
        resumed.as_secs_f64(),
        plan.total()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_for_30_s_is_503_and_sending_resumes_when_it_returns() {
    let Some(schema) = TestSchema::create("gw_process").await else {
        return;
    };
    let dir = Workdir::new();
    let direct = url::Url::parse(&schema.url_with_search_path()).expect("the test server's URL");
    let upstream = format!(
        "{}:{}",
        direct.host_str().expect("a host"),
        direct.port().unwrap_or(5432)
    );
    let mut proxy = PgProxy::start(&upstream).await;
    let mut through = direct.clone();
    through.set_port(Some(proxy.port())).expect("a port");
    let (sim, config) = sim_and_config(&dir, through.as_str()).await;
    // A page paced at 40 a second: a backlog that outlasts the outage's start.
    let config_text = std::fs::read_to_string(&config)
        .expect("the configuration")
        .replace("send_rate = 1000000", "send_rate = 40");
    std::fs::write(&config, config_text).expect("writing the configuration");
    let gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    let plan = Plan {
        recipients: 20,
        per_recipient: 40,
    };
    let http = http();
    let answers = Answers::default();
    let before = plan.per_recipient - 1;
    let mut ids = Vec::new();
    for m in 0..before {
        ids.extend(post_until_accepted(&http, &gateway.base, plan, m, &answers).await);
    }
    wait_until("100 sends before the outage", HANG_GUARD, || {
        sim.sent_count() >= 100
    })
    .await;

    proxy.stop();
    let down = Instant::now();
    let at_down = sim.sent_count();
    // A batch while the database is away: 503 naming the cause, in bounded time.
    let requests = plan.requests(before..before + 1);
    // (A 429 first is the instance shedding while it catches up; it is asked again.)
    let asked = Instant::now();
    let key = format!("batch-{before}");
    let answer = wait::until_within(
        HANG_GUARD,
        "a 503 while the database is away",
        POLL,
        || async {
            let answer = post_keyed_batch(&http, &gateway.base, &key, &requests).await;
            match answer.status {
                503 => Ok(answer),
                429 if try_again_later(&answer) => Err(answer.body),
                other => panic!("while the database is away: {other}: {}", answer.body),
            }
        },
    )
    .await;
    let refused_in = asked.elapsed();
    assert!(answer.retry_after.is_some(), "{}", answer.body);
    let problem: serde_json::Value = serde_json::from_str(&answer.body).expect("a problem");
    assert!(
        ["unreachable", "no-connection"].contains(&problem["cause"].as_str().unwrap_or("")),
        "{problem}"
    );
    // /readyz says the database cannot be reached.
    let what = "/readyz says the database is unreachable";
    wait::until_within(HANG_GUARD, what, POLL, || async {
        match readyz(&http, &gateway.base).await {
            (503, retry_after, body) if body["cause"] == "unreachable" => {
                assert!(retry_after.is_some(), "{body}");
                Ok(())
            }
            (status, _, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    let remaining = Duration::from_secs(30).saturating_sub(down.elapsed());
    tokio::time::sleep(remaining).await;
    let stalled_at = sim.sent_count();

    proxy.resume().await;
    let up = Instant::now();
    ids.extend(post_until_accepted(&http, &gateway.base, plan, before, &answers).await);
    let accepted_in = up.elapsed();
    wait_until("a send after the database returned", HANG_GUARD, || {
        sim.sent_count() > stalled_at
    })
    .await;
    let resumed_in = up.elapsed();
    wait::until_within(HANG_GUARD, "/readyz ready again", POLL, || async {
        match readyz(&http, &gateway.base).await {
            (200, _, _) => Ok(()),
            (status, _, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    let ready_in = up.elapsed();
    assert_all_sent_once(&sim, &http, &gateway.base, &ids, plan, HANG_GUARD).await;
    eprintln!(
        "PostgreSQL unreachable for {:.0} s after {at_down} of {} sends (sends during it: {}): \
         a batch was refused 503 in {:.1} s; once it returned, a batch was accepted in {:.1} s, \
         sending resumed in {:.1} s and /readyz was ready in {:.1} s; all sent once",
        up.duration_since(down).as_secs_f64(),
        plan.total(),
        stalled_at - at_down,
        refused_in.as_secs_f64(),
        accepted_in.as_secs_f64(),
        resumed_in.as_secs_f64(),
        ready_in.as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_an_id_on_postgres_keeps_its_own_and_resumes_at_once_after_kill_9() {
    let Some(schema) = TestSchema::create("gw_process").await else {
        return;
    };
    let dir = Workdir::new();
    // No instance_id: the instance keeps one in ./data (the test's directory).
    let (sim, config) = sim_and_config(&dir, &schema.url_with_search_path()).await;
    let plan = Plan {
        recipients: 40,
        per_recipient: 25,
    };
    let http = http();
    let mut gateway = GatewayProcess::start(&dir, "1-killed", &config).await;
    let first_id = gateway.instance.clone();
    let ids =
        crate::sim::post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    wait_until("200 sends before the kill", HANG_GUARD, || {
        sim.sent_count() >= 200
    })
    .await;
    let at_kill = kill9_mid_plan(&mut gateway, &sim, plan).await;

    let restarted = Instant::now();
    let gateway = GatewayProcess::start(&dir, "2-restarted", &config).await;
    assert_eq!(gateway.instance, first_id, "the same id after the restart");
    wait_until("a send after the restart", HANG_GUARD, || {
        sim.sent_count() > at_kill
    })
    .await;
    let first_send = restarted.elapsed();
    let drained =
        first_send + assert_all_sent_once(&sim, &http, &gateway.base, &ids, plan, HANG_GUARD).await;
    let log = gateway.log();
    assert!(
        log.contains("kept in server.state_dir")
            && log.contains("took back the leases an earlier run of this instance held"),
        "{log}"
    );
    let kept = std::fs::read_to_string(dir.path().join("data/instance-0")).expect("the slot");
    assert_eq!(kept.trim(), first_id);
    eprintln!(
        "PostgreSQL, no instance_id: kill -9 after {at_kill} of {} sends; the restart kept id \
         {first_id}, sent again {:.1} s after it began and had sent all in {:.1} s (lease 60 s); \
         none sent twice",
        plan.total(),
        first_send.as_secs_f64(),
        drained.as_secs_f64()
    );
}
