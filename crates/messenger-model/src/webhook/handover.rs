//! `messaging_handovers` events: thread control passed, taken or requested between apps, and
//! the page's app roles (Handover Protocol, kept by Conversation Routing).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient;

/// Which handover event it is: the event field it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandoverKind {
    /// `pass_thread_control`: another app passed the thread to this one (or between apps).
    PassThreadControl,
    /// `take_thread_control`: an app took the thread.
    TakeThreadControl,
    /// `request_thread_control`: an app asks the owner for the thread.
    RequestThreadControl,
    /// `app_roles`: the page changed the roles of its apps.
    AppRoles,
}

impl HandoverKind {
    /// Every kind, in the order [`crate::webhook::MessagingEvent::kind`] looks for them.
    pub const ALL: &'static [HandoverKind] = &[
        HandoverKind::PassThreadControl,
        HandoverKind::TakeThreadControl,
        HandoverKind::RequestThreadControl,
        HandoverKind::AppRoles,
    ];

    /// The event field this kind is read from and written to (`pass_thread_control`, ...).
    pub fn field(self) -> &'static str {
        match self {
            HandoverKind::PassThreadControl => "pass_thread_control",
            HandoverKind::TakeThreadControl => "take_thread_control",
            HandoverKind::RequestThreadControl => "request_thread_control",
            HandoverKind::AppRoles => "app_roles",
        }
    }
}

/// A `messaging_handovers` event's body.
///
/// App ids are numbers in Meta's bodies; they are kept exactly as their decimal text (also above
/// 2^53). Fields not named here stay in `extra`: `requested_owner_app_id` of a request, and for
/// [`HandoverKind::AppRoles`] the whole body (app id → roles).
///
/// It serializes as Meta's body without `kind`: the event field it is written under names the
/// kind (see [`HandoverKind::field`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    /// Which handover event it is.
    #[serde(skip)]
    pub kind: HandoverKind,
    /// The app that owned the thread (`null` from Meta is `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_owner_app_id: Option<String>,
    /// The app that owns the thread now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_owner_app_id: Option<String>,
    /// The metadata the passing or requesting app attached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Handover {
    /// A handover of `kind` with no fields set.
    pub fn new(kind: HandoverKind) -> Self {
        Handover {
            kind,
            previous_owner_app_id: None,
            new_owner_app_id: None,
            metadata: None,
            extra: Map::new(),
        }
    }

    /// Reads the body of the event field `kind.field()`.
    pub(crate) fn read(kind: HandoverKind, body: HandoverBody) -> Self {
        Handover {
            kind,
            previous_owner_app_id: body.previous_owner_app_id,
            new_owner_app_id: body.new_owner_app_id,
            metadata: body.metadata,
            extra: body.extra,
        }
    }
}

/// [`Handover`] as it comes from Meta, before the kind is known.
#[derive(Debug, Deserialize)]
pub(crate) struct HandoverBody {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    previous_owner_app_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    new_owner_app_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    metadata: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}
