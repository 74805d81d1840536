//! Scripted faults: what Graph (or the SMS provider) answers instead of success, for whom, and
//! how many times.
//!
//! Rules are kept in the order they were added. On each call the simulator walks them: every
//! matching [`Fault::Slow`] adds its delay, and the first matching error fault is the answer.
//! A rule with `times: Some(n)` is used up after `n` matches (a Slow rule, or the error rule that
//! answered, counts as matched; later rules are not consumed).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use crate::graph_api::{oauth_failure, FailureBody, GraphFailure};
use crate::sync::lock;

/// Who a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultScope {
    /// Every call.
    Global,
    /// Calls for this recipient: a PSID (Send API `recipient.id`, the synthetic PSID of a phone
    /// or `user_ref` recipient, a profile fetch's PSID), a phone number as sent in
    /// `recipient.phone_number`, or an SMS `To` number.
    Recipient(String),
}

/// What Graph answers instead of success.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Rate limited: HTTP 400 with `code` (4 app, 17 user, 32 page, 613 call rate, 80006
    /// Messenger business use case) and usage headers.
    ///
    /// `usage: None` sends the headers Graph sends for that code (see [`UsageHeaders::for_code`]);
    /// `Some(UsageHeaders::default())` sends none.
    RateLimit {
        /// Graph's error code.
        code: i64,
        /// The usage headers to answer with.
        usage: Option<UsageHeaders>,
    },
    /// A server error with this HTTP status (500, 502, 503, ...), Graph's transient error body.
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// Answer normally, after this delay.
    Slow {
        /// How long to wait before answering.
        delay: Duration,
    },
    /// Error 551, subcode 1545041: "This person isn't available right now."
    UserUnavailable,
    /// Error 10, subcode 2018278: the message is sent outside the allowed window.
    OutsideWindow,
    /// Error 100, subcode 2018001: no matching user found.
    InvalidRecipient,
    /// Error 190, subcode 463: the access token has expired.
    TokenExpired,
    /// Any answer: status, JSON body and headers, as given.
    Custom {
        /// The HTTP status.
        status: u16,
        /// The JSON body.
        body: serde_json::Value,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
}

/// A fault, where it applies and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// Whom it applies to.
    pub scope: FaultScope,
    /// What is answered.
    pub fault: Fault,
    /// How many matching calls it applies to; `None`: until [`crate::GraphSim::clear_faults`].
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule for every call, until cleared.
    pub fn global(fault: Fault) -> Self {
        Self {
            scope: FaultScope::Global,
            fault,
            times: None,
        }
    }

    /// A rule for calls to `recipient` (PSID or phone number), until cleared.
    pub fn recipient(recipient: impl Into<String>, fault: Fault) -> Self {
        Self {
            scope: FaultScope::Recipient(recipient.into()),
            fault,
            times: None,
        }
    }

    /// Limits the rule to `n` matching calls.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// Graph's usage headers: JSON strings, sent as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageHeaders {
    /// `X-App-Usage`, e.g. `{"call_count":100,"total_cputime":20,"total_time":25}`.
    pub app: Option<String>,
    /// `X-Page-Usage`, same shape as `X-App-Usage`.
    pub page: Option<String>,
    /// `X-Business-Use-Case-Usage`, e.g.
    /// `{"PAGE":[{"type":"messenger","call_count":100,...,"estimated_time_to_regain_access":5}]}`.
    pub business: Option<String>,
}

impl UsageHeaders {
    /// `X-App-Usage` at `call_count` percent.
    pub fn app(call_count: u32) -> Self {
        Self {
            app: Some(format!(
                r#"{{"call_count":{call_count},"total_cputime":{},"total_time":{}}}"#,
                call_count / 4,
                call_count / 3
            )),
            ..Self::default()
        }
    }

