//! Request bodies: read with a size limit (413), checked for JSON's media type (415), parsed by
//! the gateway itself so that malformed JSON is answered with its line and column (400). axum's
//! `Json` extractor is never used: its rejections are not problem+json.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::problem::Problem;
use crate::config::BodyLimits;

/// How long a client may take to send a body (a slow sender cannot hold a request forever).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a body read reserves before the bytes arrive: `Content-Length` is only a claim, so
/// the buffer grows with what actually arrives, up to the route's limit.
pub const MAX_PREALLOCATION: usize = 64 * 1024;

/// Reads the whole body, refusing more than `limit` bytes (413) or taking longer than
/// [`BODY_READ_TIMEOUT`] (408). A `Content-Length` over the limit is refused before anything is
/// read.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    read_within(headers, body, limit, BODY_READ_TIMEOUT).await
}

/// [`read_limited`] with a timeout of the caller's for the whole body.
pub async fn read_within(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Problem> {
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Problem::too_large(limit));
    }
    match tokio::time::timeout(timeout, read_all(declared, body, limit)).await {
        Ok(read) => read,
        Err(_) => Err(Problem::request_timeout(timeout)),
    }
}

/// Reading Meta's webhook bodies, which anyone can post, before their signature is checked:
///
/// - a `Content-Length` over the limit is 413 at once;
/// - the body's first byte must come within `webhook_first_byte_timeout` (408); the wait holds
///   no reading place, so connections that declare a body and send nothing shut nobody out;
/// - then the read takes one of `webhook_concurrent_reads` places, and one of the
///   `webhook_reads_per_client` places of its client address (past either, 503 with
///   `Retry-After: 1` at once): one address can never hold more than its share;
/// - the body must arrive whole within `webhook_read_timeout` (408) and within the limit (413).
#[derive(Debug, Clone)]
pub struct UnverifiedReads {
    permits: Arc<Semaphore>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_client: usize,
    limit: usize,
    first_byte: Duration,
    timeout: Duration,
}

impl UnverifiedReads {
    /// The reader for `limits` (`webhook`, `webhook_read_timeout`, `webhook_first_byte_timeout`,
    /// `webhook_concurrent_reads`, `webhook_reads_per_client`).
    pub fn new(limits: &BodyLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.webhook_concurrent_reads.max(1))),
            per_client: Arc::default(),
            max_per_client: limits.webhook_reads_per_client.max(1),
            limit: limits.webhook,
            first_byte: limits.webhook_first_byte_timeout,
            timeout: limits.webhook_read_timeout,
        }
    }

    /// Reads one body of `client` (`None`: not known, counted as one client) under the limits
    /// above.
    pub async fn read(
        &self,
        client: Option<IpAddr>,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, Problem> {
        let declared = declared_length(headers);
        if declared.is_some_and(|n| n > self.limit as u64) {
            return Err(Problem::too_large(self.limit));
        }
        let started = tokio::time::Instant::now();
        let mut stream = body.into_data_stream();
        let first = match tokio::time::timeout(self.first_byte, stream.next()).await {
            Ok(first) => first,
            Err(_) => {
                tracing::debug!("webhook refused: no body byte within the first-byte timeout");
                return Err(Problem::request_timeout(self.first_byte));
            }
        };
        let client = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let Some(_client_place) = self.take_client_place(client) else {
            tracing::warn!("webhook refused: this client address holds its share of reads");
            return Err(Problem::unavailable(
                "this address has its maximum of webhook bodies being read at once; retry \
                 shortly",
            )
            .with_retry_after(1));
        };
        let Ok(_permit) = self.permits.try_acquire() else {
            tracing::warn!("webhook refused: too many bodies being read at once");
            return Err(Problem::unavailable(
                "too many webhook bodies are being read at once; retry shortly",
            )
            .with_retry_after(1));
        };
        let rest = self.timeout.saturating_sub(started.elapsed());
        let read = read_stream(declared, first, stream, self.limit);
        match tokio::time::timeout(rest, read).await {
            Ok(read) => read,
            Err(_) => Err(Problem::request_timeout(self.timeout)),
        }
    }

    fn take_client_place(&self, client: IpAddr) -> Option<ClientPlace> {
        let mut held = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = held.entry(client).or_insert(0);
        if *n >= self.max_per_client {
            return None;
        }
        *n += 1;
        Some(ClientPlace {
            held: Arc::clone(&self.per_client),
            client,
        })
    }
}

