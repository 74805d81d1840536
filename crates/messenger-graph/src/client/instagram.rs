//! Instagram Login's account calls on graph.instagram.com: who the token's account is
//! (`GET /me?fields=user_id,username`) and the long-lived token's refresh
//! (`GET /refresh_access_token?grant_type=ig_refresh_token`).
//!
//! Meta's Instagram Login pages: `/me` answers two ids, `id` (app-scoped, which no webhook
//! carries) and `user_id` (the professional account's id, the `entry.id` of Instagram
//! webhooks); a long-lived token lasts 60 days and may be refreshed once it is 24 hours old,
//! for another 60 days; an unrefreshed token expires.

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::{GraphClient, GraphHost};
use crate::Error;

/// The Instagram professional account behind an Instagram user token (`GET /me`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct InstagramMe {
    /// The app-scoped id: not what webhooks carry, so never a routing key.
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    /// The professional account's id: the `entry.id` of its webhooks, and the id a space's
    /// configuration names the account by.
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
    /// The account's username.
    #[serde(default)]
    pub username: Option<String>,
}

/// A refreshed Instagram user token (`GET /refresh_access_token`).
///
/// Its `Debug` output hides the token.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RefreshedToken {
    /// The new long-lived token: store it, then give it to the client
    /// ([`GraphClient::set_access_token`]).
    pub access_token: String,
    /// Seconds until the new token expires (about 60 days).
    pub expires_in: u64,
}

impl fmt::Debug for RefreshedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshedToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl GraphClient {
    /// The Instagram professional account behind this client's Instagram user token
    /// (`GET /{version}/me?fields=user_id,username` on graph.instagram.com): a check at start
    /// that the token works and belongs to the configured account, which is
    /// [`InstagramMe::user_id`] (not the app-scoped `id`).
    ///
    /// Fails with [`Error::Config`] on a client without an Instagram user token.
    pub async fn instagram_me(&self) -> Result<InstagramMe, Error> {
        let page = self.instagram_account("instagram_me")?;
        let mut url = self.page_url(&page, &["me"])?;
        url.query_pairs_mut()
            .append_pair("fields", "user_id,username");
        let request = self.shared.http().get(url);
        self.execute(&page, request).await
    }

    /// Refreshes this client's long-lived Instagram user token
    /// (`GET {instagram base}/refresh_access_token?grant_type=ig_refresh_token&access_token=...`,
    /// the token in the query as Meta's endpoint takes it) and returns the new one with its
    /// lifetime. Meta refreshes a token at least 24 hours old that has not expired.
    ///
    /// The client keeps the token it has: store the new one where every instance reads it,
    /// then [`GraphClient::set_access_token`]. Errors name no token (the HTTP client's errors
    /// drop the URL). Fails with [`Error::Config`] on a client without an Instagram user
    /// token, and with [`Error::Decode`] when Graph answers no token.
    pub async fn refresh_access_token(&self) -> Result<RefreshedToken, Error> {
        let page = self.instagram_account("refresh_access_token")?;
        let mut url = self.shared.instagram.refresh_url.clone();
        url.query_pairs_mut()
            .append_pair("grant_type", "ig_refresh_token")
            .append_pair("access_token", &page.token);
        let request = self.shared.http().get(url);
        let refreshed: RefreshedToken = self.execute(&page, request).await?;
        if refreshed.access_token.is_empty() {
            return Err(Error::decode(
                200,
                "the token refresh answered an empty access_token",
            ));
        }
        Ok(refreshed)
    }

    /// The credentials of an Instagram Login client, or why `call` cannot be made.
    fn instagram_account(&self, call: &str) -> Result<std::sync::Arc<super::PageAuth>, Error> {
        let page = self.page()?;
        if self.host() == Some(GraphHost::Instagram) {
            Ok(page)
        } else {
            Err(Error::Config {
                reason: format!(
                    "{call} is Instagram Login's: build the client with instagram_user_token or \
                     for_instagram_account"
                ),
            })
        }
    }
}

/// An id Graph may answer as a string or a number.
fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_takes_ids_as_strings_or_numbers() {
        let me: InstagramMe = serde_json::from_str(
            r#"{"id":"7000000000000001","user_id":17841400000000001,"username":"shop"}"#,
        )
        .unwrap();
        assert_eq!(me.id, "7000000000000001");
        assert_eq!(me.user_id, "17841400000000001");
        assert_eq!(me.username.as_deref(), Some("shop"));
        let bare: InstagramMe = serde_json::from_str(r#"{"id":"1","user_id":"2"}"#).unwrap();
        assert_eq!(bare.username, None);
        assert!(serde_json::from_str::<InstagramMe>(r#"{"id":"1"}"#).is_err());
    }

    #[test]
    fn refreshed_token_debug_hides_the_token() {
        let t: RefreshedToken = serde_json::from_str(
            r#"{"access_token":"IGQ-SECRET","token_type":"bearer","expires_in":5183944}"#,
        )
        .unwrap();
        assert_eq!(t.expires_in, 5_183_944);
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("IGQ-SECRET"), "{dbg}");
        assert!(dbg.contains("5183944"), "{dbg}");
    }

    #[tokio::test]
    async fn instagram_calls_need_an_instagram_token() {
        let page = GraphClient::builder()
            .page_access_token("PAGE-TOKEN")
            .build()
            .unwrap();
        for e in [
            page.instagram_me().await.unwrap_err(),
            page.refresh_access_token().await.unwrap_err(),
        ] {
            assert!(matches!(e, Error::Config { .. }), "{e}");
            assert!(!e.to_string().contains("PAGE-TOKEN"), "{e}");
        }
        let none = GraphClient::builder().build().unwrap();
        assert!(matches!(
            none.instagram_me().await.unwrap_err(),
            Error::Config { .. }
        ));
        let ig = page.for_instagram_account("IG-TOKEN").unwrap();
        let e = ig.debug_token("APP|SECRET").await.unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
    }
}
