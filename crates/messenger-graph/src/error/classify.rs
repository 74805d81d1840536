//! What a Graph error means for the sender: the classification table, as data.
//!
//! Sources: Meta's Messenger Platform error codes and Graph API rate limiting pages, and issue
//! threads of other Messenger integrations; decision 0004 (docs/decisions) records the choices.
//! A change by Meta is a change of one row of the table (`error/table.rs`).

use std::fmt;

use messenger_model::graph::GraphError;

/// What kind of failure an error is, and so what the sender should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Graph throttles the app, page or business use case: retry later, slow down.
    RateLimited,
    /// The 24-hour messaging window is closed and the send has no tag Meta accepts.
    OutsideWindow,
    /// The person can't be messaged now (blocked the page, deactivated, ...).
    UserUnavailable,
    /// No user matches the recipient (unknown PSID, phone number or object).
    InvalidRecipient,
    /// The request is wrong (bad field, retired tag, file too large, ...).
    InvalidParameter,
    /// The page access token or app secret is wrong, expired or revoked: stop sending for the
    /// page and alert.
    ///
    /// This includes Graph's code 100 about `appsecret_proof` (wrong or missing app secret):
    /// Graph files it as an invalid parameter, but it fails every call of the page, not one
    /// message, and only a credentials fix helps.
    Auth,
    /// A failure that may go away by itself: server errors, timeouts, broken connections.
    Transient,
    /// Anything else a retry will not fix (missing permissions, unknown codes).
    Permanent,
    /// Meta has restricted the page's sending for a while (policy enforcement, people reporting
    /// its messages, a temporary restriction): every message of the page would fail the same
    /// way, so the page waits, for hours rather than seconds.
    PageRestricted,
    /// The account is not set up to send this way: Instagram messaging not available for the
    /// account (36103), or an Instagram call on the wrong host or with the wrong kind of token
    /// (100 "Unsupported request - method type"). Every message of the account fails the same
    /// way until an operator fixes the setup; another channel may carry this one.
    AccountSetup,
}

/// Who a failed send is about: what decides whether another channel (the next rule) can help.
///
/// Only the recipient and the request are reasons to try the next channel. Throttling, a page's
/// credentials and Meta's outages are the page's trouble: every message to that page would fail
/// the same way, so its messages wait for the page to recover instead of going out by SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Blame {
    /// This recipient cannot be reached on Messenger now (unavailable, unknown, outside the
    /// window): another channel may reach them.
    Recipient,
    /// The request cannot be sent on Messenger as it is (a bad field, a policy block): another
    /// channel may carry it.
    Request,
    /// The page (or app) sends too fast: slow down and wait.
    Pace,
    /// The page's token or the app secret is wrong or expired: wait for the credentials fix.
    Credentials,
    /// Meta is failing (5xx, timeouts, broken connections): wait for it to recover.
    Platform,
    /// Meta has restricted the page's sending for a while (policy, reports): wait for the
    /// restriction to end.
    Restricted,
    /// The account's setup (its messaging access, its host or token kind) is wrong: an
    /// operator must fix it; meanwhile another channel may carry the message.
    Setup,
}

impl Blame {
    /// Whether the next rule of a message should be tried after this failure.
    pub const fn next_rule_may_help(self) -> bool {
        matches!(self, Self::Recipient | Self::Request | Self::Setup)
    }

    /// Whether an operator must act (new credentials, the account's setup): what a gateway
    /// alerts on. Throttling, restrictions and Meta's outages end by themselves.
    ///
    /// ```
    /// use messenger_graph::{Blame, ErrorKind};
    /// assert!(ErrorKind::AccountSetup.blame().needs_operator());
    /// assert!(ErrorKind::AccountSetup.blame().next_rule_may_help());
    /// assert!(!ErrorKind::RateLimited.blame().needs_operator());
    /// ```
    pub const fn needs_operator(self) -> bool {
        matches!(self, Self::Credentials | Self::Setup)
    }

    /// A stable snake_case name for logs, metrics and stored traces.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Recipient => "recipient",
            Self::Request => "request",
            Self::Pace => "pace",
            Self::Credentials => "credentials",
            Self::Platform => "platform",
            Self::Restricted => "restricted",
            Self::Setup => "setup",
        }
    }
}

impl ErrorKind {
    /// Who the failure is about ([`Blame`]).
    ///
    /// ```
    /// use messenger_graph::{Blame, ErrorKind};
    /// assert_eq!(ErrorKind::UserUnavailable.blame(), Blame::Recipient);
    /// assert!(!ErrorKind::RateLimited.blame().next_rule_may_help());
    /// ```
    pub const fn blame(self) -> Blame {
        match self {
            Self::OutsideWindow | Self::UserUnavailable | Self::InvalidRecipient => {
                Blame::Recipient
            }
            Self::InvalidParameter | Self::Permanent => Blame::Request,
            Self::RateLimited => Blame::Pace,
            Self::Auth => Blame::Credentials,
            Self::Transient => Blame::Platform,
            Self::PageRestricted => Blame::Restricted,
            Self::AccountSetup => Blame::Setup,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Transient)
    }

