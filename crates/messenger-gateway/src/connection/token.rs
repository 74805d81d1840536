//! Checking a page token with Graph: `debug_token` with the app's token when the app's id is
//! configured (validity, expiry, permissions), `GET /me` otherwise (validity only).

use messenger_graph::{GraphClient, TokenProblem};
use messenger_model::Timestamp;
use serde::Serialize;

/// The permissions a page token needs, and what for.
pub const NEEDED_SCOPES: &[(&str, &str)] = &[
    (
        "pages_messaging",
        "sending, sender actions, personas and the user profiles that fill a profile's facebook section",
    ),
    (
        "pages_manage_metadata",
        "the app's webhook subscription to the page (messenger-gateway subscribe)",
    ),
];

/// What one check of a page token found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCheck {
    /// When it was made.
    pub at: Timestamp,
    /// `valid`, `invalid`, or `unknown` (Graph could not be asked, or refused the app's
    /// token).
    pub state: TokenState,
    /// Why an invalid token is invalid.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "problem_name"
    )]
    pub problem: Option<TokenProblem>,
    /// When it expires (seconds since the epoch), when `debug_token` said and it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Its permissions, when `debug_token` said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// The page it belongs to, when Graph said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    /// What Graph said, in a sentence (never the token).
    pub detail: String,
}

/// A token check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// The token works.
    Valid,
    /// Graph refuses it.
    Invalid,
    /// The check could not tell.
    Unknown,
}

impl TokenState {
    /// `valid`, `invalid`, `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Unknown => "unknown",
        }
    }
}

/// Serialises a [`TokenProblem`] by its name.
fn problem_name<S: serde::Serializer>(p: &Option<TokenProblem>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(p.as_str()),
        None => s.serialize_none(),
    }
}

/// Checks `client`'s page token: with `app_token` by `debug_token`, else by `/me`.
pub async fn check_token(
    client: &GraphClient,
    app_token: Option<&str>,
    now: Timestamp,
) -> TokenCheck {
    let blank = TokenCheck {
        at: now,
        state: TokenState::Unknown,
        problem: None,
        expires_at: None,
        scopes: None,
        page_id: None,
        detail: String::new(),
    };
    match app_token {
        Some(app) => match client.debug_token(app).await {
            Ok(info) if info.is_valid => TokenCheck {
                state: TokenState::Valid,
                expires_at: info.expires_at.filter(|at| *at > 0),
                scopes: Some(info.scopes),
                page_id: info.profile_id,
                detail: "debug_token: valid".into(),
                ..blank
            },
            Ok(info) => {
                let problem = info
                    .error
                    .as_ref()
                    .and_then(TokenProblem::of)
                    .unwrap_or(TokenProblem::Invalid);
                let said = info.error.map(|e| e.message).unwrap_or_default();
                TokenCheck {
                    state: TokenState::Invalid,
                    problem: Some(problem),
                    detail: format!("debug_token: not valid ({}): {said}", problem.describe()),
                    ..blank
                }
            }
            Err(e) => TokenCheck {
                detail: format!(
                    "debug_token failed (check facebook.app_id and facebook.app_secret): {e}"
                ),
                ..blank
            },
        },
        None => match client.me().await {
            Ok(page) => TokenCheck {
                state: TokenState::Valid,
                page_id: Some(page.id),
                detail: "GET /me: valid (set facebook.app_id to see its expiry and permissions)"
                    .into(),
                ..blank
            },
            Err(e) => match TokenProblem::of_error(&e) {
                Some(problem) => TokenCheck {
                    state: TokenState::Invalid,
                    problem: Some(problem),
                    detail: format!("GET /me: {e}"),
                    ..blank
                },
                None => TokenCheck {
                    detail: format!("GET /me failed: {e}"),
                    ..blank
                },
            },
        },
    }
}
