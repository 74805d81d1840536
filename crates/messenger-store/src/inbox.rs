//! Meta's webhook redeliveries ([`WebhookInbox`]) and opt-in tokens ([`OptinTokens`]).

use std::collections::HashSet;

use async_trait::async_trait;
use messenger_model::Timestamp;
use serde_json::Value;

use crate::StoreError;

/// Remembers which Meta events were already processed, so redeliveries are dropped.
///
/// Keys are chosen by the caller and should be globally unique (e.g. `mid:<message id>`,
/// `delivery:<page>:<psid>:<watermark>`). For crash safety, apply an event's effects first and
/// mark it seen after: a crash in between means Meta redelivers and the (idempotent) effects are
/// applied again, rather than the event being lost.
#[async_trait]
pub trait WebhookInbox: Send + Sync {
    /// Records `key` as seen at `now`. Returns `true` the first time, `false` after.
    async fn mark_seen(&self, key: &str, now: Timestamp) -> Result<bool, StoreError>;

    /// Whether `key` was seen.
    async fn is_seen(&self, key: &str) -> Result<bool, StoreError>;

    /// Which of `keys` were seen (one query in the durable stores; this default asks
    /// [`WebhookInbox::is_seen`] for each).
    async fn seen_among(&self, keys: &[String]) -> Result<HashSet<String>, StoreError> {
        let mut seen = HashSet::new();
        for key in keys {
            if self.is_seen(key).await? {
                seen.insert(key.clone());
            }
        }
        Ok(seen)
    }

    /// Forgets keys seen before `before` (Meta stops redelivering after a day or so); returns
    /// how many.
    async fn purge_seen(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// A server-side opt-in token: the `data-ref` of a Messenger plugin, standing for a profile
/// without revealing it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptinToken {
    /// The token (opaque, unguessable; at most 250 characters).
    pub token: String,
    /// The API space.
    pub space: String,
    /// The profile it stands for.
    pub profile_id: String,
    /// The caller's `data`, if any.
    pub data: Option<Value>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// The Messenger user the token is bound to: the first to redeem it. `None` until then
    /// (and always `None` when a token is stored).
    pub bound_to: Option<TokenBinding>,
}

/// The Messenger user an opt-in token was first redeemed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBinding {
    /// The page the user wrote to.
    pub page_id: String,
    /// The user's page-scoped id.
    pub psid: String,
    /// When the token was first redeemed.
    pub at: Timestamp,
}

/// What redeeming an opt-in token did ([`OptinTokens::redeem_optin_token`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Redemption {
    /// The token is bound to this user: just now (the first redemption), or earlier (the same
    /// user opting in again, or Meta redelivering).
    Redeemed(OptinToken),
    /// The token is bound to another user: a replayed token. Nothing was changed.
    UsedByAnother(OptinToken),
    /// There is no such token in the space, or it expired.
    Unknown,
}

/// Keeps opt-in tokens server-side, so any gateway instance can resolve them.
#[async_trait]
pub trait OptinTokens: Send + Sync {
    /// Stores a token (its `bound_to` is ignored: a new token is unbound). A token string
    /// already stored is a [`StoreError::Conflict`].
    async fn put_optin_token(&self, token: OptinToken) -> Result<(), StoreError>;

    /// The token of `space`, if it exists and has not expired at `now` (with its binding, if it
    /// was redeemed).
    async fn get_optin_token(
        &self,
        space: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<OptinToken>, StoreError>;

    /// Redeems the token of `space` for the user `psid` of page `page_id` at `now`: the first
    /// user to redeem a token is bound to it, atomically (of two users redeeming at once, exactly
    /// one is bound), and a token bound to another user is refused
    /// ([`Redemption::UsedByAnother`]). Expired tokens are [`Redemption::Unknown`].
    async fn redeem_optin_token(
        &self,
        space: &str,
        token: &str,
        page_id: &str,
        psid: &str,
        now: Timestamp,
    ) -> Result<Redemption, StoreError>;

    /// Deletes tokens expired at `now`; returns how many.
    async fn purge_expired_optin_tokens(&self, now: Timestamp) -> Result<u64, StoreError>;
}
