//! Reloading the configuration file while the gateway runs (SIGHUP, or `POST /ops/reload` with
//! an admin key): new page tokens, API and admin keys, webhook targets, rates and space
//! policies, without a restart (docs/operations.md, "Reloading the configuration").
//!
//! The whole file is read and checked first; if anything is wrong nothing changes and every
//! problem is returned, each naming its key. What cannot change in a running process (the
//! listeners, the database, `[facebook]`, `[dispatch]`, the set of spaces: [`changes`]) is
//! reported as needing a restart and left as it runs. Work under way keeps the configuration it
//! started with: a request holds the space it resolved, a send attempt the page's Graph client
//! of its start, and the webhook forwarder of the old targets finishes its deliveries before
//! the one of the new targets starts.
//!
//! `POST /ops/reload` (admin, on the ops listener when there is one) answers 200 with
//! `{"applied": [keys], "needsRestart": [keys]}`; 422 with every problem of the file in
//! `errors[]` (nothing changed); 409 when the gateway was not started from a file.

mod changes;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger::events::Forwarder;
use messenger::Space;
use messenger_graph::GraphClient;
use messenger_store::{Pace, Store};
use serde::Serialize;
use tokio::sync::{mpsc, Mutex};

pub use changes::{changes, Changes};

use super::admin::{AdminAccess, AdminKeys};
use super::auth::ApiKeys;
use super::problem::{Problem, ProblemError};
use super::AppState;
use crate::config::{Config, ConfigError, SpaceConfig};
use crate::GatewayError;

/// The log target of a reload's outcome (`configuration reloaded`, `configuration reload
/// refused: nothing changed`): not under `messenger_gateway::http`, so the filter that drops the
/// per-request lines (`RUST_LOG=info,messenger_gateway::http=warn`) keeps them.
pub const LOG_TARGET: &str = "messenger_gateway::reload";

/// A value replaced whole by a reload: each use takes the value of the moment ([`Current::load`])
/// and keeps it for as long as it needs, so a reload never changes what a request has already
/// looked at.
#[derive(Debug)]
pub struct Current<T>(RwLock<Arc<T>>);

impl<T> Current<T> {
    /// Holds `value`.
    pub fn new(value: T) -> Self {
        Self(RwLock::new(Arc::new(value)))
    }

    /// The value now.
    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the value; those who loaded the old one keep it.
    pub fn store(&self, value: T) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
    }
}

/// What a reload did: the keys it applied and those that wait for a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadReport {
    /// Keys whose new values the gateway now uses (`spaces[0].page_token`).
    pub applied: Vec<String>,
    /// Keys whose new values take effect only after a restart (`server.listen`).
    pub needs_restart: Vec<String>,
}

/// Reloads the configuration file; one reload at a time.
pub struct Reloader {
    /// The file the gateway was started from, if any.
    path: Option<PathBuf>,
    /// The configuration running now: the file's as of the last start or reload, with the
    /// keys that need a restart kept as the process started with them.
    running: Mutex<Config>,
    /// The Graph client every page's client is made from (`[facebook]` needs a restart).
    graph: GraphClient,
    /// The store, for a new webhook forwarder.
    store: Arc<dyn Store>,
    /// Hands a forwarder for new webhook targets to the running forwarding task.
    forwarders: mpsc::Sender<Option<Forwarder>>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader for a gateway running `config` (read from `path`, when it was).
    pub(crate) fn new(
        path: Option<PathBuf>,
        config: Config,
        graph: GraphClient,
        store: Arc<dyn Store>,
        forwarders: mpsc::Sender<Option<Forwarder>>,
    ) -> Self {
        Self {
            path,
            running: Mutex::new(config),
            graph,
            store,
            forwarders,
        }
    }

