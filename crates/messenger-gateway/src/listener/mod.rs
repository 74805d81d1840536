//! The gateway's accept loop, in front of the router: what a client can hold before it has
//! shown any key. Each listener ([`serve`]) takes connections up to `server.max_connections` in
//! all and `server.max_connections_per_client` per address ([`admission`]), answering the others
//! 503 and closing them; closes a connection whose headers take longer than
//! `server.header_read_timeout_secs` or that stays idle `server.idle_timeout_secs`
//! ([`connection`]); speaks HTTP/1.1 and cleartext HTTP/2 with keep-alive pings and a cap on
//! streams; tells each request who its client is ([`crate::client`]); and answers hyper's own
//! refusals (431, 414, 400) as problem documents. docs/operations.md, "Exposure", is the
//! operator's view.
//!
//! This module must not depend on the HTTP routes beyond the router it serves and the problem
//! document format.

pub mod admission;
pub mod connection;
mod open_files;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::Router;
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::client::{canonical, client_of, ClientAddr};
use crate::config::ConnectionLimits;
use crate::http::problem::{Problem, ProblemError};
use crate::metrics::Metrics;
use admission::{Admission, Refusal};
use connection::{raw_response, Activity, Expiry, Serving, Watched};

pub use open_files::{open_file_limit, raise_open_file_limit};

/// Refusals being written at once; past it, a refused connection is closed without an answer
/// (a flood must not cost more than it is refused for).
const MAX_REFUSALS_UNDER_WAY: usize = 64;

/// How long a refusal may take to be written and its connection drained.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// File descriptors kept for everything but client connections (the database pool, the
/// connections to Graph, the SMS provider and the businesses' webhooks, logs): this many, or a
/// quarter of a lower limit.
const RESERVED_FILES: u64 = 256;

/// The connection cap this process can honour: `configured`, lowered (with a warning) when the
/// open-file limit is too low for it.
pub fn effective_max_connections(configured: usize) -> usize {
    let Some(soft) = open_file_limit() else {
        return configured;
    };
    let reserved = RESERVED_FILES.min(soft / 4);
    let fits = usize::try_from(soft.saturating_sub(reserved).max(16)).unwrap_or(usize::MAX);
    if fits < configured {
        tracing::warn!(
            configured,
            open_file_limit = soft,
            max_connections = fits,
            "server.max_connections is over what the open-file limit allows; using the lower \
             figure (raise the hard limit, e.g. LimitNOFILE in a systemd unit)"
        );
        fits
    } else {
        configured
    }
}

/// The per-address cap under a total of `total`: `configured`, but never more than a quarter of
/// the total, so that one address cannot fill the listener (with the open-file limit at 256 the
/// total is 192 and one address gets 48).
pub fn per_client_cap(configured: usize, total: usize) -> usize {
    configured.min((total / 4).max(1))
}

/// Serves `app` on `listener` under `limits` until `cancel`; then stops accepting, closes idle
/// connections and lets the requests under way finish. The handle ends when every connection
/// has.
pub fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    metrics: Metrics,
    cancel: &CancellationToken,
) -> JoinHandle<()> {
    let total = effective_max_connections(limits.max_connections);
    let admission = Admission::new(
        total,
        per_client_cap(limits.max_connections_per_client, total),
        limits.trusted_proxies.clone(),
    );
    let settings = Arc::new(Settings {
        builder: builder(limits),
        limits: limits.clone(),
        app,
        metrics,
        cancel: cancel.clone(),
    });
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_UNDER_WAY));
        // Every connection task holds a sender; when all are gone, so are the connections.
        let (open_tx, mut all_closed) = mpsc::channel::<()>(1);
        loop {
            let accepted = tokio::select! {
                () = cancel.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be freed.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let ip = canonical(peer.ip());
            match admission.admit(ip) {
                Ok(place) => {
                    let settings = Arc::clone(&settings);
                    let open = open_tx.clone();
                    tokio::spawn(async move {
                        settings.run(stream, peer).await;
                        drop((place, open));
                    });
                }
                Err(why) => {
                    settings.metrics.connection_refused(why.label());
                    if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                        tokio::spawn(async move {
                            refuse(stream, why).await;
                            drop(permit);
                        });
                    }
                }
            }
        }
        drop(listener);
        drop(open_tx);
        let _ = all_closed.recv().await;
    })
}

