//! The scenarios: single sends and batches as fast as they are answered, single sends at a
//! paced rate, and signed Meta webhook bodies.

use std::time::Duration;

use crate::drive::{client, closed_loop, open_loop, post, Outcome};
use crate::env::{Drain, Env, APP_SECRET, KEY, PAGE, SPACE};
use crate::report::{peak_rss_mib, Row};
use crate::{Args, Backend, BoxError};

/// Send request `n`: a text to its own PSID (recipients do not repeat, so per-recipient order
/// never holds a message back).
pub(crate) fn send_body(n: u64) -> String {
    format!(
        r#"{{"to":{{"fbMessengerId":"2400{n:010}"}},"body":"Your order #{n} has shipped and will arrive tomorrow between 9am and 1pm.","rules":["fbMessenger"]}}"#
    )
}

pub(crate) fn batch_body(first: u64, size: usize) -> String {
    let mut body = String::with_capacity(size * 160);
    body.push('[');
    for i in 0..size as u64 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&send_body(first + i));
    }
    body.push(']');
    body
}

/// A Meta webhook body with `events` delivery receipts, each unique (sender and watermark).
fn webhook_body(n: u64, events: usize) -> String {
    let base_ms: u64 = 1_767_225_600_000;
    let mut messaging = String::with_capacity(events * 220);
    for i in 0..events as u64 {
        if i > 0 {
            messaging.push(',');
        }
        let k = n * events as u64 + i;
        let t = base_ms + k;
        messaging.push_str(&format!(
            r#"{{"sender":{{"id":"2500{k:010}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{t},"delivery":{{"mids":["m_load_{k}"],"watermark":{t}}}}}"#
        ));
    }
    format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":{base_ms},"messaging":[{messaging}]}}]}}"#
    )
}

pub(crate) fn auth() -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {KEY}"))]
}

/// The row of a send scenario, once the load stopped and the backlog drained.
fn send_row(
    backend: Backend,
    scenario: String,
    mut outcome: Outcome,
    elapsed: Duration,
    sent_during: u64,
    drain: Drain,
) -> Row {
    let secs = elapsed.as_secs_f64();
    let end_to_end = if drain.done() {
        format!(
            "all sent {:.1} s after the load ({:.0}/s end to end)",
            drain.took.as_secs_f64(),
            outcome.units as f64 / (elapsed + drain.took).as_secs_f64()
        )
    } else {
        format!(
            "NOT all sent: {} of the {} left at the end of the load were sent in {:.0} s",
            drain.sent,
            drain.backlog,
            drain.took.as_secs_f64()
        )
    };
    Row {
        backend,
        scenario,
        accepted_per_s: outcome.units as f64 / secs,
        dispatched_per_s: Some(sent_during as f64 / secs),
        drain: Some(drain),
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: format!("{} accepted; {end_to_end}", outcome.units) + &error_note(&outcome),
    }
}

fn error_note(outcome: &Outcome) -> String {
    outcome
        .first_error
        .as_ref()
        .map(|e| format!("; first error: {e}"))
        .unwrap_or_default()
}

/// `single` (`batch: false`): `POST /messages` from `concurrency` tasks; `batch`:
/// `POST /messages/batch` of `batch_size` from `batch_concurrency` tasks.
pub(crate) async fn sends(args: &Args, backend: Backend, batch: bool) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let (concurrency, size) = if batch {
        (args.batch_concurrency, args.batch_size)
    } else {
        (args.concurrency, 1)
    };
    let http = client(concurrency)?;
    let auth = auth();
    let url = if batch {
        format!("{}/apispaces/{SPACE}/messages/batch", env.base)
    } else {
        format!("{}/apispaces/{SPACE}/messages", env.base)
    };
    let sent_before = env.sim.sent_count();
    let duration = Duration::from_secs(args.seconds);
    let (outcome, elapsed) = closed_loop(concurrency, duration, move |n| {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        async move {
            if batch {
                let body = batch_body(n * size as u64, size);
                post(&http, &url, body, &auth, 202).await?;
                Ok(size as u64)
            } else {
                post(&http, &url, send_body(n), &auth, 201).await?;
                Ok(1)
            }
        }
    })
    .await;
    let sent_during = env.sim.sent_count() - sent_before;
    let timeout = Duration::from_secs(args.drain_timeout);
    let drain = env.drain(sent_before + outcome.units, timeout).await;
    let scenario = if batch {
        format!("batch ({size}/request, {concurrency} in flight)")
    } else {
        format!("single ({concurrency} in flight)")
    };
    let row = send_row(backend, scenario, outcome, elapsed, sent_during, drain);
    env.stop().await;
    Ok(row)
}

