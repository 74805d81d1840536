//! Echoes of what the page sent without the gateway (the Page inbox, Meta Business Suite,
//! another app) reach the business as `message.echo`; echoes of the gateway's own sends stay
//! internal; and no echo opens the 24-hour window.

use std::time::Duration;

use messenger_model::webhook::{InboundMessage, MessagingEvent, Party};
use messenger_model::Timestamp;
use serde_json::{json, Value};

use crate::harness::*;

const OTHER_APP: &str = "411000000000777";

/// Space A forwarding echoes, inbound messages and sends to `url`.
fn echo_webhook(url: &str) -> String {
    format!(
        "[spaces.webhook]\nurl = \"{url}\"\nsecret = \"{HOOK_SECRET}\"\n\
         subscriptions = [\"message.echo\", \"message.inbound\", \"message.sent\"]\n"
    )
}

/// The forwarded events named `name`, payloads in order of arrival.
fn named(receiver: &Receiver, name: &str) -> Vec<Value> {
    receiver
        .events()
        .into_iter()
        .filter(|(_, e)| e["name"] == name)
        .map(|(_, e)| e["payload"].clone())
        .collect()
}

async fn wait_for_named(receiver: &Receiver, name: &str, n: usize) -> Vec<Value> {
    for _ in 0..1500 {
        let got = named(receiver, name);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} {name} events, got {:?}", receiver.events());
}

#[tokio::test]
async fn what_the_inbox_and_other_apps_send_reaches_the_business_and_our_own_sends_do_not() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&echo_webhook(&url)).await;
    let psid = "24000000000777";
    env.opted_in_profile("frank", psid).await;

    // The gateway's own send: Meta echoes it (graph-sim does, with our send tag); it confirms
    // the send and is not forwarded.
    let sent = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": "frank"}, "body": "Your order shipped", "rules": ["fbMessenger"]}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(env.settled(&id).await["status"], "sent");
    wait_for_named(&receiver, "message.sent", 1).await;

    // A person answers from the Page inbox; another app writes; then, while that app owns the
    // conversation, the inbox again (on the standby channel).
    let sim = &env.sim;
    for (text, app, standby) in [
        ("Hi Frank, Anna here", None, false),
        ("Rate us 1-5", Some(OTHER_APP), false),
        ("Anna again", None, true),
    ] {
        assert_eq!(
            sim.post_page_echo(PAGE_A, psid, text, app, standby)
                .await
                .unwrap(),
            200
        );
    }
    env.webhooks_applied().await;
    let echoes = wait_for_named(&receiver, "message.echo", 3).await;
    assert_eq!(echoes.len(), 3, "{echoes:?}");
    let fields = |e: &Value| {
        (
            e["text"].as_str().unwrap().to_owned(),
            e["sentBy"].as_str().unwrap().to_owned(),
            e["appId"].as_str().map(str::to_owned),
            e.get("standby") == Some(&Value::Bool(true)),
        )
    };
    assert_eq!(
        echoes.iter().map(fields).collect::<Vec<_>>(),
        [
            (
                "Hi Frank, Anna here".to_owned(),
                "inbox".to_owned(),
                None,
                false
            ),
            (
                "Rate us 1-5".to_owned(),
                "app".to_owned(),
                Some(OTHER_APP.to_owned()),
                false
            ),
            ("Anna again".to_owned(), "inbox".to_owned(), None, true),
        ]
    );
    for e in &echoes {
        assert_eq!(e["profileId"], "frank", "{e}");
        assert_eq!(e["fbMessengerId"], psid);
        assert_eq!(e["pageId"], PAGE_A);
        assert!(e["mid"].as_str().unwrap().starts_with("m_"), "{e}");
    }
    // Still one message.sent, and no echo of the gateway's own send among the echoes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(named(&receiver, "message.sent").len(), 1);
    assert_eq!(named(&receiver, "message.echo").len(), 3);
}

/// A send that needs the window: refused with `window.closed` when it is closed.
async fn window_closed(env: &Env, profile: &str) -> bool {
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({"to": {"profileId": profile}, "body": "Are you there?", "rules": ["fbMessenger"]}),
        )
        .await;
    match a.status {
        201 => false,
        400 => {
            let p = a.problem(400);
            assert_eq!(p["errors"][0]["code"], "window.closed", "{p}");
            true
        }
        other => panic!("{other}: {}", a.text),
    }
}

#[tokio::test]
async fn a_reply_from_the_page_does_not_open_the_window() {
    let (receiver, url) = Receiver::start(200).await;
    let env = Env::start_with(&echo_webhook(&url)).await;

    // A customer who never wrote: the inbox writes to them, the window stays closed.
    let never = "24000000000778";
    let body = json!({"fbMessengerId": never}).to_string();
    let put = env
        .json(
            reqwest::Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/gina"),
            KEY_A,
            &body,
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text);
    env.sim
        .post_page_echo(PAGE_A, never, "Hello from the inbox", None, false)
        .await
        .unwrap();
    env.webhooks_applied().await;
    wait_for_named(&receiver, "message.echo", 1).await;
    assert!(window_closed(&env, "gina").await);

    // A customer who wrote 25 hours ago: the page's reply now does not reopen it.
    let late = "24000000000779";
    let day_ago = Timestamp::now().millis() - 25 * 3600 * 1000;
    let event = MessagingEvent {
        sender: Some(Party {
            id: Some(late.to_owned()),
            user_ref: None,
        }),
        recipient: Some(Party {
            id: Some(PAGE_A.to_owned()),
            user_ref: None,
        }),
        timestamp: day_ago,
        message: Some(InboundMessage {
            mid: Some("m_late_customer_1".to_owned()),
            text: Some("Is my order ready?".to_owned()),
            ..InboundMessage::default()
        }),
        ..MessagingEvent::default()
    };
    assert_eq!(env.sim.post_event(PAGE_A, event).await.unwrap(), 200);
    env.webhooks_applied().await;
    let inbound = wait_for_named(&receiver, "message.inbound", 1).await;
    let hannah = inbound[0]["profileId"].as_str().unwrap().to_owned();
    assert!(window_closed(&env, &hannah).await);
    env.sim
        .post_page_echo(PAGE_A, late, "Sorry for the wait!", None, false)
        .await
        .unwrap();
    env.webhooks_applied().await;
    wait_for_named(&receiver, "message.echo", 2).await;
    assert!(window_closed(&env, &hannah).await);

    // Only the customer's own message opens it.
    env.inbound(late).await;
    assert!(!window_closed(&env, &hannah).await);
}
