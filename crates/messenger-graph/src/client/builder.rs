//! Configuring a [`GraphClient`]: where Graph is, which version, which credentials, timeouts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;

use super::{Account, GraphClient, GraphHost, InstagramShared, Shared};
use crate::Error;

/// Where Graph is.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// Where Graph is for Instagram Login's accounts (Instagram user tokens).
pub const DEFAULT_INSTAGRAM_BASE_URL: &str = "https://graph.instagram.com";

/// The Graph API version the client calls unless told otherwise: v26.0 (released 2026-07-29),
/// although v27.0 is newer (decision 0021 says why). One constant, so an upgrade is a one-line
/// change; the versions the product knows are `messenger_model::graph::GRAPH_VERSIONS`.
pub const DEFAULT_GRAPH_VERSION: &str = "v26.0";

/// Default time for a whole request (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default number of connections requests spread over ([`GraphClientBuilder::connections`]):
/// over HTTP/2, eight connections of 100 streams carry 4,000 sends a second at Meta's 200 ms.
pub const DEFAULT_CONNECTIONS: usize = 8;

/// The most connections a client spreads over.
pub const MAX_CONNECTIONS: usize = 64;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Builds a [`GraphClient`]; start from [`GraphClient::builder`].
///
/// ```
/// use std::time::Duration;
/// use messenger_graph::GraphClient;
///
/// let client = GraphClient::builder()
///     .base_url("http://127.0.0.1:9000")
///     .version("v23.0")
///     .page_access_token("PAGE_TOKEN")
///     .app_secret("APP_SECRET")
///     .timeout(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("PAGE_TOKEN"));
///
/// // An Instagram professional account connected with Instagram Login.
/// let instagram = GraphClient::builder()
///     .instagram_base_url("http://127.0.0.1:9001")
///     .instagram_user_token("IG_USER_TOKEN")
///     .instagram_app_secret("INSTAGRAM_APP_SECRET")
///     .build()
///     .unwrap();
/// assert_eq!(instagram.host(), Some(messenger_graph::GraphHost::Instagram));
/// ```
#[derive(Clone)]
pub struct GraphClientBuilder {
    base_url: String,
    instagram_base_url: String,
    version: String,
    token: Option<String>,
    instagram_token: Option<String>,
    app_secret: Option<String>,
    instagram_app_secret: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: Option<usize>,
    http2_prior_knowledge: bool,
    connections: usize,
    user_agent: String,
}

