//! One gateway owns its SQLite file (decision 0018): a crash on the README's defaults (no
//! `instance_id`, the default `./data/messenger.db`, the default `[dispatch]`) resumes at once,
//! because the restarted process takes back every lease in the file it owns; and a second
//! process on the same file is refused at start, naming the file and the holder.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use graph_sim::GraphSim;

use crate::child::{run_to_exit, GatewayProcess, Workdir};
use crate::plan::Plan;
use crate::sim::{
    assert_all_sent_once, free_port, http, kill9_mid_plan, post_batch, start_sim_with_echoes,
    wait_until, APP_SECRET, KEY, PAGE, PAGE_TOKEN, SPACE, TOKEN_KEY, VERIFY_TOKEN,
};

/// A cap on each wait, against a hang only: well above the default lease (60 s), which is
/// what a restart that did not take its leases back would wait.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// The README's configuration: the required settings and nothing else, but for Graph's address
/// (graph-sim) and the window check (graph-sim has no conversation to open the window). The
/// database is the default `sqlite://./data/messenger.db?mode=rwc`, relative to the working
/// directory.
fn readme_config(sim: &GraphSim, port: u16) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
token_key = "{TOKEN_KEY}"
graph_base_url = "{sim_url}"

[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
window_check = false
"#,
        sim_url = sim.base_url(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_the_defaults_resumes_at_once_and_sends_each_message_once() {
    let dir = Workdir::new();
    let port = free_port();
    let sim = start_sim_with_echoes(&format!("http://127.0.0.1:{port}/webhooks/facebook")).await;
    let config = dir.write("gateway.toml", &readme_config(&sim, port));
    let plan = Plan {
        recipients: 50,
        per_recipient: 40,
    };
    let http = http();

    let mut gateway = GatewayProcess::start_in(&dir, "1-killed", &config, dir.path()).await;
    assert!(
        dir.path().join("data/messenger.db").exists(),
        "the default database is ./data/messenger.db"
    );
    let ids = post_batch(&http, &gateway.base, &plan.requests(0..plan.per_recipient)).await;
    wait_until("300 sends before the kill", HANG_GUARD, || {
        sim.sent_count() >= 300
    })
    .await;
    let at_kill = kill9_mid_plan(&mut gateway, &sim, plan).await;

    // The same command again.
    let restarted = Instant::now();
    let gateway = GatewayProcess::start_in(&dir, "2-restarted", &config, dir.path()).await;
    let started = restarted.elapsed();
    wait_until("the first send after the restart", HANG_GUARD, || {
        sim.sent_count() > at_kill
    })
    .await;
    let first_send = restarted.elapsed();
    let drained =
        first_send + assert_all_sent_once(&sim, &http, &gateway.base, &ids, plan, HANG_GUARD).await;
    let log = gateway.log();
    assert!(
        log.contains("took back the leases of the SQLite file it owns"),
        "the restart takes back every lease in its file:\n{log}"
    );
    eprintln!(
        "README defaults: kill -9 after {at_kill} of {} sends; the restart served in {:.2} s, \
         sent again {:.1} s after it began and had sent all in {:.1} s (default lease 60 s, \
         echo grace 10 s); none sent twice",
        plan.total(),
        started.as_secs_f64(),
        first_send.as_secs_f64(),
        drained.as_secs_f64(),
    );
}

/// `messenger-gateway ARGS --config CONFIG` run in `cwd` until it exits, expected to fail
/// naming the database file and the holder's process id.
async fn assert_refused(dir: &Workdir, label: &str, command: &str, config: &Path, holder: u32) {
    let (status, stderr) = run_to_exit(
        dir,
        label,
        &[
            OsStr::new(command),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        dir.path(),
        Duration::from_secs(60),
    )
    .await;
    assert!(
        !status.success(),
        "{command} on a held file exited 0:\n{stderr}"
    );
    assert!(
        stderr.contains("data/messenger.db is in use by another messenger-gateway process")
            && stderr.contains(&format!("(process {holder})")),
        "{command}: the refusal names the file and the holder:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_sqlite_file_is_refused() {
    let dir = Workdir::new();
    let sim = start_sim_with_echoes("http://127.0.0.1:9/unused").await;
    let config = dir.write("gateway.toml", &readme_config(&sim, 0));
    let http = http();
    let mut first = GatewayProcess::start_in(&dir, "1-owner", &config, dir.path()).await;
    assert_refused(&dir, "2-serve", "serve", &config, first.pid()).await;
    assert_refused(&dir, "3-migrate", "migrate", &config, first.pid()).await;
    let ready = http
        .get(format!("{}/readyz", first.base))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status().as_u16(), 200, "the owner serves on");

    // Once the owner has gone, the file is free.
    let (status, _) = first.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
    let second = GatewayProcess::start_in(&dir, "4-next", &config, dir.path()).await;
    let ready = http
        .get(format!("{}/readyz", second.base))
        .send()
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status().as_u16(), 200);
}
