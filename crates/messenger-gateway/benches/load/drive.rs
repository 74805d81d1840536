//! Driving load: a closed loop (N tasks, each sending back to back) and an open loop (a fixed
//! schedule, latency counted from the scheduled time), and what they count.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a load run counted.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Successful requests.
    pub requests: u64,
    /// Units in them (messages, events).
    pub units: u64,
    /// Failed requests.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Latencies of successful requests, in microseconds (sorted by [`Outcome::quantile_ms`]).
    latencies_us: Vec<u64>,
}

impl Outcome {
    pub(crate) fn merge(&mut self, other: Self) {
        self.requests += other.requests;
        self.units += other.units;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies_us.extend(other.latencies_us);
    }

    pub(crate) fn record(&mut self, result: Result<u64, String>, latency: Duration) {
        match result {
            Ok(units) => {
                self.requests += 1;
                self.units += units;
                self.latencies_us
                    .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
            }
            Err(e) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }

    /// The `q` quantile (0..=1) of the latencies, in milliseconds (nearest rank over every
    /// recorded latency).
    pub(crate) fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let rank = ((self.latencies_us.len() as f64) * q).ceil() as usize;
        let i = rank.clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// `concurrency` tasks each send requests back to back for `duration` (closed loop); `call(n)`
/// makes request number `n` and answers the units it carried.
pub(crate) async fn closed_loop<F, Fut>(
    concurrency: usize,
    duration: Duration,
    call: F,
) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, counter, stop) =
                (Arc::clone(&call), Arc::clone(&counter), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let result = call(n).await;
                    outcome.record(result, t.elapsed());
                }
                outcome
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Outcome::default();
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(o) => total.merge(o),
            Err(e) => total.record(Err(format!("load task panicked: {e}")), Duration::ZERO),
        }
    }
    (total, started.elapsed())
}

/// `concurrency` tasks make requests `0..total` between them, back to back; returns when all are
/// answered.
pub(crate) async fn count_loop<F, Fut>(
    concurrency: usize,
    total: u64,
    call: F,
) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send,
{
    let call = Arc::new(call);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (call, counter) = (Arc::clone(&call), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return outcome;
                    }
                    let t = Instant::now();
                    let result = call(n).await;
                    outcome.record(result, t.elapsed());
                }
            })
        })
        .collect();
    let mut outcome = Outcome::default();
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(o) => outcome.merge(o),
            Err(e) => outcome.record(Err(format!("load task panicked: {e}")), Duration::ZERO),
        }
    }
    (outcome, started.elapsed())
}

/// Requests at `rate` per second for `duration` on a fixed schedule (open loop: a slow answer
/// does not delay the next request); latency counts from the scheduled time, so a stall shows
/// in full (no coordinated omission).
pub(crate) async fn open_loop<F, Fut>(rate: u64, duration: Duration, call: F) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64, String>> + Send + 'static,
{
    let total = rate.saturating_mul(duration.as_secs()).max(1);
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for n in 0..total {
        let at = started + period.mul_f64(n as f64);
        tokio::time::sleep_until(at.into()).await;
        let fut = call(n);
        handles.push(tokio::spawn(async move {
            let result = fut.await;
            (result, at.elapsed())
        }));
    }
    let mut outcome = Outcome::default();
    for h in futures::future::join_all(handles).await {
        match h {
            Ok((result, latency)) => outcome.record(result, latency),
            Err(e) => outcome.record(Err(format!("request task panicked: {e}")), Duration::ZERO),
        }
    }
    (outcome, started.elapsed())
}

/// A pooled HTTP/1.1 client for `concurrency` connections.
pub(crate) fn client(concurrency: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
}

/// POSTs a JSON `body`; `Ok` when the answer is `expect`.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    body: String,
    headers: &[(&'static str, String)],
    expect: u16,
) -> Result<(), String> {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let res = req.send().await.map_err(|e| format!("{e}"))?;
    let status = res.status().as_u16();
    let text = res.bytes().await.map_err(|e| format!("{e}"))?;
    if status == expect {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(300)])
        ))
    }
}