impl Default for GraphClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            instagram_base_url: DEFAULT_INSTAGRAM_BASE_URL.to_owned(),
            version: DEFAULT_GRAPH_VERSION.to_owned(),
            token: None,
            instagram_token: None,
            app_secret: None,
            instagram_app_secret: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: None,
            pool_max_idle_per_host: None,
            http2_prior_knowledge: false,
            connections: DEFAULT_CONNECTIONS,
            user_agent: concat!("messenger-graph/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl fmt::Debug for GraphClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClientBuilder")
            .field("base_url", &self.base_url)
            .field("instagram_base_url", &self.instagram_base_url)
            .field("version", &self.version)
            .field(
                "page_access_token",
                &self.token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "instagram_user_token",
                &self.instagram_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "app_secret",
                &self.app_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "instagram_app_secret",
                &self.instagram_app_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl GraphClientBuilder {
    /// Graph's address (default [`DEFAULT_BASE_URL`]); a path prefix is kept.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Graph's address for Instagram Login's accounts (default
    /// [`DEFAULT_INSTAGRAM_BASE_URL`]; a simulator's address in tests); a path prefix is kept.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_base_url(mut self, url: impl Into<String>) -> Self {
        self.instagram_base_url = url.into();
        self
    }

    /// The Graph API version, `vNN.N` (default [`DEFAULT_GRAPH_VERSION`]), on both hosts.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The page access token, sent as `Authorization: Bearer`, never in the URL. Without one,
    /// the client can only make per-page clients ([`GraphClient::for_page`]).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn page_access_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// An Instagram user token (Instagram Login): the client's calls then go to the Instagram
    /// base URL ([`GraphHost::Instagram`]), the token in `Authorization: Bearer`. Not with
    /// [`GraphClientBuilder::page_access_token`] (a client has one account); for many
    /// accounts on one pool, see [`GraphClient::for_instagram_account`].
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_user_token(mut self, token: impl Into<String>) -> Self {
        self.instagram_token = Some(token.into());
        self
    }

    /// The Instagram app secret (Instagram Login's app has its own): calls with an Instagram
    /// user token then carry `appsecret_proof` keyed with it, as page calls do with
    /// [`GraphClientBuilder::app_secret`].
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn instagram_app_secret(mut self, secret: impl Into<String>) -> Self {
        self.instagram_app_secret = Some(secret.into());
        self
    }

    /// The app secret: every call with a page token then carries `appsecret_proof` = hex
    /// HMAC-SHA256(key = app secret, message = token), computed once per token.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// Time allowed for a whole request (default 30 s).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to establish a connection (default 5 s).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (reqwest's default: 90 s).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// Most idle connections kept per host (default: unbounded).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = Some(max);
        self
    }

    /// Speaks HTTP/2 from the first byte, without negotiating it (default: off). Over `https`,
    /// Graph (`graph.facebook.com`) negotiates HTTP/2 by itself, and every request to it is a
    /// stream on one shared connection; a plaintext `http://` Graph that serves HTTP/2, such as
    /// graph-sim, needs this to get the same, instead of one connection per request under way.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn http2_prior_knowledge(mut self, on: bool) -> Self {
        self.http2_prior_knowledge = on;
        self
    }

    /// How many independent connections (HTTP clients) requests spread over, in turn (default
    /// [`DEFAULT_CONNECTIONS`]; 1 to 64). Over HTTP/2 a connection carries at most the streams
    /// Graph allows at once (its `SETTINGS_MAX_CONCURRENT_STREAMS`; graph-sim: 200), and the
    /// client does not open a second connection when they are all taken: one connection then
    /// carries at most that many sends per round trip (200 at 200 ms: 1,000 a second). Over
    /// HTTP/1.1 each client still opens a connection per request under way.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n;
        self
    }

    /// The `User-Agent` header (default `messenger-graph/<version>`).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// One HTTP client with the builder's settings.
    fn http_client(&self) -> Result<reqwest::Client, Error> {
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .user_agent(self.user_agent.clone());
        if let Some(idle) = self.pool_idle_timeout {
            http = http.pool_idle_timeout(idle);
        }
        if let Some(max) = self.pool_max_idle_per_host {
            http = http.pool_max_idle_per_host(max);
        }
        if self.http2_prior_knowledge {
            http = http.http2_prior_knowledge();
        }
        http.build().map_err(|e| Error::Config {
            reason: format!("building the HTTP client: {}", e.without_url()),
        })
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<GraphClient, Error> {
        check_version(&self.version)?;
        let api_root = api_root(&self.base_url, &self.version)?;
        let instagram_api_root = api_root_of(
            "Instagram base URL",
            &self.instagram_base_url,
            &self.version,
        )?;
        let refresh_url = instagram_api_root
            .join("../refresh_access_token")
            .map_err(|e| config(&format!("the Instagram token refresh endpoint: {e}")))?;
        let proof_key = hmac_key("app secret", self.app_secret.as_deref())?;
        let instagram_proof_key =
            hmac_key("Instagram app secret", self.instagram_app_secret.as_deref())?;
        if self.token.is_some() && self.instagram_token.is_some() {
            return Err(config(
                "a client has one account: a page access token or an Instagram user token, not \
                 both",
            ));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.connections) {
            return Err(config(&format!(
                "connections must be 1 to {MAX_CONNECTIONS}, not {}",
                self.connections
            )));
        }
        let http = (0..self.connections)
            .map(|_| self.http_client())
            .collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            http,
            next: std::sync::atomic::AtomicUsize::new(0),
            api_root,
            base_url: self.base_url,
            version: self.version,
            proof_key,
            instagram: InstagramShared {
                api_root: instagram_api_root,
                refresh_url,
                base_url: self.instagram_base_url,
                proof_key: instagram_proof_key,
            },
        });
        let account = match (self.token, self.instagram_token) {
            (Some(token), _) => Some(Account::new(&shared, GraphHost::Facebook, &token)?),
            (None, Some(token)) => Some(Account::new(&shared, GraphHost::Instagram, &token)?),
            (None, None) => None,
        };
        Ok(GraphClient {
            shared,
            page: account.map(Arc::new),
        })
    }
}

/// The HMAC key of an app secret, if one is set (an empty one is refused).
fn hmac_key(what: &str, secret: Option<&str>) -> Result<Option<HmacSha256>, Error> {
    match secret {
        Some("") => Err(config(&format!("the {what} is empty"))),
        Some(secret) => HmacSha256::new_from_slice(secret.as_bytes())
            .map(Some)
            .map_err(|_| config(&format!("the {what} can't key HMAC-SHA256"))),
        None => Ok(None),
    }
}