    /// `X-Business-Use-Case-Usage` for `page_id`'s Messenger use case at `call_count` percent,
    /// regaining access after `minutes`.
    pub fn business(page_id: &str, call_count: u32, minutes: u32) -> Self {
        Self {
            business: Some(format!(
                r#"{{"{page_id}":[{{"type":"messenger","call_count":{call_count},"total_cputime":{},"total_time":{},"estimated_time_to_regain_access":{minutes}}}]}}"#,
                call_count / 4,
                call_count / 3
            )),
            ..Self::default()
        }
    }

    /// The headers Graph sends with rate-limit `code`: app usage at 100% for 4 and 17; page
    /// usage at 100% for 32; business use case usage at 100% (5 minutes to regain access) for
    /// 613 and 80006.
    pub fn for_code(code: i64, page_id: &str) -> Self {
        match code {
            4 | 17 => Self::app(100),
            32 => Self {
                page: Self::app(100).app,
                ..Self::default()
            },
            _ => Self::business(page_id, 100, 5),
        }
    }

    fn into_pairs(self) -> Vec<(String, String)> {
        [
            ("x-app-usage", self.app),
            ("x-page-usage", self.page),
            ("x-business-use-case-usage", self.business),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n.to_owned(), v)))
        .collect()
    }
}

/// What the rules say about one call.
#[derive(Debug, Default)]
pub(crate) struct Triggered {
    /// Total delay before answering.
    pub(crate) delay: Duration,
    /// The error to answer with, if any.
    pub(crate) fault: Option<Fault>,
}

impl Triggered {
    /// Sleeps the delay, if any.
    pub(crate) async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

/// The active rules, and the usage headers added to successful answers.
#[derive(Debug, Default)]
pub(crate) struct FaultBook {
    /// Number of rules, read without the lock so the hot path skips it when there are none.
    count: AtomicUsize,
    rules: Mutex<Vec<FaultRule>>,
    /// Whether `usage` is set, read without the lock.
    has_usage: AtomicBool,
    usage: Mutex<Vec<(HeaderName, HeaderValue)>>,
}

impl FaultBook {
    /// Sets (or, with `None`, removes) the usage headers of successful Graph answers.
    pub(crate) fn set_usage(&self, usage: Option<UsageHeaders>) {
        let pairs: Vec<_> = usage
            .map(UsageHeaders::into_pairs)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(n, v)| {
                Some((
                    HeaderName::from_bytes(n.as_bytes()).ok()?,
                    HeaderValue::from_str(&v).ok()?,
                ))
            })
            .collect();
        let mut slot = lock(&self.usage);
        self.has_usage.store(!pairs.is_empty(), Ordering::Release);
        *slot = pairs;
    }

    /// Adds the usage headers, if any, to a successful answer.
    pub(crate) fn add_usage(&self, response: &mut Response) {
        if !self.has_usage.load(Ordering::Acquire) {
            return;
        }
        for (n, v) in lock(&self.usage).iter() {
            response.headers_mut().insert(n.clone(), v.clone());
        }
    }

    pub(crate) fn add(&self, rule: FaultRule) {
        if rule.times == Some(0) {
            return;
        }
        let mut rules = lock(&self.rules);
        rules.push(rule);
        self.count.store(rules.len(), Ordering::Release);
    }

    pub(crate) fn clear(&self) {
        let mut rules = lock(&self.rules);
        rules.clear();
        self.count.store(0, Ordering::Release);
    }

    /// Applies the rules to a call for `recipients` (any of which may match a recipient
    /// scope), consuming counted rules.
    pub(crate) fn take(&self, recipients: &[&str]) -> Triggered {
        let mut out = Triggered::default();
        if self.count.load(Ordering::Acquire) == 0 {
            return out;
        }
        let mut rules = lock(&self.rules);
        let mut i = 0;
        while i < rules.len() {
            let rule = &mut rules[i];
            let matches = match &rule.scope {
                FaultScope::Global => true,
                FaultScope::Recipient(r) => recipients.iter().any(|x| x == r),
            };
            if !matches {
                i += 1;
                continue;
            }
            let is_error = !matches!(rule.fault, Fault::Slow { .. });
            match &rule.fault {
                Fault::Slow { delay } => out.delay += *delay,
                other => out.fault = Some(other.clone()),
            }
            let used_up = match &mut rule.times {
                Some(n) => {
                    *n = n.saturating_sub(1);
                    *n == 0
                }
                None => false,
            };
            if used_up {
                rules.remove(i);
            } else {
                i += 1;
            }
            if is_error {
                break;
            }
        }
        self.count.store(rules.len(), Ordering::Release);
        out
    }
}

