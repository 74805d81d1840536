//! Thread control (the handover protocol): `POST /me/pass_thread_control`,
//! `/me/take_thread_control`, `/me/release_thread_control`, `/me/request_thread_control`, and
//! `GET /me/thread_owner?recipient=`.

use messenger_model::graph::{
    Recipient, SuccessResponse, ThreadAction, ThreadControlRequest, ThreadOwnerResponse,
    MAX_THREAD_METADATA_CHARS,
};
use reqwest::header::{HeaderValue, CONTENT_TYPE};

use super::GraphClient;
use crate::Error;

/// The longest PSID or app id accepted (Graph ids are decimal, about 16 digits).
const MAX_ID_LEN: usize = 32;

impl GraphClient {
    /// Passes `psid`'s conversation to the app `target_app_id` (`pass_thread_control`).
    pub async fn pass_thread_control(
        &self,
        psid: &str,
        target_app_id: &str,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        let action = ThreadAction::Pass {
            target_app_id: target_app_id.to_owned(),
        };
        self.thread_control(psid, &action, metadata).await
    }

    /// Takes `psid`'s conversation from the app that has it (`take_thread_control`).
    pub async fn take_thread_control(
        &self,
        psid: &str,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        self.thread_control(psid, &ThreadAction::Take, metadata)
            .await
    }

    /// Gives `psid`'s conversation up, leaving it idle (`release_thread_control`).
    pub async fn release_thread_control(
        &self,
        psid: &str,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        self.thread_control(psid, &ThreadAction::Release, metadata)
            .await
    }

    /// Asks the app that owns `psid`'s conversation to pass it (`request_thread_control`).
    pub async fn request_thread_control(
        &self,
        psid: &str,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        self.thread_control(psid, &ThreadAction::Request, metadata)
            .await
    }

    /// Does `action` on `psid`'s conversation; `metadata` (at most
    /// [`MAX_THREAD_METADATA_CHARS`]) goes to the other app.
    pub async fn thread_control(
        &self,
        psid: &str,
        action: &ThreadAction,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        let page = self.page()?;
        check_id("PSID", psid)?;
        if let ThreadAction::Pass { target_app_id } = action {
            check_id("target app id", target_app_id)?;
        }
        if metadata.is_some_and(|m| m.chars().count() > MAX_THREAD_METADATA_CHARS) {
            return Err(Error::InvalidInput {
                reason: format!(
                    "thread metadata is at most {MAX_THREAD_METADATA_CHARS} characters"
                ),
            });
        }
        let body =
            ThreadControlRequest::new(Recipient::psid(psid), action, metadata.map(str::to_owned));
        let bytes = serde_json::to_vec(&body).map_err(|e| Error::InvalidInput {
            reason: format!("the thread control request does not serialise to JSON: {e}"),
        })?;
        let request = self
            .shared
            .http()
            .post(self.page_url(&page, &["me", action.edge()])?)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        let answer: SuccessResponse = self.execute(&page, request).await?;
        if answer.success {
            Ok(())
        } else {
            Err(Error::other(
                crate::ErrorKind::Permanent,
                "Graph answered success: false to the thread control request",
            ))
        }
    }

    /// The app that owns `psid`'s conversation (`GET /me/thread_owner`), `None` when it is idle.
    pub async fn thread_owner(&self, psid: &str) -> Result<Option<String>, Error> {
        let page = self.page()?;
        check_id("PSID", psid)?;
        let mut url = self.page_url(&page, &["me", "thread_owner"])?;
        url.query_pairs_mut().append_pair("recipient", psid);
        let request = self.shared.http().get(url);
        let answer: ThreadOwnerResponse = self.execute(&page, request).await?;
        Ok(answer.owner().map(str::to_owned))
    }
}

fn check_id(what: &str, id: &str) -> Result<(), Error> {
    if !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            reason: format!("a {what} is 1-{MAX_ID_LEN} digits"),
        })
    }
}