/// hyper's settings for every connection of a listener.
fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The header timer is [`Activity`]'s: hyper's would also close kept-alive connections
    // after the header timeout instead of the idle one.
    builder.http1().header_read_timeout(None).keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.http2_keep_alive_interval))
        .keep_alive_timeout(limits.http2_keep_alive_interval)
        .max_concurrent_streams(limits.http2_max_concurrent_streams);
    builder
}

struct Settings {
    builder: auto::Builder<TokioExecutor>,
    limits: ConnectionLimits,
    app: Router,
    metrics: Metrics,
    cancel: CancellationToken,
}

impl Settings {
    /// Serves one connection until it ends, its timers close it, or the listener stops.
    async fn run(&self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        self.metrics.connection_opened();
        let activity = Activity::new(self.limits.header_read_timeout, self.limits.idle_timeout);
        let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
        let service = {
            let app = self.app.clone();
            let activity = Arc::clone(&activity);
            let trusted = self.limits.trusted_proxies.clone();
            hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let serving = activity.request_started();
                let client = client_of(peer.ip(), request.headers(), &trusted);
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ClientAddr(client));
                let app = app.clone();
                async move {
                    let response = app.oneshot(request).await?;
                    Ok::<_, Infallible>(response.map(|body| Body::new(Answer { body, serving })))
                }
            })
        };
        let conn = self.builder.serve_connection(io, service);
        tokio::pin!(conn);
        // Once closing, how long the connection has to finish before it is dropped.
        let mut closing: Option<tokio::time::Instant> = None;
        loop {
            let give_up = async {
                match closing {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "a connection ended with an error");
                    }
                    break;
                }
                () = self.cancel.cancelled(), if closing.is_none() => {
                    conn.as_mut().graceful_shutdown();
                    // Requests under way finish within the shutdown grace, or are cut off
                    // with the process; an in-process gateway's connection ends by then too.
                    closing = Some(tokio::time::Instant::now() + self.limits.idle_timeout);
                }
                why = activity.expired(), if closing.is_none() => {
                    self.metrics.connection_closed(why.label());
                    if why == Expiry::Header {
                        break;
                    }
                    conn.as_mut().graceful_shutdown();
                    closing = Some(tokio::time::Instant::now() + self.limits.header_read_timeout);
                }
                () = give_up => break,
            }
        }
        self.metrics.connection_ended();
    }
}

/// The service's answer; the request counts as served until it has been sent.
struct Answer {
    body: Body,
    serving: Serving,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("serving", &self.serving)
            .finish_non_exhaustive()
    }
}

/// Answers a connection past a cap with 503 and closes it, without reading a request: the
/// client's bytes are drained (so the close does not reset the answer away) for at most
/// [`REFUSAL_TIME`].
async fn refuse(mut stream: TcpStream, why: Refusal) {
    let detail = match why {
        Refusal::Total => "the gateway has its maximum of connections open; retry shortly",
        Refusal::PerClient => {
            "this address has its maximum of connections open; reuse them or retry shortly"
        }
    };
    let problem = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/unavailable",
        "Unavailable",
        detail,
    )
    .with_errors(vec![ProblemError::new(
        "",
        match why {
            Refusal::Total => "connections.total",
            Refusal::PerClient => "connections.per_client",
        },
        detail,
    )]);
    let bytes = raw_response(&problem, Some(1));
    let _ = tokio::time::timeout(REFUSAL_TIME, async move {
        stream.write_all(&bytes).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
