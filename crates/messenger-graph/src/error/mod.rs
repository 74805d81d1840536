//! The crate's one error type, classified by what the sender should do about it.

mod classify;
mod table;
mod token;

use std::fmt;
use std::time::Duration;

use messenger_model::graph::GraphError;
use reqwest::header::{HeaderMap, RETRY_AFTER};

pub use classify::{Blame, ErrorKind};
pub use table::{BUSINESS_USE_CASE_LIMIT_CODES, OUTSIDE_WINDOW_SUBCODES, TOKEN_ERROR_CODES};
pub use token::{TokenProblem, TOKEN_SUBCODES};

use crate::Usage;

/// The cause of a failure, as any error: what [`Error`]'s variants carry as their source, so a
/// custom [`Transport`](crate::Transport) can attach its own (and the HTTP client used by
/// [`GraphClient`](crate::GraphClient) is no part of this crate's API).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed Graph call.
///
/// Every error has a [`kind`](Error::kind) that says what it means for the sender, whether a
/// retry can help ([`is_retryable`](Error::is_retryable)) and when
/// ([`retry_after`](Error::retry_after)). Messages carry Graph's message, code, subcode and
/// `fbtrace_id`, never the access token, the app secret or the request URL.
///
/// The classification is the variant (and [`ErrorKind`] for Graph's answers and
/// [`Error::Other`]); causes are [`BoxError`]s. A custom [`Transport`](crate::Transport) builds
/// its errors with the constructors: [`Error::timeout`], [`Error::connection`] (both
/// retryable), [`Error::request`], [`Error::decode`] (not), [`Error::other`] and
/// [`Error::other_with_source`] (any [`ErrorKind`]), or from Graph's answer with
/// [`GraphFailure`] and [`HttpFailure`].
///
/// ```
/// use messenger_graph::{Error, ErrorKind};
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
/// let e = Error::connection(io);
/// assert_eq!(e.kind(), ErrorKind::Transient);
/// assert!(e.is_retryable());
/// let cause = std::error::Error::source(&e).map(ToString::to_string);
/// assert_eq!(cause.as_deref(), Some("reset by peer"));
/// ```
///
/// ```
/// use messenger_graph::{Error, ErrorKind, GraphFailure};
/// use messenger_model::graph::GraphError;
/// let e = Error::from(GraphFailure::new(
///     400,
///     GraphError {
///         message: "(#551) This person isn't available right now.".into(),
///         code: 551,
///         error_subcode: Some(1545041),
///         fbtrace_id: Some("AbC".into()),
///         ..GraphError::default()
///     },
///     None,
///     None,
/// ));
/// assert_eq!(e.kind(), ErrorKind::UserUnavailable);
/// assert!(!e.is_retryable());
/// assert_eq!(
///     e.to_string(),
///     "Graph error 551/1545041 (user_unavailable, HTTP 400): (#551) This person isn't available right now. [fbtrace_id AbC]"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Graph answered with its error object.
    #[error("{0}")]
    Graph(Box<GraphFailure>),
    /// An HTTP error answer without a Graph error object (a proxy, a load balancer, an outage).
    #[error("{0}")]
    Http(Box<HttpFailure>),
    /// The request timed out (connecting, or the whole exchange). The call may or may not have
    /// taken effect.
    #[error("request to Graph timed out")]
    Timeout {
        /// The cause (for [`GraphClient`](crate::GraphClient): the HTTP client's error, without
        /// the URL).
        #[source]
        source: BoxError,
    },
    /// Graph could not be reached, or the connection broke during the exchange.
    #[error("could not complete the exchange with Graph")]
    Connection {
        /// The cause (for [`GraphClient`](crate::GraphClient): the HTTP client's error, without
        /// the URL).
        #[source]
        source: BoxError,
    },
    /// The HTTP client refused the request (redirect loop, invalid request); a retry will not
    /// help.
    #[error("the HTTP request to Graph could not be made")]
    Request {
        /// The cause (for [`GraphClient`](crate::GraphClient): the HTTP client's error, without
        /// the URL).
        #[source]
        source: BoxError,
    },
    /// A successful answer whose body is not what Graph sends. Not retried: the call may have
    /// taken effect, and a retried send could reach the person twice.
    #[error("unexpected answer body from Graph (HTTP {status})")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// Why the body did not parse.
        #[source]
        source: BoxError,
    },
    /// The client is not configured to make this call.
    #[error("Graph client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The input can't be sent as given (checked before any request is made).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// A failure reported by a custom [`Transport`](crate::Transport) implementation.
    #[error("{message}")]
    Other {
        /// What the failure means.
        kind: ErrorKind,
        /// What went wrong (no secrets).
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// The exchange timed out ([`Error::Timeout`], retryable): the call may or may not have
    /// taken effect. `cause` must not carry a secret or a URL with a token.
    pub fn timeout(cause: impl Into<BoxError>) -> Self {
        Self::Timeout {
            source: cause.into(),
        }
    }

    /// Graph could not be reached or the connection broke ([`Error::Connection`], retryable).
    pub fn connection(cause: impl Into<BoxError>) -> Self {
        Self::Connection {
            source: cause.into(),
        }
    }

    /// The request could not be made at all ([`Error::Request`], permanent).
    pub fn request(cause: impl Into<BoxError>) -> Self {
        Self::Request {
            source: cause.into(),
        }
    }

    /// A successful answer (HTTP `status`) whose body is not what Graph sends
    /// ([`Error::Decode`], permanent).
    pub fn decode(status: u16, cause: impl Into<BoxError>) -> Self {
        Self::Decode {
            status,
            source: cause.into(),
        }
    }

    /// A failure of a custom [`Transport`](crate::Transport) implementation, of the given
    /// kind.
    pub fn other(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Other {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// [`Error::other`] with its cause.
    ///
    /// ```
    /// use messenger_graph::{Error, ErrorKind};
    /// let e = Error::other_with_source(ErrorKind::RateLimited, "local send budget spent", "3 in flight");
    /// assert!(e.is_retryable());
    /// assert_eq!(e.to_string(), "local send budget spent");
    /// ```
    pub fn other_with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        cause: impl Into<BoxError>,
    ) -> Self {
        Self::Other {
            kind,
            message: message.into(),
            source: Some(cause.into()),
        }
    }

    /// What the failure means for the sender.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Graph(g) => g.kind,
            Self::Http(h) => h.kind,
            Self::Timeout { .. } | Self::Connection { .. } => ErrorKind::Transient,
            Self::Request { .. } | Self::Decode { .. } | Self::Config { .. } => {
                ErrorKind::Permanent
            }
            Self::InvalidInput { .. } => ErrorKind::InvalidParameter,
            Self::Other { kind, .. } => *kind,
        }
    }

    /// Whether the same call may succeed later (rate limits and transient failures).
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// How long to wait before retrying, when Graph says: a rate limit's
    /// `estimated_time_to_regain_access`, else a `Retry-After` header (seconds). `None` when
    /// Graph gave no hint, and always for errors that are not retryable.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Graph(g) => g.retry_after,
            Self::Http(h) => h.retry_after,
            _ => None,
        }
    }

    /// Graph's error object, when Graph answered with one.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            Self::Graph(g) => Some(&g.error),
            _ => None,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Graph(g) => Some(g.status),
            Self::Http(h) => Some(h.status),
            Self::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The rate-limit usage headers of the answer, when it had any.
    pub fn usage(&self) -> Option<&Usage> {
        match self {
            Self::Graph(g) => g.usage.as_ref(),
            Self::Http(h) => h.usage.as_ref(),
            _ => None,
        }
    }

    /// Maps an HTTP client error, dropping the URL so no query parameter reaches a log.
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        let source = e.without_url();
        if source.is_timeout() {
            Self::timeout(source)
        } else if source.is_connect() || source.is_request() || source.is_body() {
            Self::connection(source)
        } else if source.is_decode() {
            // Reading the body failed part way: the connection broke.
            Self::connection(source)
        } else {
            Self::request(source)
        }
    }

    /// Builds the error for a non-success answer: Graph's error object when the body has one,
    /// else a bare HTTP failure.
    pub(crate) fn from_answer(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let usage = Usage::from_headers(headers);
        let retry_after_header = retry_after_header(headers);
        match serde_json::from_slice::<messenger_model::graph::GraphErrorBody>(body) {
            Ok(parsed) => GraphFailure::new(status, parsed.error, usage, retry_after_header).into(),
            Err(_) => HttpFailure::new(status, usage, retry_after_header).into(),
        }
    }
}

