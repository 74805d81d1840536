//! API keys: `Authorization: Bearer <key>`, each key belonging to one API space. A missing or
//! unknown key is 401 (with `WWW-Authenticate: Bearer`); a valid key used on another space's
//! path is 403, whether or not that space exists, so keys reveal nothing about other spaces.
//!
//! A space's keys come from `keys` (the keys themselves) and `keys_sha256` (their SHA-256
//! digests); either way the gateway keeps only digests and compares the presented key's digest
//! with every one of them in constant time.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use super::problem::Problem;
use super::AppState;
use crate::config::{KeyDigest, SpaceConfig};

/// The keys of every space, held as SHA-256 digests: a lookup compares the presented key's
/// digest with every configured digest in constant time (no early exit, no hash-map probe), so
/// timing says nothing about the keys.
#[derive(Default)]
pub struct ApiKeys {
    digests: Vec<KeyDigest>,
    /// The space of each digest.
    owners: Vec<String>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.digests.len())
    }
}

/// Whether `presented` is one of `digests`, comparing with each in constant time.
pub(crate) fn position_of(presented: &KeyDigest, digests: &[KeyDigest]) -> Option<usize> {
    let mut found = None;
    for (i, d) in digests.iter().enumerate() {
        if bool::from(d.as_bytes().ct_eq(presented.as_bytes())) {
            found = Some(i);
        }
    }
    found
}

impl ApiKeys {
    /// The keys of `spaces` (`keys` and `keys_sha256`).
    pub fn new(spaces: &[SpaceConfig]) -> Self {
        let (digests, owners) = spaces
            .iter()
            .flat_map(|s| {
                let plain = s.keys.iter().map(|k| KeyDigest::of(k.expose()));
                plain
                    .chain(s.keys_sha256.iter().copied())
                    .map(|d| (d, s.id.clone()))
            })
            .unzip();
        Self { digests, owners }
    }

    /// The space a key belongs to.
    pub fn space_of(&self, key: &str) -> Option<&str> {
        position_of(&KeyDigest::of(key), &self.digests).map(|i| self.owners[i].as_str())
    }
}

/// The bearer token of `Authorization`, if the header has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        Problem::unauthorized("send the space's API key as Authorization: Bearer <key>")
    })?;
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not readable text"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| Problem::unauthorized("the Authorization header must be Bearer <key>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Problem::unauthorized(
            "the Authorization header must be Bearer <key>",
        ));
    }
    Ok(token.trim())
}

/// The caller's proof of access to the `{space}` of the path. Extract it first in a handler:
/// it runs before the body is read.
#[derive(Debug, Clone)]
pub struct SpaceAccess {
    /// The space id.
    pub space: String,
}

impl FromRequestParts<AppState> for SpaceAccess {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let key = bearer(&parts.headers)?;
        let keys = state.keys.load();
        let Some(owner) = keys.space_of(key) else {
            return Err(Problem::unauthorized("the API key is not valid"));
        };
        let params = PathParams::from_request_parts(parts, state).await?;
        let space = params.get("space")?;
        if owner != space {
            return Err(Problem::forbidden(
                "the API key does not give access to this API space",
            ));
        }
        state.quotas.charge(space, 1)?;
        Ok(Self {
            space: space.to_owned(),
        })
    }
}

/// Read access to the `{space}` of the path, for the routes that read a space's data (messages,
/// profiles, dead events) and redrive its dead events: the space's own key (as
/// [`SpaceAccess`]), or an admin key (`server.admin_keys`) for any configured space, so an
/// operator's console sees every space. An admin key never sends, writes a profile or reaches
/// a route that is not one of these; its requests are not charged to the space's rate.
///
/// Answers: no or bad `Authorization`: 401; a space key of another space: 403; an admin key and
/// a space that is not configured: 404.
#[derive(Debug, Clone)]
pub struct SpaceRead {
    /// The space id.
    pub space: String,
    /// Whether an admin key opened it.
    pub admin: bool,
}

impl FromRequestParts<AppState> for SpaceRead {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let key = bearer(&parts.headers)?;
        let keys = state.keys.load();
        let owner = keys.space_of(key);
        let admins = state.admin.load();
        let admin = admins.is_configured() && admins.accepts(key);
        let params = PathParams::from_request_parts(parts, state).await?;
        let space = params.get("space")?;
        match (owner, admin) {
            (Some(owner), _) if owner == space => {
                state.quotas.charge(space, 1)?;
                Ok(Self {
                    space: space.to_owned(),
                    admin: false,
                })
            }
            (_, true) => match state.messenger.space(space) {
                Ok(_) => Ok(Self {
                    space: space.to_owned(),
                    admin: true,
                }),
                Err(_) => Err(Problem::not_found(format!(
                    "there is no API space {:?}",
                    super::problem::shorten(space)
                ))),
            },
            (Some(_), false) => Err(Problem::forbidden(
                "the API key does not give access to this API space",
            )),
            (None, false) => Err(Problem::unauthorized("the API key is not valid")),
        }
    }
}

/// The path's parameters, decoded; a path that does not decode is a problem+json 400.
#[derive(Debug, Clone)]
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    /// The parameter `name` of the route template.
    pub fn get(&self, name: &str) -> Result<&str, Problem> {
        self.0.get(name).map(String::as_str).ok_or_else(|| {
            Problem::bad_request("path.invalid", format!("missing path parameter {name}"))
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Path(map)) => Ok(Self(map)),
            Err(e) => Err(Problem::bad_request("path.invalid", e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_and_their_digests_both_open_their_space() {
        let toml = r#"
            [facebook]
            app_secret = "0123456789abcdef0123456789abcdef"
            verify_token = "verify-token-0123456789"
            token_key = "a key of at least thirty-two bytes, shared by instances"
            [[spaces]]
            id = "plain"
            page_id = "1"
            page_token = "t"
            keys = ["plain-key-0123456789"]
            [[spaces]]
            id = "hashed"
            page_id = "2"
            page_token = "t"
            # printf %s 'acme-key-0123456789abcdef' | openssl dgst -sha256
            keys_sha256 = ["8D1FDE3E812F6F2E7DA16E8DBBE290A806F4608424C237F78886B81304C4C234"]
        "#;
        let config = crate::config::Config::from_toml_str(toml, std::iter::empty()).unwrap();
        let keys = ApiKeys::new(&config.spaces);
        assert_eq!(keys.space_of("plain-key-0123456789"), Some("plain"));
        assert_eq!(keys.space_of("acme-key-0123456789abcdef"), Some("hashed"));
        assert_eq!(keys.space_of("acme-key-0123456789abcdeF"), None);
        assert_eq!(
            keys.space_of("8d1fde3e812f6f2e7da16e8dbbe290a806f4608424c237f78886b81304c4c234"),
            None,
            "the digest itself is not a key"
        );
    }

    #[test]
    fn bearer_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h).unwrap_err().status, 401);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer  abc "),
        );
        assert_eq!(bearer(&h).unwrap(), "abc");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h).unwrap(), "abc");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h).unwrap_err().status, 401);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer"));
        assert_eq!(bearer(&h).unwrap_err().status, 401);
    }
}
