//! Errors as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail` and
//! `errors[]` with a JSON pointer (`path`), a stable `code` and a `message` each.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use messenger_model::ModelError;
use messenger_validate::Violation;
use serde::Serialize;

mod graph;
mod ids;

pub(crate) use ids::{body_id_error, path_id, query_id_error};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// At most this many entries of `errors[]` are answered; how many more there were is the
/// member `moreErrors`. A request with thousands of bad fields gets a bounded answer.
pub const MAX_LISTED_ERRORS: usize = 10;

/// Longest `detail`, in characters (longer ones are cut and end with `…`).
const MAX_DETAIL_CHARS: usize = 480;
/// Longest `errors[].message`, in characters.
const MAX_MESSAGE_CHARS: usize = 240;
/// Longest `errors[].path`, in characters (a pointer through a huge key is cut, with `…`).
const MAX_PATH_CHARS: usize = 200;
/// Longest `errors[].code`, in characters.
const MAX_CODE_CHARS: usize = 64;
/// Longest string member added with [`Problem::with_extension`], in characters.
const MAX_EXTENSION_CHARS: usize = 256;
/// At most this many characters of a caller-supplied value are quoted in a message
/// (`shorten`).
pub const MAX_QUOTED_CHARS: usize = 64;

/// One entry of a problem's `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemError {
    /// RFC 6901 JSON pointer into the request body (`""`: the whole body, or not about the body).
    pub path: String,
    /// A stable code clients may match on (`tag.retired`, `json.syntax`, ...).
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// For malformed JSON: the 1-based line of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For malformed JSON: the 1-based column of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ProblemError {
    /// An entry.
    pub fn new(
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            code: code.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// The entry for a validation violation, its pointer under `prefix` (`/3` for a batch's
    /// fourth request).
    pub fn from_violation(prefix: &str, v: &Violation) -> Self {
        Self::new(
            format!("{prefix}{}", v.pointer),
            v.code.as_str(),
            &v.message,
        )
    }
}

/// An error response. Build one with the constructors, answer it with `IntoResponse`.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/invalid-request`); the kinds are
    /// listed in `docs/http-api.md`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// Each thing wrong, when there are several or they have a place in the body. At most
    /// [`MAX_LISTED_ERRORS`] are answered, and the member `moreErrors` counts the others.
    pub errors: Vec<ProblemError>,
    /// Members of this kind of problem beyond RFC 9457's (`profileId` of a taken Messenger ID).
    #[serde(flatten)]
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    #[serde(skip)]
    www_authenticate: bool,
    #[serde(skip)]
    allow: Option<&'static str>,
    #[serde(skip)]
    retry_after: Option<u32>,
}

