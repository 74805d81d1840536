//! A page's `needs_reauth` recorded in the store ([`messenger_store::PageReauth`]), so the
//! doctor of every instance, and the `doctor` command, can say which instance holds the page's
//! messages and since when. Each instance writes when its page starts waiting (or waits for
//! another reason) and clears when it stops; a token check that finds the token valid clears
//! what any instance recorded (the others find the same at their next check, within a minute).

use std::sync::{Mutex, PoisonError};

use messenger::send::page::Reauth;
use messenger_model::Timestamp;
use messenger_store::{PageReauth, Store};

/// What this instance last recorded of one page: the time its wait started.
#[derive(Debug, Default)]
pub(super) struct Recorded(Mutex<Option<Timestamp>>);

impl Recorded {
    /// Brings the store in line with the page's state `now` (`None`: not waiting), writing
    /// only on a change. A failed write is tried again on the next call.
    pub(super) async fn sync(
        &self,
        store: &dyn Store,
        instance: &str,
        page_id: &str,
        now: Option<Reauth>,
    ) {
        let was = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let result = match (&now, was) {
            (Some(r), was) if was != Some(r.since) => store
                .record_page_reauth(&PageReauth {
                    page_id: page_id.to_owned(),
                    problem: r.problem.as_str().to_owned(),
                    reason: r.reason.clone(),
                    since: r.since,
                    instance: instance.to_owned(),
                })
                .await
                .map(|()| Some(r.since)),
            (None, Some(_)) => store.clear_page_reauth(page_id).await.map(|_| None),
            _ => return,
        };
        match result {
            Ok(recorded) => *self.0.lock().unwrap_or_else(PoisonError::into_inner) = recorded,
            Err(e) => tracing::warn!(
                page = %page_id,
                error = %messenger::error_chain(&e),
                "the page's token state could not be recorded in the store; tried again later"
            ),
        }
    }
}

/// A token check found `page_id`'s token valid: forgets what any instance recorded (a read,
/// and a write only when something was recorded).
pub(super) async fn token_works(store: &dyn Store, page_id: &str) {
    if !matches!(store.page_reauth(page_id).await, Ok(Some(_))) {
        return;
    }
    if let Err(e) = store.clear_page_reauth(page_id).await {
        tracing::warn!(
            page = %page_id,
            error = %messenger::error_chain(&e),
            "the page's token state could not be cleared in the store"
        );
    }
}