impl From<GraphFailure> for Error {
    fn from(f: GraphFailure) -> Self {
        Self::Graph(Box::new(f))
    }
}

impl From<HttpFailure> for Error {
    fn from(f: HttpFailure) -> Self {
        Self::Http(Box::new(f))
    }
}

/// Graph's error answer, classified.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GraphFailure {
    /// The HTTP status.
    pub status: u16,
    /// Graph's error object.
    pub error: GraphError,
    /// What it means ([`ErrorKind::classify`]).
    pub kind: ErrorKind,
    /// The usage headers of the answer.
    pub usage: Option<Usage>,
    /// When a retry may succeed (only set for retryable kinds).
    pub retry_after: Option<Duration>,
}

impl GraphFailure {
    /// Classifies Graph's error object answered with `status`, with the answer's usage headers
    /// and `Retry-After` header (if any).
    pub fn new(
        status: u16,
        error: GraphError,
        usage: Option<Usage>,
        retry_after_header: Option<Duration>,
    ) -> Self {
        let kind = ErrorKind::classify(status, &error);
        let retry_after = retry_hint(kind, usage.as_ref(), retry_after_header);
        Self {
            status,
            error,
            kind,
            usage,
            retry_after,
        }
    }
}

impl fmt::Display for GraphFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph error {}", self.error.code)?;
        if let Some(sub) = self.error.error_subcode {
            write!(f, "/{sub}")?;
        }
        write!(
            f,
            " ({}, HTTP {}): {}",
            self.kind, self.status, self.error.message
        )?;
        if let Some(trace) = &self.error.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

