//! The classification table: every Graph error code a Messenger sender meets, with what it means
//! for the sender, as data. First match wins, so specific rows come before general ones.
//!
//! Sources: Meta's Messenger Platform error codes, Send API error codes and Graph API error
//! handling and rate limiting pages, the Messenger changelog, and issue threads of other
//! Messenger integrations; decision 0004 (docs/decisions) records the choices. Each row's kind
//! says whether a retry may help ([`ErrorKind::is_retryable`]) and whose trouble it is
//! ([`ErrorKind::blame`]: the message's, so its next rule may help, or the page's, so its
//! messages wait). A change by Meta is a change of one row.

use super::classify::{Codes, ErrorKind, Rule, Subcodes};

/// Subcodes Meta uses for "sent outside the allowed window" under code 10 (2534022 is
/// Instagram's).
pub const OUTSIDE_WINDOW_SUBCODES: &[i64] = &[2018278, 2018065, 2018108, 2534022];
/// Business use case rate limit codes (80006 is Messenger's, 80002 Instagram's, 80001 a
/// page's).
pub const BUSINESS_USE_CASE_LIMIT_CODES: (i64, i64) = (80001, 80014);

/// Graph's codes for a page access token that no longer works (190 with the subcodes of
/// [`crate::TokenProblem`], and the older 102, 463 and 467 as codes of their own).
pub const TOKEN_ERROR_CODES: &[i64] = &[190, 102, 463, 467];

