//! Thread control over HTTP against graph-sim: who owns a conversation, pass, take, release and
//! request; a send while another app owns the conversation answers what Meta answers
//! (10/2018300, classified); the other app passes it back through graph-sim, which posts Meta's
//! signed `messaging_handovers` webhook, and the business hears it as `facebook.handover`; bad
//! ids and metadata are 400s naming the field.

use graph_sim::ThreadAction;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const OTHER_APP: &str = "1517776481860111";
const OUR_APP: &str = graph_sim::connection::DEFAULT_APP_ID;
const PSID: &str = "24000000000555";

fn thread(psid: &str, what: &str) -> String {
    format!("/apispaces/{SPACE_A}/channels/facebook/threads/{psid}/{what}")
}

impl Env {
    async fn owner(&self) -> Value {
        let a = self.get(&thread(PSID, "owner"), KEY_A).await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()["ownerAppId"].clone()
    }

    async fn control(&self, what: &str, body: Option<Value>) -> Answer {
        match body {
            Some(b) => {
                self.json(Method::POST, &thread(PSID, what), KEY_A, &b.to_string())
                    .await
            }
            None => {
                self.call(Method::POST, &thread(PSID, what), Some(KEY_A), &[], None)
                    .await
            }
        }
    }
}

#[tokio::test]
async fn a_conversation_moves_between_apps_and_sends_follow_its_owner() {
    let (receiver, url) = Receiver::start(200).await;
    let hooks = format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"facebook.handover\", \"message.failed\"]\n"
    );
    let env = Env::start_with(&hooks).await;
    // The app's subscription has messaging_handovers (what `subscribe` posts for a space that
    // forwards facebook.handover): Meta posts handover events.
    env.sim.set_subscribed_fields(
        PAGE_A,
        ["messages", "message_echoes", "messaging_handovers"],
    );
    env.opted_in_profile("ivy", PSID).await;
    assert_eq!(env.owner().await, Value::Null);

    // Another app (a human agents' inbox) takes the idle conversation (nothing to tell our app):
    // our send is refused as Meta refuses it, and classified.
    let posted = env
        .sim
        .thread_control_by(OTHER_APP, PAGE_A, PSID, ThreadAction::Take, None)
        .await
        .unwrap();
    assert_eq!(posted, None);
    assert_eq!(env.owner().await, OTHER_APP);
    let send =
        json!({"to": {"profileId": "ivy"}, "body": "Still there?", "rules": ["fbMessenger"]});
    let a = env.send(SPACE_A, KEY_A, &send).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["error"]["code"], "graph.user_unavailable", "{m}");
    assert!(
        m["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another app is controlling this thread"),
        "{m}"
    );
    assert_eq!(env.sim.sent_count(), 0);
    // Passing a conversation another app controls is refused the same way (422, Graph's codes).
    let p = env
        .control("pass", Some(json!({"targetAppId": "263902037430900"})))
        .await
        .problem(422);
    assert_eq!(p["graphCode"], 10);
    assert_eq!(p["graphSubcode"], 2018300);

    // The other app passes it back: graph-sim posts Meta's signed pass_thread_control to the
    // gateway, and the business hears it as facebook.handover.
    let back = ThreadAction::Pass {
        target_app_id: OUR_APP.into(),
    };
    let posted = env
        .sim
        .thread_control_by(OTHER_APP, PAGE_A, PSID, back, Some("resolved by agent 17"))
        .await
        .unwrap();
    assert_eq!(posted, Some(200));
    assert_eq!(env.owner().await, OUR_APP);
    let post = env.sim.webhook_posts().pop().expect("the handover post");
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(
        body["entry"][0]["messaging"][0]["pass_thread_control"],
        json!({"previous_owner_app_id": OTHER_APP, "new_owner_app_id": OUR_APP,
               "metadata": "resolved by agent 17"}),
        "{body}"
    );
    env.webhooks_applied().await;
    let events = receiver.wait_for(2).await;
    let handover: Vec<&Value> = events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["name"] == "facebook.handover")
        .collect();
    assert_eq!(handover.len(), 1, "{events:?}");
    assert_eq!(handover[0]["payload"]["kind"], "pass");
    assert_eq!(handover[0]["payload"]["newOwnerAppId"], OUR_APP);
    assert_eq!(handover[0]["payload"]["profileId"], "ivy");
    assert_eq!(handover[0]["payload"]["metadata"], "resolved by agent 17");
    let a = env.send(SPACE_A, KEY_A, &send).await;
    assert_eq!(
        env.settled(a.json()["id"].as_str().unwrap()).await["status"],
        "sent"
    );

    // Our app passes it to the inbox with metadata, asks for it back, takes it, releases it.
    let a = env
        .control(
            "pass",
            Some(json!({"targetAppId": "263902037430900", "metadata": "needs a person"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"fbMessengerId": PSID, "action": "pass", "targetAppId": "263902037430900"})
    );
    assert_eq!(env.owner().await, "263902037430900");
    assert_eq!(env.control("request", None).await.status, 200);
    let a = env
        .control("take", Some(json!({"metadata": "the bot again"})))
        .await;
    assert_eq!(a.json(), json!({"fbMessengerId": PSID, "action": "take"}));
    assert_eq!(env.owner().await, OUR_APP);
    assert_eq!(env.control("release", None).await.status, 200);
    assert_eq!(env.owner().await, Value::Null);
    // What Graph was asked, in order.
    let edges: Vec<String> = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("_thread_control"))
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        edges,
        [
            "pass_thread_control",
            "pass_thread_control",
            "request_thread_control",
            "take_thread_control",
            "release_thread_control"
        ]
    );

    // Our app holds the conversation; the inbox asks for it, then takes it: Meta tells our app
    // each time, and the business hears both.
    assert_eq!(env.control("take", None).await.status, 200);
    let asked = env
        .sim
        .thread_control_by(
            OTHER_APP,
            PAGE_A,
            PSID,
            ThreadAction::Request,
            Some("a person"),
        )
        .await
        .unwrap();
    assert_eq!(asked, Some(200));
    let taken = env
        .sim
        .thread_control_by(OTHER_APP, PAGE_A, PSID, ThreadAction::Take, None)
        .await
        .unwrap();
    assert_eq!(taken, Some(200));
    assert_eq!(env.owner().await, OTHER_APP);
    env.webhooks_applied().await;
    let events = receiver.wait_for(4).await;
    let kinds: Vec<(&Value, &Value)> = events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e["name"] == "facebook.handover")
        .map(|e| (&e["payload"]["kind"], &e["payload"]["requestedOwnerAppId"]))
        .collect();
    assert_eq!(
        kinds,
        [
            (&json!("pass"), &Value::Null),
            (&json!("request"), &json!(OTHER_APP)),
            (&json!("take"), &Value::Null)
        ],
        "{events:?}"
    );
    // A third app passing a conversation the inbox controls is refused, changing nothing.
    let refused = env
        .sim
        .thread_control_by(
            "9990001112223",
            PAGE_A,
            PSID,
            ThreadAction::Pass {
                target_app_id: OUR_APP.into(),
            },
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(graph_sim::SimError::ThreadControl { .. })),
        "{refused:?}"
    );
    assert_eq!(env.owner().await, OTHER_APP);
}

#[tokio::test]
async fn bad_ids_and_metadata_are_named() {
    let env = Env::start().await;
    let p = env
        .get(&thread("not-a-psid", "owner"), KEY_A)
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "fbMessengerId.invalid");
    let p = env
        .control(
            "pass",
            Some(json!({"targetAppId": "app", "metadata": "x".repeat(1001), "to": 1})),
        )
        .await
        .problem(400);
    let codes: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["field.unknown", "targetAppId.invalid", "metadata.too_long"]
    );
    assert_eq!(
        env.control("pass", None).await.problem(400)["errors"][0]["path"],
        "/targetAppId"
    );
    assert_eq!(
        env.control("take", Some(json!([]))).await.problem(400)["errors"][0]["code"],
        "field.type"
    );
    // Another space's key: 403, before anything reaches Graph.
    let a = env
        .call(Method::POST, &thread(PSID, "take"), Some(KEY_B), &[], None)
        .await;
    a.problem(403);
    assert!(env
        .sim
        .requests()
        .iter()
        .all(|r| !r.path.ends_with("_thread_control")));
}
