//! The page's connection with the real binary against graph-sim (decision 0022):
//!
//! - graph-sim revokes the page token (190/460, the user changed their password): the page goes
//!   `needs_reauth` (the log says so once, `/readyz` and the metric name it, the `doctor`
//!   command names the instance from the database), its messages wait
//!   without a retry storm, and once the token works again the health check sees it and every
//!   waiting message is sent, in order;
//! - `doctor` reports a page whose subscription lacks `message_echoes` (exit 1, saying to run
//!   `subscribe`); `subscribe` posts the fields the configuration needs; the doctor is then
//!   satisfied;
//! - the `doctor` command reads the webhook's last deliveries the running gateway recorded in
//!   the database; with none it names the likely causes (development mode, the subscription,
//!   the callback URL).

use std::process::Command;
use std::time::Duration;

use graph_sim::GraphSim;
use messenger_test_support::wait;
use serde_json::{json, Value};

use crate::child::{GatewayProcess, Workdir};
use crate::sim::{
    default_dispatch_toml, http, metrics_text, post_batch, start_sim, wait_all_sent, APP_SECRET,
    PAGE, PAGE_TOKEN,
};

/// The wait guard: a state that does not come within this is a hang.
const HANG: Duration = Duration::from_secs(120);

/// The log line of a page whose token stopped working.
const STOPPED: &str = "the page's token stopped working: its messages wait for new credentials";
/// The log line of a page whose token works again.
const WORKS_AGAIN: &str = "the page's token works again: its waiting messages are sent";

/// A configuration against `sim` with the app's id (so the checks use `debug_token`) and a token
/// check every second.
fn config(sim: &GraphSim, db_url: &str) -> String {
    let url = sim.base_url();
    default_dispatch_toml(sim, db_url).replacen(
        &format!("graph_base_url = \"{url}\""),
        &format!(
            "graph_base_url = \"{url}\"\napp_id = \"{}\"\ntoken_check_secs = 1",
            graph_sim::connection::DEFAULT_APP_ID
        ),
        1,
    )
}

/// How many lines of the JSON log have `message`.
fn lines_saying(log: &str, message: &str) -> usize {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == message)
        .count()
}

/// The debug_token calls graph-sim has answered.
fn token_checks(sim: &GraphSim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.ends_with("/debug_token"))
        .count()
}

/// The Send API calls graph-sim has answered.
fn send_calls(sim: &GraphSim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .count()
}

async fn readyz(base: &str) -> Value {
    http()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz")
        .json()
        .await
        .expect("readyz JSON")
}

