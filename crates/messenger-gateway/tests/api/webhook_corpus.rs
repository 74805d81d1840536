//! Every body of the corpus of Meta's webhook shapes (messenger-model's
//! `tests/webhook_corpus/`), signed as Meta signs and posted to the gateway: each is answered
//! 200, and each of its events is applied, recognised as a duplicate, ignored, or quarantined.
//! None is dropped; the quarantine lists what could not be applied, for an admin.

use std::collections::BTreeMap;

use messenger_model::webhook::{EventKind, WebhookPayload};
use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

const ADMIN_KEY: &str = "corpus-admin-key-0123456789";
const RESULTS: [&str; 4] = ["applied", "duplicate", "ignored", "quarantined"];

/// `webhook_events_total` by result.
async fn event_counts(env: &Env) -> BTreeMap<&'static str, u64> {
    let text = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    RESULTS
        .iter()
        .map(|r| {
            let series = format!("messenger_gateway_webhook_events_total{{result=\"{r}\"}}");
            (*r, metric(&text, &series))
        })
        .collect()
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../messenger-model/tests/webhook_corpus"
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, restamped(&std::fs::read(&p).unwrap()))
        })
        .collect();
    files.sort();
    files
}

/// The corpus's times (`timestamp`s and entry `time`s, all 1764400000xxx, late 2025) moved to a
/// few minutes ago, keeping their last five digits: events older than the dedupe horizon
/// (7 days) are quarantined as replays, and these are Meta's shapes, not replays.
fn restamped(body: &[u8]) -> Vec<u8> {
    let recent = (messenger_model::Timestamp::now().millis() / 100_000 - 3) * 100_000;
    let prefix = recent.to_string();
    String::from_utf8(body.to_vec())
        .unwrap()
        .replace("17644000", &prefix[..8])
        .into_bytes()
}

/// Posts `body` signed, waits until it is applied, and returns what happened to its events.
async fn post(env: &Env, name: &str, body: Vec<u8>) -> BTreeMap<&'static str, u64> {
    let before = event_counts(env).await;
    assert_eq!(env.sim.post_raw(body).await.unwrap(), 200, "{name}");
    env.webhooks_applied().await;
    let after = event_counts(env).await;
    RESULTS.iter().map(|r| (*r, after[r] - before[r])).collect()
}

#[tokio::test]
async fn every_signed_body_is_answered_200_and_applied_or_quarantined() {
    let env = Env::start_configured(&format!("admin_keys = [\"{ADMIN_KEY}\"]"), "").await;
    let files = corpus();
    assert!(files.len() >= 30, "the corpus has {} bodies", files.len());
    let mut quarantined = 0;
    for (name, body) in files {
        let payload = WebhookPayload::from_json(&body).unwrap();
        let unparsed = payload.unparsed_events().count();
        let unknown = payload
            .events()
            .filter(|(_, _, e)| matches!(e.kind(), EventKind::Unknown))
            .count();
        let events = payload.events().count() + unparsed;
        let got = post(&env, &name, body).await;
        assert_eq!(
            got.values().sum::<u64>(),
            events as u64,
            "{name}: every event is accounted for: {got:?}"
        );
        assert_eq!(
            got["quarantined"],
            (unparsed + unknown) as u64,
            "{name}: what cannot be applied is quarantined: {got:?}"
        );
        quarantined += unparsed + unknown;
    }
    // Bodies Meta signed that are not webhook payloads at all: 200, quarantined whole.
    for raw in [&b"not json"[..], b"[1,2,3]", b"\"page\"", b"{\"entry\": 7}"] {
        let name = String::from_utf8_lossy(raw).into_owned();
        let got = post(&env, &name, raw.to_vec()).await;
        assert_eq!(got["quarantined"], 1, "{name}: {got:?}");
        quarantined += 1;
    }

    // The quarantine lists them for an admin, oldest first, and deletes one by key.
    let path = "/webhooks/facebook/quarantine?limit=1000";
    assert_eq!(
        env.get(path, KEY_C).await.status,
        403,
        "an API key is no admin key"
    );
    let listed = env.get(path, ADMIN_KEY).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let listed = listed.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), quarantined, "{listed:#?}");
    assert!(listed
        .iter()
        .all(|q| q["reason"].as_str().is_some_and(|r| !r.is_empty())));
    let not_json = listed
        .iter()
        .find(|q| q["rawText"] == "not json")
        .expect("the body that is not JSON, kept as text");
    assert_eq!(not_json["raw"], Value::Null);
    let key = not_json["key"].as_str().unwrap();
    let delete = |key: String| {
        let env = &env;
        async move {
            env.call(
                Method::DELETE,
                &format!("/webhooks/facebook/quarantine/{}", encode(&key)),
                Some(ADMIN_KEY),
                &[],
                None,
            )
            .await
            .status
        }
    };
    assert_eq!(delete(key.to_owned()).await, 204);
    assert_eq!(delete(key.to_owned()).await, 404);
    let metrics = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text;
    assert_eq!(
        metric(
            &metrics,
            "messenger_gateway_queue_depth{queue=\"webhook_quarantine\"}"
        ),
        (quarantined - 1) as u64
    );
}
