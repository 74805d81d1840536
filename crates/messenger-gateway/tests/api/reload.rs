//! Reloading the configuration file while the gateway serves (`POST /ops/reload`, what SIGHUP
//! does): an API key rotated under a client's steady traffic, a dead page token replaced while
//! its messages wait, and a broken file that changes nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;
use crate::key_rotation::assert_each_key_switches_once;

pub(crate) const ADMIN_KEY: &str = "reload-admin-key-0123456789";
const NEW_KEY_A: &str = "acme-rotated-key-0123456789";
const DEAD_TOKEN: &str = "page-token-revoked-by-a-password-change";

pub(crate) fn admin() -> String {
    format!("admin_keys = [\"{ADMIN_KEY}\"]")
}

impl Env {
    /// Rewrites the configuration file through `edit` and asks the gateway to read it again.
    pub(crate) async fn reload_with(&self, edit: impl FnOnce(String) -> String) -> Answer {
        let text = std::fs::read_to_string(&self.config_file).unwrap();
        std::fs::write(&self.config_file, edit(text)).unwrap();
        self.call(Method::POST, "/ops/reload", Some(ADMIN_KEY), &[], None)
            .await
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotated_key_takes_over_without_a_request_dropped() {
    let env = Arc::new(Env::start_configured(&admin(), "").await);
    let list = format!("/apispaces/{SPACE_A}/messages?limit=1");
    assert_eq!(env.get(&list, KEY_A).await.status, 200);
    assert_eq!(env.get(&list, NEW_KEY_A).await.status, 401);

    // A client keeps asking with both keys while the file changes under it.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (env, stop, list) = (Arc::clone(&env), Arc::clone(&stop), list.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for key in [KEY_A, NEW_KEY_A] {
                    let a = env
                        .try_call(Method::GET, &list, Some(key), &[], None)
                        .await
                        .unwrap_or_else(|e| panic!("a request was dropped: {e:?}"));
                    answers.push((key, a.status));
                }
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = env
        .reload_with(|toml| {
            toml.replace(
                &format!("keys = [\"{KEY_A}\"]"),
                &format!("keys = [\"{NEW_KEY_A}\"]"),
            )
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(strings(&r.json()["applied"]), ["spaces[0].keys"]);
    assert!(strings(&r.json()["needsRestart"]).is_empty(), "{}", r.text);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let answers = client.await.unwrap();

    // Every answer is 200 or 401, and each key changed its answer once: the old key worked
    // until the reload and never after, the new one the other way round.
    assert_each_key_switches_once(&answers, [(KEY_A, 200, 401), (NEW_KEY_A, 401, 200)]);
    assert_eq!(env.get(&list, KEY_A).await.status, 401);
    assert_eq!(env.get(&list, NEW_KEY_A).await.status, 200);
    // The other spaces' keys are untouched.
    assert_eq!(
        env.get(&format!("/apispaces/{SPACE_B}/messages?limit=1"), KEY_B)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_dead_page_token_replaced_lets_the_waiting_messages_go() {
    let env = Env::start_edited(&admin(), "", |toml| {
        toml.replace(
            &format!("page_token = \"{PAGE_TOKEN_A}\""),
            &format!("page_token = \"{DEAD_TOKEN}\""),
        )
    })
    .await;
    env.opted_in_profile("reload-psid-profile", "24000000000000101")
        .await;
    let mut ids = Vec::new();
    for text in ["first", "second"] {
        let body = json!({"to": {"fbMessengerId": "24000000000000101"}, "body": text, "rules": ["fbMessenger"]});
        let a = env.send(SPACE_A, KEY_A, &body).await;
        assert_eq!(a.status, 201, "{}", a.text);
        ids.push(a.json()["id"].as_str().unwrap().to_owned());
    }
    // Graph refuses the dead token (a token check or the send itself): the messages wait,
    // nothing is sent.
    let used_dead_token = || {
        env.sim.requests().iter().any(|r| {
            r.query.as_deref().is_some_and(|q| q.contains(DEAD_TOKEN))
                || r.header("authorization")
                    .is_some_and(|h| h.contains(DEAD_TOKEN))
        })
    };
    let mut refused = false;
    for _ in 0..1500 {
        if used_dead_token() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "graph-sim never saw the dead token");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.sim.sent_count(), 0);
    for id in &ids {
        let m = env.message(id).await;
        assert!(
            matches!(m["status"].as_str(), Some("processing" | "retrying")),
            "{m}"
        );
    }

    let r = env
        .reload_with(|toml| toml.replace(DEAD_TOKEN, PAGE_TOKEN_A))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(strings(&r.json()["applied"]), ["spaces[0].page_token"]);

    // Both go out, in order, with the new token (the page's circuit waits at most 60 s).
    for _ in 0..3500 {
        if env.sim.sent_count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent: Vec<String> = env
        .sim
        .sent_messages()
        .iter()
        .map(|m| {
            m.request
                .message
                .as_ref()
                .and_then(|m| m.text.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(sent, ["first", "second"], "{}", env.message(&ids[0]).await);
    for id in &ids {
        assert_eq!(env.settled(id).await["status"], "sent");
    }
}

#[tokio::test]
async fn a_broken_file_changes_nothing_and_names_every_problem() {
    let env = Env::start_configured(&admin(), "").await;
    let list = format!("/apispaces/{SPACE_A}/messages?limit=1");
    let r = env
        .reload_with(|toml| {
            // A new key (which would be applied) beside two mistakes.
            toml.replace(
                &format!("keys = [\"{KEY_A}\"]"),
                &format!("keys = [\"{NEW_KEY_A}\"]"),
            )
            .replace(&format!("page_id = \"{PAGE_B}\""), "page_id = \"\"")
            .replace(&format!("keys = [\"{KEY_C}\"]"), "keys = [\"short\"]")
        })
        .await;
    let p = r.problem(422);
    let pointers: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "config.invalid");
            e["path"].as_str().unwrap()
        })
        .collect();
    assert!(pointers.contains(&"/spaces/1/page_id"), "{p}");
    assert!(
        pointers.iter().any(|p| p.starts_with("/spaces/2/keys")),
        "{p}"
    );
    // Nothing changed: the old key still works, the new one does not.
    assert_eq!(env.get(&list, KEY_A).await.status, 200);
    assert_eq!(env.get(&list, NEW_KEY_A).await.status, 401);

    // Not TOML at all: the line and column, nothing changed.
    let r = env.reload_with(|toml| format!("{toml}\n[[spaces]\n")).await;
    let p = r.problem(422);
    assert!(
        p["errors"][0]["message"].as_str().unwrap().contains("line"),
        "{p}"
    );
    assert_eq!(env.get(&list, KEY_A).await.status, 200);

    // Mended, the file reloads.
    let text = std::fs::read_to_string(&env.config_file).unwrap();
    let mended = env
        .reload_with(|_| text.trim_end().trim_end_matches("[[spaces]").to_owned())
        .await;
    assert_eq!(mended.status, 422, "{}", mended.text);
    let r = env.reload_with(|_| env.toml.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(env.get(&list, KEY_A).await.status, 200);
}

#[tokio::test]
async fn what_cannot_change_live_is_reported_as_needing_a_restart() {
    let env = Env::start_configured(&admin(), "").await;
    let r = env
        .reload_with(|toml| {
            toml.replace("workers = 2", "workers = 3").replace(
                &format!("page_token = \"{PAGE_TOKEN_B}\""),
                &format!("page_token = \"{PAGE_TOKEN_B}\"\nsend_rate = 40"),
            )
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(strings(&r.json()["applied"]), ["spaces[1].send_rate"]);
    assert_eq!(strings(&r.json()["needsRestart"]), ["dispatch"]);
    // Reported again on the next reload, since it still waits for a restart.
    let r = env.reload_with(|toml| toml).await;
    assert_eq!(strings(&r.json()["applied"]), Vec::<String>::new());
    assert_eq!(strings(&r.json()["needsRestart"]), ["dispatch"]);
    // Admin only.
    let a = env
        .call(Method::POST, "/ops/reload", Some(KEY_A), &[], None)
        .await;
    a.problem(403);
}
