//! What Graph says about a page's connection to the app: a token's debug information
//! (`GET /debug_token`) and the app's webhook subscription to the page
//! (`GET`/`POST /{page-id}/subscribed_apps`), with the webhook fields Messenger uses.

use serde::{Deserialize, Serialize};

use super::GraphError;

/// `GET /debug_token?input_token=...`: `{"data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DebugTokenResponse {
    /// What Graph knows of the token.
    pub data: TokenDebug,
}

/// A token's debug information.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenDebug {
    /// The app the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `PAGE`, `USER`, `APP`, `SYSTEM_USER`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether the token works now.
    #[serde(default)]
    pub is_valid: bool,
    /// When it expires (seconds since the epoch); `0` or absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When its access to the user's data expires (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_access_expires_at: Option<i64>,
    /// The page of a page token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The user it was issued by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The permissions granted (`pages_messaging`, ...).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Why an invalid token is invalid (code 190 and its subcode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<GraphError>,
}

/// `GET /{page-id}/subscribed_apps`: the apps subscribed to the page's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscribedApps {
    /// One entry per app.
    #[serde(default)]
    pub data: Vec<SubscribedApp>,
}

/// One app subscribed to a page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscribedApp {
    /// The app's id.
    #[serde(default)]
    pub id: String,
    /// The app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The webhook fields it receives for the page.
    #[serde(default)]
    pub subscribed_fields: Vec<String>,
}

/// Messenger's webhook fields the product understands, in the order Meta lists them.
pub const MESSENGER_WEBHOOK_FIELDS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "messaging_referrals",
    "message_reactions",
    "message_edits",
    "messaging_handovers",
    "standby",
    "response_feedback",
];
