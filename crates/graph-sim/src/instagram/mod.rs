//! Instagram Direct, as Meta serves it through the Messenger Platform, beside Messenger and on
//! the same machinery (tokens, Graph's checks, faults, the window, webhooks, records).
//!
//! An Instagram professional account (its id is the `user_id` of `/me` and the `entry.id` of its
//! webhooks) is connected one of two ways ([`InstagramLogin`]):
//!
//! - **Facebook Login** ([`InstagramLogin::Page`]): linked to a configured page. The gateway sends
//!   with the page's token to the Facebook host (`POST /v{N}/me/messages`, `/v{N}/{page}/messages`)
//!   with `recipient.id` = an IGSID of the account (or `recipient.comment_id`); the simulator sees
//!   the IGSID is the account's and applies Instagram's rules. Webhooks are signed with the app
//!   secret.
//! - **Instagram Login** ([`InstagramLogin::Instagram`]): an Instagram user token, used on the
//!   second listener that plays `graph.instagram.com`
//!   ([`GraphSimBuilder::instagram_host`](crate::GraphSimBuilder::instagram_host),
//!   [`GraphSim::instagram_url`](crate::GraphSim::instagram_url)): `POST /v{N}/me/messages`,
//!   `GET /v{N}/me?fields=user_id,username`, `GET /refresh_access_token`. Webhooks are signed
//!   with the account's own Instagram app secret.
//!
//! An Instagram token on the Facebook host, or a page token on the Instagram host, is refused as
//! Meta refuses it: `IGApiException` 100, `Unsupported request - method type: post` (or `get`).
//!
//! Instagram's rules ([`rules`]): text of at most 1000 bytes, text-only quick replies,
//! `HUMAN_AGENT` the only tag, no personas, the window (24 hours; 7 days with `HUMAN_AGENT`;
//! else 10/2534022), private replies to comments (once per comment, within 7 days, 750 an hour
//! per account), `react` / `unreact`; every refusal typed `IGApiException`. No delivery receipts:
//! auto receipts post only the read (`messaging_seen` with the `mid`); echoes come in the
//! `messages` field with `is_echo` and the send's `metadata`.
//!
//! Instagram Login tokens live 60 days from their issue and may be refreshed once 24 hours old
//! (`GET /refresh_access_token`); the new token works at once and, as on Meta, the old one keeps
//! working until its own expiry. The simulator's token clock is the wall clock, and a test ages a
//! token instead of waiting ([`GraphSim::age_instagram_token`](crate::GraphSim::age_instagram_token)).
//! Users' profiles (`GET /v{N}/{IGSID}`) are answered once the user has written ([`profile`]).
//!
//! Users, their messages, reads and comments are scripted with [`GraphSim`](crate::GraphSim)'s
//! `instagram` methods or the control API (`/_sim/instagram/...`, see [`crate::control`]).
//!
//! ```
//! use graph_sim::{GraphSim, InstagramLogin};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = GraphSim::builder()
//!     .page("PAGE_ID", "PAGE_TOKEN")
//!     .instagram_account("17841400000000001", InstagramLogin::Page("PAGE_ID".into()))
//!     .instagram_account(
//!         "17841400000000002",
//!         InstagramLogin::instagram("IG_TOKEN", "IG_APP_SECRET", "9000000000000002", "shop"),
//!     )
//!     .instagram_host(true)
//!     .instagram_window(false)
//!     .start()
//!     .await?;
//! let igsid = sim.new_instagram_user("17841400000000002")?;
//! let url = format!("{}/v21.0/me/messages", sim.instagram_url().unwrap());
//! let body = serde_json::json!({"recipient": {"id": igsid}, "message": {"text": "hi"}});
//! let ok: serde_json::Value = reqwest::Client::new()
//!     .post(&url)
//!     .bearer_auth("IG_TOKEN")
//!     .json(&body)
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(ok["recipient_id"], igsid.as_str());
//! assert_eq!(sim.instagram_sent("17841400000000002")[0].request.message.as_ref().unwrap().text.as_deref(), Some("hi"));
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub(crate) use crate::instagram_accounts as accounts;
pub(crate) mod control;
pub(crate) mod host;
pub mod profile;
/// Instagram's own send rules (kept beside the common checks they are applied with).
pub use crate::instagram_rules as rules;
pub(crate) mod script;
pub(crate) mod send;
pub(crate) mod webhook;

pub use crate::instagram_accounts::{
    InstagramHost, InstagramLogin, InstagramPost, InstagramShape, InstagramToken,
    PRIVATE_REPLIES_PER_HOUR, PRIVATE_REPLY_WINDOW_MILLIS, REFRESH_MIN_AGE_MILLIS,
    TOKEN_LIFETIME_MILLIS,
};