const fn row(
    codes: Codes,
    subcodes: Subcodes,
    kind: ErrorKind,
    note: &'static str,
    example: (i64, Option<i64>, &'static str),
) -> Rule {
    Rule {
        codes,
        subcodes,
        message_contains: None,
        kind,
        never_retry: false,
        note,
        example,
    }
}

/// A row whose error is never retried, whatever Graph's `is_transient` says.
const fn never_retried(rule: Rule) -> Rule {
    Rule {
        never_retry: true,
        ..rule
    }
}

/// A row for a code Graph reuses, decided by a fragment of its message.
const fn with_message(rule: Rule, fragment: &'static str) -> Rule {
    Rule {
        message_contains: Some(fragment),
        ..rule
    }
}

const fn one(code: &'static [i64]) -> Codes {
    Codes::OneOf(code)
}

const fn sub(subcodes: &'static [i64]) -> Subcodes {
    Subcodes::OneOf(subcodes)
}

use ErrorKind::{
    AccountSetup, Auth, InvalidParameter, InvalidRecipient, OutsideWindow, PageRestricted,
    Permanent, RateLimited, Transient, UserUnavailable,
};
use Subcodes::Any;

/// The classification table.
pub(crate) const RULES: &[Rule] = &[
    // The recipient: another channel may reach them.
    row(Codes::Any, sub(&[1545041]), UserUnavailable,
        "551/1545041 and 200/1545041: this person isn't available right now (blocked, deactivated)",
        (200, Some(1545041), "")),
    row(one(&[551]), Any, UserUnavailable, "551 with any subcode: person unavailable",
        (551, None, "")),
    row(one(&[9009]), Any, UserUnavailable, "9009: the Instagram user is unavailable",
        (9009, None, "")),
    row(one(&[10]), sub(OUTSIDE_WINDOW_SUBCODES), OutsideWindow,
        "10/2018278 (and the older 2018065, 2018108; Instagram's 2534022): sent outside the allowed window",
        (10, Some(2018278), "")),
    row(one(&[10]), sub(&[2018300]), UserUnavailable,
        "10/2018300: another app controls the thread now (handover protocol): not this app's to \
         send to until the thread is passed back or taken",
        (10, Some(2018300), "")),
    row(one(&[10]), sub(&[1893063]), PageRestricted,
        "10/1893063: the page is temporarily restricted from sending",
        (10, Some(1893063), "")),
    row(one(&[100]), sub(&[2018001, 33]), InvalidRecipient,
        "100/2018001 no matching user; 100/33 object (PSID) does not exist",
        (100, Some(2018001), "")),
    // Instagram's private replies to comments, by subcode under any code.
    never_retried(row(Codes::Any, sub(&[2534025]), InvalidRecipient,
        "Instagram private reply 2534025: the comment's one reply is already used (never retried)",
        (10, Some(2534025), ""))),
    row(Codes::Any, sub(&[2534014]), InvalidRecipient,
        "Instagram 2534014: the user (or the comment's author) is not found",
        (100, Some(2534014), "")),
    row(Codes::Any, sub(&[2534001]), UserUnavailable,
        "Instagram 2534001: the thread is archived or deleted",
        (10, Some(2534001), "")),
    row(Codes::Any, sub(&[2534013]), RateLimited,
        "Instagram 2534013: the account's limit on private replies (rate or policy): wait",
        (4, Some(2534013), "")),
    row(one(&[230]), Any, InvalidRecipient,
        "230: permissions disallow messages to this user (Instagram: the user's consent is needed)",
        (230, None, "")),
    with_message(row(one(&[100]), Any, Auth,
        "100 'Invalid appsecret_proof': the app secret is wrong, a credentials problem",
        (100, None, "Invalid appsecret_proof provided in the API argument")), "appsecret_proof"),
    with_message(row(one(&[100]), Any, AccountSetup,
        "100 'Unsupported request - method type' (Instagram, IGApiException): the wrong host or \
         kind of token for the account (Instagram Login's token on graph.instagram.com), or an \
         account without a role under Standard Access: its setup",
        (100, None, "Unsupported request - method type: post")), "unsupported request"),
    row(one(&[100]), Any, InvalidParameter,
        "100: invalid parameter (retired tag, bad field, 2018109 attachment too large)",
        (100, Some(2018109), "")),
    // The page's token: its messages wait for new credentials (needs_reauth).
    row(one(TOKEN_ERROR_CODES), Any, Auth,
        "190 invalid or expired token (subcodes 458, 459, 460, 463, 464, 467, 492), 102 session, 463 expired, 467 invalid token",
        (190, Some(460), "")),
    // The page's pace: wait, then retry.
    row(one(&[4]), sub(&[2018354]), Permanent,
        "4/2018354: a marketing message too soon after the last one to this person (their cadence, not the page's pace)",
        (4, Some(2018354), "")),
    row(one(&[4, 17, 32, 341, 613]), Any, RateLimited,
        "4 app (2018022 sends to phone numbers), 17 user/account, 32 page, 341 app, 613 call rate",
        (613, None, "")),
    row(one(&[9]), sub(&[2018352]), RateLimited,
        "9/2018352: the page performs too many actions",
        (9, Some(2018352), "")),
    row(Codes::Range(BUSINESS_USE_CASE_LIMIT_CODES.0, BUSINESS_USE_CASE_LIMIT_CODES.1), Any,
        RateLimited, "80001-80014 business use case rate limits (80006 Messenger, 80002 Instagram, 80001 page)",
        (80006, None, "")),
    // Meta's side: retry with backoff.
    never_retried(row(one(&[1]), sub(&[1357046]), Permanent,
        "1/1357046 invalid JSON answer to a send Meta may have delivered (never retried: a retry could deliver it twice)",
        (1, Some(1357046), ""))),
    row(one(&[1]), sub(&[99]), Permanent,
        "1/99 unknown error, usually a missing permission or access level",
        (1, Some(99), "")),
    row(one(&[1, 2, 1200]), Any, Transient,
        "1 unknown, 2 service temporarily unavailable (1545133 too), 1200 temporary send failure",
        (1200, None, "")),
    // The page restricted by Meta: it waits, for hours.
    row(one(&[368, 2022]), Any, PageRestricted,
        "368 temporarily blocked for policy violations; 2022 the page is blocked from sending after reports (about 24 hours)",
        (368, None, "")),
    // The request, or the app's permissions: another channel may carry it.
    row(one(&[10]), Any, Permanent,
        "10 permission denied (other subcodes)",
        (10, None, "")),
    row(Codes::Range(200, 299), Any, Permanent,
        "200-299 missing permissions (pages_messaging; 2018028 app not live, 2018027 and 2018021 phone-number messaging)",
        (200, Some(2018028), "")),
    row(one(&[36103]), Any, AccountSetup,
        "36103: Instagram messaging is not yet available for this account (its setup)",
        (36103, None, "")),
    row(Codes::Range(2_300_000, 2_300_005), Any, Permanent,
        "2300000-2300005 marketing messages: campaign, message or set inactive, token not loadable, page mismatch",
        (2_300_003, None, "")),
    row(one(&[2_300_052]), Any, Permanent,
        "2300052 marketing message not available right now (the minimum gap)",
        (2_300_052, None, "")),
];

#[cfg(test)]
mod tests {
    use messenger_model::graph::GraphError;

    use super::*;
    use crate::Blame;

    fn err(code: i64, subcode: Option<i64>, message: &str) -> GraphError {
        GraphError {
            message: message.into(),
            code,
            error_subcode: subcode,
            ..GraphError::default()
        }
    }

    /// Every row decides its own example: no earlier row hides it.
    #[test]
    fn each_row_decides_its_example() {
        for (i, rule) in RULES.iter().enumerate() {
            let (code, subcode, message) = rule.example;
            let e = err(code, subcode, message);
            let first = RULES.iter().position(|r| r.matches(&e));
            assert_eq!(first, Some(i), "row {i} ({}) is hidden", rule.note);
            assert_eq!(ErrorKind::classify(400, &e), rule.kind, "{}", rule.note);
        }
    }

    /// Each code of Meta's error tables for senders, with what the sender does: retry (`Y`),
    /// wait with the page (`W`: the page's trouble, no next rule), or not (`N`: the message's
    /// trouble, its next rule may help).
    #[test]
    fn each_reference_code_has_its_consequence() {
        let cases: &[(i64, Option<i64>, &str, ErrorKind, char)] = &[
            (1200, None, "", Transient, 'Y'),
            (2, None, "", Transient, 'Y'),
            (2, Some(1545133), "", Transient, 'Y'),
            (1, Some(99), "", Permanent, 'N'),
            (1, Some(1357046), "", Permanent, 'N'),
            (4, None, "", RateLimited, 'Y'),
            (4, Some(2018022), "", RateLimited, 'Y'),
            (4, Some(2018354), "", Permanent, 'N'),
            (9, Some(2018352), "", RateLimited, 'Y'),
            (17, None, "", RateLimited, 'Y'),
            (32, None, "", RateLimited, 'Y'),
            (341, None, "", RateLimited, 'Y'),
            (613, None, "", RateLimited, 'Y'),
            (80006, None, "", RateLimited, 'Y'),
            (80002, None, "", RateLimited, 'Y'),
            (80001, None, "", RateLimited, 'Y'),
            (10, Some(2018278), "", OutsideWindow, 'N'),
            (10, Some(2018065), "", OutsideWindow, 'N'),
            (10, Some(2018108), "", OutsideWindow, 'N'),
            (10, Some(2534022), "", OutsideWindow, 'N'),
            (10, Some(1893063), "", PageRestricted, 'W'),
            (10, Some(2018300), "", UserUnavailable, 'N'),
            (2022, None, "", PageRestricted, 'W'),
            (368, None, "", PageRestricted, 'W'),
            (100, None, "", InvalidParameter, 'N'),
            (100, Some(2018001), "", InvalidRecipient, 'N'),
            (100, Some(2018109), "", InvalidParameter, 'N'),
            (
                100,
                None,
                "Unsupported request - method type: post",
                AccountSetup,
                'N',
            ),
            (
                100,
                None,
                "Invalid appsecret_proof provided in the API argument",
                Auth,
                'W',
            ),
            (190, None, "", Auth, 'W'),
            (190, Some(458), "", Auth, 'W'),
            (190, Some(459), "", Auth, 'W'),
            (190, Some(460), "", Auth, 'W'),
            (190, Some(463), "", Auth, 'W'),
            (190, Some(464), "", Auth, 'W'),
            (190, Some(467), "", Auth, 'W'),
            (190, Some(492), "", Auth, 'W'),
            (200, None, "", Permanent, 'N'),
            (200, Some(1545041), "", UserUnavailable, 'N'),
            (551, Some(1545041), "", UserUnavailable, 'N'),
            (200, Some(2018028), "", Permanent, 'N'),
            (200, Some(2018027), "", Permanent, 'N'),
            (200, Some(2018021), "", Permanent, 'N'),
            (230, None, "", InvalidRecipient, 'N'),
            (9009, None, "", UserUnavailable, 'N'),
            (36103, None, "", AccountSetup, 'N'),
            (100, Some(2534025), "", InvalidRecipient, 'N'),
            (100, Some(2534014), "", InvalidRecipient, 'N'),
            (10, Some(2534001), "", UserUnavailable, 'N'),
            (4, Some(2534013), "", RateLimited, 'Y'),
            (2_300_000, None, "", Permanent, 'N'),
            (2_300_005, None, "", Permanent, 'N'),
            (2_300_052, None, "", Permanent, 'N'),
        ];
        for &(code, subcode, message, kind, then) in cases {
            let got = ErrorKind::classify(400, &err(code, subcode, message));
            let what = format!("{code}/{subcode:?} {message}");
            assert_eq!(got, kind, "{what}");
            let consequence = match (got.is_retryable(), got.blame().next_rule_may_help()) {
                (true, _) => 'Y',
                (false, true) => 'N',
                (false, false) => 'W',
            };
            assert_eq!(consequence, then, "{what}");
        }
        assert_eq!(PageRestricted.blame(), Blame::Restricted);
    }

    /// Instagram's errors as graph.instagram.com and graph.facebook.com answer them (the body's
    /// `type` and `is_transient` parsed), each with its kind and what the sender does: retry
    /// (`Y`), wait with the account (`W`), try the next rule (`N`), and whether an operator must
    /// act.
    #[test]
    fn each_instagram_error_has_its_consequence() {
        use crate::Error;
        use reqwest::header::HeaderMap;

        // (code, subcode, message, is_transient, kind, consequence, operator)
        type Case = (
            i64,
            Option<i64>,
            &'static str,
            Option<bool>,
            ErrorKind,
            char,
            bool,
        );
        let cases: &[Case] = &[
            (
                10,
                Some(2534022),
                "This message is sent outside of allowed window.",
                Some(false),
                OutsideWindow,
                'N',
                false,
            ),
            (
                80002,
                None,
                "There have been too many calls to this Instagram account.",
                None,
                RateLimited,
                'Y',
                false,
            ),
            (
                9009,
                None,
                "The Instagram user is unavailable",
                Some(false),
                UserUnavailable,
                'N',
                false,
            ),
            (
                36103,
                None,
                "Instagram messaging is not yet available for this account",
                Some(false),
                AccountSetup,
                'N',
                true,
            ),
            (
                230,
                None,
                "User consent is required to access user profile",
                Some(false),
                InvalidRecipient,
                'N',
                false,
            ),
            (
                551,
                Some(1545041),
                "This person isn't available right now.",
                Some(false),
                UserUnavailable,
                'N',
                false,
            ),
            (
                200,
                Some(1545041),
                "This person isn't receiving messages from you right now.",
                None,
                UserUnavailable,
                'N',
                false,
            ),
            (
                10,
                Some(2534025),
                "A private reply has already been sent",
                Some(false),
                InvalidRecipient,
                'N',
                false,
            ),
            // `is_transient: true` never makes a used private reply retryable.
            (
                10,
                Some(2534025),
                "A private reply has already been sent",
                Some(true),
                InvalidRecipient,
                'N',
                false,
            ),
            (
                100,
                Some(2534014),
                "The user is not found",
                Some(false),
                InvalidRecipient,
                'N',
                false,
            ),
            (
                10,
                Some(2534001),
                "The thread is archived",
                Some(false),
                UserUnavailable,
                'N',
                false,
            ),
            (
                4,
                Some(2534013),
                "Too many private replies",
                Some(false),
                RateLimited,
                'Y',
                false,
            ),
            (
                100,
                None,
                "Unsupported request - method type: post",
                Some(false),
                AccountSetup,
                'N',
                true,
            ),
            (
                100,
                None,
                "Unsupported request - method type: get",
                None,
                AccountSetup,
                'N',
                true,
            ),
            // Graph's `is_transient: true` is retryable, on a known code or an unknown one.
            (
                2,
                Some(1545133),
                "An unexpected error has occurred.",
                Some(true),
                Transient,
                'Y',
                false,
            ),
            (
                1,
                Some(99),
                "An unknown error occurred",
                Some(true),
                Transient,
                'Y',
                false,
            ),
            (
                36103,
                None,
                "Instagram messaging is not yet available for this account",
                Some(true),
                Transient,
                'Y',
                false,
            ),
            (
                123_456,
                None,
                "Something new",
                Some(true),
                Transient,
                'Y',
                false,
            ),
            (
                123_456,
                None,
                "Something new",
                Some(false),
                Permanent,
                'N',
                false,
            ),
            (
                190,
                Some(463),
                "Error validating access token: Session has expired",
                Some(false),
                Auth,
                'W',
                true,
            ),
        ];
        for &(code, subcode, message, transient, kind, then, operator) in cases {
            let mut error = serde_json::json!({
                "message": message,
                "type": "IGApiException",
                "code": code,
                "fbtrace_id": "Atr4ce",
            });
            if let Some(sub) = subcode {
                error["error_subcode"] = sub.into();
            }
            if let Some(t) = transient {
                error["is_transient"] = t.into();
            }
            let body = serde_json::to_vec(&serde_json::json!({ "error": error })).unwrap();
            let e = Error::from_answer(400, &HeaderMap::new(), &body);
            let what = format!("{code}/{subcode:?} {message} is_transient={transient:?}");
            let parsed = e.graph_error().expect("a Graph error object");
            assert_eq!(parsed.kind.as_deref(), Some("IGApiException"), "{what}");
            assert_eq!(parsed.is_transient, transient, "{what}");
            assert_eq!(e.kind(), kind, "{what}");
            let consequence = match (kind.is_retryable(), kind.blame().next_rule_may_help()) {
                (true, _) => 'Y',
                (false, true) => 'N',
                (false, false) => 'W',
            };
            assert_eq!(consequence, then, "{what}");
            assert_eq!(kind.blame().needs_operator(), operator, "{what}");
        }
    }
}