/// One client's reading place; dropping it frees it.
struct ClientPlace {
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.client);
            }
        }
    }
}

/// Large bodies handled at once: a body declared over [`LARGE_BODY`] bytes, or of unknown
/// length, takes a permit of its space (`server.space_large_batches`) and one of the process
/// (`server.large_batches`) for as long as its request is handled (read, parsed, stored). A
/// request waits up to [`LARGE_BODY_WAIT`] for them with its body unread (the sender is held
/// back by TCP, no memory is taken), then is answered 503 with `Retry-After: 1`. So a flood of
/// 10 MB batches holds at most `permits` of them in memory (docs/performance.md), and one
/// space's flood leaves the other spaces room.
#[derive(Debug, Clone)]
pub struct LargeBodies {
    permits: Arc<Semaphore>,
    per_space: Arc<HashMap<String, Arc<Semaphore>>>,
    /// For a space not configured (not reached: access is checked first).
    other_space: Arc<Semaphore>,
}

/// Bodies over this many bytes count as large (1 MiB).
pub const LARGE_BODY: u64 = 1024 * 1024;

/// How long a large body waits for a permit before 503.
pub const LARGE_BODY_WAIT: Duration = Duration::from_secs(30);

/// The permits a large body holds while it is handled.
#[derive(Debug)]
pub struct LargePermit {
    _space: OwnedSemaphorePermit,
    _process: OwnedSemaphorePermit,
}

impl LargeBodies {
    /// At most `permits` large bodies at once (at least 1), `per_space` of them for one of
    /// `spaces`.
    pub fn new<'a>(
        permits: usize,
        per_space: usize,
        spaces: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let share = || Arc::new(Semaphore::new(per_space.max(1)));
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            per_space: Arc::new(
                spaces
                    .into_iter()
                    .map(|s| (s.to_owned(), share()))
                    .collect(),
            ),
            other_space: share(),
        }
    }

    /// The permits for a body of `space` with these headers (`None`: a small body needs none),
    /// waiting up to [`LARGE_BODY_WAIT`] for both, or 503.
    pub async fn admit(
        &self,
        space: &str,
        headers: &HeaderMap,
    ) -> Result<Option<LargePermit>, Problem> {
        if declared_length(headers).is_some_and(|n| n <= LARGE_BODY) {
            return Ok(None);
        }
        let own = Arc::clone(self.per_space.get(space).unwrap_or(&self.other_space));
        let both = async {
            let space = own.acquire_owned().await?;
            let process = Arc::clone(&self.permits).acquire_owned().await?;
            Ok::<_, tokio::sync::AcquireError>(LargePermit {
                _space: space,
                _process: process,
            })
        };
        match tokio::time::timeout(LARGE_BODY_WAIT, both).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => {
                tracing::warn!("batch refused: too many large bodies being handled at once");
                Err(Problem::unavailable(
                    "too many large batches are being handled at once; retry shortly",
                )
                .with_retry_after(1))
            }
        }
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// What to reserve for a body that says it has `declared` bytes: never more than
/// [`MAX_PREALLOCATION`] nor the limit.
fn initial_capacity(declared: Option<u64>, limit: usize) -> usize {
    let declared = declared.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    declared.min(limit).min(MAX_PREALLOCATION)
}

async fn read_all(declared: Option<u64>, body: Body, limit: usize) -> Result<Bytes, Problem> {
    let mut stream = body.into_data_stream();
    let first = stream.next().await;
    read_stream(declared, first, stream, limit).await
}

