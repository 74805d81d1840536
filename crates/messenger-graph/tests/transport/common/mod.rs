//! Shared setup: a graph-sim on loopback with one page and an app secret, and a client for it.

#![allow(dead_code)] // each test module uses a different part of this module

use std::time::Duration;

use graph_sim::{GraphSim, RecordedRequest};
use hmac::{Hmac, Mac};
use messenger_graph::{GraphClient, Jitter, RetryPolicy};
use messenger_model::graph::{GraphSendRequest, Message, Recipient};
use sha2::Sha256;

pub(crate) const PAGE_ID: &str = "100200300400500";
pub(crate) const TOKEN: &str = "EAAG-page-token-never-logged";
pub(crate) const APP_SECRET: &str = "app-secret-never-logged";
pub(crate) const PSID: &str = "1000000000000001";

/// A simulator with one page and an app secret.
pub(crate) async fn sim() -> GraphSim {
    GraphSim::builder()
        .page(PAGE_ID, TOKEN)
        .app_secret(APP_SECRET)
        .start()
        .await
        .expect("graph-sim starts")
}

/// A client for the simulator's page, with the right app secret.
pub(crate) fn client(sim: &GraphSim) -> GraphClient {
    GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// A text message to `psid`.
pub(crate) fn text(psid: &str, body: &str) -> GraphSendRequest {
    GraphSendRequest::message(Recipient::psid(psid), Message::text(body))
}

/// The expected `appsecret_proof` for `token` under `secret`, computed independently.
pub(crate) fn proof(secret: &str, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The recorded Send API calls (`POST .../messages`).
pub(crate) fn send_calls(sim: &GraphSim) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect()
}

/// A fast policy for tests: small backoffs, no deadline.
pub(crate) fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        multiplier: 2.0,
        jitter: Jitter::Full,
        deadline: None,
    }
}
