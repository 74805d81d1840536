//! [`Outlet`]: what one channel's Graph sends go out through, a space's Facebook page or one of
//! its Instagram accounts, each with its own transport, circuit and pacing buckets.

use std::sync::Arc;

use messenger_graph::{TokenProblem, Transport};
use messenger_model::Timestamp;

use crate::send::pacing::PagePacing;
use crate::send::page::PageHealth;
use crate::InstagramAccount;
use crate::Space;

/// A page or an Instagram account of a space, as the send pipeline uses it: pacing buckets are
/// named by [`Outlet::id`], trouble opens [`Outlet::health`]'s circuit, and the sends go
/// through [`Outlet::transport`].
pub(crate) struct Outlet<'a> {
    /// The space.
    pub space: &'a Space,
    /// The page id or the Instagram account id.
    pub id: &'a str,
    /// Graph for it.
    pub transport: &'a Arc<dyn Transport>,
    /// Its circuit.
    pub health: &'a PageHealth,
    /// Its pacing.
    pub pacing: &'a Arc<PagePacing>,
}

impl Space {
    /// The space's Facebook page, for Messenger's sends.
    pub(crate) fn page_outlet(&self) -> Outlet<'_> {
        Outlet {
            space: self,
            id: &self.page_id,
            transport: &self.transport,
            health: &self.health,
            pacing: &self.pacing,
        }
    }

    /// One of the space's Instagram accounts, for Instagram's sends.
    pub(crate) fn instagram_outlet<'a>(&'a self, account: &'a InstagramAccount) -> Outlet<'a> {
        Outlet {
            space: self,
            id: &account.id,
            transport: &account.transport,
            health: &account.health,
            pacing: &account.pacing,
        }
    }
}

impl Outlet<'_> {
    /// Its token stopped working (`problem`, as Graph or a token check said in `reason`): it
    /// waits for new credentials ([`PageHealth::needs_reauth`]); the transition is logged once,
    /// with what to do.
    pub(crate) fn token_stopped(&self, problem: TokenProblem, reason: &str, now: Timestamp) {
        if !self.health.needs_reauth(problem, reason, now) {
            return;
        }
        let (space, problem, remedy) = (&self.space.id, problem.as_str(), problem.remedy());
        if self.is_page() {
            tracing::warn!(%space, page = %self.id, problem, remedy,
                "the page's token stopped working: its messages wait for new credentials");
        } else {
            tracing::warn!(%space, instagram_account = %self.id, problem, remedy,
                "the Instagram account's token stopped working: its messages wait for new credentials");
        }
    }

    /// Whether this is the space's page (else one of its Instagram accounts).
    fn is_page(&self) -> bool {
        self.id == self.space.page_id
    }
}
