//! [`GraphClient`]: the [`Transport`] over HTTP, on one pooled reqwest client.

mod builder;
mod connection;
mod persona;
mod profile;
mod send;
mod thread;
mod upload;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hmac::Mac;
use messenger_model::graph::{
    GraphSendRequest, NewPersona, Persona, PersonaList, Recipient, SendResponse, SenderAction,
    ThreadAction,
};
use messenger_model::UserProfile;
use reqwest::header::HeaderValue;
use reqwest::Url;
use serde::de::DeserializeOwned;

pub use builder::{
    GraphClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECTIONS, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_GRAPH_VERSION, DEFAULT_TIMEOUT, MAX_CONNECTIONS,
};
pub use connection::{app_access_token, PageIdentity};
pub use persona::MAX_PERSONAS_PER_PAGE;
pub use profile::USER_PROFILE_FIELDS;

use crate::{AttachmentUpload, Error, Transport, Usage};
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
    page: Option<Arc<PageAuth>>,
}

/// What all pages share: the HTTP client (pool), the API root, the app secret's HMAC key.
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
}

impl Shared {
    /// The HTTP client for the next request: each of them in turn.
    fn http(&self) -> &reqwest::Client {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.http[i % self.http.len()]
    }
}

/// One page's credentials, with everything derived from them computed once.
struct PageAuth {
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    /// The token itself, for `debug_token`'s `input_token` (never shown).
    token: String,
    /// `.../me/messages[?appsecret_proof=...]`
    messages_url: Url,
    /// `.../me/message_attachments[?appsecret_proof=...]`
    attachments_url: Url,
    /// hex HMAC-SHA256(app secret, token), when an app secret is set.
    proof: Option<String>,
    /// The latest usage headers Graph sent for this page, and when.
    usage: Mutex<Option<(Usage, Instant)>>,
}

impl PageAuth {
    fn new(shared: &Shared, token: &str) -> Result<Self, Error> {
        if token.is_empty() {
            return Err(Error::Config {
                reason: "the page access token is empty".into(),
            });
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Config {
                reason: "the page access token has characters not allowed in a header".into(),
            })?;
        authorization.set_sensitive(true);
        let proof = shared.proof_key.as_ref().map(|key| {
            let mut mac = key.clone();
            mac.update(token.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        });
        let endpoint = |path: &str| -> Result<Url, Error> {
            let mut url = shared.api_root.join(path).map_err(|e| Error::Config {
                reason: format!("endpoint {path}: {e}"),
            })?;
            if let Some(p) = &proof {
                url.query_pairs_mut().append_pair("appsecret_proof", p);
            }
            Ok(url)
        };
        Ok(Self {
            authorization,
            token: token.to_owned(),
            messages_url: endpoint("me/messages")?,
            attachments_url: endpoint("me/message_attachments")?,
            proof,
            usage: Mutex::new(None),
        })
    }

    fn record_usage(&self, usage: Usage) {
        *self.usage.lock().unwrap_or_else(PoisonError::into_inner) = Some((usage, Instant::now()));
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
        let page = PageAuth::new(&self.shared, page_access_token.as_ref())?;
        Ok(Self {
            shared: Arc::clone(&self.shared),
            page: Some(Arc::new(page)),
        })
    }

    /// The Graph API version called.
    pub fn version(&self) -> &str {
        &self.shared.version
    }

    /// The base URL called.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The latest rate-limit usage Graph reported for this page (on any answer), if it is
    /// younger than [`USAGE_MAX_AGE`]: Graph leaves the headers out when usage is low, so an
    /// old report would keep a dispatcher slow for nothing.
    pub fn usage(&self) -> Option<Usage> {
        let page = self.page.as_ref()?;
        let latest = page.usage.lock().unwrap_or_else(PoisonError::into_inner);
        match &*latest {
            Some((usage, at)) if at.elapsed() <= USAGE_MAX_AGE => Some(usage.clone()),
            _ => None,
        }
    }

    fn page(&self) -> Result<&PageAuth, Error> {
        self.page.as_deref().ok_or_else(|| Error::Config {
            reason: "no page access token: set one on the builder or use for_page".into(),
        })
    }

    /// Sends a request built with the page's credentials and reads Graph's answer: `T` on
    /// success, a classified [`Error`] otherwise. Usage headers are recorded either way.
    async fn execute<T: DeserializeOwned>(
        &self,
        page: &PageAuth,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        self.execute_as(page, page.authorization.clone(), request)
            .await
    }

    /// [`GraphClient::execute`] with another `Authorization` (the app's token, for
    /// `debug_token`); usage headers are still the page's.
    async fn execute_as<T: DeserializeOwned>(
        &self,
        page: &PageAuth,
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
                page.record_usage(usage);
            }
            let body = response.bytes().await.map_err(Error::from_reqwest)?;
            return serde_json::from_slice(&body)
                .map_err(|source| Error::decode(status.as_u16(), source));
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        let error = Error::from_answer(status.as_u16(), &headers, &body);
        if let Some(usage) = error.usage() {
            page.record_usage(usage.clone());
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

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.shared.base_url)
            .field("version", &self.shared.version)
            .field(
                "page_access_token",
                &self.page.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "app_secret",
                &self.shared.proof_key.as_ref().map(|_| "<redacted>"),
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
        c.page().unwrap().record_usage(usage.clone());
        assert_eq!(c.usage(), Some(usage.clone()));
        let old = Instant::now()
            .checked_sub(USAGE_MAX_AGE + Duration::from_secs(1))
            .unwrap();
        *c.page().unwrap().usage.lock().unwrap() = Some((usage, old));
        assert_eq!(c.usage(), None);
    }

    #[tokio::test]
    async fn no_token_is_a_config_error() {
        let c = GraphClient::builder().build().unwrap();
        let e = c.user_profile("123").await.unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
    }
}
