//! A customer's data on request over HTTP: erasure answers counts (zeros the second time),
//! leaves messages redacted and nothing else, stops the customer's opt-in tokens, and a later
//! webhook from their Messenger ID is a stranger's; export streams a long history as one
//! JSON document; a `DELETE` that asks to erase is refused, not taken as a plain delete.

use messenger_model::{SendRequest, Timestamp, To};
use messenger_store::NewMessage;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const DANA: &str = "dana@example.com";
const PSID: &str = "24000000000901";

fn profile_path(id: &str, tail: &str) -> String {
    format!("/apispaces/{SPACE_A}/profiles/{}{tail}", encode(id))
}

async fn erase(env: &Env, id: &str) -> Value {
    let a = env
        .call(
            Method::POST,
            &profile_path(id, "/erasure"),
            Some(KEY_A),
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()
}

async fn export(env: &Env, id: &str) -> Value {
    let a = env.get(&profile_path(id, "/export"), KEY_A).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.header("content-type"), Some("application/json"));
    a.json()
}

#[tokio::test]
async fn erasure_forgets_the_customer_once() {
    let (receiver, url) = Receiver::start(200).await;
    let hook = format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"facebook.optin\", \"message.inbound\", \"message.sent\"]\n"
    );
    let env = Env::start_with(&hook).await;
    env.opted_in_profile(DANA, PSID).await;
    let patch = json!({"phoneNumber": "+447700900555", "firstName": "Dana"}).to_string();
    let a = env
        .json(Method::PATCH, &profile_path(DANA, ""), KEY_A, &patch)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": DANA}, "body": "dana's secret parcel", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    let token = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/state"),
            KEY_A,
            &json!({"profileId": DANA}).to_string(),
        )
        .await
        .text;
    receiver.wait_for(2).await;

    let before = export(&env, DANA).await;
    assert_eq!(before["profile"]["phoneNumber"], "+447700900555");
    assert_eq!(before["messages"][0]["id"], id.as_str());
    assert_eq!(
        before["messages"][0]["request"]["body"],
        "dana's secret parcel"
    );
    assert!(!before["events"].as_array().unwrap().is_empty());

    let first = erase(&env, DANA).await;
    assert_eq!(first["apiSpaceId"], SPACE_A);
    assert_eq!(first["counts"]["profiles"], 1);
    assert_eq!(first["counts"]["messages"], 1);
    assert_eq!(first["counts"]["optinTokens"], 1);
    assert!(first["counts"]["events"].as_u64().unwrap() >= 2, "{first}");
    assert!(!first.to_string().contains(DANA), "the answer names no one");

    env.get(&profile_path(DANA, ""), KEY_A).await.problem(404);
    let m = env.message(&id).await;
    assert_eq!(m["redacted"], true);
    assert_eq!(m["status"], "sent");
    let after = export(&env, DANA).await;
    assert_eq!(after["profile"], Value::Null);
    assert_eq!(after["messages"], json!([]));
    assert_eq!(after["events"], json!([]));

    // Again: the same shape, zeros.
    let second = erase(&env, DANA).await;
    assert_ne!(second["erasureId"], first["erasureId"]);
    let zeros: Vec<u64> = second["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(zeros, [0; 7]);

    // The token stopped working; the PSID comes back as a stranger's, to a fresh profile.
    assert_eq!(
        env.sim
            .post_optin(PAGE_A, PSID, Some(&token))
            .await
            .unwrap(),
        200
    );
    env.webhooks_applied().await;
    let events = receiver.wait_for(3).await;
    let optin = &events
        .iter()
        .find(|(_, e)| e["name"] == "facebook.optin")
        .expect("the opt-in is forwarded")
        .1["payload"];
    assert_eq!(optin["tokenError"], "token.unknown", "{optin}");
    assert_eq!(optin["linkedBy"], "new-profile");
    assert_ne!(optin["profileId"], DANA);
    let fresh = env
        .get(
            &format!("/apispaces/{SPACE_A}/profiles?fbMessengerId={PSID}"),
            KEY_A,
        )
        .await
        .json();
    let fresh = &fresh[0];
    assert_eq!(fresh["id"], optin["profileId"]);
    assert_eq!(
        fresh.get("phoneNumber"),
        None,
        "nothing of the erased profile"
    );
}

#[tokio::test]
async fn delete_asking_to_erase_is_refused() {
    let env = Env::start().await;
    env.opted_in_profile(DANA, PSID).await;
    let a = env
        .call(
            Method::DELETE,
            &profile_path(DANA, "?erase=true"),
            Some(KEY_A),
            &[],
            None,
        )
        .await;
    let p = a.problem(400);
    assert_eq!(p["errors"][0]["code"], "query.unknown");
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("/erasure"));
    assert_eq!(
        env.get(&profile_path(DANA, ""), KEY_A).await.status,
        200,
        "nothing deleted"
    );
    // Another space's key erases nothing here.
    let other = env
        .call(
            Method::POST,
            &profile_path(DANA, "/erasure"),
            Some(KEY_B),
            &[],
            None,
        )
        .await;
    other.problem(403);
}

