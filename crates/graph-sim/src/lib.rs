//! # graph-sim
//!
//! An honest stand-in for the parts of Meta's Graph API that the Messenger channel uses, served
//! over real HTTP on loopback, for tests, the demo and benchmarks:
//!
//! - the Send API (`POST /v{N}/me/messages`, `/v{N}/{page-id}/messages`) with Graph's token and
//!   `appsecret_proof` checks, Graph's request checks ([`graph_rules`]) and Graph's error bodies;
//! - attachment upload (`POST /v{N}/me/message_attachments`, 25 MB limit);
//! - the user profile API (`GET /v{N}/{psid}?fields=...`);
//! - the page's connection ([`connection`]): `debug_token` (each token valid, or revoked with
//!   one of error 190's subcodes, its expiry and permissions) and the app's webhook subscription
//!   (`GET`/`POST /v{N}/{page-id}/subscribed_apps`);
//! - sender actions (typing on/off, mark seen) and the page's personas
//!   (`/v{N}/me/personas`, `DELETE /v{N}/{persona-id}`), a send's `persona_id` checked against
//!   them ([`personas`]);
//! - thread control (the handover protocol: pass, take, release, request, the thread's owner),
//!   a send to a conversation another app controls refused with Meta's 10/2018300;
//! - Meta's side of webhooks: opt-ins, inbound messages, delivery and read receipts posted to the
//!   product's callback URL, signed with `X-Hub-Signature-256` exactly as Meta signs;
//! - scripted faults ([`Fault`]): rate limits with usage headers, 5xx, slowness, user
//!   unavailable, outside the window, invalid recipient, expired token, anything custom;
//! - optionally, Meta's messaging window ([`window`]);
//! - Instagram Direct ([`instagram`]): accounts linked to a page (Facebook Login) or with their own
//!   token on a second listener playing `graph.instagram.com` (Instagram Login), Instagram's
//!   rules, window, private replies, reactions, token refresh and `object: instagram` webhooks;
//! - Twilio's Messages API for the SMS channel ([`sms`]);
//! - a control API under `/_sim/` to script a simulator running as a process ([`control`]).
//!
//! It is **never used in production paths**: no product crate may depend on it except as a
//! dev-dependency (and the gateway's demo command). It depends on `messenger-model` only among
//! the workspace crates, so it can check the product's payloads without sharing its rules.
//!
//! ```
//! use graph_sim::{Fault, FaultRule, GraphSim};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = GraphSim::builder().page("PAGE_ID", "PAGE_TOKEN").start().await?;
//! let client = reqwest::Client::new();
//! let url = format!("{}/v21.0/me/messages?access_token=PAGE_TOKEN", sim.base_url());
//! let body = serde_json::json!({"recipient": {"id": "123"}, "message": {"text": "hi"}});
//!
//! let ok: serde_json::Value = client.post(&url).json(&body).send().await?.json().await?;
//! assert_eq!(ok["recipient_id"], "123");
//! assert!(ok["message_id"].as_str().unwrap().starts_with("m_"));
//!
//! sim.fault(FaultRule::recipient("123", Fault::UserUnavailable).times(1));
//! let refused = client.post(&url).json(&body).send().await?;
//! assert_eq!(refused.status(), 400);
//! let err: serde_json::Value = refused.json().await?;
//! assert_eq!(err["error"]["code"], 551);
//! assert_eq!(sim.sent_messages().len(), 1);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod attachments;
pub mod connection;
pub mod control;
mod error;
mod faults;
mod graph_api;
pub mod graph_rules;
mod handle;
mod handover;
mod ids;
pub mod instagram;
mod instagram_accounts;
pub mod instagram_rules;
mod persona_api;
pub mod personas;
pub mod profile;
mod records;
mod send;
mod send_api;
mod signature;
mod sim;
pub mod sms;
mod state;
mod sync;
mod thread_owners;
mod threads;
mod webhook;
pub mod window;

pub use error::SimError;
pub use faults::{Fault, FaultRule, FaultScope, UsageHeaders};
pub use handle::GraphSim;
pub use handover::ThreadAction;
pub use instagram::{InstagramHost, InstagramLogin, InstagramPost, InstagramShape, InstagramToken};
pub use records::{
    InstagramAction, InstagramSend, RecordedRequest, SentAction, SentMessage, SmsMessage, Upload,
    WebhookPost,
};
pub use signature::{appsecret_proof, hub_signature_256, hub_signature_sha1};
pub use sim::GraphSimBuilder;
pub use state::AutoReceipts;