impl Problem {
    /// A problem of `status` with no `errors[]`.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            extensions: None,
            www_authenticate: false,
            allow: None,
            retry_after: None,
        }
    }

    /// Adds a member of this kind of problem (`"profileId"` on a taken Messenger ID).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_extension(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions
            .get_or_insert_with(Box::default)
            .insert(name.to_owned(), value.into());
        self
    }

    /// Adds `Retry-After: <seconds>` to the answer.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Adds `errors[]` entries.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_errors(mut self, errors: Vec<ProblemError>) -> Self {
        self.errors = errors;
        self
    }

    /// A 400 about something other than the body's content (a header, the path, the query).
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "The request is not acceptable",
            detail.clone(),
        )
        .with_errors(vec![ProblemError::new("", code, detail)])
    }

    /// A 400 about the body's content, with one entry at `path`.
    pub fn invalid(path: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
            "The request is invalid",
            message.clone(),
        )
        .with_errors(vec![ProblemError::new(path, code, message)])
    }

    /// A 400 about the body's content with several entries; the detail quotes the first.
    pub fn invalid_entries(errors: Vec<ProblemError>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
            "The request is invalid",
            summary(&errors),
        )
        .with_errors(errors)
    }

    /// A 400 about the query or headers with several entries; the detail quotes the first.
    pub fn bad_request_entries(errors: Vec<ProblemError>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "The request is not acceptable",
            summary(&errors),
        )
        .with_errors(errors)
    }

    /// A 400 for violations of the request rules.
    pub fn violations(list: &[Violation]) -> Self {
        let n = list.len();
        let mut detail = format!("{n} rule{} broken", if n == 1 { " is" } else { "s are" });
        for (i, v) in list.iter().take(3).enumerate() {
            detail.push_str(if i == 0 { ": " } else { "; " });
            detail.push_str(&v.to_string());
        }
        if n > 3 {
            detail.push_str(&format!("; and {} more", n - 3));
        }
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/invalid-request",
            "The request is invalid",
            detail,
        )
        .with_errors(
            list.iter()
                .map(|v| ProblemError::from_violation("", v))
                .collect(),
        )
    }

    /// A 400 for a body that is not JSON: the detail and `errors[0]` say the line and column.
    pub fn malformed_json(e: serde_json::Error) -> Self {
        match ModelError::from_json(e) {
            ModelError::Json {
                kind,
                line,
                column,
                message,
            } => {
                let detail = format!(
                    "The body is not valid JSON: {message} at line {line}, column {column}"
                );
                let mut entry = ProblemError::new("", format!("json.{kind}"), detail.clone());
                entry.line = Some(line);
                entry.column = Some(column);
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/malformed-json",
                    "The body is not valid JSON",
                    detail,
                )
                .with_errors(vec![entry])
            }
            other => Self::bad_request("json.syntax", other.to_string()),
        }
    }

    /// 401: no key or a wrong one. Carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorized",
            "Authentication is required",
            detail,
        );
        p.www_authenticate = true;
        p
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "/problems/forbidden",
            "Not allowed",
            detail,
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            detail,
        )
    }

    /// 405, with the methods the path allows.
    pub fn method_not_allowed(allow: Option<&'static str>) -> Self {
        let mut p = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "/problems/method-not-allowed",
            "Method not allowed",
            match allow {
                Some(a) => format!("this path allows {a}"),
                None => "this path does not allow that method".to_owned(),
            },
        );
        p.allow = allow;
        p
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/payload-too-large",
            "The body is too large",
            format!("the body is over this route's limit of {limit} bytes"),
        )
    }

    /// 408: the body did not arrive in time.
    pub fn request_timeout(after: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "/problems/request-timeout",
            "The body took too long",
            format!(
                "the request body did not arrive within {} s",
                after.as_secs()
            ),
        )
    }

    /// 415.
    pub fn unsupported_media_type(got: Option<&str>) -> Self {
        let got: String = got.unwrap_or("no Content-Type").chars().take(100).collect();
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            format!("the body must be application/json (got {got})"),
        )
    }

    /// 500: details stay in the logs.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "the gateway could not complete the request; it is safe to retry",
        )
    }

    /// A 429: the caller is over its request rate (add `Retry-After`).
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/rate-limited",
            "Too many requests",
            detail,
        )
    }

    /// A 503: the gateway cannot serve this now (the store is down, it sheds load).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "/problems/unavailable",
            "Unavailable",
            detail,
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// This problem cut to a bounded size, as it is answered: at most [`MAX_LISTED_ERRORS`]
    /// entries (the rest counted in `moreErrors`), and every text (the detail, each entry's
    /// path, code and message, string members) cut to a bounded length, so whatever a client
    /// sent, the answer is a few kilobytes.
    #[must_use = "returns the bounded problem"]
    pub fn bounded(mut self) -> Self {
        cut_in_place(&mut self.detail, MAX_DETAIL_CHARS);
        if self.errors.len() > MAX_LISTED_ERRORS {
            let more = self.errors.len() - MAX_LISTED_ERRORS;
            self.errors.truncate(MAX_LISTED_ERRORS);
            self = self.with_extension("moreErrors", more);
        }
        for e in &mut self.errors {
            cut_in_place(&mut e.path, MAX_PATH_CHARS);
            cut_in_place(&mut e.code, MAX_CODE_CHARS);
            cut_in_place(&mut e.message, MAX_MESSAGE_CHARS);
        }
        if let Some(map) = self.extensions.as_mut() {
            for value in map.values_mut() {
                if let serde_json::Value::String(s) = value {
                    cut_in_place(s, MAX_EXTENSION_CHARS);
                }
            }
        }
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let problem = self.bounded();
        let status = problem.status();
        let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if problem.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"messenger-gateway\""),
            );
        }
        if let Some(allow) = problem.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(seconds) = problem.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The facade's errors, as the API answers them.
