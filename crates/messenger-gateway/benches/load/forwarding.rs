//! `forwarding`: does forwarding keep up with sending? One space sends at its page's full rate
//! (`--page-rate`, 250 a second by default, single sends to distinct recipients, open loop) for
//! `--seconds`; graph-sim posts a delivery and a read receipt for every send, as Meta does, so
//! the business's webhook gets three events a message (`message.sent`, `message.delivered`,
//! `message.read`). The webhook is the forwarder's defaults unless `--forward-batch` or
//! `--forward-in-flight` say otherwise; the receiver answers in `--receiver-latency-ms`.
//! Every second the age of the space's oldest event not yet delivered (what
//! `forward_oldest_pending_seconds` reports) is read from the store. Reported: events delivered
//! per second during the load, the oldest pending event's age (largest and median over the
//! run), and how long the rest took once the load stopped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use graph_sim::{AutoReceipts, GraphSim};
use messenger_gateway::Gateway;

use crate::drive::{client, open_loop, post};
use crate::env::{
    gateway_config, webhook_section, Database, Receiver, APP_SECRET, METRICS_KEY, PAGE, PAGE_TOKEN,
    SPACE,
};
use crate::report::{peak_rss_mib, Row};
use crate::scenarios::{auth, send_body};
use crate::{Args, Backend, BoxError};

const EVENTS: [&str; 3] = ["message.sent", "message.delivered", "message.read"];

/// The age of the space's oldest event not yet delivered, in seconds (0: none).
async fn oldest_pending(store: &Arc<dyn messenger_store::Store>) -> Option<f64> {
    let pending = store.pending_by_target().await.ok()?;
    let now = messenger_model::Timestamp::now().millis();
    Some(
        pending
            .iter()
            .filter(|p| p.space == SPACE)
            .map(|p| (now - p.oldest.millis()).max(0) as f64 / 1000.0)
            .fold(0.0, f64::max),
    )
}