    /// Reads the file again, checks it whole, and applies what can change live to `state`.
    /// On an error nothing has changed: [`GatewayError::Config`] lists every problem of the
    /// file.
    pub async fn reload(&self, state: &AppState) -> Result<ReloadReport, GatewayError> {
        let mut running = self.running.lock().await;
        let path = self.path.as_ref().ok_or(GatewayError::NoConfigFile)?;
        let file = Config::load(path)?;
        let changes = changes(&running, &file);
        let next = applicable(&running, &file);
        // Everything is built before anything is replaced, so a failure changes nothing.
        let spaces = next
            .spaces
            .iter()
            .map(|s| self.space(state, &running, s))
            .collect::<Result<Vec<_>, _>>()?;
        let forwarder = if webhooks_differ(&running, &next) {
            Some(
                crate::forward::forwarder(&next, Arc::clone(&self.store))
                    .map_err(GatewayError::Forward)?,
            )
        } else {
            None
        };
        state
            .messenger
            .replace_spaces(spaces)
            .map_err(GatewayError::Build)?;
        state.keys.store(ApiKeys::new(&next.spaces));
        state.admin.store(admin_keys(&next));
        state.metrics_readers.store(metrics_readers(&next));
        state.quotas.update(&next.spaces);
        state.backlogs.set_bounds(&next.spaces);
        if let Some(forwarder) = forwarder {
            // The forwarding task lives as long as the gateway; once it has stopped, there is
            // nothing left to forward for.
            let _ = self.forwarders.send(forwarder).await;
        }
        for (old, new) in running.spaces.iter().zip(&next.spaces) {
            if old.page_token != new.page_token {
                page_token_replaced(state, new);
            }
        }
        // New or changed Instagram Login tokens are checked (those carried over are not asked).
        crate::instagram::reconnect(&state.messenger);
        // Messages held back by the old settings (a dead token, a lower rate) go now.
        state.wake.notify_waiters();
        *running = next;
        let report = ReloadReport {
            applied: changes.live,
            needs_restart: changes.restart,
        };
        tracing::info!(
            target: LOG_TARGET,
            applied = ?report.applied,
            needs_restart = ?report.needs_restart,
            "configuration reloaded"
        );
        if !report.needs_restart.is_empty() {
            tracing::warn!(
                target: LOG_TARGET,
                keys = ?report.needs_restart,
                "the configuration file changed keys that take effect only after a restart"
            );
        }
        Ok(report)
    }

    /// The facade's space for `config`, carrying over from the running space its page circuit
    /// (unless the token changed) and its pacing (at the new rates, if they changed).
    fn space(
        &self,
        state: &AppState,
        running: &Config,
        config: &SpaceConfig,
    ) -> Result<Space, GatewayError> {
        let ig_secret = running.facebook.instagram_app_secret.as_ref();
        let mut space = crate::spaces::build_space(config, &self.graph, ig_secret)?;
        let (Ok(old), Some(was)) = (state.messenger.space(&config.id), running.space(&config.id))
        else {
            return Ok(space);
        };
        if was.page_token == config.page_token {
            space.health = Arc::clone(&old.health);
        }
        space.pacing =
            if (was.send_rate, was.media_send_rate) == (config.send_rate, config.media_send_rate) {
                Arc::clone(&old.pacing)
            } else {
                Arc::new(old.pacing.with_paces(
                    Pace::per_second(config.send_rate),
                    Pace::per_second(config.media_send_rate),
                ))
            };
        carry_instagram_over(&mut space, &old, was, config);
        Ok(space)
    }
}

/// Carries each Instagram account of the running space `old` (configured as `was`) over to the
/// reloaded `space` (configured as `config`): its circuit, pacing (at the new rates, if they
/// changed) and, while its configured Instagram Login token is the same, its client, which may
/// hold a token refreshed since the start.
fn carry_instagram_over(space: &mut Space, old: &Space, was: &SpaceConfig, config: &SpaceConfig) {
    for account in &mut space.instagram {
        let (Some(before), Some(was), Some(now)) = (
            old.instagram_account(&account.id),
            was.instagram.iter().find(|a| a.account_id == account.id),
            config.instagram.iter().find(|a| a.account_id == account.id),
        ) else {
            continue;
        };
        if (&was.token, was.login) == (&now.token, now.login) {
            account.health = Arc::clone(&before.health);
            account.transport = Arc::clone(&before.transport);
            account.login.clone_from(&before.login);
        }
        account.pacing =
            if (was.send_rate, was.media_send_rate) == (now.send_rate, now.media_send_rate) {
                Arc::clone(&before.pacing)
            } else {
                Arc::new(before.pacing.with_paces(
                    Pace::per_second(now.send_rate),
                    Pace::per_second(now.media_send_rate),
                ))
            };
    }
}

/// The page of space `space` has a new token: it is tried at once. Its page circuit starts
/// closed (the reloaded space has a fresh one), so messages held back by the old token's
/// failures are sent on the next round; and the page's connection
/// ([`crate::connection::PageConnections::token_replaced`]) takes the page out of
/// `needs_reauth` and checks the new token now.
fn page_token_replaced(state: &AppState, space: &SpaceConfig) {
    tracing::info!(space = %space.id, "page token replaced: the page is tried again at once");
    if let Err(e) =
        state
            .connections
            .token_replaced(&state.messenger, &space.page_id, &space.page_token)
    {
        tracing::warn!(
            space = %space.id,
            error = %messenger::error_chain(&e),
            "the page's token checks could not take the new token"
        );
    }
}