/// Reads a body whose first chunk (`None`: it was empty) is already taken from `stream`.
async fn read_stream(
    declared: Option<u64>,
    first: Option<Result<Bytes, axum::Error>>,
    mut stream: axum::body::BodyDataStream,
    limit: usize,
) -> Result<Bytes, Problem> {
    let mut buf = BytesMut::with_capacity(initial_capacity(declared, limit));
    let mut next = first;
    while let Some(chunk) = next.take() {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %messenger::error_chain(&e), "reading a request body failed");
            Problem::bad_request("body.unreadable", "the request body could not be read")
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Problem::too_large(limit));
        }
        buf.extend_from_slice(&chunk);
        next = stream.next().await;
    }
    Ok(buf.freeze())
}

/// Checks that `Content-Type` is JSON: `application/json`, or any `application/*+json`, with
/// any parameters (`; charset=utf-8`).
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let raw = headers.get(header::CONTENT_TYPE).map(|v| v.to_str());
    let Some(Ok(value)) = raw else {
        return Err(Problem::unsupported_media_type(None));
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(Problem::unsupported_media_type(Some(value)))
    }
}

/// Parses JSON, answering malformed input with its line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, Problem> {
    serde_json::from_slice(bytes).map_err(Problem::malformed_json)
}

/// The usual sequence for a JSON route: media type, size, syntax. Returns the raw bytes too
/// (idempotency hashes them).
pub async fn json_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(Bytes, Value), Problem> {
    require_json(headers)?;
    let bytes = read_limited(headers, body, limit).await?;
    let value = parse_json(&bytes)?;
    Ok((bytes, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ct(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn json_media_types() {
        assert!(require_json(&ct("application/json")).is_ok());
        assert!(require_json(&ct("Application/JSON; charset=utf-8")).is_ok());
        assert!(require_json(&ct("application/merge-patch+json")).is_ok());
        assert_eq!(require_json(&ct("text/plain")).unwrap_err().status, 415);
        assert_eq!(require_json(&HeaderMap::new()).unwrap_err().status, 415);
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let p = parse_json(b"{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(p.status, 400);
        assert!(p.detail.contains("line 3, column 1"), "{}", p.detail);
        assert_eq!(p.errors[0].line, Some(3));
        assert_eq!(p.errors[0].code, "json.syntax");
    }

    #[test]
    fn a_declared_length_reserves_at_most_64_kib() {
        assert_eq!(initial_capacity(None, 1 << 20), 0);
        assert_eq!(initial_capacity(Some(100), 1 << 20), 100);
        assert_eq!(initial_capacity(Some(1 << 20), 1 << 20), MAX_PREALLOCATION);
        assert_eq!(
            initial_capacity(Some(u64::MAX), usize::MAX),
            MAX_PREALLOCATION
        );
        assert_eq!(initial_capacity(Some(5000), 1024), 1024);
    }

    #[tokio::test]
    async fn a_body_grows_past_the_first_reservation() {
        // 200 KiB in 1 KiB chunks, declared: read whole although only 64 KiB were reserved.
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..200)
            .map(|_| Ok(Bytes::from(vec![b'x'; 1024])))
            .collect();
        let body = Body::from_stream(futures::stream::iter(chunks));
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("204800"));
        let read = read_limited(&h, body, 1 << 20).await.unwrap();
        assert_eq!(read.len(), 200 * 1024);
    }

    #[tokio::test]
    async fn limits() {
        let h = HeaderMap::new();
        let ok = read_limited(&h, Body::from("12345"), 5).await.unwrap();
        assert_eq!(&ok[..], b"12345");
        let p = read_limited(&h, Body::from("123456"), 5).await.unwrap_err();
        assert_eq!(p.status, 413);
        let mut declared = HeaderMap::new();
        declared.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        let p = read_limited(&declared, Body::from("1"), 5)
            .await
            .unwrap_err();
        assert_eq!(p.status, 413);
    }
}
