//! Other apps on the page (a human agents' inbox, a marketing app) moving a conversation, and
//! the `messaging_handovers` webhooks Meta posts about it to the simulated app (the one behind
//! [`crate::GraphSimBuilder::webhook_url`]), signed like every other webhook. As Meta's
//! handover reference says, each event goes to the app it concerns:
//!
//! - another app passes the conversation to the simulated app: `pass_thread_control`
//!   (`previous_owner_app_id`, `new_owner_app_id`, `metadata`);
//! - another app takes it from the simulated app: `take_thread_control` (`previous_owner_app_id`
//!   the simulated app, `new_owner_app_id` the taker, `metadata`);
//! - another app releases a conversation it controls: it goes back to the page's default app,
//!   the simulated one, which is told with `pass_thread_control` (`new_owner_app_id` its own id);
//!   graph-sim keeps the conversation idle, so any app may send;
//! - another app asks the simulated app for a conversation it controls:
//!   `request_thread_control` (`requested_owner_app_id`, `metadata`).
//!
//! Meta posts only the fields an app subscribed to: nothing is posted unless the app's
//! subscription to the page (`POST /{page-id}/subscribed_apps`, or
//! [`GraphSim::set_subscribed_fields`]) has `messaging_handovers`. A move between two other
//! apps concerns neither the simulated app nor its webhook. The
//! simulated app's own calls (`POST /me/pass_thread_control`, ...) are told to the other app,
//! which graph-sim does not simulate: they post nothing.

use messenger_model::webhook::{Handover, HandoverKind};
use serde_json::Value;

use crate::handle::GraphSim;
use crate::SimError;

/// What another app does to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadAction {
    /// `pass_thread_control` to `target_app_id`.
    Pass {
        /// The app the conversation goes to.
        target_app_id: String,
    },
    /// `take_thread_control`: the acting app takes the conversation, whoever owned it.
    Take,
    /// `release_thread_control`: the acting app gives up a conversation it controls.
    Release,
    /// `request_thread_control`: the acting app asks the owner for the conversation.
    Request,
}

impl GraphSim {
    /// App `app_id` (not the simulated one) does `action` to `psid`'s conversation with
    /// `page_id`, with `metadata`, as it would through Graph: the owner changes, and when Meta
    /// would tell the simulated app, graph-sim posts the `messaging_handovers` event to the
    /// webhook (when the app subscribed the page to `messaging_handovers`). Returns the
    /// webhook's answer (`None`: nothing was posted).
    /// Passing or releasing a conversation a third app controls is refused
    /// ([`SimError::ThreadControl`], Meta's 10/2018300), changing nothing.
    pub async fn thread_control_by(
        &self,
        app_id: &str,
        page_id: &str,
        psid: &str,
        action: ThreadAction,
        metadata: Option<&str>,
    ) -> Result<Option<u16>, SimError> {
        let us = self.state.config.app_id.clone();
        let threads = &self.state.threads;
        let owner = threads.owner(page_id, psid);
        let foreign = owner.as_deref().is_some_and(|o| o != app_id);
        let refused = || SimError::ThreadControl {
            app_id: app_id.to_owned(),
            message: "(#10) another app is controlling this thread now".to_owned(),
        };
        let handover = |kind: HandoverKind, previous: Option<&str>, new: Option<&str>| {
            let mut h = Handover::new(kind);
            h.previous_owner_app_id = previous.map(str::to_owned);
            h.new_owner_app_id = new.map(str::to_owned);
            h.metadata = metadata.map(str::to_owned);
            h
        };
        let event = match action {
            ThreadAction::Pass { target_app_id } => {
                if foreign {
                    return Err(refused());
                }
                threads.set(page_id, psid, Some(target_app_id.clone()));
                (target_app_id == us)
                    .then(|| handover(HandoverKind::PassThreadControl, Some(app_id), Some(&us)))
            }
            ThreadAction::Take => {
                threads.set(page_id, psid, Some(app_id.to_owned()));
                (owner.as_deref() == Some(us.as_str()))
                    .then(|| handover(HandoverKind::TakeThreadControl, Some(&us), Some(app_id)))
            }
            ThreadAction::Release => {
                if foreign {
                    return Err(refused());
                }
                threads.set(page_id, psid, None);
                owner
                    .is_some()
                    .then(|| handover(HandoverKind::PassThreadControl, Some(app_id), Some(&us)))
            }
            ThreadAction::Request => (owner.as_deref() == Some(us.as_str())).then(|| {
                let mut h = handover(HandoverKind::RequestThreadControl, None, None);
                h.extra.insert(
                    "requested_owner_app_id".to_owned(),
                    Value::String(app_id.to_owned()),
                );
                h
            }),
        };
        let subscribed = self
            .state
            .subscriptions
            .of(page_id)
            .iter()
            .any(|f| f == "messaging_handovers");
        match event {
            Some(h) if subscribed => self.post_handover(page_id, Some(psid), h).await.map(Some),
            _ => Ok(None),
        }
    }
}