    /// A stable snake_case name for logs, metrics and stored traces.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::OutsideWindow => "outside_window",
            Self::UserUnavailable => "user_unavailable",
            Self::InvalidRecipient => "invalid_recipient",
            Self::InvalidParameter => "invalid_parameter",
            Self::Auth => "auth",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::PageRestricted => "page_restricted",
            Self::AccountSetup => "account_setup",
        }
    }

    /// Classifies a Graph error object answered with HTTP `status`.
    ///
    /// The first row of the table that matches the code, subcode and message decides, except
    /// that Graph's `is_transient: true` (Instagram's error bodies carry it) makes a row that
    /// is not retryable [`ErrorKind::Transient`], unless the row says a retry must never be
    /// made (a send Meta may have delivered, a private reply already used). When no row
    /// matches: Graph's `is_transient` flag if present, then HTTP 5xx is transient, 429 is a
    /// rate limit, anything else permanent.
    ///
    /// ```
    /// use messenger_graph::ErrorKind;
    /// use messenger_model::graph::GraphError;
    /// let window = GraphError { code: 10, error_subcode: Some(2018278), ..GraphError::default() };
    /// assert_eq!(ErrorKind::classify(400, &window), ErrorKind::OutsideWindow);
    /// let limit = GraphError { code: 613, ..GraphError::default() };
    /// assert!(ErrorKind::classify(400, &limit).is_retryable());
    /// ```
    pub fn classify(status: u16, error: &GraphError) -> Self {
        if let Some(rule) = super::table::RULES.iter().find(|r| r.matches(error)) {
            tracing::trace!(
                code = error.code,
                rule = rule.note,
                kind = rule.kind.as_str(),
                "classified Graph error"
            );
            if error.is_transient == Some(true) && !rule.kind.is_retryable() && !rule.never_retry {
                return Self::Transient;
            }
            return rule.kind;
        }
        Self::for_status(status, error.is_transient)
    }

    /// Classifies an HTTP answer without a Graph error object (or with an unknown code).
    pub fn for_status(status: u16, is_transient: Option<bool>) -> Self {
        match (is_transient, status) {
            (Some(true), _) => Self::Transient,
            (Some(false), _) => Self::Permanent,
            (None, 429) => Self::RateLimited,
            (None, 408) => Self::Transient,
            (None, s) if s >= 500 => Self::Transient,
            (None, 401) => Self::Auth,
            _ => Self::Permanent,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which error codes a rule covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Codes {
    /// Any code.
    Any,
    /// One of these codes.
    OneOf(&'static [i64]),
    /// A range of codes, inclusive.
    Range(i64, i64),
}

/// Which subcodes a rule covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subcodes {
    /// Any subcode, or none.
    Any,
    /// One of these subcodes.
    OneOf(&'static [i64]),
}

/// One row of the classification table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub(crate) codes: Codes,
    pub(crate) subcodes: Subcodes,
    /// A case-insensitive fragment the message must contain (for codes Graph reuses, like 100).
    pub(crate) message_contains: Option<&'static str>,
    pub(crate) kind: ErrorKind,
    /// A retry must never be made, whatever Graph's `is_transient` says (it could deliver a
    /// message twice, or cannot succeed by its nature).
    pub(crate) never_retry: bool,
    /// Why, for the reader of the table and for trace logs.
    pub(crate) note: &'static str,
    /// An error this row decides, `(code, subcode, message)`: the test walking the table checks
    /// that each row's example lands on that row (no earlier row hides it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) example: (i64, Option<i64>, &'static str),
}

impl Rule {
    pub(crate) fn matches(&self, e: &GraphError) -> bool {
        let code = match self.codes {
            Codes::Any => true,
            Codes::OneOf(list) => list.contains(&e.code),
            Codes::Range(lo, hi) => (lo..=hi).contains(&e.code),
        };
        let subcode = match self.subcodes {
            Subcodes::Any => true,
            Subcodes::OneOf(list) => e.error_subcode.is_some_and(|s| list.contains(&s)),
        };
        let message = self
            .message_contains
            .is_none_or(|needle| contains_ignore_ascii_case(&e.message, needle));
        code && subcode && message
    }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, subcode: Option<i64>) -> GraphError {
        GraphError {
            message: "x".into(),
            code,
            error_subcode: subcode,
            ..GraphError::default()
        }
    }

    #[test]
    fn classification_table() {
        use ErrorKind::*;
        let cases: &[(u16, i64, Option<i64>, ErrorKind)] = &[
            (400, 4, None, RateLimited),
            (400, 17, None, RateLimited),
            (400, 32, None, RateLimited),
            (400, 613, None, RateLimited),
            (400, 80001, None, RateLimited),
            (400, 80006, None, RateLimited),
            (400, 80014, None, RateLimited),
            (400, 80015, None, Permanent),
            (400, 10, Some(2018278), OutsideWindow),
            (400, 10, Some(2018065), OutsideWindow),
            (400, 10, Some(2018108), OutsideWindow),
            (403, 10, None, Permanent),
            (400, 551, Some(1545041), UserUnavailable),
            (400, 551, None, UserUnavailable),
            (400, 100, Some(2018001), InvalidRecipient),
            (400, 100, Some(33), InvalidRecipient),
            (400, 100, None, InvalidParameter),
            (400, 100, Some(2018109), InvalidParameter),
            (400, 190, None, Auth),
            (400, 190, Some(463), Auth),
            (400, 102, None, Auth),
            (400, 463, None, Auth),
            (400, 467, None, Auth),
            (500, 1, None, Transient),
            (500, 2, None, Transient),
            (400, 1200, Some(2018024), Transient),
            (400, 200, None, Permanent),
            (400, 230, None, InvalidRecipient),
            (400, 368, None, PageRestricted),
            (400, 12345, None, Permanent),
            (503, 12345, None, Transient),
            (429, 12345, None, RateLimited),
            // The table wins over the HTTP status.
            (500, 100, None, InvalidParameter),
        ];
        for &(status, code, subcode, want) in cases {
            assert_eq!(
                ErrorKind::classify(status, &err(code, subcode)),
                want,
                "HTTP {status} code {code} subcode {subcode:?}"
            );
        }
    }

    #[test]
    fn appsecret_proof_mismatch_is_auth() {
        let e = GraphError {
            message: "Invalid appsecret_proof provided in the API argument".into(),
            code: 100,
            ..GraphError::default()
        };
        assert_eq!(ErrorKind::classify(400, &e), ErrorKind::Auth);
        let upper = GraphError {
            message: "INVALID APPSECRET_PROOF".into(),
            ..e
        };
        assert_eq!(ErrorKind::classify(400, &upper), ErrorKind::Auth);
    }

    #[test]
    fn is_transient_flag_decides_unknown_codes() {
        let mut e = err(9999, None);
        e.is_transient = Some(true);
        assert_eq!(ErrorKind::classify(400, &e), ErrorKind::Transient);
        e.is_transient = Some(false);
        assert_eq!(ErrorKind::classify(503, &e), ErrorKind::Permanent);
        // Known codes are not made permanent by the flag.
        let mut limit = err(613, None);
        limit.is_transient = Some(false);
        assert_eq!(ErrorKind::classify(400, &limit), ErrorKind::RateLimited);
        // Meta's `is_transient: true` makes a known code retryable...
        let mut unknown_error = err(1, Some(99));
        unknown_error.is_transient = Some(true);
        assert_eq!(
            ErrorKind::classify(400, &unknown_error),
            ErrorKind::Transient
        );
        let mut setup = err(36103, None);
        setup.is_transient = Some(true);
        assert_eq!(ErrorKind::classify(400, &setup), ErrorKind::Transient);
        // ...but never a row that must not be retried.
        let mut delivered = err(1, Some(1357046));
        delivered.is_transient = Some(true);
        assert_eq!(ErrorKind::classify(500, &delivered), ErrorKind::Permanent);
        let mut used = err(10, Some(2534025));
        used.is_transient = Some(true);
        assert_eq!(ErrorKind::classify(400, &used), ErrorKind::InvalidRecipient);
    }

    #[test]
    fn status_only() {
        assert_eq!(ErrorKind::for_status(502, None), ErrorKind::Transient);
        assert_eq!(ErrorKind::for_status(408, None), ErrorKind::Transient);
        assert_eq!(ErrorKind::for_status(429, None), ErrorKind::RateLimited);
        assert_eq!(ErrorKind::for_status(401, None), ErrorKind::Auth);
        assert_eq!(ErrorKind::for_status(404, None), ErrorKind::Permanent);
    }

    #[test]
    fn only_rate_limits_and_transient_are_retryable() {
        use ErrorKind::*;
        for k in [
            RateLimited,
            OutsideWindow,
            UserUnavailable,
            InvalidRecipient,
            InvalidParameter,
            Auth,
            Transient,
            Permanent,
            PageRestricted,
            AccountSetup,
        ] {
            assert_eq!(
                k.is_retryable(),
                matches!(k, RateLimited | Transient),
                "{k}"
            );
        }
    }
}