/// The configuration to run after reading `file` while `running` runs: the file's values for
/// what can change live, the running values for what needs a restart.
fn applicable(running: &Config, file: &Config) -> Config {
    let mut next = running.clone();
    next.server.admin_keys.clone_from(&file.server.admin_keys);
    next.server
        .admin_keys_sha256
        .clone_from(&file.server.admin_keys_sha256);
    next.server
        .metrics_keys
        .clone_from(&file.server.metrics_keys);
    let same_spaces = running.spaces.len() == file.spaces.len()
        && running
            .spaces
            .iter()
            .zip(&file.spaces)
            .all(|(a, b)| a.id == b.id);
    if same_spaces {
        next.spaces = running
            .spaces
            .iter()
            .zip(&file.spaces)
            .map(|(was, new)| SpaceConfig {
                page_id: was.page_id.clone(),
                retention: was.retention,
                ..new.clone()
            })
            .collect();
    }
    next
}

fn webhooks_differ(running: &Config, next: &Config) -> bool {
    running
        .spaces
        .iter()
        .zip(&next.spaces)
        .any(|(a, b)| changes::webhook_differs(a, b))
}

/// The admin keys of `config`.
pub(crate) fn admin_keys(config: &Config) -> AdminKeys {
    AdminKeys::new(&config.server.admin_keys, &config.server.admin_keys_sha256)
}

/// Who may read `/metrics` on the main listener: the metrics keys and the admin keys.
pub(crate) fn metrics_readers(config: &Config) -> AdminKeys {
    AdminKeys::new(
        &[
            config.server.metrics_keys.as_slice(),
            config.server.admin_keys.as_slice(),
        ]
        .concat(),
        &config.server.admin_keys_sha256,
    )
}

/// The code of each `errors[]` entry of a file that does not check.
pub const CONFIG_INVALID_CODE: &str = "config.invalid";

/// `POST /ops/reload`.
pub(super) async fn reload(_: AdminAccess, State(state): State<AppState>) -> Response {
    match state.reloader.reload(&state).await {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(e) => {
            tracing::error!(
                target: LOG_TARGET,
                error = %messenger::error_chain(&e),
                "configuration reload refused: nothing changed"
            );
            refused(&e).into_response()
        }
    }
}

/// The problem answered for a reload that changed nothing.
fn refused(e: &GatewayError) -> Problem {
    let entry = |path: &str, message: String| ProblemError::new(path, CONFIG_INVALID_CODE, message);
    let errors = match e {
        GatewayError::NoConfigFile => {
            let detail = e.to_string();
            return Problem::new(
                StatusCode::CONFLICT,
                "/problems/no-config-file",
                "There is no configuration file to reload",
                detail.clone(),
            )
            .with_errors(vec![ProblemError::new("", "config.no_file", detail)]);
        }
        GatewayError::Config(ConfigError::Invalid { issues }) => issues
            .iter()
            .map(|i| entry(&pointer_of_key(&i.key), i.to_string()))
            .collect(),
        other => vec![entry("", messenger::error_chain(other))],
    };
    let n = errors.len();
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "/problems/config-invalid",
        "The configuration file was not reloaded",
        format!(
            "the configuration file has {n} problem{}; nothing was changed",
            if n == 1 { "" } else { "s" }
        ),
    )
    .with_errors(errors)
}

/// A configuration key as a JSON pointer into the file's structure: `spaces[1].page_id` is
/// `/spaces/1/page_id`; an environment variable's name stays as one member.
fn pointer_of_key(key: &str) -> String {
    if key.starts_with(crate::config::ENV_PREFIX) {
        return super::problem::pointer_of(key);
    }
    key.split('.')
        .flat_map(|part| part.split('['))
        .map(|p| p.trim_end_matches(']'))
        .filter(|p| !p.is_empty())
        .fold(String::new(), |mut out, p| {
            out.push('/');
            out.push_str(&p.replace('~', "~0").replace('/', "~1"));
            out
        })
}

#[cfg(test)]
mod tests {
    use super::pointer_of_key;

    #[test]
    fn keys_become_pointers() {
        assert_eq!(pointer_of_key("spaces[1].page_id"), "/spaces/1/page_id");
        assert_eq!(pointer_of_key("server.listen"), "/server/listen");
        assert_eq!(
            pointer_of_key("spaces[0].webhook.batch_size"),
            "/spaces/0/webhook/batch_size"
        );
    }
}
