//! [`GraphClient`]: the [`Transport`] over HTTP, on one pooled reqwest client.

mod account;
mod builder;
mod connection;
mod instagram;
mod persona;
mod profile;
mod send;
mod thread;
mod upload;

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use messenger_model::graph::{
    GraphSendRequest, NewPersona, Persona, PersonaList, Recipient, SendResponse, SenderAction,
    ThreadAction,
};
use messenger_model::UserProfile;
use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::de::DeserializeOwned;

pub use account::GraphHost;
pub use builder::{
    GraphClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECTIONS, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_GRAPH_VERSION, DEFAULT_INSTAGRAM_BASE_URL, DEFAULT_TIMEOUT, MAX_CONNECTIONS,
};
pub use connection::{app_access_token, PageIdentity};
pub use instagram::{InstagramMe, RefreshedToken};
pub use persona::MAX_PERSONAS_PER_PAGE;
pub use profile::USER_PROFILE_FIELDS;

use crate::{AttachmentUpload, Error, Transport, Usage};
use account::{Account, PageAuth};
use builder::HmacSha256;

/// How long [`GraphClient::usage`] keeps returning a usage report with no newer one.
pub const USAGE_MAX_AGE: Duration = Duration::from_secs(300);

/// A Graph API client for one page, over HTTP (reqwest, rustls, pooled connections).
///
/// Cheap to clone; clones and [`GraphClient::for_page`] clients share one connection pool.
/// The page access token travels in `Authorization: Bearer`, never in the URL, and neither it
/// nor the app secret appears in `Debug` output or error messages.
///
/// ```no_run
/// # async fn demo() -> Result<(), messenger_graph::Error> {
/// use messenger_graph::GraphClient;
/// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
///
/// let client = GraphClient::builder()
///     .page_access_token("PAGE_TOKEN")
///     .app_secret("APP_SECRET")
///     .build()?;
/// let req = GraphSendRequest::message(Recipient::psid("1234567890"), Message::text("Hello"));
/// let sent = client.send(&req).await?;
/// println!("sent {:?}", sent.message_id);
///
/// // Another page, same connection pool.
/// let other = client.for_page("OTHER_PAGE_TOKEN")?;
/// # let _ = other;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GraphClient {
    shared: Arc<Shared>,
    /// The account (page, or Instagram account) whose token the calls carry.
    page: Option<Arc<Account>>,
}

/// What all accounts share: the HTTP client (pool), the API roots, the app secrets' HMAC keys.
struct Shared {
    /// Independent HTTP clients, used in turn: each keeps its own connection to Graph, so over
    /// HTTP/2 the sends under way spread over this many connections ([`GraphClientBuilder::connections`]).
    http: Vec<reqwest::Client>,
    /// The next of `http` to use.
    next: std::sync::atomic::AtomicUsize,
    /// `{base}/{version}/`
    api_root: Url,
    base_url: String,
    version: String,
    proof_key: Option<HmacSha256>,
    /// Where Instagram Login's accounts are served (graph.instagram.com).
    instagram: InstagramShared,
}

/// graph.instagram.com, for accounts connected with Instagram Login.
struct InstagramShared {
    /// `{instagram base}/{version}/`
    api_root: Url,
    /// `{instagram base}/refresh_access_token` (no version).
    refresh_url: Url,
    base_url: String,
    /// The Instagram app secret's HMAC key (Instagram Login has an app of its own).
    proof_key: Option<HmacSha256>,
}

impl Shared {
    /// The HTTP client for the next request: each of them in turn.
    fn http(&self) -> &reqwest::Client {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.http[i % self.http.len()]
    }
}

impl GraphClient {
    /// Starts configuring a client.
    pub fn builder() -> GraphClientBuilder {
        GraphClientBuilder::default()
    }

    /// A client for another page (its page access token), sharing this client's connection
    /// pool, base URL, version and app secret. For gateways serving many pages.
    pub fn for_page(&self, page_access_token: impl AsRef<str>) -> Result<GraphClient, Error> {
        self.for_account(GraphHost::Facebook, page_access_token.as_ref())
    }

    /// The Graph API version called.
    pub fn version(&self) -> &str {
        &self.shared.version
    }

    /// The base URL called for page tokens ([`GraphHost::Facebook`]).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The base URL called for Instagram user tokens ([`GraphHost::Instagram`]).
    pub fn instagram_base_url(&self) -> &str {
        &self.shared.instagram.base_url
    }

    /// The latest rate-limit usage Graph reported for this page (on any answer), if it is
    /// younger than [`USAGE_MAX_AGE`]: Graph leaves the headers out when usage is low, so an
    /// old report would keep a dispatcher slow for nothing.
    pub fn usage(&self) -> Option<Usage> {
        let account = self.page.as_ref()?;
        let latest = account.usage.lock().unwrap_or_else(PoisonError::into_inner);
        match &*latest {
            Some((usage, at)) if at.elapsed() <= USAGE_MAX_AGE => Some(usage.clone()),
            _ => None,
        }
    }

