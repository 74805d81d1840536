//! Label values that come from requests. A client can send any token as a method (or a path),
//! and a label made of it would be a new series per request, kept for ever: every such label
//! is mapped onto a closed set here.

use axum::http::Method;

/// The label of a request's method: one of the nine standard methods, or `other`. A client can
/// send any token as a method; a label made of it would be a new series per request.
///
/// ```
/// use axum::http::Method;
/// use messenger_gateway::metrics::method_label;
/// assert_eq!(method_label(&Method::PATCH), "PATCH");
/// assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
/// ```
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
