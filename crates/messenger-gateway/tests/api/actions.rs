//! Sender actions over HTTP against graph-sim: each action is one Graph request with only the
//! recipient, nothing is stored, a closed window is refused before Graph, and Graph's refusals
//! say what Graph said with the status of whose trouble it is.

use graph_sim::{Fault, FaultRule};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn action(env: &Env, body: &Value) -> Answer {
    env.json(
        Method::POST,
        &format!("/apispaces/{SPACE_A}/channels/facebook/actions"),
        KEY_A,
        &body.to_string(),
    )
    .await
}

/// The bodies of the Send API calls graph-sim received.
fn send_bodies(env: &Env) -> Vec<Value> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .filter_map(|r| r.json())
        .collect()
}

async fn metrics(env: &Env) -> String {
    env.call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await
        .text
}

#[tokio::test]
async fn actions_reach_graph_alone_and_are_not_stored() {
    let env = Env::start().await;
    let psid = "24000000001401";
    env.opted_in_profile("alice", psid).await;

    let a = action(
        &env,
        &json!({"to": {"profileId": "alice"}, "action": "typing_on"}),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"action": "typing_on", "addressedBy": "profile.fbMessengerId", "channel": "fbMessenger"})
    );
    for name in ["typing_off", "mark_seen"] {
        let a = action(
            &env,
            &json!({"to": {"fbMessengerId": psid}, "action": name}),
        )
        .await;
        assert_eq!(a.status, 202, "{}", a.text);
        assert_eq!(a.json()["addressedBy"], "to.fbMessengerId");
    }
    // One Graph request per action, with only the recipient and the action (Meta's rule).
    assert_eq!(
        send_bodies(&env),
        ["typing_on", "typing_off", "mark_seen"]
            .map(|n| json!({"recipient": {"id": psid}, "sender_action": n}))
    );
    let actions = env.sim.sender_actions();
    assert_eq!(actions.len(), 3);
    assert!(actions
        .iter()
        .all(|a| a.recipient_id == psid && a.page_id == PAGE_A));
    // Not messages: nothing sent, nothing queued.
    assert!(env.sim.sent_messages().is_empty());
    let store = env.gateway.as_ref().unwrap().messenger().store().clone();
    assert_eq!(store.unsent_count().await.unwrap(), 0);

    let text = metrics(&env).await;
    let series = |a: &str, r: &str| {
        format!("messenger_gateway_sender_actions_total{{action=\"{a}\",result=\"{r}\"}}")
    };
    assert_eq!(metric(&text, &series("typing_on", "sent")), 1, "{text}");
    assert_eq!(metric(&text, &series("mark_seen", "sent")), 1);
}

#[tokio::test]
async fn a_closed_window_or_nobody_to_address_is_refused_before_graph() {
    let env = Env::start().await;
    // A profile with a Messenger ID whose user never wrote: the window is closed.
    let a = env
        .json(
            Method::PUT,
            &format!("/apispaces/{SPACE_A}/profiles/bob"),
            KEY_A,
            r#"{"fbMessengerId": "24000000001402"}"#,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let p = action(
        &env,
        &json!({"to": {"profileId": "bob"}, "action": "typing_on"}),
    )
    .await
    .problem(400);
    assert_eq!(p["type"], "/problems/action-refused");
    assert_eq!(p["errors"][0]["code"], "window.closed");
    assert_eq!(p["errors"][0]["path"], "/action");
    assert!(p["detail"].as_str().unwrap().contains("24-hour"), "{p}");

    for (to, why) in [
        (json!({"profileId": "nobody"}), "does not exist"),
        (json!({"email": "a@example.com"}), "fbMessengerId"),
        (json!({"profileId": "  "}), "fbMessengerId"),
    ] {
        let p = action(&env, &json!({"to": to, "action": "mark_seen"}))
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["code"], "to.unaddressable", "{p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
    }
    assert!(send_bodies(&env).is_empty(), "nothing reached Graph");
    let text = metrics(&env).await;
    assert_eq!(
        metric(
            &text,
            "messenger_gateway_sender_actions_total{action=\"mark_seen\",result=\"refused\"}"
        ),
        3
    );
}

