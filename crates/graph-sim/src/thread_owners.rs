//! Who controls each conversation (Meta's handover protocol), as graph-sim's state holds it: the
//! owner app per `(page, PSID)` and the Send API's refusal of a send into a conversation another
//! app controls. The endpoints that move and read it are in `threads`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::graph_api::GraphFailure;
use crate::sync::lock;

/// Each page's conversations' owners, by `(page id, PSID)`.
#[derive(Debug, Default)]
pub(crate) struct ThreadBook {
    owners: Mutex<HashMap<(String, String), String>>,
}

impl ThreadBook {
    /// The app owning `psid`'s conversation with `page`, if any.
    pub(crate) fn owner(&self, page: &str, psid: &str) -> Option<String> {
        lock(&self.owners)
            .get(&(page.to_owned(), psid.to_owned()))
            .cloned()
    }

    /// Makes `app` the owner (`None`: idle).
    pub(crate) fn set(&self, page: &str, psid: &str, app: Option<String>) {
        let key = (page.to_owned(), psid.to_owned());
        let mut owners = lock(&self.owners);
        match app {
            Some(app) => owners.insert(key, app),
            None => owners.remove(&key),
        };
    }

    /// Refuses a send by `app` to a conversation another app controls (10/2018300).
    pub(crate) fn check_send(&self, page: &str, psid: &str, app: &str) -> Result<(), GraphFailure> {
        match self.owner(page, psid) {
            Some(owner) if owner != app => Err(another_app_controls()),
            _ => Ok(()),
        }
    }
}

/// Meta's answer to a send (or a pass) into a conversation another app controls.
pub(crate) fn another_app_controls() -> GraphFailure {
    GraphFailure::new(
        10,
        "OAuthException",
        "(#10) Message failed to send because another app is controlling this thread now.",
    )
    .subcode(2018300)
}