/// `paced`: single sends on an open-loop schedule of `rate` per second.
pub(crate) async fn paced(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let http = client(256)?;
    let url = format!("{}/apispaces/{SPACE}/messages", env.base);
    let auth = auth();
    let sent_before = env.sim.sent_count();
    let duration = Duration::from_secs(args.seconds);
    let (outcome, elapsed) = open_loop(args.rate, duration, move |n| {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        async move {
            post(&http, &url, send_body(n), &auth, 201).await?;
            Ok(1)
        }
    })
    .await;
    let sent_during = env.sim.sent_count() - sent_before;
    let timeout = Duration::from_secs(args.drain_timeout);
    let drain = env.drain(sent_before + outcome.units, timeout).await;
    let scenario = format!("paced ({}/s open loop)", args.rate);
    let row = send_row(backend, scenario, outcome, elapsed, sent_during, drain);
    env.stop().await;
    Ok(row)
}

/// `webhook`: signed `POST /webhooks/facebook` bodies of `events_per_body` delivery receipts
/// from `concurrency` tasks; counts events answered 200 (verified and queued durably).
pub(crate) async fn webhook(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let env = Env::start(args, backend).await?;
    let http = client(args.concurrency)?;
    let url = format!("{}/webhooks/facebook", env.base);
    let events = args.events_per_body;
    let duration = Duration::from_secs(args.seconds);
    let (mut outcome, elapsed) = closed_loop(args.concurrency, duration, move |n| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let body = webhook_body(n, events);
            let signature = graph_sim::hub_signature_256(APP_SECRET, body.as_bytes());
            let headers = [("x-hub-signature-256", signature)];
            post(&http, &url, body, &headers, 200).await?;
            Ok(events as u64)
        }
    })
    .await;
    let store = env.gateway.messenger().store();
    let backlog = store.webhook_backlog().await.unwrap_or(0);
    // Then the applier alone, until the queue is empty (or the drain timeout).
    let started = std::time::Instant::now();
    let timeout = Duration::from_secs(args.drain_timeout);
    let mut left = backlog;
    while left > 0 && started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = store.webhook_backlog().await.unwrap_or(left);
    }
    let drained_in = started.elapsed();
    let applied = outcome.requests.saturating_sub(left);
    let row = Row {
        backend,
        scenario: format!(
            "webhook ({events} event{}/body, {} in flight)",
            if events == 1 { "" } else { "s" },
            args.concurrency
        ),
        accepted_per_s: outcome.units as f64 / elapsed.as_secs_f64(),
        dispatched_per_s: None,
        drain: None,
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: format!(
            "{} events in {} bodies answered 200; {} bodies applied during the load ({:.0}/s), \
             {backlog} queued at its end, {left} still queued {:.1} s later; applied from the \
             first request to the empty queue: {:.0} bodies/s, {:.0} events/s",
            outcome.units,
            outcome.requests,
            outcome.requests.saturating_sub(backlog),
            outcome.requests.saturating_sub(backlog) as f64 / elapsed.as_secs_f64(),
            drained_in.as_secs_f64(),
            applied as f64 / (elapsed + drained_in).as_secs_f64(),
            (applied * events as u64) as f64 / (elapsed + drained_in).as_secs_f64(),
        ) + &error_note(&outcome),
    };
    env.stop().await;
    Ok(row)
}
