//! SQLite on a full disk: the database on a 12 MB tmpfs the test mounts, Graph in an outage so
//! that messages stay queued and dispatch keeps writing. While the disk is full, requests that
//! must write are answered 503 with `Retry-After` naming the cause (never 500), and `/readyz`
//! says why; once space returns the same process accepts and sends again, without a restart:
//! every batch answered 202 (the refused ones retried with their `Idempotency-Key`) is sent
//! exactly once, in order per recipient, and the database passes `PRAGMA integrity_check`.

use std::time::{Duration, Instant};

use graph_sim::{Fault, FaultRule};
use messenger_test_support::wait::{self, HANG_GUARD};
use serde_json::Value;
use sqlx::Connection;

use crate::child::{GatewayProcess, Workdir};
use crate::plan::Plan;
use crate::sim::{assert_all_sent_once, config_toml, http, start_sim, Dispatch, KEY, SPACE};
use crate::small_disk::SmallDisk;

/// Recipients of each batch (one message each).
const RECIPIENTS: usize = 100;
/// The most batches posted while filling the disk: far more than 1 MB can hold.
const MAX_BATCHES: usize = 400;
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// What the gateway answered a batch.
pub(crate) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
}

/// `POST .../messages/batch` with an `Idempotency-Key`.
pub(crate) async fn post_keyed_batch(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    requests: &[Value],
) -> Answer {
    let res = http
        .post(format!("{base}/apispaces/{SPACE}/messages/batch"))
        .bearer_auth(KEY)
        .header("idempotency-key", key)
        .json(requests)
        .send()
        .await
        .expect("POST .../messages/batch");
    let status = res.status().as_u16();
    let retry_after = retry_after(&res);
    let body = res.text().await.expect("an answer");
    Answer {
        status,
        retry_after,
        body,
    }
}

