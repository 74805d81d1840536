//! Why a page access token stopped working: Graph's code 190 and its subcodes, as data, each
//! with what an operator does about it.
//!
//! Source: Graph API error handling (the access token subcodes); 492 from integrations that
//! met it. Decision 0022 (docs/decisions) says what the gateway does with a page whose token
//! stopped working.

use std::fmt;

use messenger_model::graph::GraphError;

use super::table::TOKEN_ERROR_CODES;

/// Why a page's token no longer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenProblem {
    /// 458: the user removed the app (or the page uninstalled it).
    AppNotInstalled,
    /// 459: the user must log in at facebook.com to pass a security checkpoint.
    Checkpoint,
    /// 460: the user changed their password, which ends their sessions and tokens.
    PasswordChanged,
    /// 463 (or code 463): the token has expired.
    Expired,
    /// 464: the user has not confirmed their account.
    UnconfirmedUser,
    /// 467 (or code 467, or 190 without a subcode): the token is invalid (logged out, revoked).
    Invalid,
    /// 492: the user whose token this is no longer has a role on the page.
    NoPageRole,
    /// 102: the session is invalid.
    Session,
}

/// Graph's subcodes of error 190, with their problem. A change by Meta is one row.
pub const TOKEN_SUBCODES: &[(i64, TokenProblem)] = &[
    (458, TokenProblem::AppNotInstalled),
    (459, TokenProblem::Checkpoint),
    (460, TokenProblem::PasswordChanged),
    (463, TokenProblem::Expired),
    (464, TokenProblem::UnconfirmedUser),
    (467, TokenProblem::Invalid),
    (492, TokenProblem::NoPageRole),
];

impl TokenProblem {
    /// The problem a Graph error reports, when it is about the token (codes 190, 102, 463,
    /// 467); `None` for any other error (a wrong app secret included: that is the app's
    /// configuration, not the page's token).
    ///
    /// ```
    /// use messenger_graph::TokenProblem;
    /// use messenger_model::graph::GraphError;
    /// let e = GraphError { code: 190, error_subcode: Some(460), ..GraphError::default() };
    /// assert_eq!(TokenProblem::of(&e), Some(TokenProblem::PasswordChanged));
    /// assert_eq!(TokenProblem::PasswordChanged.subcode(), Some(460));
    /// let other = GraphError { code: 613, ..GraphError::default() };
    /// assert_eq!(TokenProblem::of(&other), None);
    /// ```
    pub fn of(error: &GraphError) -> Option<Self> {
        if !TOKEN_ERROR_CODES.contains(&error.code) {
            return None;
        }
        match error.code {
            102 => return Some(Self::Session),
            463 => return Some(Self::Expired),
            467 => return Some(Self::Invalid),
            _ => {}
        }
        let by_subcode = error
            .error_subcode
            .and_then(|s| TOKEN_SUBCODES.iter().find(|(code, _)| *code == s))
            .map(|(_, p)| *p);
        Some(by_subcode.unwrap_or(Self::Invalid))
    }

    /// The problem of a failed Graph call, when it is about the token.
    pub fn of_error(error: &super::Error) -> Option<Self> {
        error.graph_error().and_then(Self::of)
    }

    /// Graph's subcode of error 190 for this problem, if it has one.
    pub fn subcode(self) -> Option<i64> {
        TOKEN_SUBCODES
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(code, _)| *code)
    }

    /// A stable snake_case name for logs, metrics and `/readyz`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AppNotInstalled => "app_not_installed",
            Self::Checkpoint => "checkpoint",
            Self::PasswordChanged => "password_changed",
            Self::Expired => "expired",
            Self::UnconfirmedUser => "unconfirmed_user",
            Self::Invalid => "invalid",
            Self::NoPageRole => "no_page_role",
            Self::Session => "session",
        }
    }

    /// What happened, in a sentence.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::AppNotInstalled => "the app was removed from the page or by the user",
            Self::Checkpoint => "the user must pass a security checkpoint on facebook.com",
            Self::PasswordChanged => "the user changed their password, which revoked the token",
            Self::Expired => "the token has expired",
            Self::UnconfirmedUser => "the user has not confirmed their account",
            Self::Invalid => "the token is invalid (revoked, or its user logged out)",
            Self::NoPageRole => "the token's user no longer has a role on the page",
            Self::Session => "the token's session is invalid",
        }
    }

    /// What the operator does about it.
    pub const fn remedy(self) -> &'static str {
        match self {
            Self::AppNotInstalled => {
                "add the app to the page again, then issue a new page token and put it in the \
                 space's page_token"
            }
            Self::Checkpoint => {
                "the token's user logs in at facebook.com and passes the checkpoint; the token \
                 works again after that (the next token check sees it)"
            }
            Self::UnconfirmedUser => {
                "the token's user confirms their account; the token works again after that"
            }
            Self::NoPageRole => {
                "give the token's user a role on the page again, or issue a page token from a \
                 user who has one, and put it in the space's page_token"
            }
            Self::PasswordChanged | Self::Expired | Self::Invalid | Self::Session => {
                "issue a new page access token (a long-lived one) and put it in the space's \
                 page_token"
            }
        }
    }
}

impl fmt::Display for TokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subcode_has_its_problem_and_back() {
        for &(subcode, problem) in TOKEN_SUBCODES {
            let e = GraphError {
                code: 190,
                error_subcode: Some(subcode),
                ..GraphError::default()
            };
            assert_eq!(TokenProblem::of(&e), Some(problem));
            assert_eq!(problem.subcode(), Some(subcode));
            assert!(!problem.remedy().is_empty());
        }
        let bare = GraphError {
            code: 190,
            ..GraphError::default()
        };
        assert_eq!(TokenProblem::of(&bare), Some(TokenProblem::Invalid));
        let session = GraphError {
            code: 102,
            ..GraphError::default()
        };
        assert_eq!(TokenProblem::of(&session), Some(TokenProblem::Session));
        let proof = GraphError {
            code: 100,
            message: "Invalid appsecret_proof provided in the API argument".into(),
            ..GraphError::default()
        };
        assert_eq!(TokenProblem::of(&proof), None);
    }
}
