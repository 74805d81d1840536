//! The figures: one row per scenario, printed as a Markdown table, and the process's peak RSS.

use crate::env::Drain;
use crate::Backend;

/// One row of the table.
pub(crate) struct Row {
    pub backend: Backend,
    pub scenario: String,
    /// Messages (or webhook events) answered with success, per second of load.
    pub accepted_per_s: f64,
    /// Sends graph-sim took per second of load.
    pub dispatched_per_s: Option<f64>,
    /// The backlog after the load.
    pub drain: Option<Drain>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub peak_rss_mib: Option<f64>,
    pub note: String,
}

/// The process's peak resident set (`VmHWM`), in MiB.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    peak_rss_mib_of("self")
}

/// The peak resident set (`VmHWM`) of `/proc/{process}` (a pid, or `self`), in MiB.
pub(crate) fn peak_rss_mib_of(process: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets `VmHWM` to the current RSS (Linux: `5` written to `/proc/self/clear_refs`).
pub(crate) fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub(crate) fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| backend | scenario | accepted/s | dispatched/s during load | backlog after load: drained in (dispatch alone/s) | p50 ms | p99 ms | max ms | errors | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let dispatched = r
            .dispatched_per_s
            .map_or_else(|| "-".to_owned(), |d| format!("{d:.0}"));
        let drain = match r.drain {
            None => "-".to_owned(),
            Some(d) if d.backlog == 0 => "none".to_owned(),
            Some(d) => format!(
                "{} in {}{:.1} s ({})",
                d.backlog,
                if d.done() {
                    ""
                } else {
                    "NOT drained, timeout "
                },
                d.took.as_secs_f64(),
                d.rate()
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.0}/s"))
            ),
        };
        let rss = r
            .peak_rss_mib
            .map_or_else(|| "?".to_owned(), |m| format!("{m:.0}"));
        println!(
            "| {:?} | {} | {:.0} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            r.backend,
            r.scenario,
            r.accepted_per_s,
            dispatched,
            drain,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.errors,
            rss
        );
    }
    println!();
    for r in rows {
        println!("{:?} {}: {}", r.backend, r.scenario, r.note);
    }
}
