//! `dispatch`: what one dispatched message costs, dispatch alone.
//!
//! The real `messenger-gateway serve` binary runs as a child process (optionally under
//! `--wrap`, e.g. `valgrind --tool=callgrind`), with one space whose page rate is lifted
//! (`UNPACED`: this measures the dispatcher, not Meta's pace) and graph-sim answering at once
//! (or after `--graph-latency-ms`). The harness stores `--messages` messages directly in the
//! database (500 to a transaction, each to its own recipient), due `LEAD` later, so storing them
//! costs the gateway nothing; from the moment they fall due until graph-sim has taken them all,
//! it reads the gateway's CPU time (user + system, `/proc/<pid>/stat`) and, on PostgreSQL, that
//! of every `postgres` process. Under callgrind (`--wrap "valgrind --tool=callgrind ..."`) the
//! counters are zeroed when the messages fall due and dumped when the last is sent
//! (`callgrind_control -z` / `-d`), and the dump's instruction count is divided by the messages.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use messenger_model::{Channel, SendRequest, Timestamp, To};
use messenger_store::{NewMessage, Store};
use messenger_store_sql::SqlOptions;

use crate::child::{GatewayProcess, Workdir};
use crate::env::{Database, APP_SECRET, UNPACED};
use crate::pages::{config_toml, cpu_time, database_cpu_time, Space};
use crate::report::Row;
use crate::{Args, Backend, BoxError};

/// Messages stored per transaction.
const CHUNK: u64 = 500;
/// How long before the messages fall due the counters are read.
const EARLY: Duration = Duration::from_millis(100);

/// Stores `n` messages due at `due`, each to its own recipient.
async fn store_due(
    store: &Arc<dyn Store>,
    space: &str,
    n: u64,
    due: Timestamp,
) -> Result<(), BoxError> {
    let mut done = 0;
    while done < n {
        let size = CHUNK.min(n - done);
        let messages: Vec<NewMessage> = (done..done + size)
            .map(|i| {
                let psid = format!("2500{i:010}");
                let req = SendRequest::new(To::fb_messenger_id(&psid))
                    .body(format!(
                        "Your order #{i} has shipped and will arrive tomorrow between 9am and 1pm."
                    ))
                    .rules([Channel::FbMessenger]);
                let mut m = NewMessage::new(space, format!("psid:{psid}"), req, Timestamp::now());
                m.not_before = due;
                m
            })
            .collect();
        store.insert_messages(messages).await?;
        done += size;
    }
    Ok(())
}

/// Runs `callgrind_control ARG PID`; returns whether it succeeded.
fn callgrind_control(arg: &str, pid: u32) -> bool {
    Command::new("callgrind_control")
        .arg(arg)
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

/// The newest callgrind dump in `dir` and its instructions (its `summary:` or `totals:` line).
fn newest_dump(dir: &std::path::Path) -> Option<(std::path::PathBuf, u64)> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("callgrind.out"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())?;
    let text = std::fs::read_to_string(newest.path()).ok()?;
    let instructions = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    Some((newest.path(), instructions))
}

