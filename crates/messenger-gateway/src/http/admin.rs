//! Admin access to the operations routes that change or reveal data (the webhook quarantine,
//! for one): `Authorization: Bearer <admin key>`, the keys being `server.admin_keys` and
//! `server.admin_keys_sha256`. Closed by default: without any admin key configured, every such
//! route answers 403 naming `server.admin_keys`.
//!
//! A handler asks for [`AdminAccess`] as its first extractor:
//!
//! ```
//! use axum::routing::get;
//! use axum::Router;
//! use messenger_gateway::http::admin::{AdminAccess, AdminKeys};
//!
//! async fn quarantine(_: AdminAccess) -> &'static str {
//!     "[]"
//! }
//!
//! // In the gateway the state is its `AppState`; any state that gives `AdminKeys` will do.
//! let keys = AdminKeys::new(&[], &[]);
//! let _app: Router = Router::new().route("/ops/quarantine", get(quarantine)).with_state(keys);
//! ```
//!
//! Answers: no `Authorization` or not `Bearer`: 401 with `WWW-Authenticate: Bearer`, whether or
//! not admin keys are configured; a key when no admin key is configured: 403
//! (`admin.disabled`); a key that is not an admin key: 403. Keys are
//! compared as SHA-256 digests in constant time, like the API keys.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::auth::{bearer, position_of};
use super::problem::{Problem, ProblemError};
use super::AppState;
use crate::config::{KeyDigest, Secret};

/// The code of the 403 answered when no admin key is configured.
pub const ADMIN_DISABLED_CODE: &str = "admin.disabled";

/// The admin keys, as SHA-256 digests. Cheap to clone.
#[derive(Clone, Default)]
pub struct AdminKeys {
    digests: Arc<[KeyDigest]>,
}

impl std::fmt::Debug for AdminKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminKeys({} keys)", self.digests.len())
    }
}

impl AdminKeys {
    /// `server.admin_keys` and `server.admin_keys_sha256`.
    pub fn new(keys: &[Secret], digests: &[KeyDigest]) -> Self {
        let all: Vec<KeyDigest> = keys
            .iter()
            .map(|k| KeyDigest::of(k.expose()))
            .chain(digests.iter().copied())
            .collect();
        Self {
            digests: all.into(),
        }
    }

    /// Whether any admin key is configured (otherwise the admin routes are closed).
    pub fn is_configured(&self) -> bool {
        !self.digests.is_empty()
    }

    /// Whether `key` is an admin key.
    pub fn accepts(&self, key: &str) -> bool {
        position_of(&KeyDigest::of(key), &self.digests).is_some()
    }
}

impl FromRef<AppState> for AdminKeys {
    fn from_ref(state: &AppState) -> Self {
        AdminKeys::clone(&state.admin.load())
    }
}

/// Proof that the caller holds an admin key. Extract it first in an admin handler: it runs
/// before the body is read.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AdminAccess;

impl<S> FromRequestParts<S> for AdminAccess
where
    S: Send + Sync,
    AdminKeys: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let keys = AdminKeys::from_ref(state);
        // Credentials first: a request without them is 401 whatever the configuration, as
        // the document says of every admin route.
        let key = bearer(&parts.headers)?;
        if !keys.is_configured() {
            let detail = "admin routes are closed: no admin key is configured \
                          (set server.admin_keys or server.admin_keys_sha256)";
            return Err(
                Problem::forbidden(detail).with_errors(vec![ProblemError::new(
                    "",
                    ADMIN_DISABLED_CODE,
                    detail,
                )]),
            );
        }
        if keys.accepts(key) {
            Ok(Self)
        } else {
            Err(Problem::forbidden("the key is not an admin key"))
        }
    }
}