/// An HTTP error answer without a Graph error object, classified by its status.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpFailure {
    /// The HTTP status.
    pub status: u16,
    /// What it means ([`ErrorKind::for_status`]).
    pub kind: ErrorKind,
    /// The usage headers of the answer.
    pub usage: Option<Usage>,
    /// When a retry may succeed (only set for retryable kinds).
    pub retry_after: Option<Duration>,
}

impl HttpFailure {
    /// Classifies an HTTP error answer by its status.
    pub fn new(status: u16, usage: Option<Usage>, retry_after_header: Option<Duration>) -> Self {
        let kind = ErrorKind::for_status(status, None);
        let retry_after = retry_hint(kind, usage.as_ref(), retry_after_header);
        Self {
            status,
            kind,
            usage,
            retry_after,
        }
    }
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {} from Graph without an error object ({})",
            self.status, self.kind
        )
    }
}

/// When a retry may succeed: the usage's regain-access time for rate limits, else the
/// `Retry-After` header; nothing for errors that are not retryable.
fn retry_hint(
    kind: ErrorKind,
    usage: Option<&Usage>,
    retry_after_header: Option<Duration>,
) -> Option<Duration> {
    match kind {
        ErrorKind::RateLimited => usage
            .and_then(Usage::regain_access_after)
            .or(retry_after_header),
        ErrorKind::Transient => retry_after_header,
        _ => None,
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Graph and is ignored).
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?;
    raw.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn rate_limit_uses_regain_access_time_over_retry_after() {
        let h = headers(&[
            (
                "x-business-use-case-usage",
                r#"{"1":[{"type":"messenger","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":2}]}"#,
            ),
            ("retry-after", "30"),
        ]);
        let body = br#"{"error":{"message":"(#80006) There have been too many messages","type":"OAuthException","code":80006,"fbtrace_id":"T1"}}"#;
        let e = Error::from_answer(400, &h, body);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
        assert_eq!(e.usage().map(Usage::max_percent), Some(100));
        assert_eq!(e.graph_error().map(|g| g.code), Some(80006));
        assert_eq!(e.status(), Some(400));
    }

    #[test]
    fn rate_limit_falls_back_to_retry_after_header() {
        let h = headers(&[("retry-after", "7")]);
        let body = br#"{"error":{"message":"(#4) Application request limit reached","code":4}}"#;
        let e = Error::from_answer(400, &h, body);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let none = Error::from_answer(400, &HeaderMap::new(), body);
        assert_eq!(none.retry_after(), None);
        assert!(none.is_retryable());
    }

    #[test]
    fn permanent_errors_have_no_retry_hint() {
        let h = headers(&[("retry-after", "7")]);
        let body = br#"{"error":{"message":"(#100) Invalid parameter","code":100}}"#;
        let e = Error::from_answer(400, &h, body);
        assert_eq!(e.kind(), ErrorKind::InvalidParameter);
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn non_graph_bodies_are_http_failures() {
        let e = Error::from_answer(502, &headers(&[("retry-after", "3")]), b"<html>bad gateway");
        assert!(matches!(e, Error::Http(_)));
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(e.graph_error(), None);
        assert_eq!(e.status(), Some(502));
        assert_eq!(
            e.to_string(),
            "HTTP 502 from Graph without an error object (transient)"
        );
        let e = Error::from_answer(429, &HeaderMap::new(), b"");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let e = Error::from_answer(404, &HeaderMap::new(), b"{}");
        assert_eq!(e.kind(), ErrorKind::Permanent);
    }

    #[test]
    fn display_has_code_subcode_message_and_trace() {
        let body = br#"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"Hx9"}}"#;
        let e = Error::from_answer(400, &HeaderMap::new(), body);
        assert_eq!(
            e.to_string(),
            "Graph error 10/2018278 (outside_window, HTTP 400): (#10) This message is sent outside of allowed window. [fbtrace_id Hx9]"
        );
    }

    #[test]
    fn other_errors_keep_their_kind() {
        let e = Error::other(ErrorKind::Transient, "queue full");
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "queue full");
        let e = Error::InvalidInput {
            reason: "empty".into(),
        };
        assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    }

    #[test]
    fn custom_transports_attach_their_own_causes() {
        use std::error::Error as _;
        #[derive(Debug, thiserror::Error)]
        #[error("queue of the local proxy is full")]
        struct ProxyFull;

        let cases = [
            (Error::timeout(ProxyFull), ErrorKind::Transient),
            (Error::connection(ProxyFull), ErrorKind::Transient),
            (Error::request(ProxyFull), ErrorKind::Permanent),
            (Error::decode(200, ProxyFull), ErrorKind::Permanent),
            (
                Error::other_with_source(ErrorKind::RateLimited, "slow down", ProxyFull),
                ErrorKind::RateLimited,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
            let source = e.source().expect("the cause is the source");
            assert!(source.is::<ProxyFull>(), "{source}");
            assert_eq!(e.retry_after(), None);
        }
        assert!(matches!(Error::timeout("t"), Error::Timeout { .. }));
        assert_eq!(Error::decode(200, "x").status(), Some(200));
    }

    #[test]
    fn error_stays_small() {
        assert!(
            std::mem::size_of::<Error>() <= 64,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