/// `dispatch`: see the module's doc.
pub(crate) async fn dispatch(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let space = Space::new("d0");
    let sim = GraphSim::builder()
        .app_secret(APP_SECRET)
        .page(space.page.clone(), space.token())
        .start()
        .await?;
    if args.graph_latency_ms > 0 {
        sim.fault(graph_sim::FaultRule::global(graph_sim::Fault::Slow {
            delay: Duration::from_millis(args.graph_latency_ms),
        }));
    }
    let db = Database::fresh(backend)?;
    let dir = Workdir::new();
    let mut unpaced = args.clone();
    unpaced.page_rate = UNPACED;
    let config = dir.write(
        "gateway.toml",
        &config_toml(&unpaced, &sim, &db, std::slice::from_ref(&space)),
    );
    let wrapped = !args.wrap.is_empty();
    let gateway = GatewayProcess::start_wrapped(&dir, "gateway", &config, &args.wrap).await;
    let pid = gateway.pid();
    let callgrind = wrapped && args.wrap.iter().any(|w| w.contains("callgrind"));

    // The harness's own connection to the gateway's database.
    let options = SqlOptions {
        postgres_schema: db.schema.clone(),
        ..SqlOptions::default()
    };
    let store = messenger_store_sql::connect_with(&db.url, &options).await?;
    let n = args.messages;
    // Nothing is sent before the messages fall due; counted from here, a send that goes out
    // before the counters are read below is still counted.
    let sent_at_start = sim.sent_count();
    let lead = if wrapped {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(1)
    };
    let stored_at = Instant::now();
    let due_in = lead + Duration::from_millis(n / 50);
    let due = Timestamp::now().add_millis(i64::try_from(due_in.as_millis()).unwrap_or(i64::MAX));
    store_due(&store, &space.id, n, due).await?;
    let storing = stored_at.elapsed();
    if storing >= due_in {
        return Err(format!("storing {n} messages took {storing:?}, past their due time").into());
    }
    // Read the counters a little before the messages fall due (the gateway idles meanwhile).
    tokio::time::sleep((due_in - storing).saturating_sub(EARLY)).await;
    let cpu_at_start = cpu_time(pid).unwrap_or_default();
    let db_cpu_at_start = database_cpu_time();
    if callgrind && !callgrind_control("-z", pid) {
        return Err("callgrind_control -z failed".into());
    }
    let started = Instant::now();
    let cap = Duration::from_secs(args.drain_timeout);
    while sim.sent_count() < sent_at_start + n && started.elapsed() < cap {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    let sent = sim.sent_count() - sent_at_start;
    let cpu = cpu_time(pid)
        .unwrap_or_default()
        .saturating_sub(cpu_at_start);
    let db_cpu = database_cpu_time().saturating_sub(db_cpu_at_start);
    let instructions = if callgrind {
        if !callgrind_control("-d", pid) {
            return Err("callgrind_control -d failed".into());
        }
        // The dump is written by the child's next scheduled callgrind check.
        let mut found = None;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            found = newest_dump(dir.path());
            if found.is_some() {
                break;
            }
        }
        // Kept for `callgrind_annotate` (the working directory goes with the scenario).
        found.map(|(path, instructions)| {
            let kept = std::env::temp_dir().join(format!("callgrind.dispatch.{backend:?}.{pid}"));
            let kept = std::fs::copy(&path, &kept).map(|_| kept).ok();
            (kept, instructions)
        })
    } else {
        None
    };
    let peak_rss_mib = crate::report::peak_rss_mib_of(&pid.to_string());
    drop(gateway);
    store.close().await;
    db.drop_schema().await;

    let per = |d: Duration| d.as_secs_f64() * 1e6 / sent.max(1) as f64;
    let mut note = format!(
        "{sent} of {n} messages dispatched in {:.2} s ({:.0}/s); gateway CPU {:.1} µs a message",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64(),
        per(cpu),
    );
    if backend == Backend::Postgres {
        note.push_str(&format!("; PostgreSQL CPU {:.1} µs a message", per(db_cpu)));
    }
    if let Some((kept, i)) = instructions {
        note.push_str(&format!(
            "; callgrind: {i} instructions, {:.0} a message{}",
            i as f64 / sent.max(1) as f64,
            kept.map_or_else(String::new, |k| format!(" (profile: {})", k.display()))
        ));
    } else if callgrind {
        note.push_str("; callgrind: no dump found");
    }
    if wrapped {
        note.push_str(&format!(" (under `{}`)", args.wrap.join(" ")));
    }
    Ok(Row {
        backend,
        scenario: format!("dispatch, {n} messages"),
        accepted_per_s: 0.0,
        dispatched_per_s: Some(sent as f64 / took.as_secs_f64()),
        drain: None,
        p50_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        errors: n.saturating_sub(sent),
        peak_rss_mib,
        note,
    })
}