/// Graph's answer for `fault` on a call of `page_id`. `None` for [`Fault::Slow`].
pub(crate) fn graph_failure(fault: &Fault, page_id: &str) -> Option<GraphFailure> {
    let failure = match fault {
        Fault::Slow { .. } => return None,
        Fault::RateLimit { code, usage } => {
            let message = match code {
                4 => "(#4) Application request limit reached".to_owned(),
                17 => "(#17) User request limit reached".to_owned(),
                32 => "(#32) Page request limit reached".to_owned(),
                613 => "(#613) Calls to this api have exceeded the rate limit.".to_owned(),
                80006 => "(#80006) There have been too many messages sent to this Messenger \
                          thread from your Page in a short period of time. Please try again later."
                    .to_owned(),
                other => format!("(#{other}) Rate limit reached"),
            };
            let usage = usage
                .clone()
                .unwrap_or_else(|| UsageHeaders::for_code(*code, page_id));
            let mut f = GraphFailure::new(*code, "OAuthException", message).transient(true);
            f.headers = usage.into_pairs();
            f
        }
        Fault::ServerError { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (code, message) = if status == StatusCode::INTERNAL_SERVER_ERROR {
                (1, "An unknown error occurred")
            } else {
                (
                    2,
                    "An unexpected error has occurred. Please retry your request later.",
                )
            };
            GraphFailure::new(code, "OAuthException", message)
                .transient(true)
                .status(status)
        }
        Fault::UserUnavailable => GraphFailure::new(
            551,
            "OAuthException",
            "(#551) This person isn't available right now.",
        )
        .subcode(1_545_041),
        Fault::OutsideWindow => GraphFailure::new(
            10,
            "OAuthException",
            "(#10) This message is sent outside of allowed window. Learn more about the new \
             policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
        )
        .subcode(2_018_278),
        Fault::InvalidRecipient => {
            GraphFailure::param("(#100) No matching user found").subcode(2_018_001)
        }
        Fault::TokenExpired => oauth_failure(
            "Error validating access token: Session has expired on Tuesday, 24-Nov-26 \
             10:00:00 PST. The current time is Wednesday, 25-Nov-26 10:00:00 PST.",
        )
        .subcode(463),
        Fault::Custom {
            status,
            body,
            headers,
        } => GraphFailure {
            status: StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
            body: Box::new(FailureBody::Raw(body.clone())),
            headers: headers.clone(),
        },
    };
    Some(failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_are_used_up_and_slow_adds_up() {
        let book = FaultBook::default();
        book.add(FaultRule::global(Fault::Slow {
            delay: Duration::from_millis(5),
        }));
        book.add(FaultRule::recipient("A", Fault::UserUnavailable).times(1));
        book.add(FaultRule::global(Fault::ServerError { status: 503 }).times(2));

        let t = book.take(&["A"]);
        assert_eq!(t.delay, Duration::from_millis(5));
        assert_eq!(t.fault, Some(Fault::UserUnavailable));
        // The 503 rule was not consumed by the first call.
        assert_eq!(
            book.take(&["A"]).fault,
            Some(Fault::ServerError { status: 503 })
        );
        assert_eq!(
            book.take(&["B"]).fault,
            Some(Fault::ServerError { status: 503 })
        );
        let t = book.take(&["B"]);
        assert_eq!(t.fault, None);
        assert_eq!(t.delay, Duration::from_millis(5));
        book.clear();
        assert_eq!(book.take(&["B"]).delay, Duration::ZERO);
    }

    #[test]
    fn zero_times_is_no_rule() {
        let book = FaultBook::default();
        book.add(FaultRule::global(Fault::TokenExpired).times(0));
        assert!(book.take(&[]).fault.is_none());
    }
}
