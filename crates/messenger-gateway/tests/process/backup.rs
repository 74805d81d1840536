//! `messenger-gateway backup` while the gateway serves, and `restore` after a disaster: every
//! message accepted before the backup began is in the copy, and the gateway started on the
//! restored copy sends each message once (across both processes).
//!
//! Graph starts failing just before the backup, so the killed process sends nothing after the
//! copy is taken: the copy is the whole truth of what was sent, as it is when the machine is
//! lost right after a backup. The gateway keeps accepting batches and leasing and releasing
//! messages while the copy is written (writes under way), and a message leased in the copy
//! waits for Meta's echoes when the restored gateway takes its lease back, as after a crash.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule};
use sqlx::Connection;

use crate::child::{run_to_exit, GatewayProcess, Workdir};
use crate::disk_full::{ids, post_keyed_until_accepted};
use crate::plan::{Plan, Sends};
use crate::sim::{
    config_toml, free_port, http, start_sim_with_echoes, wait_all_sent, wait_until, Dispatch,
};

/// A cap on each wait, against a hang only.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// Recipients of each batch.
const RECIPIENTS: usize = 20;

/// A batch the client got 202 for, and when.
struct Accepted {
    m: usize,
    at: Instant,
    ids: Vec<String>,
}

/// The ids and statuses of the messages in a SQLite file.
async fn stored(path: &std::path::Path) -> Vec<(String, String)> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("opening a copy");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("PRAGMA integrity_check");
    assert_eq!(check, "ok", "{}", path.display());
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, status FROM messages")
        .fetch_all(&mut conn)
        .await
        .expect("reading the messages");
    let _ = conn.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_accepted_message_and_sends_none_twice() {
    let dir = Workdir::new();
    let port = free_port();
    let sim = start_sim_with_echoes(&format!("http://127.0.0.1:{port}/webhooks/facebook")).await;
    sim.fault(FaultRule::global(Fault::Slow {
        delay: Duration::from_millis(20),
    }));
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 30,
    };
    let with_port = |db: &str| {
        // Graph's failures while the copy is made must not use a message's attempts up.
        config_toml(&sim, db, dispatch)
            .replace(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\""),
            )
            .replace("[dispatch]\n", "[dispatch]\nmax_attempts = 100\n")
    };
    let config = dir.write("gateway.toml", &with_port(&dir.sqlite_url("messenger.db")));
    let restored_db = dir.path().join("restored").join("messenger.db");
    let restored_config = dir.write(
        "restored.toml",
        &with_port(&format!("sqlite://{}?mode=rwc", restored_db.display())),
    );
    let http = http();
    let mut gateway = GatewayProcess::start(&dir, "1-original", &config).await;

    // A client posting a batch every 50 ms until told to stop.
    let accepted = Arc::new(Mutex::new(Vec::<Accepted>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = tokio::spawn({
        let (http, base) = (http.clone(), gateway.base.clone());
        let (accepted, stop) = (Arc::clone(&accepted), Arc::clone(&stop));
        async move {
            let mut m = 0;
            while !stop.load(Ordering::Relaxed) {
                let plan = Plan {
                    recipients: RECIPIENTS,
                    per_recipient: m + 1,
                };
                let answer = post_keyed_until_accepted(
                    &http,
                    &base,
                    &format!("batch-{m}"),
                    &plan.requests(m..m + 1),
                )
                .await;
                let ids = ids(&answer);
                accepted.lock().unwrap().push(Accepted {
                    m,
                    at: Instant::now(),
                    ids,
                });
                m += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    wait_until("200 sends before the backup", HANG_GUARD, || {
        sim.sent_count() >= 200
    })
    .await;
    // From now on nothing reaches Graph; the sends under way are recorded by then.
    sim.fault(FaultRule::global(Fault::ServerError { status: 503 }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_before = sim.sent_count();

    let copy = dir.path().join("backup.db");
    let backup_began = Instant::now();
    let (status, stderr) = run_to_exit(
        &dir,
        "2-backup",
        &[
            OsStr::new("backup"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--to"),
            copy.as_os_str(),
        ],
        dir.path(),
        HANG_GUARD,
    )
    .await;
    let backup_took = backup_began.elapsed();
    assert!(status.success(), "backup failed:\n{stderr}");
    let during = accepted
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.at > backup_began)
        .count();
    // The disaster: the machine is lost right after the backup.
    stop.store(true, Ordering::Relaxed);
    client.await.expect("the client task");
    gateway.kill9();
    assert_eq!(
        sim.sent_count(),
        sent_before,
        "nothing reached Graph after the fault"
    );

    let in_copy: std::collections::HashMap<String, String> =
        stored(&copy).await.into_iter().collect();
    let accepted = std::mem::take(&mut *accepted.lock().unwrap());
    let mut expected: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut expected_ids = Vec::new();
    for batch in &accepted {
        let present = batch
            .ids
            .iter()
            .filter(|id| in_copy.contains_key(*id))
            .count();
        assert!(
            present == 0 || present == batch.ids.len(),
            "batch {} is in the copy in part ({present} of {})",
            batch.m,
            batch.ids.len()
        );
        if batch.at < backup_began {
            assert_eq!(
                present,
                batch.ids.len(),
                "batch {} accepted before the backup",
                batch.m
            );
        }
        if present > 0 {
            expected.extend((0..RECIPIENTS).map(|r| (r, batch.m)));
            expected_ids.extend(batch.ids.iter().cloned());
        }
    }
    let unsent = in_copy.values().filter(|s| *s != "sent").count();

    // Restore into a fresh directory: refused while the database exists, then started on.
    let restore_args = [
        OsStr::new("restore"),
        OsStr::new("--config"),
        restored_config.as_os_str(),
        OsStr::new("--from"),
        copy.as_os_str(),
    ];
    let (status, stderr) =
        run_to_exit(&dir, "3-restore", &restore_args, dir.path(), HANG_GUARD).await;
    assert!(status.success(), "restore failed:\n{stderr}");
    let (status, stderr) = run_to_exit(
        &dir,
        "4-restore-again",
        &restore_args,
        dir.path(),
        HANG_GUARD,
    )
    .await;
    assert!(
        !status.success()
            && stderr.contains("exists: restore puts a copy where there is no database"),
        "a second restore over the database:\n{stderr}"
    );
    sim.clear_faults();
    let restored_at = Instant::now();
    let gateway = GatewayProcess::start(&dir, "5-restored", &restored_config).await;
    wait_all_sent(&http, &gateway.base, &expected_ids, HANG_GUARD).await;
    let drained = restored_at.elapsed();

    let sends = Sends::from_sim(&sim);
    sends.assert_exactly_once();
    let sent: BTreeSet<(usize, usize)> = sends.occurrences().into_keys().collect();
    assert_eq!(sent, expected, "exactly the messages in the copy were sent");
    eprintln!(
        "backup of {} messages ({} unsent, {} sent at the time) took {:.2} s while the gateway \
         accepted {during} batches; restored, the rest was sent in {:.1} s (messages Graph had \
         refused wait out the page's circuit, up to 60 s); each of the {} messages sent once",
        in_copy.len(),
        unsent,
        sent_before,
        backup_took.as_secs_f64(),
        drained.as_secs_f64(),
        expected.len(),
    );
}
