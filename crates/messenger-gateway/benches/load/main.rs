//! Load harness: sustained messages per second accepted by the gateway and dispatched to
//! graph-sim, accept latency (p50/p99/max) at a paced rate, Meta webhook ingest, many pages at
//! Meta's rate beside a flooding space (`pages`, see its module), whether forwarding keeps up with
//! a page sending at its rate (`forwarding`, see its module; not in `all`), the real binary's
//! peak RSS under 16 concurrent 10 MB batches (`memory`, see its module; not in `all`), dispatch
//! beside a purge of many expired messages (`retention`, see its module; not in `all`), the CPU
//! and instructions one dispatched message costs (`dispatch`, see its module; not in `all`), and
//! the peak RSS, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p messenger-gateway --bench load -- \
//!     [--backend sqlite|postgres|both] \
//!     [--scenario single|batch|paced|webhook|receipts|pages|forwarding|memory|retention|dispatch|all] \
//!     [--seconds N] [--concurrency N] [--batch-size N] [--batch-concurrency N] [--rate N] \
//!     [--events-per-body N] [--workers N] [--dispatch-batch N] [--max-connections N] \
//!     [--drain-timeout SECS] [--log] [--forward] [--messages N] [--graph-latency-ms N] \
//!     [--pages N] [--page-rate N] [--probe-rate N] [--flood-api-rate N] \
//!     [--receiver-latency-ms N] [--forward-batch N] [--forward-in-flight N] [--wrap "CMD ARGS"]
//! ```
//!
//! The dispatcher's scenarios (`single`, `batch`, `paced`, `webhook`, `receipts`) lift their
//! page's `send_rate` to 1,000,000 a second, so they measure dispatch rather than the page's
//! pace; `pages` and `forwarding` keep pages at Meta's rate.
//!
//! Everything runs in this one process on one tokio runtime (as many worker threads as cores):
//! graph-sim (not recording: `record_requests(false)`), the gateway (`Gateway::builder` with a
//! configuration like an operator's: a SQLite file in a temporary directory, or PostgreSQL in a
//! fresh schema dropped at the end; window check off; the `[dispatch]` defaults unless
//! `--workers`/`--dispatch-batch` say otherwise; `--graph-latency-ms` makes graph-sim answer
//! every call that much later, as Meta's 100-500 ms do), and the load generator, which drives the
//! gateway over real loopback HTTP with one pooled reqwest client. Each scenario gets a fresh
//! gateway, simulator and database. "Dispatched" counts the sends graph-sim took
//! (`sent_count()`). The peak RSS is the process's `VmHWM`, reset before each scenario, so it
//! covers load generator, gateway and simulator together.
//!
//! PostgreSQL: `MESSENGER_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`.
//! The figures are in docs/performance.md.

// The gateway binary as a child process, shared with the process tests.
#[allow(dead_code)]
#[path = "../../tests/process/child.rs"]
mod child;
mod dispatch;
mod drive;
mod env;
mod forwarding;
mod memory;
mod pages;
mod receipts;
mod report;
mod retention;
mod scenarios;
// Sends in a one-second window, shared with the process tests.
#[path = "../../tests/process/window.rs"]
mod window;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Single,
    Batch,
    Paced,
    Webhook,
    Receipts,
    Pages,
    Forwarding,
    Memory,
    Retention,
    Dispatch,
}

const ALL: [Scenario; 6] = [
    Scenario::Single,
    Scenario::Batch,
    Scenario::Paced,
    Scenario::Webhook,
    Scenario::Receipts,
    Scenario::Pages,
];

