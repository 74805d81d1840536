//! The Send API: messages and sender actions (`POST /me/messages`).

use messenger_model::graph::{GraphSendRequest, Recipient, SendResponse, SenderAction};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde::Serialize;

use super::GraphClient;
use crate::Error;

/// A sender action body, borrowing the recipient.
#[derive(Serialize)]
struct SenderActionBody<'a> {
    recipient: &'a Recipient,
    sender_action: SenderAction,
}

impl GraphClient {
    /// Sends a message (`POST /{version}/me/messages`).
    ///
    /// ```no_run
    /// # async fn demo(client: messenger_graph::GraphClient) -> Result<(), messenger_graph::Error> {
    /// use messenger_graph::ErrorKind;
    /// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
    ///
    /// let req = GraphSendRequest::message(Recipient::psid("123"), Message::text("Your table is ready"));
    /// match client.send(&req).await {
    ///     Ok(sent) => println!("mid {:?}", sent.message_id),
    ///     Err(e) if e.kind() == ErrorKind::OutsideWindow => println!("fall back to SMS"),
    ///     Err(e) if e.is_retryable() => println!("retry in {:?}", e.retry_after()),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
        self.post_json(req).await
    }

    /// Sends a sender action (typing on/off, mark seen) to `recipient`.
    pub async fn sender_action(
        &self,
        recipient: &Recipient,
        action: SenderAction,
    ) -> Result<(), Error> {
        let body = SenderActionBody {
            recipient,
            sender_action: action,
        };
        let _: SendResponse = self.post_json(&body).await?;
        Ok(())
    }

    async fn post_json<B: Serialize + ?Sized>(&self, body: &B) -> Result<SendResponse, Error> {
        let page = self.page()?;
        let bytes = serde_json::to_vec(body).map_err(|e| Error::InvalidInput {
            reason: format!("the request does not serialise to JSON: {e}"),
        })?;
        let request = self
            .shared
            .http()
            .post(page.messages_url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes);
        self.execute(&page, request).await
    }
}
