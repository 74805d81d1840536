//! `retention`: what a purge of many expired messages does to dispatch.
//!
//! `--messages` messages are stored directly (500 to a transaction), settled `sent` on Messenger
//! with a Graph message id 500 days ago: past both the content retention (30 days: redacted)
//! and the row retention (400 days: deleted). The gateway's own housekeeping is held off
//! (`recover_interval_secs = 3600`). Then two phases of single sends at `--rate` on an open-loop
//! schedule for `--seconds` each: without a purge, and with the retention pass
//! (`RetentionPolicy::run`, the defaults: batches of 1000, of 200 on SQLite) running in a loop
//! beside it until nothing is left. Each phase reports the accept latency (from the scheduled time) and the
//! dispatch latency: each message's `sent` time minus its acceptance, read from the store
//! afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use messenger_gateway::retention::{RetentionAction, RetentionPolicy};
use messenger_model::{Channel, MessageStatus, SendRequest, Timestamp, To};
use messenger_store::{MessageQuery, NewMessage, Settlement, StatusUpdate, Store};

use crate::drive::{client, open_loop, post, Outcome};
use crate::env::{gateway_config, Env, PAGE, SPACE, UNPACED};
use crate::report::{peak_rss_mib, Row};
use crate::scenarios::{auth, send_body};
use crate::{Args, Backend, BoxError};

const DAY_MS: i64 = 24 * 3600 * 1000;
const CHUNK: u64 = 500;

/// Stores `n` messages settled 500 days ago; returns how long it took.
async fn prepare(store: &Arc<dyn Store>, n: u64) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let old = Timestamp::now().add_millis(-500 * DAY_MS);
    let later = Timestamp::now().add_millis(365 * DAY_MS);
    let mut done = 0;
    while done < n {
        let size = CHUNK.min(n - done);
        let messages: Vec<NewMessage> = (done..done + size)
            .map(|i| {
                let psid = format!("2600{i:010}");
                let req = SendRequest::new(To::fb_messenger_id(&psid))
                    .body(format!("Your order #{i} has shipped."));
                let mut m = NewMessage::new(SPACE, format!("psid:{psid}"), req, old);
                // Never due: the dispatch workers must not send them.
                m.not_before = later;
                m
            })
            .collect();
        let settlements: Vec<Settlement> = messages
            .iter()
            .map(|m| {
                let psid = m.recipient_key.trim_start_matches("psid:");
                let sent = StatusUpdate::new(MessageStatus::Sent, old.add_millis(1_000))
                    .channel(Channel::FbMessenger)
                    .sent_to(PAGE, psid);
                Settlement::new(SPACE, &m.id, sent).graph_message_ids([format!("m_old_{}", m.id)])
            })
            .collect();
        store.insert_messages(messages).await?;
        store.settle_messages(settlements).await?;
        done += size;
    }
    Ok(started.elapsed())
}

/// The dispatch latency (sent time minus acceptance) of every message accepted since `since`, in
/// milliseconds, sorted.
async fn dispatch_latencies(
    store: &Arc<dyn Store>,
    since: Timestamp,
) -> Result<Vec<i64>, BoxError> {
    let mut out = Vec::new();
    let mut query = MessageQuery {
        since: Some(since),
        limit: MessageQuery::MAX_LIMIT,
        ..MessageQuery::default()
    };
    loop {
        let page = store.list_messages(SPACE, &query).await?;
        for m in &page {
            if let Some(sent) = m.sent_at {
                out.push(sent.millis() - m.created_at.millis());
            }
        }
        match page.last() {
            Some(last) if page.len() == MessageQuery::MAX_LIMIT => {
                query.after = Some(messenger_store::MessagePosition::of(last));
            }
            _ => break,
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn quantile(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

/// One phase of paced sends; the row's p50/p99/max are the dispatch latency, the note has the
/// accept latency.
async fn phase(
    args: &Args,
    env: &Env,
    backend: Backend,
    name: String,
    note: String,
) -> Result<Row, BoxError> {
    let store = Arc::clone(env.gateway.messenger().store());
    let since = Timestamp::now();
    let http = client(256)?;
    let url = format!("{}/apispaces/{SPACE}/messages", env.base);
    let auth = auth();
    let sent_before = env.sim.sent_count();
    let offset = sent_before * 10;
    let (mut outcome, elapsed): (Outcome, Duration) =
        open_loop(args.rate, Duration::from_secs(args.seconds), move |n| {
            let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
            async move {
                post(
                    &http,
                    &url,
                    send_body(offset + n + 1_000_000_000),
                    &auth,
                    201,
                )
                .await?;
                Ok(1)
            }
        })
        .await;
    let sent_during = env.sim.sent_count() - sent_before;
    let drain = env
        .drain(
            sent_before + outcome.units,
            Duration::from_secs(args.drain_timeout),
        )
        .await;
    let latencies = dispatch_latencies(&store, since).await?;
    let secs = elapsed.as_secs_f64();
    Ok(Row {
        backend,
        scenario: name,
        accepted_per_s: outcome.units as f64 / secs,
        dispatched_per_s: Some(sent_during as f64 / secs),
        drain: Some(drain),
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(0) as f64,
        errors: outcome.errors,
        peak_rss_mib: peak_rss_mib(),
        note: format!(
            "dispatch latency of {} messages; accept p50 {:.1} ms, p99 {:.1} ms; {note}",
            latencies.len(),
            outcome.quantile_ms(0.5),
            outcome.quantile_ms(0.99)
        ),
    })
}

/// `retention`: the two phases, on one gateway and database.
pub(crate) async fn retention(args: &Args, backend: Backend) -> Result<Vec<Row>, BoxError> {
    let mut args = args.clone();
    args.recover_interval_secs = Some(3600);
    let env = Env::start(&args, backend).await?;
    let store = Arc::clone(env.gateway.messenger().store());
    let config = gateway_config(&args, &env.sim, &env.db, UNPACED, "")?;
    let policy = RetentionPolicy::new(&config);
    let prepared = prepare(&store, args.messages).await?;
    eprintln!(
        "stored {} expired messages in {:.1} s",
        args.messages,
        prepared.as_secs_f64()
    );

    let quiet = phase(
        &args,
        &env,
        backend,
        "retention: no purge".into(),
        String::new(),
    )
    .await?;

    let purge = tokio::spawn({
        let store = Arc::clone(&store);
        async move {
            let started = Instant::now();
            let (mut redacted, mut deleted, mut rounds) = (0, 0, 0);
            loop {
                let report = policy.run(&store, Timestamp::now()).await;
                rounds += 1;
                let r = report.count("messages", RetentionAction::Redacted);
                let d = report.count("messages", RetentionAction::Deleted);
                redacted += r;
                deleted += d;
                if r == 0 && d == 0 {
                    return (redacted, deleted, rounds, started.elapsed());
                }
            }
        }
    });
    let busy = phase(
        &args,
        &env,
        backend,
        "retention: purge running".into(),
        String::new(),
    )
    .await?;
    let (redacted, deleted, rounds, took) = purge.await?;
    let mut busy = busy;
    busy.note.push_str(&format!(
        "purge: {redacted} redacted, {deleted} deleted in {rounds} passes, {:.1} s",
        took.as_secs_f64()
    ));
    let mut quiet = quiet;
    quiet.note.push_str(&format!(
        "{} expired messages stored in {:.1} s",
        args.messages,
        prepared.as_secs_f64()
    ));
    env.stop().await;
    Ok(vec![quiet, busy])
}
