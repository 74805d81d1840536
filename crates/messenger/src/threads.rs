//! Thread control (Meta's handover protocol, which conversation routing keeps): pass a
//! customer's conversation to another app (a human agents' inbox, the Page inbox), take it,
//! release it, ask for it, and read who owns it, through the space's Graph transport. Nothing
//! is stored: Graph keeps the owner, and the `facebook.handover` events tell the business when
//! the conversation moves.

use messenger_model::graph::ThreadAction;

use crate::{Error, Messenger};

impl Messenger {
    /// Does `action` on the conversation of `psid` with space `space_id`'s page, `metadata`
    /// going to the other app. The caller checks the ids and the metadata first; Graph's
    /// refusals are [`Error::Graph`] (another app controlling the conversation: 10/2018300).
    pub async fn thread_control(
        &self,
        space_id: &str,
        psid: &str,
        action: &ThreadAction,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        let space = self.space(space_id)?;
        Ok(space
            .transport
            .thread_control(psid, action, metadata)
            .await?)
    }

    /// The app that owns the conversation of `psid` with space `space_id`'s page, `None` when
    /// it is idle.
    pub async fn thread_owner(&self, space_id: &str, psid: &str) -> Result<Option<String>, Error> {
        let space = self.space(space_id)?;
        Ok(space.transport.thread_owner(psid).await?)
    }
}