#[tokio::test]
async fn export_streams_a_long_history() {
    let env = Env::start().await;
    let put = json!({"fbMessengerId": PSID}).to_string();
    let a = env
        .json(Method::PUT, &profile_path(DANA, ""), KEY_A, &put)
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    // Straight into the store, due in a year: nothing is sent meanwhile.
    let store = env.gateway.as_ref().unwrap().messenger().store().clone();
    let later = Timestamp::now().add_millis(365 * 24 * 3600 * 1000);
    let count = 3_000;
    let mut want = Vec::new();
    for chunk in 0..count / 500 {
        let batch: Vec<NewMessage> = (0..500)
            .map(|i| {
                let n = chunk * 500 + i;
                let req = SendRequest::new(To::profile(DANA)).body(format!("note {n}"));
                let mut m =
                    NewMessage::new(SPACE_A, format!("profile:{DANA}"), req, Timestamp::now());
                m.not_before = later;
                m
            })
            .collect();
        want.extend(batch.iter().map(|m| m.id.clone()));
        store.insert_messages(batch).await.unwrap();
    }

    let mut response = env
        .http
        .get(format!("{}{}", env.base, profile_path(DANA, "/export")))
        .bearer_auth(KEY_A)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None, "streamed, not sized first");
    let (mut body, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    assert!(chunks > 2, "{chunks} chunks");
    let doc: Value = serde_json::from_slice(&body).expect("the document parses");
    assert_eq!(doc["apiSpaceId"], SPACE_A);
    assert_eq!(doc["profile"]["fbMessengerId"], PSID);
    let got: Vec<&str> = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, want, "every message once, in acceptance order");
    assert_eq!(doc["messages"][2999]["request"]["body"], "note 2999");
    assert_eq!(
        doc["messages"][0]["statusHistory"][0]["status"],
        "processing"
    );
}

/// Through the whole pipeline (an opt-in with a token, the user's profile from Graph, an
/// inbound message, a send with its receipts, events delivered to the business), then an
/// erasure: the SQLite file and its WAL, read raw, hold nothing of the customer.
#[tokio::test]
async fn the_database_file_holds_nothing_of_an_erased_customer() {
    const ERIN: &str = "erin.erasable@example.com";
    const ERIN_PSID: &str = "24000000000977";
    let (receiver, url) = Receiver::start(200).await;
    let hook = format!("[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n");
    let env = Env::start_with(&hook).await;
    let put = json!({"email": ERIN, "phoneNumber": "+447700900888"}).to_string();
    let a = env
        .json(Method::PUT, &profile_path(ERIN, ""), KEY_A, &put)
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let token = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/state"),
            KEY_A,
            &json!({"profileId": ERIN, "data": {"cart": "ERIN-SECRET-CART"}}).to_string(),
        )
        .await
        .text;
    assert_eq!(
        env.sim
            .post_optin(PAGE_A, ERIN_PSID, Some(&token))
            .await
            .unwrap(),
        200
    );
    env.inbound_to(PAGE_A, ERIN_PSID, "ERIN-SECRET-INBOUND")
        .await;
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": ERIN}, "body": "ERIN-SECRET-BODY", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    let later = Timestamp::now().add_millis(60_000).millis();
    env.sim
        .post_delivery(PAGE_A, ERIN_PSID, later, Vec::<String>::new())
        .await
        .unwrap();
    env.sim.post_read(PAGE_A, ERIN_PSID, later).await.unwrap();
    env.webhooks_applied().await;
    // opt-in, inbound, sent, delivered, read
    receiver.wait_for(5).await;

    let db = env._dir.path().join("data").join("messenger.db");
    let raw = || {
        let mut bytes = std::fs::read(&db).unwrap();
        bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
        bytes
    };
    let secrets = [
        ERIN,
        ERIN_PSID,
        "447700900888",
        "ERIN-SECRET-BODY",
        "ERIN-SECRET-INBOUND",
        "ERIN-SECRET-CART",
    ];
    let found = |bytes: &[u8]| -> Vec<&str> {
        secrets
            .iter()
            .copied()
            .filter(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
            .collect()
    };
    assert_eq!(found(&raw()), secrets, "all of Erin is stored before");
    let erased = erase(&env, ERIN).await;
    assert_eq!(erased["counts"]["profiles"], 1, "{erased}");
    assert_eq!(found(&raw()), Vec::<&str>::new(), "nothing of Erin after");
}
