//! Instagram Direct over real HTTP: both hosts and their tokens ([`hosts`]), Instagram's send
//! rules and window ([`rules`]), private replies, reactions and faults ([`replies`]), webhooks
//! signed per account, echoes and reads ([`webhooks`]), and the control API ([`control`]).
//!
//! Every test runs the same two accounts: [`FB_ACCOUNT`] linked to the page (Facebook Login) and
//! [`IG_ACCOUNT`] with its own token on the Instagram host (Instagram Login).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use graph_sim::{GraphSim, GraphSimBuilder, InstagramLogin};
use hmac::{Hmac, Mac};
use messenger_model::Timestamp;
use serde_json::Value;

use crate::common::{answer, Answer, PAGE, TOKEN};

mod control;
mod hosts;
mod replies;
mod rules;
mod webhooks;

/// The account linked to [`PAGE`] (Facebook Login).
pub(crate) const FB_ACCOUNT: &str = "17841400000000001";
/// The account with its own Instagram token (Instagram Login).
pub(crate) const IG_ACCOUNT: &str = "17841400000000002";
/// [`IG_ACCOUNT`]'s Instagram user token.
pub(crate) const IG_TOKEN: &str = "IGAA_TEST_TOKEN_2";
/// [`IG_ACCOUNT`]'s Instagram app secret (webhooks of that account are signed with it).
pub(crate) const IG_SECRET: &str = "IG_APP_SECRET";
/// [`IG_ACCOUNT`]'s app-scoped id (`/me`'s `id`).
pub(crate) const SCOPED_ID: &str = "9000000000000002";
/// The Facebook app's secret (webhooks of [`FB_ACCOUNT`] are signed with it).
pub(crate) const APP_SECRET: &str = "APP_SECRET";

/// Both accounts, the Instagram host on; no app secret (so no `appsecret_proof` needed).
pub(crate) fn builder() -> GraphSimBuilder {
    GraphSim::builder()
        .page(PAGE, TOKEN)
        .instagram_account(FB_ACCOUNT, InstagramLogin::Page(PAGE.into()))
        .instagram_account(
            IG_ACCOUNT,
            InstagramLogin::instagram(IG_TOKEN, IG_SECRET, SCOPED_ID, "shop"),
        )
        .instagram_host(true)
}

/// The Facebook host's Send API with the page token.
pub(crate) fn fb_send_url(sim: &GraphSim) -> String {
    format!("{}/v21.0/me/messages?access_token={TOKEN}", sim.base_url())
}

/// The Instagram host's Send API with `token`.
pub(crate) fn ig_send_url(sim: &GraphSim, token: &str) -> String {
    format!(
        "{}/v21.0/me/messages?access_token={token}",
        sim.instagram_url().expect("the Instagram host is on")
    )
}

/// A user of `account` who wrote a minute ago (the window is open).
pub(crate) fn user_who_wrote(sim: &GraphSim, account: &str) -> String {
    let igsid = sim.new_instagram_user(account).unwrap();
    sim.set_last_inbound(account, &igsid, Timestamp::now().millis() - 60_000);
    igsid
}

/// GETs `url`.
pub(crate) async fn get(url: &str) -> Answer {
    answer(reqwest::get(url).await.unwrap()).await
}

/// `error.type` of a Graph error body.
pub(crate) fn error_type(a: &Answer) -> &str {
    a.json["error"]["type"].as_str().unwrap_or("")
}

/// A webhook post received: its `X-Hub-Signature-256` and raw body.
#[derive(Debug, Clone)]
pub(crate) struct Post {
    pub signature: Option<String>,
    pub body: Bytes,
}

impl Post {
    /// Whether the signature is the HMAC-SHA256 of the body with `secret` (checked here, not
    /// with graph-sim's helper).
    pub(crate) fn signed_with(&self, secret: &str) -> bool {
        let Some(hex_sig) = self
            .signature
            .as_deref()
            .and_then(|s| s.strip_prefix("sha256="))
        else {
            return false;
        };
        let Ok(sig) = hex::decode(hex_sig) else {
            return false;
        };
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        mac.verify_slice(&sig).is_ok()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What a receiver got.
#[derive(Debug, Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<Post>>>);

impl Received {
    pub(crate) fn all(&self) -> Vec<Post> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until a post matches `pred` (at most 10 s, against hanging) and answers it.
    pub(crate) async fn wait_for(&self, pred: impl Fn(&Value) -> bool) -> Post {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(p) = self.all().into_iter().find(|p| pred(&p.json())) {
                return p;
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "no such post: {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A receiver that keeps every post and answers 200: its URL and what it got.
pub(crate) async fn receiver() -> (String, Received) {
    let received = Received::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/webhooks",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let signature = headers
                    .get("x-hub-signature-256")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                keep.0.lock().unwrap().push(Post { signature, body });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// The first event of a body's first entry, in `messaging[]` or as a `changes[]` value.
pub(crate) fn first_event(body: &Value) -> &Value {
    let entry = &body["entry"][0];
    if entry["messaging"].is_array() {
        &entry["messaging"][0]
    } else {
        &entry["changes"][0]["value"]
    }
}
