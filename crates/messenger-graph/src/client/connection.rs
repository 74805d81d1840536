//! The page's connection to the app, as Graph reports it: the token's validity, expiry and
//! permissions (`GET /debug_token`, or `GET /me` without the app's id), and the app's webhook
//! subscription to the page (`GET`/`POST /{page-id}/subscribed_apps`).

use messenger_model::graph::{DebugTokenResponse, SubscribedApps, SuccessResponse, TokenDebug};
use reqwest::header::HeaderValue;
use serde::Deserialize;

use super::GraphClient;
use crate::Error;

/// The page behind a page token (`GET /me`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PageIdentity {
    /// The page id.
    pub id: String,
    /// The page's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The app access token Graph accepts for `debug_token`: `{app id}|{app secret}`.
pub fn app_access_token(app_id: &str, app_secret: &str) -> String {
    format!("{app_id}|{app_secret}")
}

impl GraphClient {
    /// What Graph knows of this client's page token (`GET /debug_token?input_token=...`, asked
    /// with the app's token, [`app_access_token`]): valid or not (and why, as error 190 with its
    /// subcode), when it expires, its page and its permissions.
    ///
    /// The call itself fails only when the app's token is refused or Graph fails; an invalid
    /// page token is an answer (`is_valid: false`). graph.instagram.com has no `debug_token`:
    /// a client for Instagram Login fails with [`Error::Config`] (use
    /// [`GraphClient::instagram_me`] to check an Instagram user token).
    pub async fn debug_token(&self, app_token: &str) -> Result<TokenDebug, Error> {
        let page = self.page()?;
        if self.host() == Some(super::GraphHost::Instagram) {
            return Err(Error::Config {
                reason: "debug_token is graph.facebook.com's: an Instagram user token is checked \
                         with instagram_me"
                    .into(),
            });
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {app_token}")).map_err(|_| Error::Config {
                reason: "the app token has characters not allowed in a header".into(),
            })?;
        authorization.set_sensitive(true);
        let mut url = self
            .shared
            .api_root
            .join("debug_token")
            .map_err(|e| Error::Config {
                reason: format!("endpoint debug_token: {e}"),
            })?;
        url.query_pairs_mut()
            .append_pair("input_token", &page.token);
        let request = self.shared.http().get(url);
        let answer: DebugTokenResponse = self.execute_as(authorization, request).await?;
        Ok(answer.data)
    }

    /// The page behind this client's token (`GET /me?fields=id,name`, with `appsecret_proof`):
    /// a check that the token works, for an app whose id is not known.
    pub async fn me(&self) -> Result<PageIdentity, Error> {
        let page = self.page()?;
        let mut url = self.page_url(&page, &["me"])?;
        url.query_pairs_mut().append_pair("fields", "id,name");
        let request = self.shared.http().get(url);
        self.execute(&page, request).await
    }

    /// The apps subscribed to `page_id`'s webhooks, with their fields
    /// (`GET /{page-id}/subscribed_apps`).
    pub async fn subscribed_apps(&self, page_id: &str) -> Result<SubscribedApps, Error> {
        let page = self.page()?;
        check_page_id(page_id)?;
        let url = self.page_url(&page, &[page_id, "subscribed_apps"])?;
        let request = self.shared.http().get(url);
        self.execute(&page, request).await
    }

    /// Subscribes the app to `page_id`'s webhooks for `fields`
    /// (`POST /{page-id}/subscribed_apps?subscribed_fields=...`). Graph replaces the app's
    /// fields with these.
    pub async fn subscribe_app(&self, page_id: &str, fields: &[&str]) -> Result<(), Error> {
        let page = self.page()?;
        check_page_id(page_id)?;
        if fields.is_empty() {
            return Err(Error::InvalidInput {
                reason: "a subscription needs at least one field".into(),
            });
        }
        let mut url = self.page_url(&page, &[page_id, "subscribed_apps"])?;
        url.query_pairs_mut()
            .append_pair("subscribed_fields", &fields.join(","));
        let request = self.shared.http().post(url);
        let answer: SuccessResponse = self.execute(&page, request).await?;
        if answer.success {
            Ok(())
        } else {
            Err(Error::other(
                crate::ErrorKind::Permanent,
                "Graph did not confirm the subscription",
            ))
        }
    }
}

fn check_page_id(id: &str) -> Result<(), Error> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(ok) {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            reason: "a page id is 1-64 letters, digits, '_' or '-' (Graph's are digits)".into(),
        })
    }
}
