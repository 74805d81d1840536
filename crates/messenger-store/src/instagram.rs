//! Instagram Login tokens shared by every instance on one store ([`InstagramTokens`]).
//!
//! An Instagram professional account connected with Instagram Login sends with a long-lived
//! Instagram user token: it lasts 60 days and is refreshed before it ends (Meta refreshes a
//! token at least 24 hours old, for another 60 days). The instance that refreshes it saves the
//! new token here, so every instance sharing the store sends with it, and a restart does not go
//! back to the configured token once that has been refreshed away. A refresh that failed is
//! recorded beside the token, so any instance (and the `doctor` command) can say which
//! account's token will expire and why.
//!
//! The token is stored as it is, not encrypted: whoever can read the database can send as the
//! account, as whoever can read the configuration can. It is not customer data: erasure and
//! retention leave it alone.

use std::fmt;

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::StoreError;

/// The longest an Instagram account id may be (Meta's are under 20 digits).
pub const MAX_INSTAGRAM_ACCOUNT_ID_LEN: usize = 128;

/// The longest token accepted (Meta's Instagram user tokens are a few hundred bytes).
pub const MAX_INSTAGRAM_TOKEN_LEN: usize = 4096;

/// The longest reason a refresh failure keeps; a longer one is cut at a character boundary.
pub const MAX_REFRESH_FAILURE_LEN: usize = 1024;

/// An Instagram account's token as stored: the token, when it was issued and when it expires,
/// and the last refresh that failed since it was saved. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The long-lived Instagram user token.
    pub token: String,
    /// When it was issued (refreshed, or first configured).
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The last refresh that failed since the token was saved, if any.
    pub refresh_failure: Option<RefreshFailure>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("token", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("refresh_failure", &self.refresh_failure)
            .finish()
    }
}

/// A refresh of an account's token that failed: why (what Graph or the network said; never a
/// token), and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFailure {
    /// Why, at most [`MAX_REFRESH_FAILURE_LEN`] bytes.
    pub reason: String,
    /// When the refresh failed.
    pub at: Timestamp,
}

/// Instagram Login tokens, one per Instagram professional account, shared by every instance.
#[async_trait]
pub trait InstagramTokens: Send + Sync {
    /// Saves `token` as `account_id`'s token, issued at `issued_at`, expiring at `expires_at`,
    /// and forgets any refresh failure; unless the token stored was issued later (another
    /// instance refreshed since), which is kept. Returns whether `token` was saved.
    ///
    /// [`StoreError::Invalid`] when the account id is empty or longer than
    /// [`MAX_INSTAGRAM_ACCOUNT_ID_LEN`], the token empty or longer than
    /// [`MAX_INSTAGRAM_TOKEN_LEN`], or `expires_at` is not after `issued_at` (the message names
    /// the field, never the token).
    async fn save_instagram_token(
        &self,
        account_id: &str,
        token: &str,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// `account_id`'s stored token, if one was saved.
    async fn instagram_token(&self, account_id: &str) -> Result<Option<StoredToken>, StoreError>;

    /// Records that refreshing `account_id`'s token failed at `at` for `reason` (cut to
    /// [`MAX_REFRESH_FAILURE_LEN`] bytes), replacing an earlier failure; the next save forgets
    /// it. Returns whether a token is stored for the account (nothing is recorded otherwise:
    /// save the configured token first).
    async fn record_instagram_refresh_failure(
        &self,
        account_id: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Checks an account id ([`StoreError::Invalid`] naming the field).
pub fn check_instagram_account_id(account_id: &str) -> Result<(), StoreError> {
    if account_id.is_empty() || account_id.len() > MAX_INSTAGRAM_ACCOUNT_ID_LEN {
        return Err(StoreError::invalid(format!(
            "an Instagram account id must have 1 to {MAX_INSTAGRAM_ACCOUNT_ID_LEN} bytes"
        )));
    }
    Ok(())
}

/// Checks what [`InstagramTokens::save_instagram_token`] is given ([`StoreError::Invalid`]
/// naming the field, never the token).
pub fn check_instagram_token(
    account_id: &str,
    token: &str,
    issued_at: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    check_instagram_account_id(account_id)?;
    if token.is_empty() || token.len() > MAX_INSTAGRAM_TOKEN_LEN {
        return Err(StoreError::invalid(format!(
            "an Instagram token must have 1 to {MAX_INSTAGRAM_TOKEN_LEN} bytes"
        )));
    }
    if expires_at <= issued_at {
        return Err(StoreError::invalid(
            "an Instagram token's expires_at must be after its issued_at",
        ));
    }
    Ok(())
}

/// `reason` cut to at most [`MAX_REFRESH_FAILURE_LEN`] bytes, at a character boundary.
pub fn refresh_failure_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REFRESH_FAILURE_LEN {
        return reason;
    }
    let mut end = MAX_REFRESH_FAILURE_LEN;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        assert_eq!(refresh_failure_reason("short"), "short");
        let long = "é".repeat(MAX_REFRESH_FAILURE_LEN);
        let cut = refresh_failure_reason(&long);
        assert_eq!(cut.len(), MAX_REFRESH_FAILURE_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
        let odd = format!("a{long}");
        assert_eq!(
            refresh_failure_reason(&odd).len(),
            MAX_REFRESH_FAILURE_LEN - 1
        );
    }

    #[test]
    fn invalid_saves_name_the_field_not_the_token() {
        let t = Timestamp::from_millis(1_000);
        let later = t.add_millis(1);
        let cases = [
            check_instagram_token("", "TOKEN-1", t, later),
            check_instagram_token(
                &"1".repeat(MAX_INSTAGRAM_ACCOUNT_ID_LEN + 1),
                "TOKEN-1",
                t,
                later,
            ),
            check_instagram_token("17841400000000001", "", t, later),
            check_instagram_token(
                "17841400000000001",
                &"T".repeat(MAX_INSTAGRAM_TOKEN_LEN + 1),
                t,
                later,
            ),
            check_instagram_token("17841400000000001", "TOKEN-1", t, t),
        ];
        for case in cases {
            let e = case.unwrap_err();
            assert!(matches!(e, StoreError::Invalid { .. }), "{e:?}");
            assert!(!e.to_string().contains("TOKEN-1"), "{e}");
        }
        assert!(check_instagram_token("17841400000000001", "TOKEN-1", t, later).is_ok());
    }

    #[test]
    fn debug_hides_the_token() {
        let t = StoredToken {
            token: "IGAA-secret".into(),
            issued_at: Timestamp::from_millis(1),
            expires_at: Timestamp::from_millis(2),
            refresh_failure: None,
        };
        assert!(!format!("{t:?}").contains("IGAA-secret"));
    }
}
