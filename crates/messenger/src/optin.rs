//! Opt-in tokens for the Send to Messenger plugin's `data-ref` (the Facebook metadata service).
//!
//! A token is `base64url(version || token id || expiry || tag)`: 55 characters of
//! `A-Za-z0-9-_`, inside Meta's `data-ref` alphabet and its 250-character limit. It carries no
//! personal data: the token id is 16 random bytes, and the profile it stands for is kept in the
//! store under that id (so any gateway instance sharing the store and the key can redeem it). The
//! tag is a truncated HMAC-SHA256 under the space's token key, so a token cannot be forged or
//! altered, and it is checked in constant time before the store is asked anything. Tokens expire.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use messenger_model::Timestamp;
use rand::RngCore;
use sha2::Sha256;

const VERSION: u8 = 1;
const ID_LEN: usize = 16;
const TAG_LEN: usize = 16;
const TOKEN_LEN: usize = 1 + ID_LEN + 8 + TAG_LEN;

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token of ours (wrong length, alphabet or version).
    #[error("the data-ref is not an opt-in token")]
    Malformed,
    /// The tag does not match: forged or altered.
    #[error("the data-ref's signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("the data-ref token expired")]
    Expired,
    /// Well-formed and signed, but the store does not know it.
    #[error("the data-ref token is unknown")]
    Unknown,
    /// Valid, but already redeemed by another Messenger user: a replayed token.
    #[error("the data-ref token was already redeemed by another Messenger user")]
    Used,
}

impl TokenError {
    /// A stable code for the `tokenError` field of events (`token.used`, `token.expired`...).
    ///
    /// ```
    /// assert_eq!(messenger::optin::TokenError::Used.code(), "token.used");
    /// ```
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "token.malformed",
            Self::BadSignature => "token.bad_signature",
            Self::Expired => "token.expired",
            Self::Unknown => "token.unknown",
            Self::Used => "token.used",
        }
    }
}

/// A token's id: what the store keeps the profile under (hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(pub String);

/// A freshly issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The `data-ref` value for the plugin.
    pub token: String,
    /// The id to store the profile under.
    pub id: TokenId,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// Issues and checks tokens with one secret key.
///
/// ```
/// use messenger::optin::OptinTokens;
/// use messenger_model::Timestamp;
/// let tokens = OptinTokens::new(b"a key of at least 32 bytes, shared by instances");
/// let now = Timestamp::from_millis(1_700_000_000_000);
/// let issued = tokens.issue(now, 3_600_000);
/// assert!(issued.token.len() <= 250);
/// assert_eq!(tokens.verify(&issued.token, now).unwrap(), issued.id);
/// ```
#[derive(Clone)]
pub struct OptinTokens {
    key: Vec<u8>,
}

impl fmt::Debug for OptinTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OptinTokens(<key redacted>)")
    }
}

impl OptinTokens {
    /// Tokens under `key` (use at least 32 random bytes; every instance needs the same key).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn tag(&self, signed: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
        mac.update(b"messenger-optin-v1");
        mac.update(signed);
        mac
    }

    /// Issues a token valid for `ttl_millis` from `now`.
    pub fn issue(&self, now: Timestamp, ttl_millis: i64) -> IssuedToken {
        let mut id = [0u8; ID_LEN];
        rand::thread_rng().fill_bytes(&mut id);
        let expires_at = now.add_millis(ttl_millis);
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&(expires_at.millis() / 1000).to_be_bytes());
        let tag = self.tag(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        IssuedToken {
            token: URL_SAFE_NO_PAD.encode(&bytes),
            id: TokenId(hex::encode(id)),
            expires_at,
        }
    }

    /// Checks a token's form, signature (constant time) and expiry; returns its id.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<TokenId, TokenError> {
        if token.len() > 250 {
            return Err(TokenError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != TOKEN_LEN || bytes[0] != VERSION {
            return Err(TokenError::Malformed);
        }
        let (signed, tag) = bytes.split_at(TOKEN_LEN - TAG_LEN);
        self.tag(signed)
            .verify_truncated_left(tag)
            .map_err(|_| TokenError::BadSignature)?;
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&signed[1 + ID_LEN..]);
        let expires_secs = i64::from_be_bytes(exp);
        if now.millis() / 1000 >= expires_secs {
            return Err(TokenError::Expired);
        }
        Ok(TokenId(hex::encode(&signed[1..1 + ID_LEN])))
    }
}

impl crate::Messenger {
    /// The Facebook metadata service: issues a `data-ref` token for `profile_id` (with optional
    /// `data` echoed on the `facebook.optin` event) and stores what it stands for.
    pub async fn issue_optin_token(
        &self,
        space_id: &str,
        profile_id: &str,
        data: Option<serde_json::Value>,
    ) -> Result<String, crate::Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        let now = self.now();
        let ttl = i64::try_from(self.inner.token_ttl.as_millis()).unwrap_or(i64::MAX);
        let issued = self.inner.tokens.issue(now, ttl);
        self.inner
            .store
            .put_optin_token(messenger_store::OptinToken {
                token: issued.id.0,
                space: space.id.clone(),
                profile_id: profile_id.to_owned(),
                data,
                created_at: now,
                expires_at: issued.expires_at,
                bound_to: None,
            })
            .await?;
        Ok(issued.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const META_ALPHABET: &str =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-.:_";

    #[test]
    fn tokens_fit_meta_constraints_and_differ() {
        let t = OptinTokens::new(b"k");
        let now = Timestamp::from_millis(1_000_000);
        let a = t.issue(now, 60_000);
        let b = t.issue(now, 60_000);
        assert_ne!(a.token, b.token);
        assert!(a.token.len() <= 250);
        assert!(a.token.chars().all(|c| META_ALPHABET.contains(c)));
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let t = OptinTokens::new(b"key-one");
        let now = Timestamp::from_millis(10_000_000);
        let issued = t.issue(now, 60_000);
        assert_eq!(
            t.verify(&issued.token, now.add_millis(61_000)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            OptinTokens::new(b"key-two").verify(&issued.token, now),
            Err(TokenError::BadSignature)
        );
        // Flip one character of the id part.
        let mut chars: Vec<char> = issued.token.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(t.verify(&tampered, now), Err(TokenError::BadSignature));
        assert_eq!(t.verify("", now), Err(TokenError::Malformed));
        assert_eq!(
            t.verify("alice@example.com", now),
            Err(TokenError::Malformed)
        );
    }

    proptest! {
        #[test]
        fn verify_never_panics_and_rejects_noise(s in "\\PC{0,300}") {
            let t = OptinTokens::new(b"k");
            prop_assert!(t.verify(&s, Timestamp::from_millis(0)).is_err());
        }
    }
}