    /// The credentials calls use now.
    fn page(&self) -> Result<Arc<PageAuth>, Error> {
        self.page
            .as_deref()
            .map(Account::current)
            .ok_or_else(|| Error::Config {
                reason: "no access token: set one on the builder or use for_page or \
                         for_instagram_account"
                    .into(),
            })
    }

    /// Sends a request built with the account's credentials and reads Graph's answer: `T` on
    /// success, a classified [`Error`] otherwise. Usage headers are recorded either way.
    async fn execute<T: DeserializeOwned>(
        &self,
        page: &PageAuth,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        self.execute_as(page.authorization.clone(), request).await
    }

    /// [`GraphClient::execute`] with another `Authorization` (the app's token, for
    /// `debug_token`); usage headers are still the account's.
    async fn execute_as<T: DeserializeOwned>(
        &self,
        authorization: HeaderValue,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let response = request
            .header(reqwest::header::AUTHORIZATION, authorization)
            .send()
            .await
            .map_err(Error::from_reqwest)?;
        let status = response.status();
        if status.is_success() {
            if let Some(usage) = Usage::from_headers(response.headers()) {
                self.record_usage(usage);
            }
            let body = response.bytes().await.map_err(Error::from_reqwest)?;
            return serde_json::from_slice(&body)
                .map_err(|source| Error::decode(status.as_u16(), source));
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        let error = Error::from_answer(status.as_u16(), &headers, &body);
        if let Some(usage) = error.usage() {
            self.record_usage(usage.clone());
        }
        tracing::debug!(
            status = status.as_u16(),
            kind = error.kind().as_str(),
            error = %error,
            "Graph call failed"
        );
        Err(error)
    }
}

impl GraphClient {
    fn record_usage(&self, usage: Usage) {
        if let Some(account) = &self.page {
            account.record_usage(usage);
        }
    }
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.shared.base_url)
            .field("instagram_base_url", &self.shared.instagram.base_url)
            .field("version", &self.shared.version)
            .field("host", &self.host())
            .field("access_token", &self.page.as_ref().map(|_| "<redacted>"))
            .field(
                "app_secret",
                &self.shared.proof_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "instagram_app_secret",
                &self
                    .shared
                    .instagram
                    .proof_key
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[async_trait]
impl Transport for GraphClient {
    async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
        GraphClient::send(self, req).await
    }

    async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
        GraphClient::upload_attachment(self, upload).await
    }

    async fn sender_action(
        &self,
        recipient: &Recipient,
        action: SenderAction,
    ) -> Result<(), Error> {
        GraphClient::sender_action(self, recipient, action).await
    }

    async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
        GraphClient::user_profile(self, psid).await
    }

    async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
        GraphClient::create_persona(self, persona).await
    }

    async fn personas(&self, after: Option<&str>, limit: u32) -> Result<PersonaList, Error> {
        GraphClient::personas(self, after, limit).await
    }

    async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
        GraphClient::delete_persona(self, persona_id).await
    }

    async fn thread_control(
        &self,
        psid: &str,
        action: &ThreadAction,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        GraphClient::thread_control(self, psid, action, metadata).await
    }

    async fn thread_owner(&self, psid: &str) -> Result<Option<String>, Error> {
        GraphClient::thread_owner(self, psid).await
    }

    fn usage(&self) -> Option<Usage> {
        GraphClient::usage(self)
    }
}

#[cfg(test)]
mod tests {
    use hmac::Mac;

    use super::*;

    fn client(secret: Option<&str>) -> GraphClient {
        let mut b = GraphClient::builder()
            .base_url("http://127.0.0.1:1")
            .version("v26.0")
            .page_access_token("TOKEN-abc");
        if let Some(s) = secret {
            b = b.app_secret(s);
        }
        b.build().unwrap()
    }

    #[test]
    fn appsecret_proof_is_hmac_of_token_and_goes_in_query() {
        let c = client(Some("SECRET"));
        let page = c.page().unwrap();
        let mut mac = HmacSha256::new_from_slice(b"SECRET").unwrap();
        mac.update(b"TOKEN-abc");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(page.proof.as_deref(), Some(want.as_str()));
        assert_eq!(
            page.messages_url.as_str(),
            format!("http://127.0.0.1:1/v26.0/me/messages?appsecret_proof={want}")
        );
        assert!(!page.messages_url.as_str().contains("TOKEN"));
        assert!(page.authorization.is_sensitive());
    }

    #[test]
    fn no_secret_no_proof() {
        let c = client(None);
        let page = c.page().unwrap();
        assert_eq!(page.proof, None);
        assert_eq!(
            page.attachments_url.as_str(),
            "http://127.0.0.1:1/v26.0/me/message_attachments"
        );
    }