#[tokio::test]
async fn bad_action_bodies_name_the_field() {
    let env = Env::start().await;
    let to = json!({"fbMessengerId": "24000000001403"});
    let cases = [
        (
            json!({"to": to, "action": "typing"}),
            "/action",
            "field.enum",
        ),
        (json!({"to": to}), "/action", "field.required"),
        (json!({"to": to, "action": 1}), "/action", "field.type"),
        (json!({"action": "typing_on"}), "/to", "field.required"),
        (
            json!({"to": "alice", "action": "typing_on"}),
            "/to",
            "field.type",
        ),
        (
            json!({"to": {"fbMessengerId": 5}, "action": "typing_on"}),
            "/to/fbMessengerId",
            "field.type",
        ),
        (
            json!({"to": {"phoneNumber": "12"}, "action": "typing_on"}),
            "/to/phoneNumber",
            "phone.invalid",
        ),
        (
            json!({"to": to, "action": "typing_on", "message": {"text": "x"}}),
            "/message",
            "field.unknown",
        ),
        (
            json!({"to": to, "action": "typing_on", "personaId": "alex"}),
            "/personaId",
            "persona_id.invalid",
        ),
        (
            json!({"to": to, "action": "mark_seen", "personaId": "12"}),
            "/personaId",
            "persona_id.not_with_mark_seen",
        ),
        (json!([]), "", "field.type"),
    ];
    for (body, path, code) in cases {
        let p = action(&env, &body).await.problem(400);
        let found = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == path && e["code"] == code);
        assert!(found, "{body} -> {p}");
    }
    let a = env
        .call(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/actions"),
            Some(KEY_A),
            &[("content-type", "application/json")],
            Some(b"{\"to\": ".to_vec()),
        )
        .await;
    assert_eq!(a.problem(400)["type"], "/problems/malformed-json");
    assert!(send_bodies(&env).is_empty());
}

#[tokio::test]
async fn graph_refusals_say_what_graph_said() {
    let env = Env::start().await;
    let psid = "24000000001404";
    env.inbound(psid).await;
    let typing = json!({"to": {"fbMessengerId": psid}, "action": "typing_on"});

    env.sim
        .fault(FaultRule::recipient(psid, Fault::UserUnavailable).times(1));
    let p = action(&env, &typing).await.problem(422);
    assert_eq!(p["type"], "/problems/graph-refused");
    assert_eq!(p["errors"][0]["code"], "graph.user_unavailable");
    assert_eq!(
        (p["graphCode"].clone(), p["graphSubcode"].clone()),
        (json!(551), json!(1545041))
    );
    assert!(p["fbtraceId"].is_string(), "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("isn't available"),
        "{p}"
    );

    env.sim.fault(
        FaultRule::recipient(
            psid,
            Fault::RateLimit {
                code: 80006,
                usage: None,
            },
        )
        .times(1),
    );
    let a = action(&env, &typing).await;
    let p = a.problem(429);
    assert_eq!(p["type"], "/problems/graph-throttled");
    assert!(a.header("retry-after").is_some(), "Graph said when: {p}");

    env.sim
        .fault(FaultRule::recipient(psid, Fault::ServerError { status: 500 }).times(1));
    assert_eq!(
        action(&env, &typing).await.problem(503)["type"],
        "/problems/graph-unavailable"
    );

    env.sim
        .fault(FaultRule::recipient(psid, Fault::TokenExpired).times(1));
    let p = action(&env, &typing).await.problem(502);
    assert_eq!(p["type"], "/problems/graph-credentials");
    assert!(!p.to_string().contains(PAGE_TOKEN_A), "no token in {p}");

    // The faults are used up: the next one goes through.
    assert_eq!(action(&env, &typing).await.status, 202);
    let text = metrics(&env).await;
    let series = |r: &str| {
        format!("messenger_gateway_sender_actions_total{{action=\"typing_on\",result=\"{r}\"}}")
    };
    assert_eq!(metric(&text, &series("graph_refused")), 1, "{text}");
    assert_eq!(metric(&text, &series("graph_unavailable")), 3);
    assert_eq!(metric(&text, &series("sent")), 1);
}

#[tokio::test]
async fn typing_as_a_persona_and_without_a_window_check() {
    let keys = format!("keys = [\"{KEY_A}\"]\n");
    let env = Env::start_edited("", "", |toml| {
        toml.replacen(&keys, &format!("{keys}window_check = \"off\"\n"), 1)
    })
    .await;
    let created = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/personas"),
            KEY_A,
            r#"{"name": "Alex from Support", "profilePictureUrl": "https://example.com/alex.png"}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let persona = created.json()["id"].as_str().unwrap().to_owned();
    // Window check off: the gateway leaves the window to Meta (graph-sim does not enforce it).
    let psid = "24000000001405";
    let a = action(
        &env,
        &json!({"to": {"fbMessengerId": psid}, "action": "typing_on", "personaId": persona}),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let sent = env.sim.sender_actions();
    assert_eq!(sent[0].persona_id.as_deref(), Some(persona.as_str()));
    assert_eq!(
        send_bodies(&env)[0],
        json!({"recipient": {"id": psid}, "sender_action": "typing_on", "persona_id": persona})
    );
    // A persona graph-sim does not know for the page: Graph's refusal, as a 422.
    let p = action(
        &env,
        &json!({"to": {"fbMessengerId": psid}, "action": "typing_off", "personaId": "999"}),
    )
    .await
    .problem(422);
    assert_eq!(p["errors"][0]["code"], "graph.invalid_parameter");
    assert_eq!(p["graphCode"], 100);
}
