//! `pages`: many pages at Meta's rate while one space floods the batch endpoint.
//!
//! The gateway runs as its own process (the `messenger-gateway` binary, `serve`), so its CPU time
//! and peak RSS are its own; graph-sim and the load generator run in this process. Its spaces:
//!
//! - `--pages` spaces (default 10), each with its own page at `send_rate = --page-rate` (default
//!   250). Each is offered more than its rate (`OVERLOAD`, 1.2x) as batches every 100 ms, so
//!   its page always has a backlog: what graph-sim takes from it per second is the rate the
//!   gateway achieves for it.
//! - `flood`: one space posting batches of `--batch-size` from `--batch-concurrency` tasks as
//!   fast as they are answered (its page paced like the others; its quota `--flood-api-rate`,
//!   none by default).
//! - `probe`: one space sending `--probe-rate` single messages a second (default 10) to its own
//!   page, which has no backlog: the time from its POST to graph-sim taking the send is the
//!   send latency another space sees.
//!
//! Reported: each page's achieved rate from the third second to the end of the load (and the
//! most sends in any one second), the probe's latency, the gateway's peak RSS (`VmHWM`), and its
//! CPU time (user + system, `/proc/<pid>/stat`) per dispatched message, during the load (accepts
//! included) and for `DISPATCH_ONLY` seconds after it (every page still has a backlog then, and
//! nothing is accepted). With PostgreSQL the database server's own CPU time is not in it; with
//! SQLite the database work is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use graph_sim::GraphSim;

use crate::child::{GatewayProcess, Workdir};
use crate::drive::{client, closed_loop, open_loop, post, Outcome};
use crate::env::{Database, APP_SECRET, METRICS_KEY, TOKEN_KEY, VERIFY_TOKEN};
use crate::report::{peak_rss_mib_of, Row};
use crate::window::max_in_one_second;
use crate::{Args, Backend, BoxError};

/// How much more than its rate each paced page is offered.
const OVERLOAD: f64 = 1.2;
/// Seconds at the start of the load left out of the achieved rates (the buckets start full).
const WARM_UP: Duration = Duration::from_secs(2);
/// Seconds measured after the load, with nothing accepted and every page still backlogged (the
/// overload leaves each paced page a fifth of its rate times the load's seconds).
const DISPATCH_ONLY: Duration = Duration::from_secs(2);
/// Batches per second each paced space posts.
const FEEDS_PER_SECOND: u64 = 10;

/// A space of the scenario: its id, page, page token and API key.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub(crate) id: String,
    pub(crate) page: String,
    pub(crate) key: String,
}

impl Space {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            page: format!("PAGE-{}", id.to_uppercase()),
            key: format!("pages-key-{id}-0123456789abcdef"),
        }
    }

    pub(crate) fn token(&self) -> String {
        format!("page-token-{}", self.id)
    }

    pub(crate) fn messages_url(&self, base: &str, batch: bool) -> String {
        let tail = if batch { "/batch" } else { "" };
        format!("{base}/apispaces/{}/messages{tail}", self.id)
    }

    fn auth(&self) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Bearer {}", self.key))]
    }
}

/// The PSID of message `n` of the space numbered `space` (unique across the scenario).
fn psid(space: u64, n: u64) -> String {
    format!("3{space:03}{n:010}")
}

fn text(space: u64, n: u64) -> String {
    format!(
        r#"{{"to":{{"fbMessengerId":"{}"}},"body":"Your order #{n} has shipped and will arrive tomorrow between 9am and 1pm.","rules":["fbMessenger"]}}"#,
        psid(space, n)
    )
}

fn batch(space: u64, first: u64, size: u64) -> String {
    let items: Vec<String> = (first..first + size).map(|n| text(space, n)).collect();
    format!("[{}]", items.join(","))
}

