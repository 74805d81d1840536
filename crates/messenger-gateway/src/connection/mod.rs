//! Each page's connection to Meta as a living thing (decision 0022): its token checked at start
//! and periodically ([`token`]), a page whose token stopped working put in `needs_reauth` (its
//! messages wait; [`messenger::send::page::PageHealth::needs_reauth`]) and taken out of it by a
//! valid check or a new token ([`PageConnections::token_replaced`]); the app's webhook
//! subscription ([`PageConnections::subscribe`]); the last signed webhook delivery per page and
//! field ([`webhook`]); and the doctor that reports all of it ([`doctor`]).
//!
//! Each transition is logged once (a page starts or stops needing reauthorisation), never per
//! message.

pub mod doctor;
pub mod fields;
mod reauth;
pub mod token;
pub mod webhook;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use messenger::Messenger;
use messenger_graph::{app_access_token, GraphClient};
use messenger_model::Timestamp;
use messenger_store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Secret};
use doctor::{PageReport, Report};
use token::{check_token, TokenCheck, TokenState};
use webhook::WebhookSightings;

/// The longest a page waiting for new credentials goes unchecked.
pub const REAUTH_CHECK: Duration = Duration::from_secs(60);

/// One space's page: its client (with the space's token) and what the last check found.
struct PageLink {
    space: String,
    page_id: String,
    client: Mutex<GraphClient>,
    needed_fields: Vec<&'static str>,
    last: Mutex<Option<TokenCheck>>,
    /// What this instance last recorded in the store of the page's `needs_reauth`.
    recorded: reauth::Recorded,
}