#[tokio::test]
async fn a_revoked_token_holds_the_pages_messages_until_the_check_finds_it_valid() {
    let sim = start_sim().await;
    let dir = Workdir::new();
    let cfg = dir.write("gateway.toml", &config(&sim, &dir.sqlite_url("db")));
    let gw = GatewayProcess::start(&dir, "gateway", &cfg).await;
    let client = http();
    let psid = "24000000000901";
    let first = post_batch(
        &client,
        &gw.base,
        &[json!({"to": {"fbMessengerId": psid}, "body": "before", "rules": ["fbMessenger"]})],
    )
    .await;
    wait_all_sent(&client, &gw.base, &first, HANG).await;

    assert!(sim.revoke_token(PAGE_TOKEN, Some(460)));
    let sends_at_revocation = send_calls(&sim);
    let bodies: Vec<Value> = (0..5)
        .map(|i| json!({"to": {"fbMessengerId": psid}, "body": format!("waiting {i}"), "rules": ["fbMessenger"]}))
        .collect();
    let waiting = post_batch(&client, &gw.base, &bodies).await;

    let named = wait::until_within(
        HANG,
        "/readyz names the page",
        Duration::from_millis(50),
        || {
            let base = gw.base.clone();
            async move {
                let r = readyz(&base).await;
                match r["pagesNeedingReauth"].as_array() {
                    Some(pages) if !pages.is_empty() => Ok(pages[0].clone()),
                    _ => Err(r.to_string()),
                }
            }
        },
    )
    .await;
    assert_eq!(named["pageId"], PAGE, "{named}");
    assert_eq!(named["problem"], "password_changed", "{named}");
    assert!(
        named["action"].as_str().unwrap().contains("page_token"),
        "{named}"
    );
    assert_eq!(
        readyz(&gw.base).await["status"],
        "ready",
        "other pages may still send"
    );
    // The doctor command, a process of its own, reads from the database which instance holds
    // the page's messages, and since when.
    let report = wait::until_within(
        HANG,
        "the doctor command names the instance holding the page",
        Duration::from_millis(100),
        || {
            let cfg = cfg.clone();
            let instance = gw.instance.clone();
            async move {
                let (_, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg))
                    .await
                    .unwrap();
                let named = report
                    .lines()
                    .any(|l| l.contains("reauth") && l.contains(&format!("instance {instance} ")));
                if named {
                    Ok(report)
                } else {
                    Err(report)
                }
            }
        },
    )
    .await;
    assert!(report.contains("password_changed"), "{report}");

    // Several more checks and dispatch rounds pass: no retry storm, nothing sent.
    let checks = token_checks(&sim);
    wait::until_within(
        HANG,
        "three more token checks",
        Duration::from_millis(50),
        || {
            let n = token_checks(&sim);
            async move {
                if n >= checks + 3 {
                    Ok(())
                } else {
                    Err(n.to_string())
                }
            }
        },
    )
    .await;
    assert!(
        send_calls(&sim) <= sends_at_revocation + 1,
        "at most the head message tried Graph: {} calls after the revocation",
        send_calls(&sim) - sends_at_revocation
    );
    assert_eq!(
        sim.sent_messages().len(),
        1,
        "nothing sent while the token is revoked"
    );
    let metrics = metrics_text(&client, &gw.base).await;
    assert!(
        metrics.contains("messenger_gateway_page_needs_reauth{space=\"acme\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        lines_saying(&gw.log(), STOPPED),
        1,
        "logged once:\n{}",
        gw.log()
    );

    // The user logs in again and the token works: the next check sees it.
    assert!(sim.restore_token(PAGE_TOKEN));
    wait_all_sent(&client, &gw.base, &waiting, HANG).await;
    let texts: Vec<String> = sim
        .sent_messages()
        .iter()
        .map(|m| {
            m.request
                .message
                .as_ref()
                .and_then(|msg| msg.text.clone())
                .unwrap_or_default()
        })
        .collect();
    let mut want = vec!["before".to_owned()];
    want.extend((0..5).map(|i| format!("waiting {i}")));
    assert_eq!(texts, want, "each once, in order");
    assert_eq!(readyz(&gw.base).await["pagesNeedingReauth"], json!([]));
    let metrics = metrics_text(&client, &gw.base).await;
    assert!(
        metrics.contains("messenger_gateway_page_needs_reauth{space=\"acme\"} 0"),
        "{metrics}"
    );
    let log = gw.log();
    assert_eq!(lines_saying(&log, STOPPED), 1, "{log}");
    assert_eq!(lines_saying(&log, WORKS_AGAIN), 1, "{log}");
    // The record is gone: the doctor names no instance holding the page.
    let (_, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg))
        .await
        .unwrap();
    assert!(!report.contains(" reauth "), "{report}");
}

