//! A [`Transport`] that retries the calls of another one under a [`RetryPolicy`].

use async_trait::async_trait;
use messenger_model::graph::{
    GraphSendRequest, NewPersona, Persona, PersonaList, Recipient, SendResponse, SenderAction,
};
use messenger_model::UserProfile;

use super::RetryPolicy;
use crate::{AttachmentUpload, Error, Transport, Usage};

/// Wraps a transport so that every call is retried under a [`RetryPolicy`]: rate limits and
/// transient failures are retried, everything else comes back at once.
///
/// ```no_run
/// # async fn demo() -> Result<(), messenger_graph::Error> {
/// use std::sync::Arc;
/// use messenger_graph::{GraphClient, RetryPolicy, RetryingTransport, Transport};
/// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
///
/// let client = GraphClient::builder().page_access_token("PAGE_TOKEN").build()?;
/// let transport: Arc<dyn Transport> =
///     Arc::new(RetryingTransport::new(client, RetryPolicy::default()));
/// let req = GraphSendRequest::message(Recipient::psid("123"), Message::text("hi"));
/// transport.send(&req).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RetryingTransport<T> {
    inner: T,
    policy: RetryPolicy,
}

impl<T> RetryingTransport<T> {
    /// Retries `inner`'s calls under `policy`.
    pub fn new(inner: T, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Unwraps the transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

#[async_trait]
impl<T: Transport> Transport for RetryingTransport<T> {
    async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
        self.policy.run(|| self.inner.send(req)).await
    }

    async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
        self.policy
            .run(|| self.inner.upload_attachment(upload))
            .await
    }

    async fn sender_action(
        &self,
        recipient: &Recipient,
        action: SenderAction,
    ) -> Result<(), Error> {
        self.policy
            .run(|| self.inner.sender_action(recipient, action))
            .await
    }

    async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
        self.policy.run(|| self.inner.user_profile(psid)).await
    }

    /// Not retried: a creation that timed out may have happened, and a retry would make a
    /// second persona.
    async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
        self.inner.create_persona(persona).await
    }

    async fn personas(&self, after: Option<&str>, limit: u32) -> Result<PersonaList, Error> {
        self.policy.run(|| self.inner.personas(after, limit)).await
    }

    /// Not retried: a deletion that timed out may have happened, and its retry would answer
    /// that the persona does not exist.
    async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
        self.inner.delete_persona(persona_id).await
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }
}
