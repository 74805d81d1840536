//! The messaging window, enforced as Meta enforces it (when the builder asks for it with
//! [`crate::GraphSimBuilder::enforce_window`]).
//!
//! The simulator remembers when each user last wrote to a page: every inbound message,
//! postback and opt-in it posts (or [`crate::GraphSim::set_last_inbound`]). A send to a PSID is
//! then refused with error 10, subcode 2018278, unless the user wrote within the last 24 hours,
//! or it is tagged `HUMAN_AGENT` / `CUSTOMER_FEEDBACK` and the user wrote within 7 days.
//! Sends by phone number, `user_ref` or marketing token are not window-checked.
//!
//! Instagram's window is the same book, keyed by the Instagram account and the IGSID, and on by
//! default ([`crate::GraphSimBuilder::instagram_window`]): 24 hours after the user's last
//! message, 7 days with `HUMAN_AGENT` (Instagram's only tag); a send outside it is refused with
//! `IGApiException` 10, subcode 2534022. Private replies have their own rule (7 days after the
//! comment, [`crate::instagram`]).

use std::collections::HashMap;
use std::sync::Mutex;

use messenger_model::graph::{GraphSendRequest, MessagingType};

use crate::faults::{graph_failure, Fault};
use crate::graph_api::GraphFailure;
use crate::graph_rules::Platform;
use crate::sync::lock;

/// The standard messaging window: 24 hours after the user's last message.
pub const STANDARD_WINDOW_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The window of tags for human replies and feedback: 7 days.
pub const TAGGED_WINDOW_MILLIS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Tags that extend the window to [`TAGGED_WINDOW_MILLIS`].
pub const SEVEN_DAY_TAGS: &[&str] = &["HUMAN_AGENT", "CUSTOMER_FEEDBACK"];

/// When each user last wrote to each page.
#[derive(Debug, Default)]
pub(crate) struct WindowBook {
    /// Enforced on Messenger sends.
    enabled: bool,
    /// Enforced on Instagram sends.
    instagram: bool,
    /// `page|psid` -> milliseconds since the epoch.
    last_inbound: Mutex<HashMap<String, i64>>,
}

fn key(page_id: &str, psid: &str) -> String {
    format!("{page_id}|{psid}")
}

impl WindowBook {
    pub(crate) fn new(enabled: bool, instagram: bool) -> Self {
        Self {
            enabled,
            instagram,
            last_inbound: Mutex::new(HashMap::new()),
        }
    }

    /// Notes that `psid` wrote to `page_id` at `at_millis` (keeps the latest).
    pub(crate) fn note_inbound(&self, page_id: &str, psid: &str, at_millis: i64) {
        let mut map = lock(&self.last_inbound);
        let slot = map.entry(key(page_id, psid)).or_insert(at_millis);
        *slot = (*slot).max(at_millis);
    }

    /// Sets the last inbound time exactly (also backwards, for tests of a closed window).
    pub(crate) fn set_inbound(&self, page_id: &str, psid: &str, at_millis: i64) {
        lock(&self.last_inbound).insert(key(page_id, psid), at_millis);
    }

    /// When `psid` last wrote to `page_id`, if ever (as far as the simulator knows).
    pub(crate) fn last_inbound(&self, page_id: &str, psid: &str) -> Option<i64> {
        lock(&self.last_inbound).get(&key(page_id, psid)).copied()
    }

