//! One connection's timers and its bytes: [`Activity`] knows whether the connection is waiting
//! for a request's headers, serving requests, or idle between them, and when it must be closed;
//! [`Watched`] is the socket as hyper sees it, telling [`Activity`] when bytes arrive and
//! answering hyper's own refusals (a malformed request line, a target or headers too large) as
//! `application/problem+json` like every other answer of the listener.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::http::problem::{Problem, ProblemError};

/// Why a connection's timer closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// A request's headers (or a new connection's first request) took longer than
    /// `server.header_read_timeout_secs`: closed at once.
    Header,
    /// No request for `server.idle_timeout_secs`: closed gracefully.
    Idle,
}

impl Expiry {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Expiry::Header => "header_timeout",
            Expiry::Idle => "idle_timeout",
        }
    }
}

/// What a connection is doing, for its timers.
#[derive(Debug)]
pub struct Activity {
    header_timeout: Duration,
    idle_timeout: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// HTTP/2 (its first bytes were the preface): no header timer, only the idle one.
    http2: bool,
    /// Whether any bytes arrived yet.
    read_any: bool,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request being served, since `since`. `head_started`: bytes of the next request
    /// arrived (HTTP/1). `served`: a request was served on this connection before.
    Waiting {
        since: Instant,
        head_started: bool,
        served: bool,
    },
    /// Requests (HTTP/2: streams) being served, from their headers to their answer's end.
    Serving { requests: usize },
}

/// The first bytes of an HTTP/2 connection (RFC 9113, 3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

impl Activity {
    /// A new connection, waiting for its first request.
    pub fn new(header_timeout: Duration, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            header_timeout,
            idle_timeout,
            state: Mutex::new(State {
                phase: Phase::Waiting {
                    since: Instant::now(),
                    head_started: false,
                    served: false,
                },
                http2: false,
                read_any: false,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived.
    fn on_read(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut s = self.state();
        if !s.read_any {
            s.read_any = true;
            let n = bytes.len().min(HTTP2_PREFACE.len());
            s.http2 = bytes[..n] == HTTP2_PREFACE[..n];
        }
        if s.http2 {
            return;
        }
        if let Phase::Waiting {
            since,
            head_started: false,
            served,
        } = s.phase
        {
            // The header timer of a kept-alive connection runs from the next request's first
            // byte; a new connection's, from its start.
            let since = if served { Instant::now() } else { since };
            s.phase = Phase::Waiting {
                since,
                head_started: true,
                served,
            };
        }
    }

    /// A request's headers arrived and it is being served, until the guard is dropped (when
    /// its answer has been sent, or the request abandoned).
    pub fn request_started(self: &Arc<Self>) -> Serving {
        let mut s = self.state();
        s.phase = match s.phase {
            Phase::Serving { requests } => Phase::Serving {
                requests: requests + 1,
            },
            Phase::Waiting { .. } => Phase::Serving { requests: 1 },
        };
        Serving {
            activity: Arc::clone(self),
        }
    }

    /// Whether a request is being served (so what hyper writes is the service's answer).
    fn serving(&self) -> bool {
        matches!(self.state().phase, Phase::Serving { .. })
    }

    /// When the connection must be closed, and why, if nothing happens before.
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        let s = self.state();
        match s.phase {
            Phase::Serving { .. } => None,
            Phase::Waiting {
                since,
                head_started,
                served,
            } => {
                if !s.http2 && (head_started || !served) {
                    Some((since + self.header_timeout, Expiry::Header))
                } else {
                    Some((since + self.idle_timeout, Expiry::Idle))
                }
            }
        }
    }

    /// Resolves when a timer expires: the caller closes the connection. While requests are
    /// served no timer runs; the state is looked at again at least every header timeout.
    pub async fn expired(&self) -> Expiry {
        loop {
            let now = Instant::now();
            let recheck = now + self.header_timeout.min(self.idle_timeout);
            match self.deadline() {
                Some((at, why)) if at <= now => return why,
                Some((at, _)) => tokio::time::sleep_until(at.min(recheck)).await,
                None => tokio::time::sleep_until(recheck).await,
            }
        }
    }
}

/// A request being served; dropping it ends it.
#[derive(Debug)]
pub struct Serving {
    activity: Arc<Activity>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let mut s = self.activity.state();
        if let Phase::Serving { requests } = s.phase {
            s.phase = if requests > 1 {
                Phase::Serving {
                    requests: requests - 1,
                }
            } else {
                Phase::Waiting {
                    since: Instant::now(),
                    head_started: false,
                    served: true,
                }
            };
        }
    }
}

/// The socket as hyper sees it.
#[derive(Debug)]
pub struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// hyper's own refusal, replaced by a problem document, being written: the bytes, how far,
    /// and how many bytes of hyper's to report written when done.
    replacement: Option<(Vec<u8>, usize, usize)>,
}