    #[test]
    fn for_page_shares_pool_and_has_its_own_proof() {
        let a = client(Some("SECRET"));
        let b = a.for_page("OTHER").unwrap();
        assert!(Arc::ptr_eq(&a.shared, &b.shared));
        assert_ne!(a.page().unwrap().proof, b.page().unwrap().proof);
    }

    #[test]
    fn debug_hides_token_and_secret() {
        let c = client(Some("SECRET-123"));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("TOKEN-abc"), "{dbg}");
        assert!(!dbg.contains("SECRET-123"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn usage_reports_expire() {
        let c = client(None);
        assert_eq!(c.usage(), None);
        let usage = Usage::from_header_values(
            Some(r#"{"call_count":90,"total_cputime":1,"total_time":1}"#),
            None,
            None,
        )
        .unwrap();
        c.record_usage(usage.clone());
        assert_eq!(c.usage(), Some(usage.clone()));
        // A new token keeps what Graph reported of the account.
        c.set_access_token("TOKEN-new").unwrap();
        assert_eq!(c.usage(), Some(usage.clone()));
        let old = std::time::Instant::now()
            .checked_sub(USAGE_MAX_AGE + Duration::from_secs(1))
            .unwrap();
        *c.page.as_ref().unwrap().usage.lock().unwrap() = Some((usage, old));
        assert_eq!(c.usage(), None);
    }

    #[test]
    fn a_new_token_reaches_every_clone_with_its_own_proof() {
        let c = client(Some("SECRET"));
        let clone = c.clone();
        let other = c.for_page("OTHER").unwrap();
        let before = c.page().unwrap();
        c.set_access_token("TOKEN-new").unwrap();
        let after = clone.page().unwrap();
        assert_eq!(after.token, "TOKEN-new");
        assert_eq!(
            after.authorization,
            HeaderValue::from_static("Bearer TOKEN-new")
        );
        assert!(after.authorization.is_sensitive());
        assert_ne!(after.proof, before.proof);
        assert_ne!(after.messages_url, before.messages_url);
        // The credentials taken before the change are unchanged (a call under way keeps them).
        assert_eq!(before.token, "TOKEN-abc");
        // Another account is not touched.
        assert_eq!(other.page().unwrap().token, "OTHER");
        // A bad token is refused without naming it, and the current one stays.
        let e = c.set_access_token("bad\nTOKEN-x").unwrap_err();
        assert!(!e.to_string().contains("TOKEN-x"), "{e}");
        assert_eq!(c.page().unwrap().token, "TOKEN-new");
        let none = GraphClient::builder().build().unwrap();
        assert!(matches!(
            none.set_access_token("T"),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn instagram_accounts_call_the_instagram_host_with_its_secret() {
        let c = GraphClient::builder()
            .base_url("http://127.0.0.1:1")
            .instagram_base_url("http://127.0.0.1:2/ig")
            .version("v26.0")
            .app_secret("FB-SECRET")
            .instagram_app_secret("IG-SECRET")
            .instagram_user_token("IG-TOKEN")
            .build()
            .unwrap();
        assert_eq!(c.host(), Some(GraphHost::Instagram));
        let page = c.page().unwrap();
        let mut mac = HmacSha256::new_from_slice(b"IG-SECRET").unwrap();
        mac.update(b"IG-TOKEN");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            page.messages_url.as_str(),
            format!("http://127.0.0.1:2/ig/v26.0/me/messages?appsecret_proof={want}")
        );
        // A page of the same client goes to graph.facebook.com with the Facebook app's secret.
        let fb = c.for_page("PAGE-TOKEN").unwrap();
        assert_eq!(fb.host(), Some(GraphHost::Facebook));
        assert!(fb
            .page()
            .unwrap()
            .messages_url
            .as_str()
            .starts_with("http://127.0.0.1:1/v26.0/me/messages?appsecret_proof="));
        // A new token keeps the account on its host.
        c.set_access_token("IG-TOKEN-2").unwrap();
        assert!(c
            .page()
            .unwrap()
            .messages_url
            .as_str()
            .starts_with("http://127.0.0.1:2/ig/v26.0/me/messages?"));
        let dbg = format!("{c:?}");
        for secret in ["IG-TOKEN", "IG-SECRET", "FB-SECRET"] {
            assert!(!dbg.contains(secret), "{dbg}");
        }
        // Without an Instagram app secret, no proof on Instagram calls.
        let plain = GraphClient::builder()
            .instagram_user_token("IG-TOKEN")
            .app_secret("FB-SECRET")
            .build()
            .unwrap();
        assert_eq!(plain.page().unwrap().proof, None);
        assert_eq!(
            plain.page().unwrap().messages_url.as_str(),
            "https://graph.instagram.com/v26.0/me/messages"
        );
    }

    #[tokio::test]
    async fn no_token_is_a_config_error() {
        let c = GraphClient::builder().build().unwrap();
        let e = c.user_profile("123").await.unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
    }
}