/// The command line.
#[derive(Debug, Clone)]
struct Args {
    backends: Vec<Backend>,
    scenarios: Vec<Scenario>,
    seconds: u64,
    concurrency: usize,
    batch_size: usize,
    batch_concurrency: usize,
    rate: u64,
    events_per_body: usize,
    workers: Option<usize>,
    dispatch_batch: Option<usize>,
    max_connections: Option<u32>,
    drain_timeout: u64,
    log: bool,
    /// Forward events to a business webhook (a local receiver) in every scenario.
    forward: bool,
    /// Messages the `receipts` scenario sends, then receives receipts for.
    messages: u64,
    /// How long graph-sim takes to answer each call (0: at once).
    graph_latency_ms: u64,
    /// Speak HTTP/2 to graph-sim (prior knowledge), as the gateway does to Graph over https.
    graph_http2: bool,
    /// `pages`: paced spaces, each with its own page.
    pages: usize,
    /// `pages`: each page's `send_rate`.
    page_rate: u32,
    /// `pages`: single messages a second from the probe space.
    probe_rate: u64,
    /// `pages`: the flooding space's `api_rate` (none by default).
    flood_api_rate: Option<u32>,
    /// `forwarding`: how long the business's webhook takes to answer.
    receiver_latency_ms: u64,
    /// `forwarding`: the webhook's `batch_size` (the forwarder's default when not given).
    forward_batch: Option<usize>,
    /// `forwarding`: the webhook's `max_in_flight` (the forwarder's default when not given).
    forward_in_flight: Option<usize>,
    /// `dispatch.recover_interval_secs` (the default when not given; `retention` holds the
    /// gateway's own housekeeping off with an hour).
    recover_interval_secs: Option<u64>,
    /// `dispatch`: a command the gateway runs under (`valgrind --tool=callgrind`), split at
    /// spaces.
    wrap: Vec<String>,
}

const USAGE: &str = "usage: load [--backend sqlite|postgres|both] \
    [--scenario single|batch|paced|webhook|receipts|pages|forwarding|memory|retention|dispatch|all] [--seconds N] \
    [--concurrency N] \
    [--batch-size N] [--batch-concurrency N] [--rate N] [--events-per-body N] [--workers N] \
    [--dispatch-batch N] [--max-connections N] [--drain-timeout SECS] [--log] [--forward] \
    [--messages N] [--graph-latency-ms N] [--graph-http2] [--pages N] [--page-rate N] [--probe-rate N] \
    [--flood-api-rate N] [--receiver-latency-ms N] [--forward-batch N] [--forward-in-flight N] [--wrap \"CMD ARGS\"]";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        backends: vec![Backend::Sqlite],
        scenarios: ALL.to_vec(),
        seconds: 10,
        concurrency: 64,
        batch_size: 500,
        batch_concurrency: 4,
        rate: 1000,
        events_per_body: 1,
        workers: None,
        dispatch_batch: None,
        max_connections: None,
        drain_timeout: 120,
        log: false,
        forward: false,
        messages: 20_000,
        graph_latency_ms: 0,
        graph_http2: false,
        pages: 10,
        page_rate: 250,
        probe_rate: 10,
        flood_api_rate: None,
        receiver_latency_ms: 0,
        forward_batch: None,
        forward_in_flight: None,
        recover_interval_secs: None,
        wrap: Vec::new(),
    };
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{v:?} is not a number\n{USAGE}"))
        };
        let size = |v: String| number(v).map(|n| usize::try_from(n).unwrap_or(usize::MAX).max(1));
        let rate = |v: String| number(v).map(|n| u32::try_from(n).unwrap_or(u32::MAX).max(1));
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            "--backend" => {
                args.backends = match value()?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => return Err(format!("unknown backend {other:?}\n{USAGE}")),
                }
            }
            "--scenario" => {
                args.scenarios = match value()?.as_str() {
                    "single" => vec![Scenario::Single],
                    "batch" => vec![Scenario::Batch],
                    "paced" => vec![Scenario::Paced],
                    "webhook" => vec![Scenario::Webhook],
                    "receipts" => vec![Scenario::Receipts],
                    "pages" => vec![Scenario::Pages],
                    "forwarding" => vec![Scenario::Forwarding],
                    "memory" => vec![Scenario::Memory],
                    "retention" => vec![Scenario::Retention],
                    "dispatch" => vec![Scenario::Dispatch],
                    "all" => ALL.to_vec(),
                    other => return Err(format!("unknown scenario {other:?}\n{USAGE}")),
                }
            }
            "--seconds" => args.seconds = number(value()?)?.max(1),
            "--concurrency" => args.concurrency = size(value()?)?,
            "--batch-size" => args.batch_size = size(value()?)?.min(5000),
            "--batch-concurrency" => args.batch_concurrency = size(value()?)?,
            "--rate" => args.rate = number(value()?)?.max(1),
            "--events-per-body" => args.events_per_body = size(value()?)?,
            "--workers" => args.workers = Some(size(value()?)?),
            "--dispatch-batch" => args.dispatch_batch = Some(size(value()?)?),
            "--max-connections" => {
                args.max_connections = Some(u32::try_from(number(value()?)?).unwrap_or(u32::MAX))
            }
            "--drain-timeout" => args.drain_timeout = number(value()?)?,
            "--log" => args.log = true,
            "--forward" => args.forward = true,
            "--messages" => args.messages = number(value()?)?.max(1),
            "--graph-latency-ms" => args.graph_latency_ms = number(value()?)?,
            "--graph-http2" => args.graph_http2 = true,
            "--pages" => args.pages = size(value()?)?,
            "--page-rate" => args.page_rate = rate(value()?)?,
            "--probe-rate" => args.probe_rate = number(value()?)?.max(1),
            "--flood-api-rate" => args.flood_api_rate = Some(rate(value()?)?),
            "--receiver-latency-ms" => args.receiver_latency_ms = number(value()?)?,
            "--forward-batch" => args.forward_batch = Some(size(value()?)?),
            "--forward-in-flight" => args.forward_in_flight = Some(size(value()?)?),
            "--wrap" => {
                args.wrap = value()?.split_whitespace().map(str::to_owned).collect();
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(args)
}