/// Runs `messenger-gateway COMMAND --config CFG`; its exit code and stdout.
fn run(command: &str, cfg: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_messenger-gateway"))
        .args([command, "--config"])
        .arg(cfg)
        .env("RUST_LOG", "warn")
        .env_remove("MESSENGER__DATABASE__URL")
        .output()
        .expect("running messenger-gateway");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_doctor_names_a_missing_echo_subscription_and_subscribe_fixes_it() {
    let sim = start_sim().await;
    let dir = Workdir::new();
    let cfg = dir.write("gateway.toml", &config(&sim, &dir.sqlite_url("db")));
    sim.set_subscribed_fields(
        PAGE,
        [
            "messages",
            "messaging_postbacks",
            "messaging_optins",
            "message_deliveries",
            "message_reads",
        ],
    );
    let cfg2 = cfg.clone();
    let (code, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg2))
        .await
        .unwrap();
    assert_eq!(code, 1, "{report}");
    let line = report
        .lines()
        .find(|l| l.contains("PROBLEM") && l.contains("subscription"))
        .unwrap_or_else(|| panic!("no subscription problem in:\n{report}"));
    assert!(line.contains("message_echoes"), "{report}");
    assert!(report.contains("messenger-gateway subscribe"), "{report}");
    assert!(report.contains("debug_token: valid"), "{report}");
    assert!(!report.contains(PAGE_TOKEN), "no token in the report");

    let cfg2 = cfg.clone();
    let (code, out) = tokio::task::spawn_blocking(move || run("subscribe", &cfg2))
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");
    let fields = sim.subscribed_fields(PAGE);
    for f in [
        "messages",
        "message_echoes",
        "message_deliveries",
        "message_reads",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let (code, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg))
        .await
        .unwrap();
    assert_eq!(code, 0, "{report}");
    assert!(!report.contains("PROBLEM"), "{report}");

    // A revoked token: the doctor says which subcode and what to do.
    assert!(sim.revoke_token(PAGE_TOKEN, Some(492)));
    let cfg = dir.path().join("gateway.toml");
    let (code, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg))
        .await
        .unwrap();
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("no_page_role"), "{report}");
    assert!(report.contains("role on the page"), "{report}");
}

/// Posts one signed `messages` delivery for the page to the gateway, as Meta does.
async fn post_signed_message(base: &str, psid: &str, mid: &str) {
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [{
        "sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": 1,
        "message": {"mid": mid, "text": "hello"}}]}]})
    .to_string();
    let res = http()
        .post(format!("{base}/webhooks/facebook"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            graph_sim::hub_signature_256(APP_SECRET, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .expect("POST /webhooks/facebook");
    assert_eq!(res.status().as_u16(), 200);
}

/// The `webhook` lines of the doctor's report.
fn webhook_lines(report: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in report.lines() {
        if line.trim_start().starts_with("ok")
            || line.contains("WARNING")
            || line.contains("PROBLEM")
        {
            keep = line.contains(" webhook ");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn the_doctor_command_sees_the_deliveries_the_running_gateway_recorded() {
    let sim = start_sim().await;
    let dir = Workdir::new();
    let cfg = dir.write("gateway.toml", &config(&sim, &dir.sqlite_url("db")));

    // Before any gateway ran (no database file): nothing recorded, and the likely causes.
    let cfg2 = cfg.clone();
    let (_, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg2))
        .await
        .unwrap();
    let lines = webhook_lines(&report);
    assert!(lines.contains("WARNING"), "{report}");
    assert!(lines.contains("development mode"), "{report}");
    assert!(lines.contains("callback URL"), "{report}");
    assert!(
        !dir.path().join("db").exists(),
        "the doctor made no database"
    );

    let gw = GatewayProcess::start(&dir, "gateway", &cfg).await;
    post_signed_message(&gw.base, "24000000000911", "m-doctor-1").await;
    // The first delivery of a page and field is recorded at once; the doctor, a process of its
    // own, reads it from the database.
    let report = wait::until_within(
        HANG,
        "the doctor command names the recorded delivery",
        Duration::from_millis(100),
        || {
            let cfg = cfg.clone();
            async move {
                let (_, report) = tokio::task::spawn_blocking(move || run("doctor", &cfg))
                    .await
                    .unwrap();
                if webhook_lines(&report).contains("last signed deliveries: ") {
                    Ok(report)
                } else {
                    Err(report)
                }
            }
        },
    )
    .await;
    let lines = webhook_lines(&report);
    assert!(lines.contains("messages 20"), "{report}");
    assert!(lines.contains("message_echoes never"), "{report}");
    assert!(!lines.contains("WARNING"), "{report}");
}