impl PageLink {
    fn client(&self) -> GraphClient {
        self.client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

struct Inner {
    base: GraphClient,
    pages: Vec<PageLink>,
    app_token: Option<Secret>,
    version: String,
    check_every: Duration,
    webhook: Arc<WebhookSightings>,
    /// Where every instance records the webhook's last deliveries (none: this instance's own
    /// are all the doctor has).
    store: Option<Arc<dyn Store>>,
    /// Asks the checker for a round now (a token was replaced).
    check_now: Notify,
}

/// Every configured page's connection. Cheap to clone.
#[derive(Clone)]
pub struct PageConnections {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PageConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageConnections")
            .field("pages", &self.inner.pages.len())
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

impl PageConnections {
    /// The pages of `config`, each with a Graph client of its own token (one connection pool
    /// for all), recording and reading the webhook's last deliveries in `store` when given.
    pub fn new(
        config: &Config,
        store: Option<Arc<dyn Store>>,
    ) -> Result<Self, messenger_graph::Error> {
        let fb = &config.facebook;
        let base = GraphClient::builder()
            .base_url(&fb.graph_base_url)
            .version(&fb.graph_version)
            .app_secret(fb.app_secret.expose())
            .http2_prior_knowledge(fb.graph_http2_prior_knowledge)
            .connections(1)
            .build()?;
        let pages = config
            .spaces
            .iter()
            .map(|s| {
                Ok(PageLink {
                    space: s.id.clone(),
                    page_id: s.page_id.clone(),
                    client: Mutex::new(base.for_page(s.page_token.expose())?),
                    needed_fields: fields::needed_fields(s),
                    last: Mutex::new(None),
                    recorded: reauth::Recorded::default(),
                })
            })
            .collect::<Result<Vec<_>, messenger_graph::Error>>()?;
        let app_token = fb
            .app_id
            .as_ref()
            .map(|id| Secret::new(app_access_token(id, fb.app_secret.expose())));
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                webhook: Arc::new(WebhookSightings::new(
                    pages.iter().map(|p| p.page_id.clone()),
                )),
                store,
                pages,
                app_token,
                version: fb.graph_version.clone(),
                check_every: fb.token_check,
                check_now: Notify::new(),
            }),
        })
    }

    /// Where Meta's verified webhook bodies are recorded.
    pub fn webhook(&self) -> &WebhookSightings {
        &self.inner.webhook
    }

    /// Writes the webhook's last deliveries to the store as they become due
    /// ([`webhook::WRITE_EVERY`]) until `cancel`, then what is left; nothing without a store.
    pub async fn record_sightings(self, cancel: CancellationToken) {
        if let Some(store) = self.inner.store.clone() {
            Arc::clone(&self.inner.webhook).run(store, cancel).await;
        }
    }

    /// When each of `fields` of `page_id` last arrived signed, as any instance recorded it in
    /// the store or this one saw it (the later); and what kept the store from answering.
    async fn last_seen(
        &self,
        page_id: &str,
        fields: &[&'static str],
    ) -> (Vec<(String, Option<Timestamp>)>, Option<String>) {
        let (stored, error) = match &self.inner.store {
            None => (Vec::new(), None),
            Some(store) => match store.webhook_sightings(page_id).await {
                Ok(s) => (s, None),
                Err(e) => (Vec::new(), Some(messenger::error_chain(&e))),
            },
        };
        let seen = fields
            .iter()
            .map(|f| {
                let here = self.inner.webhook.last(page_id, f);
                let there = stored.iter().find(|s| s.field == *f).map(|s| s.at);
                ((*f).to_owned(), here.max(there))
            })
            .collect();
        (seen, error)
    }

    /// The last token check of `space`'s page.
    pub fn last_check(&self, space: &str) -> Option<TokenCheck> {
        self.inner
            .pages
            .iter()
            .find(|p| p.space == space)
            .and_then(|p| {
                p.last
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
    }

    /// A new token for `page_id` was put in place (a configuration reload): the spaces of the
    /// page check with it from now on, leave `needs_reauth` at once (their waiting messages go
    /// out; a call that fails with the new token puts them back) and are checked again now.
    /// Returns how many spaces send from the page.
    pub fn token_replaced(
        &self,
        messenger: &Messenger,
        page_id: &str,
        token: &Secret,
    ) -> Result<usize, messenger_graph::Error> {
        let client = self.inner.base.for_page(token.expose())?;
        let mut n = 0;
        for link in self.inner.pages.iter().filter(|p| p.page_id == page_id) {
            *link.client.lock().unwrap_or_else(PoisonError::into_inner) = client.clone();
            n += 1;
        }
        for space in messenger.spaces().filter(|s| s.page_id == page_id) {
            if space.health.token_replaced() {
                tracing::info!(
                    space = %space.id,
                    page = %page_id,
                    "a new token for the page: its messages are sent again"
                );
            }
        }
        self.inner.check_now.notify_one();
        Ok(n)
    }

    /// Checks every page's token once and applies the results to `messenger`'s pages (when
    /// given): an invalid token puts the page in `needs_reauth`, a valid one takes it out.
    /// Returns whether some page left `needs_reauth`.
    pub async fn check_all(&self, messenger: Option<&Messenger>, only_due: bool) -> bool {
        let now = Timestamp::now();
        let mut cleared = false;
        for link in &self.inner.pages {
            let reauth = messenger.is_some_and(|m| {
                m.spaces()
                    .any(|s| s.id == link.space && s.health.reauth().is_some())
            });
            if only_due && !self.due(link, reauth, now) {
                continue;
            }
            let app = self.inner.app_token.as_ref().map(Secret::expose);
            let check = check_token(&link.client(), app, now).await;
            if let Some(m) = messenger {
                cleared |= apply(m, link, &check, now);
            }
            if let (TokenState::Valid, Some(store)) = (check.state, &self.inner.store) {
                reauth::token_works(store.as_ref(), &link.page_id).await;
            }
            *link.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(check);
        }
        cleared
    }

    /// Whether `link` is due for a check at `now`.
    fn due(&self, link: &PageLink, reauth: bool, now: Timestamp) -> bool {
        let every = if reauth {
            self.inner.check_every.min(REAUTH_CHECK)
        } else {
            self.inner.check_every
        };
        let last = link.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.as_ref().is_none_or(|c| {
            now.millis() - c.at.millis() >= i64::try_from(every.as_millis()).unwrap_or(i64::MAX)
        })
    }

    /// Records in the store, as instance `instance`, each page that started or stopped waiting
    /// for new credentials since the last call (nothing without a store).
    async fn record_reauth(&self, messenger: &Messenger, instance: &str) {
        let Some(store) = &self.inner.store else {
            return;
        };
        for link in &self.inner.pages {
            let now = messenger
                .spaces()
                .find(|s| s.id == link.space)
                .and_then(|s| s.health.reauth());
            link.recorded
                .sync(store.as_ref(), instance, &link.page_id, now)
                .await;
        }
    }

    /// Checks the tokens at start and then periodically, until `cancel`; wakes the dispatch
    /// workers (`wake`) when a page's messages may go again; records in the store, as instance
    /// `instance`, each page that starts or stops waiting for new credentials (looked at once a
    /// second, written on a change).
    pub async fn run(
        self,
        messenger: Messenger,
        wake: Arc<Notify>,
        cancel: CancellationToken,
        instance: String,
    ) {
        // Each page is checked when it is due; looking once a second costs a clock read.
        let tick = self.inner.check_every.min(Duration::from_secs(1));
        let mut only_due = false;
        loop {
            // A check waits on Graph (a slow or absent Graph: up to the client's timeout):
            // shutting down does not wait for it.
            let cleared = tokio::select! {
                () = cancel.cancelled() => return,
                cleared = self.check_all(Some(&messenger), only_due) => cleared,
            };
            if cleared {
                wake.notify_waiters();
                wake.notify_one();
            }
            self.record_reauth(&messenger, &instance).await;
            only_due = true;
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(tick) => {}
                () = self.inner.check_now.notified() => only_due = false,
            }
        }
    }

    /// Posts the app's webhook subscription for every page with the fields its space needs
    /// (pages shared by spaces get the union). Returns each page and the fields posted.
    pub async fn subscribe(
        &self,
    ) -> Vec<(String, Result<Vec<&'static str>, messenger_graph::Error>)> {
        let mut out: Vec<(String, Result<Vec<&'static str>, messenger_graph::Error>)> = Vec::new();
        let mut pages: Vec<&str> = Vec::new();
        for link in &self.inner.pages {
            if !pages.contains(&link.page_id.as_str()) {
                pages.push(&link.page_id);
            }
        }
        for page in pages {
            let links: Vec<&PageLink> = self
                .inner
                .pages
                .iter()
                .filter(|p| p.page_id == page)
                .collect();
            let mut fields: Vec<&'static str> = links
                .iter()
                .flat_map(|l| l.needed_fields.iter().copied())
                .collect();
            fields.sort_by_key(|f| {
                messenger_model::graph::MESSENGER_WEBHOOK_FIELDS
                    .iter()
                    .position(|x| x == f)
            });
            fields.dedup();
            let client = links[0].client();
            let posted = client.subscribe_app(page, &fields).await.map(|()| fields);
            out.push((page.to_owned(), posted));
        }
        out
    }

    /// The doctor's report, asking Graph now (the token and the subscription of each page).
    pub async fn diagnose(&self) -> Report {
        let now = Timestamp::now();
        let version = doctor::version_findings(&self.inner.version, &day_of(now));
        let mut pages = Vec::new();
        for link in &self.inner.pages {
            pages.push(self.diagnose_page(link, now).await);
        }
        Report {
            at: now,
            graph_version: self.inner.version.clone(),
            version,
            pages,
        }
    }

    /// The doctor's report for `space`'s page only (for the console), asking Graph now;
    /// `None` for a space it does not know.
    pub async fn diagnose_space(&self, space: &str) -> Option<Report> {
        let link = self.inner.pages.iter().find(|p| p.space == space)?;
        let now = Timestamp::now();
        Some(Report {
            at: now,
            graph_version: self.inner.version.clone(),
            version: doctor::version_findings(&self.inner.version, &day_of(now)),
            pages: vec![self.diagnose_page(link, now).await],
        })
    }

    async fn diagnose_page(&self, link: &PageLink, now: Timestamp) -> PageReport {
        let client = link.client();
        let app = self.inner.app_token.as_ref().map(Secret::expose);
        let token = check_token(&client, app, now).await;
        let (subscribed, error) = match client.subscribed_apps(&link.page_id).await {
            Ok(apps) => {
                let app_id = token_app_id(self.inner.app_token.as_ref());
                let fields = apps
                    .data
                    .into_iter()
                    .filter(|a| app_id.as_deref().is_none_or(|id| a.id == id))
                    .flat_map(|a| a.subscribed_fields)
                    .collect::<Vec<_>>();
                (Some(fields), None)
            }
            Err(e) => (None, Some(e.to_string())),
        };
        let (seen, store_error) = self.last_seen(&link.page_id, &link.needed_fields).await;
        let waiting = match &self.inner.store {
            Some(store) => store.page_reauth(&link.page_id).await.ok().flatten(),
            None => None,
        };
        let mut findings = doctor::token_findings(&token, now);
        findings.extend(doctor::page_findings(&link.page_id, &token));
        findings.extend(doctor::reauth_findings(waiting.as_ref(), &token));
        findings.extend(doctor::subscription_findings(
            &link.page_id,
            subscribed.as_deref(),
            &link.needed_fields,
            error.as_deref(),
        ));
        findings.extend(doctor::webhook_findings(
            &seen,
            subscribed.as_deref(),
            &link.needed_fields,
            store_error.as_deref(),
        ));
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        PageReport {
            space: link.space.clone(),
            page_id: link.page_id.clone(),
            token,
            subscribed_fields: subscribed,
            needed_fields: link.needed_fields.clone(),
            webhook_last_seen: seen,
            findings,
        }
    }
}

/// `YYYY-MM-DD` of `at`.
fn day_of(at: Timestamp) -> String {
    at.to_string().chars().take(10).collect()
}

/// The app id inside an app token (`{id}|{secret}`).
fn token_app_id(app_token: Option<&Secret>) -> Option<String> {
    app_token.and_then(|t| t.expose().split_once('|').map(|(id, _)| id.to_owned()))
}

/// Applies a check to the spaces of `link`: returns whether one left `needs_reauth`. Each
/// transition is logged once.
fn apply(messenger: &Messenger, link: &PageLink, check: &TokenCheck, now: Timestamp) -> bool {
    let mut cleared = false;
    for space in messenger.spaces().filter(|s| s.id == link.space) {
        match (check.state, check.problem) {
            (TokenState::Valid, _) if space.health.token_valid() => {
                cleared = true;
                tracing::info!(
                    space = %space.id,
                    page = %space.page_id,
                    "the page's token works again: its waiting messages are sent"
                );
            }
            (TokenState::Invalid, Some(problem)) => {
                space.token_stopped(problem, &check.detail, now)
            }
            _ => {}
        }
    }
    cleared
}