pub(crate) fn config_toml(args: &Args, sim: &GraphSim, db: &Database, spaces: &[Space]) -> String {
    let mut out = format!(
        r#"
[server]
listen = "127.0.0.1:0"
shutdown_grace_secs = 5
metrics_keys = ["{METRICS_KEY}"]
# The load generator is one address: let it hold what 40 pages' feeds need.
max_connections = 16384
max_connections_per_client = 4096

[database]
url = "{url}"
{schema}{pool}
[facebook]
app_secret = "{APP_SECRET}"
verify_token = "{VERIFY_TOKEN}"
graph_base_url = "{sim}"
graph_http2_prior_knowledge = {http2}
token_key = "{TOKEN_KEY}"

[dispatch]
{workers}{dispatch_batch}"#,
        url = db.url,
        schema = db
            .schema
            .as_ref()
            .map_or_else(String::new, |s| format!("schema = \"{s}\"\n")),
        pool = args
            .max_connections
            .map_or_else(String::new, |n| format!("max_connections = {n}\n")),
        sim = sim.base_url(),
        http2 = args.graph_http2,
        workers = args
            .workers
            .map_or_else(String::new, |n| format!("workers = {n}\n")),
        dispatch_batch = args
            .dispatch_batch
            .map_or_else(String::new, |n| format!("batch_size = {n}\n")),
    );
    for space in spaces {
        out.push_str(&format!(
            "\n[[spaces]]\nid = \"{}\"\npage_id = \"{}\"\npage_token = \"{}\"\nkeys = [\"{}\"]\n\
             window_check = false\nsend_rate = {}\n",
            space.id,
            space.page,
            space.token(),
            space.key,
            args.page_rate
        ));
        if space.id == "flood" {
            if let Some(rate) = args.flood_api_rate {
                out.push_str(&format!("api_rate = {rate}\n"));
            }
        }
    }
    out
}

/// The gateway process's CPU time (user + system) so far.
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces: the
    // state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks() as f64))
}

/// The CPU time (user + system) of every `postgres` process of this machine so far: the
/// database server's share of the work (this machine runs no other PostgreSQL load).
pub(crate) fn database_cpu_time() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(cpu_time)
        .sum()
}

