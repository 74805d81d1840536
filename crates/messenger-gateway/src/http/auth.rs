//! API keys: `Authorization: Bearer <key>`, each key belonging to one API space. A missing or
//! unknown key is 401 (with `WWW-Authenticate: Bearer`); a valid key used on another space's
//! path is 403, whether or not that space exists, so keys reveal nothing about other spaces.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use super::problem::Problem;
use super::AppState;
use crate::config::SpaceConfig;

/// The keys of every space, held as SHA-256 digests: a lookup compares digests, never the keys
/// themselves, so timing says nothing about a key's characters.
#[derive(Default)]
pub struct ApiKeys {
    by_digest: HashMap<[u8; 32], String>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.by_digest.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// The keys of `spaces`.
    pub fn new(spaces: &[SpaceConfig]) -> Self {
        let by_digest = spaces
            .iter()
            .flat_map(|s| s.keys.iter().map(|k| (digest(k.expose()), s.id.clone())))
            .collect();
        Self { by_digest }
    }

    /// The space a key belongs to.
    pub fn space_of(&self, key: &str) -> Option<&str> {
        self.by_digest.get(&digest(key)).map(String::as_str)
    }
}

/// The bearer token of `Authorization`, if the header has one.
fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
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
        let Some(owner) = state.keys.space_of(key) else {
            return Err(Problem::unauthorized("the API key is not valid"));
        };
        let params = PathParams::from_request_parts(parts, state).await?;
        let space = params.get("space")?;
        if owner != space {
            return Err(Problem::forbidden(
                "the API key does not give access to this API space",
            ));
        }
        Ok(Self {
            space: space.to_owned(),
        })
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
