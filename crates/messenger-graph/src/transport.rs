//! What the product needs from Graph, as a trait: the seam where a custom transport plugs in.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use messenger_model::graph::{
    GraphSendRequest, NewPersona, Persona, PersonaList, Recipient, SendResponse, SenderAction,
    ThreadAction,
};
use messenger_model::UserProfile;

use crate::{Error, ErrorKind, Usage};

/// The largest attachment the Send API accepts, in bytes (25 MB).
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// The Graph calls the Messenger channel makes.
///
/// Object-safe: use it as `Arc<dyn Transport>`. [`GraphClient`](crate::GraphClient) implements
/// it over HTTP; [`RetryingTransport`](crate::RetryingTransport) adds retries to any
/// implementation. A custom implementation reports failures with [`Error`]'s constructors
/// ([`Error::timeout`], [`Error::connection`], [`Error::other`], ...), attaching its own cause,
/// so the sender can classify them (`examples/custom_transport.rs` wraps [`GraphClient`]).
///
/// [`GraphClient`]: crate::GraphClient
///
/// ```
/// use std::sync::Arc;
/// use messenger_graph::{GraphClient, Transport};
///
/// let client = GraphClient::builder().page_access_token("PAGE_TOKEN").build().unwrap();
/// let transport: Arc<dyn Transport> = Arc::new(client);
/// # let _ = transport;
/// ```
#[async_trait]
pub trait Transport: Send + Sync {
    /// Sends a message (`POST /me/messages`).
    async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error>;

    /// Uploads an attachment (`POST /me/message_attachments`) and returns its reusable
    /// `attachment_id`.
    async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error>;

    /// Sends a sender action (typing on/off, mark seen).
    async fn sender_action(&self, recipient: &Recipient, action: SenderAction)
        -> Result<(), Error>;

    /// Fetches a person's profile (`GET /{psid}`); fields the page may not read are absent.
    async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error>;

    /// Creates a persona of the page (`POST /me/personas`) and returns it with its id.
    ///
    /// The default refuses ([`ErrorKind::Permanent`]): a transport that only sends need not
    /// manage personas.
    async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
        let _ = persona;
        Err(personas_unsupported())
    }

    /// One page of the page's personas (`GET /me/personas`), after the cursor `after`; `limit`
    /// is how many to ask for. The default refuses, as for [`Transport::create_persona`].
    async fn personas(&self, after: Option<&str>, limit: u32) -> Result<PersonaList, Error> {
        let _ = (after, limit);
        Err(personas_unsupported())
    }

    /// Deletes a persona (`DELETE /{persona-id}`). The default refuses, as for
    /// [`Transport::create_persona`].
    async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
        let _ = persona_id;
        Err(personas_unsupported())
    }

    /// Does a thread-control `action` (pass, take, release, request) on `psid`'s conversation,
    /// with `metadata` for the other app. The default refuses, as for
    /// [`Transport::create_persona`].
    async fn thread_control(
        &self,
        psid: &str,
        action: &ThreadAction,
        metadata: Option<&str>,
    ) -> Result<(), Error> {
        let _ = (psid, action, metadata);
        Err(Error::other(
            ErrorKind::Permanent,
            "this transport does not do thread control",
        ))
    }

    /// The app that owns `psid`'s conversation, `None` when it is idle. The default refuses.
    async fn thread_owner(&self, psid: &str) -> Result<Option<String>, Error> {
        let _ = psid;
        Err(Error::other(
            ErrorKind::Permanent,
            "this transport does not do thread control",
        ))
    }

    /// The latest rate-limit usage Graph reported to this transport, if any: a hint to slow
    /// down before a limit is hit (see [`Usage::max_percent`]).
    fn usage(&self) -> Option<Usage> {
        None
    }
}

macro_rules! forward_transport {
    ($($ptr:ident),*) => {$(
        #[async_trait]
        impl<T: Transport + ?Sized> Transport for $ptr<T> {
            async fn send(&self, req: &GraphSendRequest) -> Result<SendResponse, Error> {
                (**self).send(req).await
            }

            async fn upload_attachment(&self, upload: &AttachmentUpload) -> Result<String, Error> {
                (**self).upload_attachment(upload).await
            }

            async fn sender_action(
                &self,
                recipient: &Recipient,
                action: SenderAction,
            ) -> Result<(), Error> {
                (**self).sender_action(recipient, action).await
            }

            async fn user_profile(&self, psid: &str) -> Result<UserProfile, Error> {
                (**self).user_profile(psid).await
            }

            async fn create_persona(&self, persona: &NewPersona) -> Result<Persona, Error> {
                (**self).create_persona(persona).await
            }

            async fn personas(
                &self,
                after: Option<&str>,
                limit: u32,
            ) -> Result<PersonaList, Error> {
                (**self).personas(after, limit).await
            }

            async fn delete_persona(&self, persona_id: &str) -> Result<(), Error> {
                (**self).delete_persona(persona_id).await
            }

            async fn thread_control(
                &self,
                psid: &str,
                action: &ThreadAction,
                metadata: Option<&str>,
            ) -> Result<(), Error> {
                (**self).thread_control(psid, action, metadata).await
            }

            async fn thread_owner(&self, psid: &str) -> Result<Option<String>, Error> {
                (**self).thread_owner(psid).await
            }

            fn usage(&self) -> Option<Usage> {
                (**self).usage()
            }
        }
    )*};
}

// `Arc<dyn Transport>` and `Box<dyn Transport>` are transports too (e.g. to wrap one in a
// `RetryingTransport`).
forward_transport!(Arc, Box);