/// The sum over every page of a counter of the gateway's `/metrics` (`name` without `_total`).
async fn metric_sum(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = match http
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
    {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(_) => return f64::NAN,
    };
    let prefix = format!("messenger_gateway_{name}_total{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `getconf CLK_TCK` (100 on Linux), asked once.
fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Milliseconds since the epoch (graph-sim's clock for `at_millis`).
fn epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One page's figures.
struct PageRate {
    page: String,
    /// Sends per second between the warm-up and the end of the load.
    achieved: f64,
    /// The most sends in any one second of the load.
    most: usize,
}

/// Feeds one paced space: `OVERLOAD` x its rate, as `FEEDS_PER_SECOND` batches a second.
async fn feed(
    http: reqwest::Client,
    base: String,
    space: Space,
    number: u64,
    rate: u64,
    duration: Duration,
) -> Outcome {
    let per_batch = ((rate as f64 * OVERLOAD) / FEEDS_PER_SECOND as f64).ceil() as u64;
    let url = space.messages_url(&base, true);
    let auth = space.auth();
    let (outcome, _) = open_loop(FEEDS_PER_SECOND, duration, move |n| {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        async move {
            let body = batch(number, n * per_batch, per_batch);
            post(&http, &url, body, &auth, 202).await?;
            Ok(per_batch)
        }
    })
    .await;
    outcome
}

/// `pages`: see the module's doc.
pub(crate) async fn pages(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let paced: Vec<Space> = (0..args.pages)
        .map(|i| Space::new(&format!("p{i}")))
        .collect();
    let flood = Space::new("flood");
    let probe = Space::new("probe");
    let mut spaces = paced.clone();
    spaces.extend([flood.clone(), probe.clone()]);

    let mut builder = GraphSim::builder().app_secret(APP_SECRET);
    for space in &spaces {
        builder = builder.page(space.page.clone(), space.token());
    }
    let sim = builder.start().await?;
    if args.graph_latency_ms > 0 {
        sim.fault(graph_sim::FaultRule::global(graph_sim::Fault::Slow {
            delay: Duration::from_millis(args.graph_latency_ms),
        }));
    }
    let db = Database::fresh(backend)?;
    let dir = Workdir::new();
    let config = dir.write("gateway.toml", &config_toml(args, &sim, &db, &spaces));
    let gateway = GatewayProcess::start_wrapped(&dir, "gateway", &config, &args.wrap).await;
    let pid = gateway.pid();
    let base = gateway.base.clone();
    let http = client(64)?;
    let duration = Duration::from_secs(args.seconds);
    let rate = u64::from(args.page_rate);

    let cpu_at_start = cpu_time(pid).unwrap_or_default();
    let db_cpu_at_start = database_cpu_time();
    let sent_at_start = sim.sent_count();
    let started_ms = epoch_millis();
    let started = Instant::now();

    // The paced spaces.
    let feeds = paced.iter().enumerate().map(|(i, space)| {
        feed(
            http.clone(),
            base.clone(),
            space.clone(),
            i as u64,
            rate,
            duration,
        )
    });
    let feeds = futures::future::join_all(feeds);
    // The flood.
    let refused = Arc::new(AtomicU64::new(0));
    let flood_run = {
        let (http, url, auth) = (http.clone(), flood.messages_url(&base, true), flood.auth());
        let size = args.batch_size as u64;
        let refused = Arc::clone(&refused);
        closed_loop(args.batch_concurrency, duration, move |n| {
            let (http, url, auth, refused) = (
                http.clone(),
                url.clone(),
                auth.clone(),
                Arc::clone(&refused),
            );
            async move {
                match post(&http, &url, batch(900, n * size, size), &auth, 202).await {
                    Ok(()) => Ok(size),
                    Err(e) if e.starts_with("HTTP 429") => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        // What a client told Retry-After does: wait before the next.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok(0)
                    }
                    Err(e) => Err(e),
                }
            }
        })
    };
    // The probe: when each message was posted.
    let posted: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let probe_run = {
        let (http, url, auth) = (http.clone(), probe.messages_url(&base, false), probe.auth());
        let posted = Arc::clone(&posted);
        open_loop(args.probe_rate, duration, move |n| {
            let (http, url, auth, posted) =
                (http.clone(), url.clone(), auth.clone(), Arc::clone(&posted));
            async move {
                posted
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(psid(901, n), epoch_millis());
                post(&http, &url, text(901, n), &auth, 201).await?;
                Ok(1)
            }
        })
    };
    let (fed, (flooded, _), (probed, _)) = tokio::join!(feeds, flood_run, probe_run);
    let load_took = started.elapsed();
    let ended_ms = epoch_millis();
    let cpu_load = cpu_time(pid).unwrap_or_default() - cpu_at_start;
    let db_cpu_load = database_cpu_time().saturating_sub(db_cpu_at_start);
    let sent_load = sim.sent_count() - sent_at_start;

    // Dispatch alone: nothing accepted, every page still has a backlog.
    tokio::time::sleep(DISPATCH_ONLY).await;
    let cpu_alone = cpu_time(pid).unwrap_or_default() - cpu_at_start - cpu_load;
    let sent_alone = sim.sent_count() - sent_at_start - sent_load;
    let db_cpu_alone = database_cpu_time()
        .saturating_sub(db_cpu_at_start)
        .saturating_sub(db_cpu_load);
    let rss = peak_rss_mib_of(&pid.to_string());
    let deferred = metric_sum(&http, &base, "page_deferred").await;
    let waited = metric_sum(&http, &base, "page_bucket_wait_seconds").await;
    drop(gateway);

    // Per page, from graph-sim's records.
    let mut at: HashMap<String, Vec<i64>> = HashMap::new();
    let mut probe_latency = Outcome::default();
    let posted = posted
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for sent in sim.sent_messages() {
        if sent.at_millis <= ended_ms {
            at.entry(sent.page_id.clone())
                .or_default()
                .push(sent.at_millis);
        }
        if sent.page_id == probe.page {
            if let Some(posted_ms) = posted.get(&sent.recipient_id) {
                let ms = u64::try_from(sent.at_millis - posted_ms).unwrap_or(0);
                probe_latency.record(Ok(1), Duration::from_millis(ms));
            }
        }
    }
    let window_ms = (ended_ms - started_ms - WARM_UP.as_millis() as i64).max(1);
    let rate_of = |page: &str| {
        let mut times = at.get(page).cloned().unwrap_or_default();
        let counted = times
            .iter()
            .filter(|&&t| t > started_ms + WARM_UP.as_millis() as i64)
            .count();
        PageRate {
            page: page.to_owned(),
            achieved: counted as f64 * 1000.0 / window_ms as f64,
            most: max_in_one_second(&mut times),
        }
    };
    let mut rates: Vec<PageRate> = paced.iter().map(|s| rate_of(&s.page)).collect();
    rates.push(rate_of(&flood.page));
    let connections = sim.connections_accepted();
    let most_at_once = sim.max_requests_in_flight();
    sim.shutdown().await;
    db.drop_schema().await;

    let mut accepted = Outcome::default();
    for outcome in fed {
        accepted.merge(outcome);
    }
    let fed_units = accepted.units;
    let flood_units = flooded.units;
    accepted.merge(flooded);
    accepted.merge(probed);
    print_pages(args, &rates);
    let worst = rates[..paced.len()]
        .iter()
        .map(|r| (r.achieved / f64::from(args.page_rate) - 1.0).abs())
        .fold(0.0, f64::max);
    let per_message = |cpu: Duration, sent: u64| {
        if sent == 0 {
            "-".to_owned()
        } else {
            format!("{:.0} µs", cpu.as_secs_f64() * 1e6 / sent as f64)
        }
    };
    let note = format!(
        "{} paced pages at send_rate {}: farthest from it {:.1} % ({}); flood: {} messages \
         accepted, {} batches refused 429; probe: {} of {} sent; gateway CPU {:.2} s for {} \
         sends during the load ({} per dispatched message, accepts of {} messages included), \
         {:.2} s for {} sends in {} s of dispatch alone ({} per message); PostgreSQL processes' \
         CPU {:.2} s during the load ({} per dispatched message), {:.2} s in dispatch alone ({} per \
         message); {deferred} messages deferred because their page was booked, sends waited \
         {waited:.1} s in all for their slot; Graph over HTTP/{}: {connections} connections \
         opened, at most {most_at_once} requests under way at once ({:.1} per connection)",
        paced.len(),
        args.page_rate,
        worst * 100.0,
        if worst <= 0.05 {
            "all within 5 %"
        } else {
            "NOT all within 5 %"
        },
        flood_units,
        refused.load(Ordering::Relaxed),
        probe_latency.requests,
        posted.len(),
        cpu_load.as_secs_f64(),
        sent_load,
        per_message(cpu_load, sent_load),
        fed_units + flood_units,
        cpu_alone.as_secs_f64(),
        sent_alone,
        DISPATCH_ONLY.as_secs(),
        per_message(cpu_alone, sent_alone),
        db_cpu_load.as_secs_f64(),
        per_message(db_cpu_load, sent_load),
        db_cpu_alone.as_secs_f64(),
        per_message(db_cpu_alone, sent_alone),
        if args.graph_http2 { "2" } else { "1.1" },
        most_at_once as f64 / connections.max(1) as f64,
    );
    Ok(Row {
        backend,
        scenario: format!(
            "pages ({} x {}/s + flood, probe latency)",
            paced.len(),
            args.page_rate
        ),
        accepted_per_s: accepted.units as f64 / load_took.as_secs_f64(),
        dispatched_per_s: Some(sent_load as f64 / load_took.as_secs_f64()),
        drain: None,
        p50_ms: probe_latency.quantile_ms(0.50),
        p99_ms: probe_latency.quantile_ms(0.99),
        max_ms: probe_latency.quantile_ms(1.0),
        errors: accepted.errors,
        peak_rss_mib: rss,
        note: note
            + &accepted
                .first_error
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default(),
    })
}

fn print_pages(args: &Args, rates: &[PageRate]) {
    println!();
    println!(
        "| page | achieved sends/s (send_rate {}) | off by | most in any one second |",
        args.page_rate
    );
    println!("|---|---|---|---|");
    for r in rates {
        println!(
            "| {} | {:.1} | {:+.1} % | {} |",
            r.page,
            r.achieved,
            (r.achieved / f64::from(args.page_rate) - 1.0) * 100.0,
            r.most
        );
    }
}
