//! Request bodies: read with a size limit (413), checked for JSON's media type (415), parsed by
//! the gateway itself so that malformed JSON is answered with its line and column (400). axum's
//! `Json` extractor is never used: its rejections are not problem+json.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::Value;

use super::problem::Problem;

/// How long a client may take to send a body (a slow sender cannot hold a request forever).
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the whole body, refusing more than `limit` bytes (413) or taking longer than
/// [`BODY_READ_TIMEOUT`] (408). A `Content-Length` over the limit is refused before anything is
/// read.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    match tokio::time::timeout(BODY_READ_TIMEOUT, read_all(headers, body, limit)).await {
        Ok(read) => read,
        Err(_) => Err(Problem::request_timeout(BODY_READ_TIMEOUT)),
    }
}

async fn read_all(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Problem::too_large(limit));
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(0, |n| n as usize).min(limit));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %messenger::error_chain(&e), "reading a request body failed");
            Problem::bad_request("body.unreadable", "the request body could not be read")
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(Problem::too_large(limit));
        }
        buf.extend_from_slice(&chunk);
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