/// What a transport without persona support answers.
fn personas_unsupported() -> Error {
    Error::other(
        ErrorKind::Permanent,
        "this transport does not manage personas",
    )
}

/// Graph's media attachment types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachmentType {
    /// `image`
    Image,
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `file` (anything else)
    File,
}

impl AttachmentType {
    /// The type Graph uses for a MIME type: `image/*`, `audio/*`, `video/*`, else `file`.
    pub fn for_mime_type(mime_type: &str) -> Self {
        // One mapping for the whole product: the model's (image/*, audio/*, video/*, else file).
        use messenger_model::graph::{Attachment, MediaPayload};
        match Attachment::for_mime_type(mime_type, MediaPayload::default()) {
            Attachment::Image(_) => Self::Image,
            Attachment::Audio(_) => Self::Audio,
            Attachment::Video(_) => Self::Video,
            _ => Self::File,
        }
    }

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::File => "file",
        }
    }
}

/// An attachment to upload: decoded bytes with their name and MIME type.
///
/// Decoding inline base64 data (a message part's `data`) is the caller's job.
///
/// ```
/// use messenger_graph::{AttachmentType, AttachmentUpload};
/// let up = AttachmentUpload::for_mime_type("receipt.pdf", "application/pdf", b"%PDF-1.7".to_vec());
/// assert_eq!(up.kind, AttachmentType::File);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentUpload {
    /// The attachment type Graph files it under.
    pub kind: AttachmentType,
    /// The file name sent with the data.
    pub file_name: String,
    /// The MIME type (`image/png`).
    pub mime_type: String,
    /// The content.
    pub data: Bytes,
}

impl AttachmentUpload {
    /// An upload of an explicit type.
    pub fn new(
        kind: AttachmentType,
        file_name: impl Into<String>,
        mime_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        Self {
            kind,
            file_name: file_name.into(),
            mime_type: mime_type.into(),
            data: data.into(),
        }
    }

    /// An upload whose type follows from its MIME type ([`AttachmentType::for_mime_type`]).
    pub fn for_mime_type(
        file_name: impl Into<String>,
        mime_type: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Self {
        let mime_type = mime_type.into();
        Self::new(
            AttachmentType::for_mime_type(&mime_type),
            file_name,
            mime_type,
            data,
        )
    }

    /// An upload for a send plan's inline part, with its base64 `data` already decoded.
    /// With no part name, the file is called `attachment`.
    pub fn from_inline(inline: &messenger_model::InlineUpload, decoded: impl Into<Bytes>) -> Self {
        Self::for_mime_type(
            inline
                .file_name
                .clone()
                .unwrap_or_else(|| "attachment".to_owned()),
            inline.mime_type.clone(),
            decoded,
        )
    }

    /// Checks the upload before any request: not empty, not above [`MAX_ATTACHMENT_BYTES`].
    pub fn validate(&self) -> Result<(), Error> {
        if self.data.is_empty() {
            return Err(Error::InvalidInput {
                reason: "attachment is empty".into(),
            });
        }
        if self.data.len() > MAX_ATTACHMENT_BYTES {
            return Err(Error::InvalidInput {
                reason: format!(
                    "attachment is {} bytes; Graph accepts at most {MAX_ATTACHMENT_BYTES}",
                    self.data.len()
                ),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for AttachmentUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentUpload")
            .field("kind", &self.kind)
            .field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .field("len", &self.data.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_type_to_attachment_type() {
        assert_eq!(
            AttachmentType::for_mime_type("image/png"),
            AttachmentType::Image
        );
        assert_eq!(
            AttachmentType::for_mime_type("IMAGE/JPEG"),
            AttachmentType::Image
        );
        assert_eq!(
            AttachmentType::for_mime_type("audio/mpeg"),
            AttachmentType::Audio
        );
        assert_eq!(
            AttachmentType::for_mime_type("video/mp4"),
            AttachmentType::Video
        );
        assert_eq!(
            AttachmentType::for_mime_type("application/pdf"),
            AttachmentType::File
        );
        assert_eq!(AttachmentType::for_mime_type(""), AttachmentType::File);
    }

    #[test]
    fn validation() {
        let ok = AttachmentUpload::for_mime_type("a.png", "image/png", vec![1u8, 2, 3]);
        assert!(ok.validate().is_ok());
        let empty = AttachmentUpload::for_mime_type("a.png", "image/png", Vec::<u8>::new());
        assert!(empty.validate().is_err());
        let big = AttachmentUpload::for_mime_type(
            "a.bin",
            "application/octet-stream",
            vec![0u8; MAX_ATTACHMENT_BYTES + 1],
        );
        let e = big.validate().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidParameter);
    }

    #[test]
    fn debug_does_not_dump_data() {
        let up = AttachmentUpload::for_mime_type("a.txt", "text/plain", b"secret-ish".to_vec());
        let dbg = format!("{up:?}");
        assert!(!dbg.contains("secret-ish"));
        assert!(dbg.contains("len: 10"));
    }

    #[test]
    fn from_inline_part() {
        let inline = messenger_model::InlineUpload {
            part_index: 0,
            file_name: None,
            mime_type: "video/mp4".into(),
            data_base64: "AAAA".into(),
        };
        let up = AttachmentUpload::from_inline(&inline, vec![0u8; 3]);
        assert_eq!(up.kind, AttachmentType::Video);
        assert_eq!(up.file_name, "attachment");
    }
}