impl From<messenger::Error> for Problem {
    fn from(e: messenger::Error) -> Self {
        use messenger::Error;
        match e {
            Error::Invalid(v) => Self::violations(&v),
            Error::Refused(v) => {
                let reasons: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/refused",
                    "No channel can deliver the message now",
                    format!(
                        "no rule of `rules` can deliver the message now, so nothing was stored: {}",
                        reasons.join("; ")
                    ),
                )
                .with_errors(v.iter().map(|v| ProblemError::from_violation("", v)).collect())
            }
            Error::InvalidBatch(list) => {
                let indexes: Vec<String> = list.iter().map(|(i, _)| i.to_string()).collect();
                let errors = list
                    .iter()
                    .flat_map(|(i, v)| {
                        let prefix = format!("/{i}");
                        v.iter()
                            .map(move |v| ProblemError::from_violation(&prefix, v))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/invalid-batch",
                    "Requests of the batch are invalid",
                    format!(
                        "{} of the batch's requests {} invalid (index {}); nothing was queued",
                        list.len(),
                        if list.len() == 1 { "is" } else { "are" },
                        indexes.join(", ")
                    ),
                )
                .with_errors(errors)
            }
            Error::IdempotencyConflict { message_id } => Self::new(
                StatusCode::CONFLICT,
                "/problems/idempotency-conflict",
                "Idempotency-Key reused",
                format!(
                    "the Idempotency-Key was first used for message {message_id} with another body; \
                     use a new key for a new request"
                ),
            ),
            Error::ActionRefused(v) => {
                let reasons: Vec<&str> = v.iter().map(|v| v.message.as_str()).collect();
                Self::new(
                    StatusCode::BAD_REQUEST,
                    "/problems/action-refused",
                    "The sender action cannot be sent now",
                    format!("nothing was sent to Graph: {}", reasons.join("; ")),
                )
                .with_errors(v.iter().map(|v| ProblemError::from_violation("", v)).collect())
            }
            Error::Graph(e) => Self::graph(&e),
            Error::UnknownSpace(space) => {
                Self::not_found(format!("there is no API space {:?}", shorten(&space)))
            }
            Error::Store(e) => Self::from(e),
            other => {
                tracing::error!(error = %messenger::error_chain(&other), "facade error");
                Self::internal()
            }
        }
    }
}

/// Store errors met directly (profiles, dead letters).
impl From<messenger_store::StoreError> for Problem {
    fn from(e: messenger_store::StoreError) -> Self {
        use messenger_store::StoreError;
        match e {
            StoreError::NotFound { what, id } => {
                Self::not_found(format!("{what} {:?} not found", shorten(&id)))
            }
            StoreError::Invalid { message } => Self::invalid("", "store.invalid", message),
            StoreError::MessengerIdTaken { profile_id } => Self::new(
                StatusCode::CONFLICT,
                "/problems/messenger-id-taken",
                "The Messenger ID belongs to another profile",
                format!(
                    "fbMessengerId is already held by profile {:?} of this API space; a Messenger \
                     ID belongs to one profile: clear it there first, or use that profile",
                    shorten(&profile_id)
                ),
            )
            .with_errors(vec![ProblemError::new(
                "/fbMessengerId",
                "profile.fb_messenger_id.taken",
                format!("held by profile {:?}", shorten(&profile_id)),
            )])
            .with_extension("profileId", profile_id),
            e if e.is_transient() => {
                tracing::error!(error = %messenger::error_chain(&e), "store unavailable");
                Self::store_unavailable(&e)
            }
            e => {
                tracing::error!(error = %messenger::error_chain(&e), "store error");
                Self::internal()
            }
        }
    }
}

/// A JSON pointer to the top-level member `key` (`~` and `/` escaped).
pub(crate) fn pointer_of(key: &str) -> String {
    format!("/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// How a JSON value's type is named in messages (`a string`, `an object`, ...).
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn summary(errors: &[ProblemError]) -> String {
    match errors {
        [] => "the request is invalid".to_owned(),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (and {} more)", first.message, rest.len()),
    }
}

/// At most [`MAX_QUOTED_CHARS`] characters of a caller-supplied value, for messages (with `…`
/// when cut). Every message that quotes what a client sent quotes it through this.
pub(crate) fn shorten(s: &str) -> String {
    cut(s, MAX_QUOTED_CHARS)
}

/// `s` cut to `max` characters, ending with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    let mut out = s.to_owned();
    cut_in_place(&mut out, max);
    out
}

/// Cuts `s` to `max` characters in place, ending with `…` when cut (the `…` is the last of the
/// `max`).
fn cut_in_place(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    if let Some((at, _)) = s.char_indices().nth(max.saturating_sub(1)) {
        if s[at..].chars().nth(1).is_some() {
            s.truncate(at);
            s.push('…');
        }
    }
}