    /// Refuses a send of `page_id` (an Instagram account for [`Platform::Instagram`]) Meta would
    /// refuse at `now_millis` because the window is closed.
    pub(crate) fn check(
        &self,
        page_id: &str,
        request: &GraphSendRequest,
        platform: Platform,
        now_millis: i64,
    ) -> Result<(), GraphFailure> {
        let (enabled, seven_day_tags) = match platform {
            Platform::Messenger => (self.enabled, SEVEN_DAY_TAGS),
            Platform::Instagram => (self.instagram, crate::instagram_rules::INSTAGRAM_TAGS),
        };
        if !enabled || request.message.is_none() {
            return Ok(());
        }
        let Some(psid) = request.recipient.id.as_deref() else {
            return Ok(());
        };
        let last = self.last_inbound(page_id, psid);
        let since = last.map(|t| now_millis.saturating_sub(t));
        let tagged_long = request.messaging_type == Some(MessagingType::MessageTag)
            && request
                .tag
                .as_deref()
                .is_some_and(|t| seven_day_tags.contains(&t));
        let limit = if tagged_long {
            TAGGED_WINDOW_MILLIS
        } else {
            STANDARD_WINDOW_MILLIS
        };
        match (since, platform) {
            (Some(s), _) if s <= limit => Ok(()),
            (_, Platform::Instagram) => Err(instagram_outside_window()),
            (_, Platform::Messenger) => Err(graph_failure(&Fault::OutsideWindow, page_id)
                .unwrap_or_else(|| GraphFailure::new(10, "OAuthException", "(#10)"))),
        }
    }
}

/// Instagram's refusal of a send outside the window: `IGApiException` 10, subcode 2534022.
pub(crate) fn instagram_outside_window() -> GraphFailure {
    GraphFailure::new(
        10,
        crate::graph_api::INSTAGRAM_ERROR_TYPE,
        "(#10) This message is sent outside of allowed window.",
    )
    .subcode(2_534_022)
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_model::graph::{Message, Recipient};

    const M: Platform = Platform::Messenger;

    #[test]
    fn instagram_window_takes_only_human_agent() {
        let book = WindowBook::new(false, true);
        let now = 10 * TAGGED_WINDOW_MILLIS;
        let plain = GraphSendRequest::message(Recipient::psid("1"), Message::text("x"));
        let ig = Platform::Instagram;
        book.set_inbound("A", "1", now - 2 * STANDARD_WINDOW_MILLIS);
        let err = book.check("A", &plain, ig, now).unwrap_err();
        assert!(matches!(&*err.body, crate::graph_api::FailureBody::Graph(e)
            if e.code == 10 && e.error_subcode == Some(2_534_022)
                && e.kind.as_deref() == Some("IGApiException")));
        assert!(book
            .check("A", &plain.clone().with_tag("HUMAN_AGENT"), ig, now)
            .is_ok());
        let feedback = plain.clone().with_tag("CUSTOMER_FEEDBACK");
        assert!(book.check("A", &feedback, ig, now).is_err());
        assert!(
            book.check("A", &plain, M, now).is_ok(),
            "Messenger's is off"
        );
    }

    #[test]
    fn window_rules() {
        let book = WindowBook::new(true, false);
        let now = 10 * TAGGED_WINDOW_MILLIS;
        let plain = GraphSendRequest::message(Recipient::psid("1"), Message::text("x"));
        let human = plain.clone().with_tag("HUMAN_AGENT");
        assert!(book.check("P", &plain, M, now).is_err(), "never wrote");

        book.note_inbound("P", "1", now - STANDARD_WINDOW_MILLIS + 1);
        assert!(book.check("P", &plain, M, now).is_ok());
        assert!(book.check("Q", &plain, M, now).is_err(), "other page");

        book.set_inbound("P", "1", now - 2 * STANDARD_WINDOW_MILLIS);
        assert!(book.check("P", &plain, M, now).is_err());
        assert!(book.check("P", &human, M, now).is_ok());

        book.set_inbound("P", "1", now - TAGGED_WINDOW_MILLIS - 1);
        assert!(book.check("P", &human, M, now).is_err());

        let by_phone =
            GraphSendRequest::message(Recipient::phone("+4477", None), Message::text("x"));
        assert!(book.check("P", &by_phone, M, now).is_ok());
        assert!(WindowBook::new(false, false)
            .check("P", &plain, M, now)
            .is_ok());
    }
}
