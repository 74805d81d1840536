//! `receipts`: what a page sees after it sends. The gateway sends `--messages` messages (through
//! the batch endpoint, to as many recipients), then Meta's delivery receipts and read receipts for
//! all of them arrive as signed webhook bodies of `--events-per-body` events. Every receipt moves
//! a stored message (sent -> delivered -> read) and queues an event, which the forwarder posts to
//! the business's webhook (a local receiver). Reported: receipts answered 200 per second, and
//! receipts applied per second from the first receipt until the webhook queue is empty; then that
//! every `message.delivered` and `message.read` event reached the business.

use std::time::{Duration, Instant};

use crate::drive::{client, count_loop, post, Outcome};
use crate::env::{Env, APP_SECRET, PAGE};
use crate::report::{peak_rss_mib, Row};
use crate::scenarios::{auth, batch_body};
use crate::{Args, Backend, BoxError};

/// Requests of 500 messages each.
const SEED_BATCH: u64 = 500;

/// A webhook body with `events` receipts of `kind` (`delivery` or `read`) for the recipients of
/// messages `first..`, watermarked `watermark` (after every send).
fn receipts_body(kind: &str, first: u64, events: u64, total: u64, watermark: i64) -> String {
    let mut messaging = Vec::with_capacity(usize::try_from(events).unwrap_or(0));
    for n in first..(first + events).min(total) {
        let receipt = match kind {
            "delivery" => format!(r#""delivery":{{"watermark":{watermark}}}"#),
            _ => format!(r#""read":{{"watermark":{watermark}}}"#),
        };
        // The recipient of send request `n` (see `scenarios::send_body`).
        messaging.push(format!(
            r#"{{"sender":{{"id":"2400{n:010}"}},"recipient":{{"id":"{PAGE}"}},"timestamp":{watermark},{receipt}}}"#
        ));
    }
    format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":{watermark},"messaging":[{}]}}]}}"#,
        messaging.join(",")
    )
}

/// Posts the receipts of `kind` for every message, `events` per body, from `concurrency` tasks.
async fn post_receipts(
    env: &Env,
    args: &Args,
    kind: &'static str,
    total: u64,
    watermark: i64,
) -> (Outcome, Duration) {
    let http = match client(args.concurrency) {
        Ok(c) => c,
        Err(e) => {
            let mut failed = Outcome::default();
            failed.first_error = Some(e.to_string());
            failed.errors = 1;
            return (failed, Duration::ZERO);
        }
    };
    let url = format!("{}/webhooks/facebook", env.base);
    let events = args.events_per_body as u64;
    let bodies = total.div_ceil(events);
    count_loop(args.concurrency, bodies, move |b| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let first = b * events;
            let body = receipts_body(kind, first, events, total, watermark);
            let signature = graph_sim::hub_signature_256(APP_SECRET, body.as_bytes());
            post(
                &http,
                &url,
                body,
                &[("x-hub-signature-256", signature)],
                200,
            )
            .await?;
            Ok(events.min(total - first))
        }
    })
    .await
}

pub(crate) async fn receipts(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let env = Env::start_with(args, backend, true).await?;
    let total = args.messages.div_ceil(SEED_BATCH) * SEED_BATCH;
    let timeout = Duration::from_secs(args.drain_timeout);

    // The sends: accepted, dispatched, and their `message.sent` events forwarded.
    let seed = client(4)?;
    let url = format!(
        "{}/apispaces/{}/messages/batch",
        env.base,
        crate::env::SPACE
    );
    let auth = auth();
    let (seeded, _) = count_loop(4, total / SEED_BATCH, move |r| {
        let (http, url, auth) = (seed.clone(), url.clone(), auth.clone());
        async move {
            let body = batch_body(r * SEED_BATCH, SEED_BATCH as usize);
            post(&http, &url, body, &auth, 202).await?;
            Ok(SEED_BATCH)
        }
    })
    .await;
    if seeded.errors > 0 {
        return Err(format!("seeding failed: {:?}", seeded.first_error).into());
    }
    let drain = env.drain(total, timeout).await;
    if !drain.done() {
        return Err(format!("only {} of {total} messages were sent", drain.sent).into());
    }
    let receiver = env
        .receiver
        .as_ref()
        .ok_or("the receipts scenario forwards events")?;
    receiver.wait_for("message.sent", total, timeout).await;
    let watermark = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;

    // The receipts: every delivery, then every read.
    let started = Instant::now();
    let (mut outcome, delivery_took) =
        post_receipts(&env, args, "delivery", total, watermark).await;
    let (read, read_took) = post_receipts(&env, args, "read", total, watermark + 1).await;
    outcome.merge(read);
    let answered = delivery_took + read_took;
    let store = env.gateway.messenger().store();
    let mut left = store.webhook_backlog().await.unwrap_or(0);
    while left > 0 && started.elapsed() < timeout {
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = store.webhook_backlog().await.unwrap_or(left);
    }
    let applied_in = started.elapsed();
    receiver.wait_for("message.delivered", total, timeout).await;
    receiver.wait_for("message.read", total, timeout).await;
    let forwarded_in = started.elapsed();
    let (delivered, read) = (
        receiver.count("message.delivered"),
        receiver.count("message.read"),
    );

    let events = args.events_per_body;
    let row = Row {
        backend,
        scenario: format!(
            "receipts ({total} messages, {events} event{}/body, {} in flight, forwarded)",
            if events == 1 { "" } else { "s" },
            args.concurrency
        ),
        accepted_per_s: outcome.units as f64 / answered.as_secs_f64(),
        dispatched_per_s: None,
        drain: None,
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: format!(
            "{} receipts answered 200 in {:.1} s; all applied {:.1} s after the first \
             ({:.0} receipts/s{}); the business received {delivered} message.delivered and \
             {read} message.read of {total} each, the last {:.1} s after the first receipt",
            outcome.units,
            answered.as_secs_f64(),
            applied_in.as_secs_f64(),
            outcome.units as f64 / applied_in.as_secs_f64(),
            if left > 0 {
                format!(", {left} bodies NOT applied")
            } else {
                String::new()
            },
            forwarded_in.as_secs_f64(),
        ) + &outcome
            .first_error
            .as_ref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default(),
    };
    env.stop().await;
    Ok(row)
}
