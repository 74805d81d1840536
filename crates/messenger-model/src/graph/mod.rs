//! Meta's Graph Send API: the request the product posts to `/me/messages`, the response, the
//! error object and the attachment upload response. Field names are Graph's (snake_case).

mod connection;
mod message;
mod persona;
mod request;
mod response;
mod template;
mod thread;
mod versions;

pub use connection::{
    DebugTokenResponse, SubscribedApp, SubscribedApps, TokenDebug, MESSENGER_WEBHOOK_FIELDS,
};
pub use message::{
    Attachment, MediaPayload, MediaSharePayload, Message, QuickReply, QuickReplyContentType,
};
pub use persona::{CreatedId, Cursors, NewPersona, Paging, Persona, PersonaList, SuccessResponse};
pub use request::{
    GraphSendRequest, MessagingType, NotificationType, ReactionPayload, Recipient, RecipientName,
    SenderAction, INSTAGRAM_REACTIONS,
};
pub use response::{AttachmentUploadResponse, GraphError, GraphErrorBody, SendResponse};
pub use template::{
    Button, ButtonTemplate, GenericElement, GenericTemplate, MediaElement, MediaTemplate,
    ReceiptAddress, ReceiptAdjustment, ReceiptElement, ReceiptSummary, ReceiptTemplate, Template,
};
pub use thread::{
    ThreadAction, ThreadControlRequest, ThreadOwnerApp, ThreadOwnerEntry, ThreadOwnerResponse,
    MAX_THREAD_METADATA_CHARS,
};
pub use versions::{
    graph_version, parse_graph_version, GraphVersion, GRAPH_VERSIONS, NEWEST_GRAPH_VERSION,
};
