//! A Graph call made for the caller failed: the problem that says what Graph said, with the
//! status of whose trouble it is.

use axum::http::StatusCode;

use super::{Problem, ProblemError};

impl Problem {
    /// A Graph call made for the caller failed: what Graph said (its code, subcode, message and
    /// `fbtrace_id`, never a token), with the status of whose trouble it is:
    ///
    /// - the recipient or the request ([`Blame::Recipient`], [`Blame::Request`]): 422
    ///   `/problems/graph-refused`;
    /// - the page sends too fast ([`Blame::Pace`]), or Meta restricted its sending for a while
    ///   ([`Blame::Restricted`]): 429 `/problems/graph-throttled`, with `Retry-After` when Graph
    ///   said when;
    /// - the page's credentials ([`Blame::Credentials`]): 502 `/problems/graph-credentials`;
    /// - Meta failing ([`Blame::Platform`]): 503 `/problems/graph-unavailable`.
    ///
    /// `errors[0].code` is `graph.<kind>` (`graph.user_unavailable`, `graph.outside_window`,
    /// ...); `graphCode`, `graphSubcode` and `fbtraceId` are members when Graph answered with its
    /// error object.
    ///
    /// [`Blame::Recipient`]: messenger_graph::Blame::Recipient
    /// [`Blame::Request`]: messenger_graph::Blame::Request
    /// [`Blame::Pace`]: messenger_graph::Blame::Pace
    /// [`Blame::Restricted`]: messenger_graph::Blame::Restricted
    /// [`Blame::Credentials`]: messenger_graph::Blame::Credentials
    /// [`Blame::Platform`]: messenger_graph::Blame::Platform
    pub fn graph(e: &messenger_graph::Error) -> Self {
        use messenger_graph::Blame;
        let kind = e.kind();
        let (status, type_, title) = match kind.blame() {
            Blame::Pace | Blame::Restricted => (
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/graph-throttled",
                "Graph throttles the page",
            ),
            Blame::Credentials => (
                StatusCode::BAD_GATEWAY,
                "/problems/graph-credentials",
                "Graph refused the page's credentials",
            ),
            Blame::Platform => (
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/graph-unavailable",
                "Graph is unavailable",
            ),
            _ => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/graph-refused",
                "Graph refused the call",
            ),
        };
        if status.is_server_error() {
            tracing::warn!(error = %messenger::error_chain(e), "Graph call failed");
        }
        let said = e.to_string();
        let mut problem =
            Self::new(status, type_, title, format!("Graph answered: {said}")).with_errors(vec![
                ProblemError::new("", format!("graph.{}", kind.as_str()), said),
            ]);
        if let Some(g) = e.graph_error() {
            problem = problem.with_extension("graphCode", g.code);
            if let Some(sub) = g.error_subcode {
                problem = problem.with_extension("graphSubcode", sub);
            }
            if let Some(trace) = &g.fbtrace_id {
                problem = problem.with_extension("fbtraceId", trace.clone());
            }
        }
        let retry = e
            .retry_after()
            .map(|d| u32::try_from(d.as_secs().max(1)).unwrap_or(u32::MAX));
        match (status, retry) {
            (StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE, Some(s)) => {
                problem.with_retry_after(s)
            }
            _ => problem,
        }
    }
}
