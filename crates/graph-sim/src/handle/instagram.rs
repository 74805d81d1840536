//! Instagram, on the running simulator: the [`GraphSim`] methods that script users, tokens and
//! read what the accounts sent ([`crate::instagram`]).

use std::time::Duration;

use crate::instagram::script::{
    actions_of, new_user, sent_by, user_comments, user_reads, user_writes,
};
use crate::instagram::{InstagramPost, InstagramShape, InstagramToken};
use crate::records::{InstagramAction, InstagramSend};
use crate::SimError;

use super::GraphSim;

/// Instagram, on the running simulator (see [`crate::instagram`]).
impl GraphSim {
    /// A new Instagram user of `account_id`: their IGSID, to which the account may send once
    /// they have written ([`GraphSim::post_instagram_message`]).
    pub fn new_instagram_user(&self, account_id: &str) -> Result<String, SimError> {
        new_user(&self.state, account_id)
    }

    /// `igsid` writes `text` to `account_id`: posts the `messages` event (in the current shape,
    /// [`GraphSim::set_instagram_shape`]), signed with the account's secret, and opens the
    /// window. Returns the message's `mid` and the receiver's status.
    pub async fn post_instagram_message(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
    ) -> Result<InstagramPost, SimError> {
        let shape = self.state.instagram.shape();
        user_writes(&self.state, account_id, igsid, text, shape).await
    }

    /// [`GraphSim::post_instagram_message`] in the given shape (`messaging[]` or `changes[]`).
    pub async fn post_instagram_message_in(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
        shape: InstagramShape,
    ) -> Result<InstagramPost, SimError> {
        user_writes(&self.state, account_id, igsid, text, shape).await
    }

    /// `igsid` reads the account's message `mid`: posts `messaging_seen` with `"read": {"mid"}`
    /// (in the current shape). Returns the receiver's status.
    pub async fn post_instagram_read(
        &self,
        account_id: &str,
        igsid: &str,
        mid: &str,
    ) -> Result<u16, SimError> {
        let shape = self.state.instagram.shape();
        user_reads(&self.state, account_id, igsid, mid, shape).await
    }

    /// `igsid` comments `text` on one of the account's posts (a fresh media id): posts the
    /// `comments` change (`value: {id, from: {id: igsid, username}, text, media}`). Returns the
    /// comment's id, to which the account may send one private reply within 7 days.
    pub async fn post_instagram_comment(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
    ) -> Result<InstagramPost, SimError> {
        user_comments(&self.state, account_id, igsid, text, None).await
    }

    /// Sets when `comment_id` was made (milliseconds since the epoch), e.g. 8 days ago to test
    /// the private reply's 7 days. Returns whether the comment is known.
    pub fn set_instagram_comment_time(&self, comment_id: &str, at_millis: i64) -> bool {
        self.state.instagram.set_comment_time(comment_id, at_millis)
    }

    /// Ages an Instagram user token: its issue and expiry move `by` into the past, so a test can
    /// make it 25 hours old (refreshable) or 60 days old (expired: 190/463) without waiting.
    /// Returns the token as it now is, or `None` for a token the simulator does not know.
    pub fn age_instagram_token(&self, token: &str, by: Duration) -> Option<InstagramToken> {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        self.state.instagram.age(token, by)
    }

    /// An Instagram user token (one configured, or one `refresh_access_token` issued).
    pub fn instagram_token(&self, token: &str) -> Option<InstagramToken> {
        self.state.instagram.token(token)
    }

    /// What `account_id` sent (direct messages and private replies, both hosts), in order.
    pub fn instagram_sent(&self, account_id: &str) -> Vec<InstagramSend> {
        sent_by(&self.state, account_id)
    }

    /// The sender actions `account_id` sent (typing, mark seen, react, unreact), in order.
    pub fn instagram_actions(&self, account_id: &str) -> Vec<InstagramAction> {
        actions_of(&self.state, account_id)
    }

    /// Where later direct-message events (messages, echoes, reads) go: `messaging[]` (the
    /// default) or `changes[]`. Comments always come in `changes[]`.
    pub fn set_instagram_shape(&self, shape: InstagramShape) {
        self.state.instagram.set_shape(shape);
    }
}