impl Watched {
    /// `stream`, reporting to `activity`.
    pub fn new(stream: TcpStream, activity: Arc<Activity>) -> Self {
        Self {
            stream,
            activity,
            replacement: None,
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.activity.on_read(&buf.filled()[before..]);
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_none() && !this.activity.serving() {
            // Outside a request, only hyper itself answers: a parse error's bare status.
            if let Some(problem) = own_refusal(buf) {
                this.replacement = Some((raw_response(&problem, None), 0, buf.len()));
            }
        }
        let Some((bytes, written, reported)) = this.replacement.as_mut() else {
            return Pin::new(&mut this.stream).poll_write(cx, buf);
        };
        while *written < bytes.len() {
            match Pin::new(&mut this.stream).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let reported = *reported;
        this.replacement = None;
        Poll::Ready(Ok(reported))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    // Not vectored, so hyper hands each head over whole in one buffer (the replacement looks
    // at heads only).
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The problem for a head hyper writes on its own (a request it could not parse), if `head` is
/// one: `HTTP/1.1 400`, `414` or `431` with no body.
fn own_refusal(head: &[u8]) -> Option<Problem> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    // The service's answers always say what they carry; hyper's refusals carry nothing.
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(head.len());
    if head[..end]
        .to_ascii_lowercase()
        .windows(14)
        .any(|w| w == b"\ncontent-type:")
    {
        return None;
    }
    let code = rest.get(2..5)?;
    let (status, kind, title, code, detail) = match code {
        b"400" => (
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "The request is not acceptable",
            "request.malformed",
            "the request is not well-formed HTTP/1.1: its method, target, version or a header \
             cannot be read",
        ),
        b"414" => (
            StatusCode::URI_TOO_LONG,
            "/problems/uri-too-long",
            "The request target is too long",
            "request.target_too_long",
            "the request target (path and query) is too long; send long input in a body",
        ),
        b"431" => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "/problems/headers-too-large",
            "The request's headers are too large",
            "request.headers_too_large",
            "the request's headers are too large or too many",
        ),
        _ => return None,
    };
    Some(
        Problem::new(status, kind, title, detail)
            .with_errors(vec![ProblemError::new("", code, detail)]),
    )
}

/// A whole HTTP/1.1 answer carrying `problem`, closing the connection.
pub fn raw_response(problem: &Problem, retry_after: Option<u32>) -> Vec<u8> {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let status = problem.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\ncache-control: \
         no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        crate::http::problem::PROBLEM_JSON,
        body.len()
    );
    if let Some(secs) = retry_after {
        head.push_str(&format!("retry-after: {secs}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_refusals_become_problems_and_nothing_else_does() {
        let p = own_refusal(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(p.status, 431);
        assert_eq!(
            own_refusal(b"HTTP/1.1 414 URI Too Long\r\n")
                .unwrap()
                .status,
            414
        );
        assert_eq!(
            own_refusal(b"HTTP/1.1 400 Bad Request\r\n").unwrap().status,
            400
        );
        assert!(own_refusal(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(own_refusal(b"{\"a\":1}").is_none());
        assert!(own_refusal(b"HTTP/1.").is_none());
        // The service's own 400s say what they carry, and are left alone.
        assert!(own_refusal(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\n\r\n{}"
        )
        .is_none());
        let raw = String::from_utf8(raw_response(&p, Some(1))).unwrap();
        assert!(raw.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(raw.contains("content-type: application/problem+json\r\n"));
        assert!(raw.contains("retry-after: 1\r\n"));
        let body = raw.split("\r\n\r\n").nth(1).unwrap();
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["errors"][0]["code"], "request.headers_too_large");
    }

    #[tokio::test(start_paused = true)]
    async fn timers_follow_the_connection() {
        let a = Activity::new(Duration::from_secs(10), Duration::from_secs(60));
        // A new connection that sends nothing: the header timer.
        assert_eq!(a.deadline().unwrap().1, Expiry::Header);
        assert_eq!(a.expired().await, Expiry::Header);
        // Served: no timer; after the answer, the idle timer.
        let a = Activity::new(Duration::from_secs(10), Duration::from_secs(60));
        a.on_read(b"GET / HTTP/1.1\r\n");
        let serving = a.request_started();
        assert!(a.deadline().is_none());
        tokio::time::advance(Duration::from_secs(300)).await;
        assert!(a.deadline().is_none(), "a long request is not timed here");
        drop(serving);
        let (at, why) = a.deadline().unwrap();
        assert_eq!(why, Expiry::Idle);
        assert_eq!(at, Instant::now() + Duration::from_secs(60));
        // The next request's first byte starts the header timer from then.
        tokio::time::advance(Duration::from_secs(30)).await;
        a.on_read(b"GE");
        let (at, why) = a.deadline().unwrap();
        assert_eq!(why, Expiry::Header);
        assert_eq!(at, Instant::now() + Duration::from_secs(10));
        // HTTP/2: only the idle timer.
        let h2 = Activity::new(Duration::from_secs(10), Duration::from_secs(60));
        h2.on_read(HTTP2_PREFACE);
        assert_eq!(h2.deadline().unwrap().1, Expiry::Idle);
    }
}