pub(crate) async fn forwarding(args: &Args, backend: Backend) -> Result<Row, BoxError> {
    let receiver =
        Receiver::start_answering_in(Duration::from_millis(args.receiver_latency_ms)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let sim = GraphSim::builder()
        .page(PAGE, PAGE_TOKEN)
        .app_secret(APP_SECRET)
        .record_requests(false)
        .webhook_url(format!("{base}/webhooks/facebook"))
        .auto_receipts(AutoReceipts {
            delivery: Some(Duration::from_millis(5)),
            read: Some(Duration::from_millis(10)),
        })
        .start()
        .await?;
    let db = Database::fresh(backend)?;
    let webhook = webhook_section(&receiver.url, args.forward_batch, args.forward_in_flight);
    let config = gateway_config(args, &sim, &db, args.page_rate, &webhook)?;
    let gateway = Gateway::builder(config).listener(listener).start().await?;
    let store = Arc::clone(gateway.messenger().store());

    // The oldest pending event's age, every second, while `sampling`.
    let samples = Arc::new(Mutex::new(Vec::<f64>::new()));
    let sampling = tokio_util::sync::CancellationToken::new();
    let sampler = {
        let (store, samples, sampling) =
            (Arc::clone(&store), Arc::clone(&samples), sampling.clone());
        tokio::spawn(async move {
            while !sampling.is_cancelled() {
                if let Some(age) = oldest_pending(&store).await {
                    samples
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(age);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let http = client(64)?;
    let url = format!("{base}/apispaces/{SPACE}/messages");
    let headers = auth();
    let (mut outcome, elapsed) = open_loop(
        u64::from(args.page_rate),
        Duration::from_secs(args.seconds),
        move |n| {
            let (http, url, headers) = (http.clone(), url.clone(), headers.clone());
            async move {
                post(&http, &url, send_body(n), &headers, 201)
                    .await
                    .map(|()| 1)
            }
        },
    )
    .await;
    let delivered_during: u64 = EVENTS.iter().map(|e| receiver.count(e)).sum();
    // Three events a message, less the deliveries a read overtook (counted once drained).
    let expected = outcome.units * 3;
    let drain_started = Instant::now();
    let mut checked = Instant::now();
    loop {
        let received: u64 = EVENTS.iter().map(|e| receiver.count(e)).sum();
        if received >= expected
            || drain_started.elapsed() >= Duration::from_secs(args.drain_timeout)
        {
            break;
        }
        // Every second, allow for the deliveries a read overtook: they never come.
        if checked.elapsed() >= Duration::from_secs(1) {
            checked = Instant::now();
            if received + final_statuses(&store).await?.read_first >= expected {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained_in = drain_started.elapsed();
    if let Ok(pending) = store.pending_by_target().await {
        for p in pending.iter().filter(|p| p.count > 0) {
            eprintln!(
                "forwarding: still pending for {}/{}: {} events, the oldest from {}",
                p.space, p.target, p.count, p.oldest
            );
        }
    }
    for e in EVENTS {
        eprintln!("forwarding: {e}: {} received", receiver.count(e));
    }
    let statuses = final_statuses(&store).await?;
    eprintln!(
        "forwarding: the store: {} messages, {} read, {} read without ever being delivered \
         (the read receipt came first: a status never goes back, so no message.delivered)",
        statuses.messages, statuses.read, statuses.read_first
    );
    // What the gateway answered Meta (graph-sim does not redeliver a refused body, as Meta
    // would), and what it did with the events.
    if let Ok(res) = client(1)?
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
    {
        let text = res.text().await.unwrap_or_default();
        for line in text.lines().filter(|l| {
            l.starts_with("messenger_gateway_http_requests_total{route=\"/webhooks/facebook\"")
                || l.starts_with("messenger_gateway_webhook_events_total")
        }) {
            eprintln!("forwarding: {line}");
        }
    }
    sampling.cancel();
    let _ = sampler.await;
    let delivered: u64 = EVENTS.iter().map(|e| receiver.count(e)).sum();
    let mut ages = samples
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    ages.sort_by(f64::total_cmp);
    let max_age = ages.last().copied().unwrap_or(0.0);
    let median_age = ages.get(ages.len() / 2).copied().unwrap_or(0.0);
    let note = format!(
        "page {}/s, receiver {} ms, batch {}, in flight {}: {delivered} of {expected} events \
         delivered ({} during the load, {:.0}/s); oldest pending max {max_age:.1} s, median \
         {median_age:.1} s; the rest {:.1} s after the load",
        args.page_rate,
        args.receiver_latency_ms,
        args.forward_batch
            .map_or_else(|| "default".to_owned(), |b| b.to_string()),
        args.forward_in_flight
            .map_or_else(|| "default".to_owned(), |n| n.to_string()),
        delivered_during,
        delivered_during as f64 / elapsed.as_secs_f64(),
        drained_in.as_secs_f64(),
    );
    eprintln!("forwarding: {note}");
    let row = Row {
        backend,
        scenario: "forwarding".to_owned(),
        accepted_per_s: outcome.units as f64 / elapsed.as_secs_f64(),
        dispatched_per_s: Some(sim.sent_count() as f64 / elapsed.as_secs_f64()),
        drain: None,
        p50_ms: outcome.quantile_ms(0.50),
        p99_ms: outcome.quantile_ms(0.99),
        max_ms: outcome.quantile_ms(1.0),
        errors: outcome.errors + expected.saturating_sub(delivered + statuses.read_first),
        peak_rss_mib: peak_rss_mib(),
        note,
    };
    gateway.shutdown().await;
    sim.shutdown().await;
    db.drop_schema().await;
    Ok(row)
}

/// What the store says about the scenario's messages once drained.
struct FinalStatuses {
    messages: u64,
    read: u64,
    /// Read without a `delivered` entry in the history: the read receipt was applied first.
    read_first: u64,
}

async fn final_statuses(
    store: &Arc<dyn messenger_store::Store>,
) -> Result<FinalStatuses, BoxError> {
    use messenger_model::MessageStatus;
    use messenger_store::{MessagePosition, MessageQuery};
    let mut counts = FinalStatuses {
        messages: 0,
        read: 0,
        read_first: 0,
    };
    let mut query = MessageQuery {
        limit: MessageQuery::MAX_LIMIT,
        ..MessageQuery::default()
    };
    loop {
        let page = store.list_messages(SPACE, &query).await?;
        let Some(last) = page.last() else {
            break;
        };
        query.after = Some(MessagePosition::of(last));
        for m in &page {
            counts.messages += 1;
            if m.status == MessageStatus::Read {
                counts.read += 1;
                let delivered = m
                    .status_history
                    .iter()
                    .any(|c| c.status == MessageStatus::Delivered);
                counts.read_first += u64::from(!delivered);
            }
        }
    }
    Ok(counts)
}
