//! [`StubTransport`]: a [`Transport`] that reaches no network and answers every call as Graph
//! would on success, recording what it was asked (feature `stub`).
//!
//! For documentation examples, tests of code built on this crate, and dry runs: like lettre's
//! `StubTransport`, it lets a program run end to end without Meta. It is no simulator: it never
//! refuses, never paces and keeps no personas beyond those created through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use messenger_model::graph::{
    GraphSendRequest, NewPersona, Persona, PersonaList, Recipient, SendResponse, SenderAction,
};
use messenger_model::UserProfile;

use crate::{AttachmentUpload, Error, Transport};

/// A transport that succeeds without a network and records every send and sender action.
///
/// Message ids are `m_stub_1`, `m_stub_2`, ...; attachment ids `stub_attachment_1`, ...;
/// persona ids `stub_persona_1`, ... A user profile names the PSID asked for and nothing else.
///
/// ```
/// use messenger_graph::{StubTransport, Transport};
/// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), messenger_graph::Error> {
/// let stub = StubTransport::new();
/// let req = GraphSendRequest::message(Recipient::psid("1234567890"), Message::text("Hello"));
/// let sent = stub.send(&req).await?;
/// assert_eq!(sent.message_id.as_deref(), Some("m_stub_1"));
/// assert_eq!(stub.sent(), [req]);
/// # Ok(()) }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "stub")))]
#[derive(Debug, Default)]
pub struct StubTransport {
    next_id: AtomicU64,
    sent: Mutex<Vec<GraphSendRequest>>,
    actions: Mutex<Vec<(Recipient, SenderAction)>>,
    personas: Mutex<Vec<Persona>>,
}

impl StubTransport {
    /// A stub that has recorded nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent so far, in order.
    pub fn sent(&self) -> Vec<GraphSendRequest> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every sender action sent so far, in order.
    pub fn sender_actions(&self) -> Vec<(Recipient, SenderAction)> {
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn next(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[async_trait]
impl Transport for StubTransport {
    async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
        let id = self.next();
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(req.clone());
        Ok(SendResponse {
            recipient_id: req.recipient.id.clone(),
            message_id: Some(format!("m_stub_{id}")),
            attachment_id: None,
        })
    }

    async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
        let _ = upload;
        Ok(format!("stub_attachment_{}", self.next()))
    }

    async fn sender_action(
        &self,
        recipient: &Recipient,
        action: SenderAction,
    ) -> Result<(), Error> {
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((recipient.clone(), action));
        Ok(())
    }

    async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
        Ok(UserProfile {
            id: Some(psid.to_owned()),
            ..UserProfile::default()
        })
    }

    async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
        let created = Persona {
            id: format!("stub_persona_{}", self.next()),
            name: persona.name.clone(),
            profile_picture_url: Some(persona.profile_picture_url.clone()),
        };
        self.personas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(created.clone());
        Ok(created)
    }

    async fn personas(&self, after: Option<&str>, limit: u32) -> Result<PersonaList, Error> {
        let _ = (after, limit);
        Ok(PersonaList {
            data: self
                .personas
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            paging: None,
        })
    }

    async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
        self.personas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p| p.id != persona_id);
        Ok(())
    }
}
