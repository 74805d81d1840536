//! Store throughput on this machine: messages accepted per second (insert with an idempotency
//! key, one per transaction and 500 per transaction) and messages leased and marked sent per
//! second, on SQLite (a file in a temporary directory) and PostgreSQL (a fresh schema on the
//! local server, skipped with a message when it is not reachable).
//!
//! `cargo bench -p messenger-store-sql --bench store`; the figures are in docs/performance.md.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use messenger_model::{Channel, MessageStatus, SendRequest, Timestamp, To};
use messenger_store::{NewMessage, StatusUpdate, Store};
use messenger_store_sql::SqlOptions;
#[cfg(feature = "sqlite")]
use messenger_store_sql::{SqliteStore, Synchronous};
use tokio::runtime::Runtime;

// The tests' PostgreSQL stores; the bench uses a part of them.
#[cfg(feature = "postgres")]
#[allow(dead_code)]
#[path = "../tests/stores/support/postgres.rs"]
mod postgres_support;

const SPACE: &str = "space-bench";
const BATCH: usize = 500;
const LEASE_BATCH: usize = 100;

/// A realistic request: text with metadata, two rules, a tag.
fn message(n: u64) -> NewMessage {
    let mut req = SendRequest::new(To::profile(format!("customer-{n}")))
        .body("Your order #12345 has shipped and will arrive tomorrow between 9am and 1pm.")
        .rules([Channel::FbMessenger, Channel::Sms])
        .message_tag("HUMAN_AGENT");
    req.metadata = Some(serde_json::json!({"orderId": n, "campaign": "shipping"}));
    NewMessage::new(
        SPACE,
        format!("profile:customer-{n}"),
        req,
        Timestamp::from_millis(1_767_225_600_000),
    )
    .idempotency(format!("idem-{n}"), format!("{n:064x}"))
}

/// A unique message number across all iterations (idempotency keys must not repeat).
fn next(counter: &AtomicU64) -> u64 {
    counter.fetch_add(1, Ordering::Relaxed)
}

/// Accepting messages, into `store`.
fn bench_accept(c: &mut Criterion, rt: &Runtime, name: &str, store: Arc<dyn Store>) {
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group(format!("{name}/accept"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));

    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("single", "1 per transaction"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    store
                        .insert_message(message(next(&counter)))
                        .await
                        .expect("insert");
                }
                start.elapsed()
            })
        })
    });

    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(BenchmarkId::new("batch", "500 per transaction"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let batch: Vec<NewMessage> =
                        (0..BATCH).map(|_| message(next(&counter))).collect();
                    let start = Instant::now();
                    store.insert_messages(batch).await.expect("insert batch");
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

/// Leasing and marking sent, from `store`, which must start empty (every unsent message in it
/// is due).
fn bench_dispatch(c: &mut Criterion, rt: &Runtime, name: &str, store: Arc<dyn Store>) {
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group(format!("{name}/dispatch"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(LEASE_BATCH as u64));
    for workers in [1, 4] {
        group.bench_function(
            BenchmarkId::new("lease_and_mark_sent", format!("{workers} workers")),
            |b| {
                b.iter_custom(|iters| {
                    rt.block_on(lease_and_mark_sent(&store, &counter, iters, workers))
                })
            },
        );
    }
    group.finish();
}

/// Queues `iters * 100` messages (untimed), then times `workers` concurrent workers leasing
/// them in turns of `100 / workers` and marking each sent, until all are sent.
async fn lease_and_mark_sent(
    store: &Arc<dyn Store>,
    counter: &AtomicU64,
    iters: u64,
    workers: usize,
) -> Duration {
    let total = iters as usize * LEASE_BATCH;
    let mut queued = 0;
    while queued < total {
        let n = BATCH.min(total - queued);
        let batch: Vec<NewMessage> = (0..n).map(|_| message(next(counter))).collect();
        store.insert_messages(batch).await.expect("queue");
        queued += n;
    }
    let now = Timestamp::from_millis(1_767_225_700_000);
    let per_lease = LEASE_BATCH / workers;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("bench-{w}");
            let mut done = 0;
            loop {
                let leased = store
                    .lease_due(&worker, now, per_lease, Duration::from_secs(60))
                    .await
                    .expect("lease");
                if leased.is_empty() {
                    return done;
                }
                for m in leased {
                    let sent = StatusUpdate::new(MessageStatus::Sent, now)
                        .channel(Channel::FbMessenger)
                        .sent_to("page-1", m.recipient_key.as_str());
                    let out = store
                        .update_status(SPACE, &m.id, sent)
                        .await
                        .expect("mark sent");
                    assert!(out.applied);
                    done += 1;
                }
            }
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.expect("worker");
    }
    let elapsed = start.elapsed();
    assert_eq!(done, total, "every queued message sent once");
    elapsed
}

/// A group of benchmarks run against one store.
type Bench = fn(&mut Criterion, &Runtime, &str, Arc<dyn Store>);

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");

    #[cfg(feature = "sqlite")]
    for (name, sync) in [
        ("sqlite", Synchronous::Normal),
        ("sqlite-full", Synchronous::Full),
    ] {
        let options = SqlOptions {
            sqlite_synchronous: sync,
            ..SqlOptions::default()
        };
        for bench in [bench_accept as Bench, bench_dispatch] {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let store = rt
                .block_on(SqliteStore::connect(&url, &options))
                .expect("SQLite opens");
            bench(c, &rt, name, Arc::new(store.clone()));
            rt.block_on(store.close_pools());
        }
    }

    #[cfg(feature = "postgres")]
    for bench in [bench_accept as Bench, bench_dispatch] {
        let options = SqlOptions {
            max_connections: 8,
            ..SqlOptions::default()
        };
        match rt.block_on(postgres_support::store_in_fresh_schema(options)) {
            Some((store, schema)) => {
                bench(c, &rt, "postgres", Arc::new(store.clone()));
                rt.block_on(store.close_pool());
                drop(schema);
            }
            None => eprintln!("PostgreSQL benchmarks skipped"),
        }
    }
}

criterion_group!(store_benches, benches);
criterion_main!(store_benches);