async fn run(args: Args) -> Result<(), BoxError> {
    let mut rows = Vec::new();
    for &backend in &args.backends {
        for &scenario in &args.scenarios {
            let reset = report::reset_peak_rss();
            eprintln!(
                "running {backend:?} {scenario:?} for {} s{}",
                args.seconds,
                if reset { "" } else { " (peak RSS not reset)" }
            );
            let row = match scenario {
                Scenario::Single => scenarios::sends(&args, backend, false).await?,
                Scenario::Batch => scenarios::sends(&args, backend, true).await?,
                Scenario::Paced => scenarios::paced(&args, backend).await?,
                Scenario::Webhook => scenarios::webhook(&args, backend).await?,
                Scenario::Receipts => receipts::receipts(&args, backend).await?,
                Scenario::Pages => pages::pages(&args, backend).await?,
                Scenario::Forwarding => forwarding::forwarding(&args, backend).await?,
                Scenario::Memory => memory::memory(&args, backend).await?,
                Scenario::Dispatch => dispatch::dispatch(&args, backend).await?,
                Scenario::Retention => {
                    rows.extend(retention::retention(&args, backend).await?);
                    continue;
                }
            };
            rows.push(row);
        }
    }
    report::print_table(&rows);
    println!(
        "Graph latency {} ms over HTTP/{}; pool {} connections; dispatch {} workers x {} messages",
        args.graph_latency_ms,
        if args.graph_http2 { "2" } else { "1.1" },
        args.max_connections
            .map_or_else(|| "4 (default)".to_owned(), |n| n.to_string()),
        args.workers
            .map_or_else(|| "4 (default)".to_owned(), |n| n.to_string()),
        args.dispatch_batch
            .map_or_else(|| "64 (default)".to_owned(), |n| n.to_string()),
    );
    Ok(())
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if args.log {
        // What the binary does: every request logged at info (here into a sink).
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .try_init();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "{cores} cores, load average {}; one process: load generator + gateway + graph-sim",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("load harness failed: {e}");
        std::process::exit(1);
    }
}