fn config(reason: &str) -> Error {
    Error::Config {
        reason: reason.to_owned(),
    }
}

/// `vNN.N`.
fn check_version(version: &str) -> Result<(), Error> {
    let ok = version
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            reason: format!("Graph version {version:?} is not of the form v26.0"),
        })
    }
}

/// `{base}/{version}/`, with any path prefix of the base kept.
fn api_root(base: &str, version: &str) -> Result<Url, Error> {
    api_root_of("base URL", base, version)
}

/// [`api_root`] of the base URL called `what` in errors.
fn api_root_of(what: &str, base: &str, version: &str) -> Result<Url, Error> {
    let url = Url::parse(base).map_err(|e| Error::Config {
        reason: format!("{what} {base:?}: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config(&format!("the {what} must be http or https")));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(config(&format!(
            "the {what} must not carry a query, fragment or credentials"
        )));
    }
    let prefix = url.path().trim_end_matches('/');
    let mut root = url.clone();
    root.set_path(&format!("{prefix}/{version}/"));
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in ["v26.0", "v2.12", "v100.1"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "26.0", "v26", "v26.", "v.0", "v26.0/", "v26.0?x", "", "V26.0",
        ] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn api_roots() {
        let r = api_root("https://graph.facebook.com", "v26.0").unwrap();
        assert_eq!(r.as_str(), "https://graph.facebook.com/v26.0/");
        let r = api_root("http://127.0.0.1:9000/prefix/", "v23.0").unwrap();
        assert_eq!(r.as_str(), "http://127.0.0.1:9000/prefix/v23.0/");
        assert!(api_root("ftp://x", "v1.0").is_err());
        assert!(api_root("not a url", "v1.0").is_err());
        assert!(api_root("https://x/?access_token=1", "v1.0").is_err());
    }

    #[test]
    fn builder_rejects_bad_config() {
        assert!(GraphClient::builder().version("26").build().is_err());
        assert!(GraphClient::builder().app_secret("").build().is_err());
        assert!(GraphClient::builder()
            .page_access_token("bad\ntoken")
            .build()
            .is_err());
        assert!(GraphClient::builder()
            .page_access_token("")
            .build()
            .is_err());
        assert!(GraphClient::builder()
            .instagram_user_token("")
            .build()
            .is_err());
        assert!(GraphClient::builder()
            .instagram_app_secret("")
            .build()
            .is_err());
        assert!(GraphClient::builder()
            .instagram_base_url("ftp://graph.instagram.com")
            .build()
            .is_err());
        let both = GraphClient::builder()
            .page_access_token("PAGE-TOKEN")
            .instagram_user_token("IG-TOKEN")
            .build()
            .unwrap_err();
        assert!(matches!(both, Error::Config { .. }), "{both}");
        assert!(!both.to_string().contains("TOKEN"), "{both}");
    }

    #[test]
    fn instagram_roots_keep_the_prefix() {
        let c = GraphClient::builder()
            .instagram_base_url("http://127.0.0.1:9001/ig/")
            .version("v26.0")
            .build()
            .unwrap();
        assert_eq!(
            c.shared.instagram.api_root.as_str(),
            "http://127.0.0.1:9001/ig/v26.0/"
        );
        assert_eq!(
            c.shared.instagram.refresh_url.as_str(),
            "http://127.0.0.1:9001/ig/refresh_access_token"
        );
        let default = GraphClient::builder().build().unwrap();
        assert_eq!(default.instagram_base_url(), DEFAULT_INSTAGRAM_BASE_URL);
        assert_eq!(
            default.shared.instagram.refresh_url.as_str(),
            "https://graph.instagram.com/refresh_access_token"
        );
    }

    #[test]
    fn builder_debug_redacts() {
        let b = GraphClient::builder()
            .page_access_token("TOKEN-XYZ")
            .app_secret("SECRET-XYZ");
        let dbg = format!("{b:?}");
        assert!(
            !dbg.contains("TOKEN-XYZ") && !dbg.contains("SECRET-XYZ"),
            "{dbg}"
        );
        let b = GraphClient::builder()
            .instagram_user_token("IGTOKEN-XYZ")
            .instagram_app_secret("IGSECRET-XYZ");
        let dbg = format!("{b:?}");
        assert!(
            !dbg.contains("IGTOKEN-XYZ") && !dbg.contains("IGSECRET-XYZ"),
            "{dbg}"
        );
    }
}