/// An answer's `Retry-After`, if any.
fn retry_after(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The message ids of a 202 batch answer.
pub(crate) fn ids(answer: &Answer) -> Vec<String> {
    let list: Vec<Value> = serde_json::from_str(&answer.body).expect("a JSON array");
    list.iter()
        .map(|a| a["messageId"].as_str().expect("messageId").to_owned())
        .collect()
}

/// `GET /readyz`: status and body.
pub(crate) async fn readyz(http: &reqwest::Client, base: &str) -> (u16, Option<String>, Value) {
    let res = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    let status = res.status().as_u16();
    let retry_after = retry_after(&res);
    (status, retry_after, res.json().await.unwrap_or(Value::Null))
}

/// Whether `answer` asks to be tried again later, as a client must: a 503 (the store away)
/// or a 429 (the instance sheds while its sending is behind, decision 0025), each with a
/// `Retry-After`. Nothing of a batch so answered was stored.
pub(crate) fn try_again_later(answer: &Answer) -> bool {
    matches!(answer.status, 429 | 503) && answer.retry_after.is_some()
}

/// Posts a keyed batch until it is answered 202, trying again after every answer that asks
/// for it ([`try_again_later`]); any other answer fails the test.
pub(crate) async fn post_keyed_until_accepted(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    requests: &[Value],
) -> Answer {
    wait::until("the batch is accepted", POLL, || async {
        let answer = post_keyed_batch(http, base, key, requests).await;
        match answer.status {
            202 => Ok(answer),
            _ if try_again_later(&answer) => Err(format!("{}: {}", answer.status, answer.body)),
            other => panic!("batch {key}: {other}: {}", answer.body),
        }
    })
    .await
}

/// Asserts a 503 that names a full disk and asks to retry later.
#[track_caller]
fn assert_full(answer: &Answer) {
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert!(
        answer
            .retry_after
            .as_deref()
            .is_some_and(|s| s.parse::<u32>().is_ok()),
        "a 503 without Retry-After: {}",
        answer.body
    );
    let problem: Value = serde_json::from_str(&answer.body).expect("a problem document");
    assert_eq!(problem["cause"], "full", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disk is full")),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_503_until_space_returns_then_every_accepted_message_is_sent_once() {
    let dir = Workdir::new();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), 12) else {
        return;
    };
    let sim = start_sim().await;
    // Graph is down: messages stay queued, and dispatch keeps leasing and releasing them.
    sim.fault(FaultRule::global(Fault::ServerError { status: 503 }));
    let db = disk.path().join("messenger.db");
    let dispatch = Dispatch {
        workers: 2,
        batch_size: 16,
        lease_secs: 5,
    };
    let toml = config_toml(
        &sim,
        &format!("sqlite://{}?mode=rwc", db.display()),
        dispatch,
    )
    .replace("[dispatch]\n", "[dispatch]\nmax_attempts = 100\n");
    let config = dir.write("gateway.toml", &toml);
    let http = http();
    let mut gateway = GatewayProcess::start(&dir, "gateway", &config).await;
    let filler = disk.fill_leaving("filler", 1024 * 1024);

    // Batches until the disk is full, and three more: each answered 202 or 503, never 500.
    let plan_of = |batches: usize| Plan {
        recipients: RECIPIENTS,
        per_recipient: batches,
    };
    let mut accepted: Vec<(usize, Vec<String>)> = Vec::new();
    let mut refused: Vec<usize> = Vec::new();
    let mut batch = 0;
    while batch < MAX_BATCHES && (refused.is_empty() || batch < refused[0] + 4) {
        let requests = plan_of(batch + 1).requests(batch..batch + 1);
        let answer =
            post_keyed_batch(&http, &gateway.base, &format!("batch-{batch}"), &requests).await;
        match answer.status {
            202 => accepted.push((batch, ids(&answer))),
            503 => {
                assert_full(&answer);
                refused.push(batch);
            }
            other => panic!(
                "batch {batch}: {other} while the disk fills: {}",
                answer.body
            ),
        }
        batch += 1;
    }
    let batches = batch;
    assert!(
        !refused.is_empty(),
        "{batches} batches of {RECIPIENTS} fitted in the small disk: the test proves nothing"
    );
    // Whatever squeezed in meanwhile, the disk stays full: take the last bytes too.
    let filler2 = disk.fill_leaving("filler-2", 0);
    let answer = post_keyed_batch(
        &http,
        &gateway.base,
        &format!("batch-{}", refused[0]),
        &plan_of(batches).requests(refused[0]..refused[0] + 1),
    )
    .await;
    assert_full(&answer);
    let (retry_after, body) = wait::until("/readyz says the disk is full", POLL, || async {
        match readyz(&http, &gateway.base).await {
            (503, retry_after, body) if body["cause"] == "full" => Ok((retry_after, body)),
            (status, _, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    assert!(retry_after.is_some(), "/readyz 503 without Retry-After");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("disk is full")),
        "{body}"
    );

    // Space returns, Graph too: the same process takes the refused batches and sends it all.
    std::fs::remove_file(&filler).expect("removing the filler");
    std::fs::remove_file(&filler2).expect("removing the second filler");
    let freed = Instant::now();
    sim.clear_faults();
    let mut first_accept = None;
    for &b in &refused {
        let requests = plan_of(batches).requests(b..b + 1);
        let what = format!("batch {b} accepted after space returned");
        let key = format!("batch-{b}");
        let answer = wait::until(&what, POLL, || async {
            let answer = post_keyed_batch(&http, &gateway.base, &key, &requests).await;
            match answer.status {
                202 => Ok(answer),
                503 => Err(answer.body),
                other => panic!("batch {b}: {other} after space returned: {}", answer.body),
            }
        })
        .await;
        first_accept.get_or_insert_with(|| freed.elapsed());
        accepted.push((b, ids(&answer)));
    }
    // A write that stored something went through: ready again.
    wait::until("/readyz ready again", POLL, || async {
        match readyz(&http, &gateway.base).await {
            (200, _, _) => Ok(()),
            (status, _, body) => Err(format!("{status} {body}")),
        }
    })
    .await;
    let ready_again = freed.elapsed();
    let plan = plan_of(batches);
    let all_ids: Vec<String> = accepted.iter().flat_map(|(_, ids)| ids.clone()).collect();
    assert_eq!(
        all_ids.len(),
        plan.total(),
        "every batch was answered 202 once"
    );
    assert_all_sent_once(&sim, &http, &gateway.base, &all_ids, plan, HANG_GUARD).await;
    let drained = freed.elapsed();
    let log = gateway.log();
    assert!(
        log.contains("database or disk is full") || log.contains("disk is full"),
        "the cause is logged"
    );
    assert!(
        !log.contains("non-zero transaction depth"),
        "a connection was left inside a transaction:\n{log}"
    );
    let (status, _) = gateway.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "the gateway exited with {status}");

    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("opening the database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("PRAGMA integrity_check");
    assert_eq!(check, "ok");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&mut conn)
        .await
        .expect("counting messages");
    assert_eq!(stored, i64::try_from(plan.total()).expect("small"));
    let _ = conn.close().await;
    eprintln!(
        "disk full after {} of {} batches of {RECIPIENTS} ({} refused with 503); after space \
         returned the first refused batch was accepted in {:.1} s, /readyz was ready in {:.1} s, \
         and all {} messages were sent in {:.1} s (after Graph's outage, as its circuit \
         reopened), each once",
        refused[0],
        batches,
        refused.len(),
        first_accept.unwrap_or_default().as_secs_f64(),
        ready_again.as_secs_f64(),
        plan.total(),
        drained.as_secs_f64()
    );
}
