//! Personas over HTTP against graph-sim: create, list by cursor, delete (404 when Graph does not
//! know it), bodies checked field by field, kept per page; and `personaId` on every Graph send
//! of a message.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

fn path(space: &str) -> String {
    format!("/apispaces/{space}/channels/facebook/personas")
}

async fn create(env: &Env, space: &str, key: &str, name: &str) -> Answer {
    let body = json!({"name": name, "profilePictureUrl": "https://cdn.example.com/agents/a.png"});
    env.json(Method::POST, &path(space), key, &body.to_string())
        .await
}

async fn delete(env: &Env, space: &str, key: &str, id: &str) -> Answer {
    env.call(
        Method::DELETE,
        &format!("{}/{id}", path(space)),
        Some(key),
        &[],
        None,
    )
    .await
}

#[tokio::test]
async fn personas_are_created_listed_and_deleted_through_graph() {
    let env = Env::start().await;
    let mut ids = Vec::new();
    for name in ["Alex", "Sam", "Kim"] {
        let a = create(&env, SPACE_A, KEY_A, name).await;
        assert_eq!(a.status, 201, "{}", a.text);
        let p = a.json();
        assert_eq!(p["name"], name);
        assert_eq!(
            p["profilePictureUrl"],
            "https://cdn.example.com/agents/a.png"
        );
        let id = p["id"].as_str().unwrap().to_owned();
        assert_eq!(
            a.header("location"),
            Some(format!("{}/{id}", path(SPACE_A)).as_str())
        );
        ids.push(id);
    }
    let kept: Vec<String> = env.sim.personas(PAGE_A).into_iter().map(|p| p.id).collect();
    assert_eq!(kept, ids, "graph-sim keeps them for page A");

    let first = env.get(&format!("{}?limit=2", path(SPACE_A)), KEY_A).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let names: Vec<Value> = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("Alex"), json!("Sam")]);
    let cursor = first
        .header("next-cursor")
        .expect("more to come")
        .to_owned();
    let second = env
        .get(
            &format!("{}?limit=2&cursor={}", path(SPACE_A), encode(&cursor)),
            KEY_A,
        )
        .await;
    assert_eq!(second.json()[0]["id"], ids[2].as_str());
    assert_eq!(second.header("next-cursor"), None);

    assert_eq!(delete(&env, SPACE_A, KEY_A, &ids[1]).await.status, 204);
    let p = delete(&env, SPACE_A, KEY_A, &ids[1]).await.problem(404);
    assert!(p["detail"].as_str().unwrap().contains("no persona"), "{p}");
    let all = env.get(&path(SPACE_A), KEY_A).await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Space B's page has none of A's, and cannot delete them.
    assert_eq!(env.get(&path(SPACE_B), KEY_B).await.json(), json!([]));
    delete(&env, SPACE_B, KEY_B, &ids[0]).await.problem(404);
    assert_eq!(env.sim.personas(PAGE_A).len(), 2);
}

#[tokio::test]
async fn bad_persona_requests_name_the_field() {
    let env = Env::start().await;
    let url = "https://cdn.example.com/a.png";
    let cases = [
        (json!({"profilePictureUrl": url}), "/name", "field.required"),
        (
            json!({"name": "   ", "profilePictureUrl": url}),
            "/name",
            "field.required",
        ),
        (
            json!({"name": "x".repeat(51), "profilePictureUrl": url}),
            "/name",
            "field.length",
        ),
        (
            json!({"name": ["Alex"], "profilePictureUrl": url}),
            "/name",
            "field.type",
        ),
        (
            json!({"name": "Alex"}),
            "/profilePictureUrl",
            "field.required",
        ),
        (
            json!({"name": "Alex", "profilePictureUrl": "http://cdn.example.com/a.png"}),
            "/profilePictureUrl",
            "url.scheme",
        ),
        (
            json!({"name": "Alex", "profilePictureUrl": "https://"}),
            "/profilePictureUrl",
            "url.invalid",
        ),
        (
            json!({"name": "Alex", "profilePictureUrl": url, "email": "a@b"}),
            "/email",
            "field.unknown",
        ),
        (json!("Alex"), "", "field.type"),
    ];
    for (body, at, code) in cases {
        let p = env
            .json(Method::POST, &path(SPACE_A), KEY_A, &body.to_string())
            .await
            .problem(400);
        let found = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == at && e["code"] == code);
        assert!(found, "{body} -> {p}");
    }
    assert_eq!(
        delete(&env, SPACE_A, KEY_A, "alex").await.problem(400)["errors"][0]["code"],
        "persona_id.invalid"
    );
    for query in ["limit=0", "limit=101", "cursor=", "colour=red"] {
        env.get(&format!("{}?{query}", path(SPACE_A)), KEY_A)
            .await
            .problem(400);
    }
    assert!(env.sim.personas(PAGE_A).is_empty());
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| !r.path.contains("personas")),
        "nothing reached Graph"
    );
    // A well-formed cursor this API never gave: Graph refuses it ("Invalid after cursor"),
    // and the client hears 400 naming the cursor, not Graph's 422.
    let p = env
        .get(&format!("{}?cursor=0", path(SPACE_A)), KEY_A)
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "query.cursor", "{p}");
}

#[tokio::test]
async fn a_sends_persona_goes_on_every_graph_send_of_the_message() {
    let env = Env::start().await;
    let persona = create(&env, SPACE_A, KEY_A, "Alex").await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let psid = "24000000001501";
    env.opted_in_profile("carol", psid).await;
    let a = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({
                "to": {"profileId": "carol"},
                "messageParts": [
                    {"type": "text/plain", "data": "Alex here: your refund is on its way."},
                    {"type": "image/png", "url": "https://cdn.example.com/refund.png"}
                ],
                "channelOptions": {"fbMessenger": {"personaId": persona}},
                "rules": ["fbMessenger"]
            }),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let m = env.settled(a.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "sent", "{m}");
    let sent = env.sim.sent_messages();
    assert_eq!(sent.len(), 2);
    for s in &sent {
        assert_eq!(s.request.persona_id.as_deref(), Some(persona.as_str()));
        assert_eq!(s.recipient_id, psid);
    }

    let p = env
        .send(
            SPACE_A,
            KEY_A,
            &json!({
                "to": {"profileId": "carol"},
                "body": "hi",
                "channelOptions": {"fbMessenger": {"personaId": "Alex"}},
                "rules": ["fbMessenger"]
            }),
        )
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "persona_id.invalid");
    assert_eq!(
        p["errors"][0]["path"],
        "/channelOptions/fbMessenger/personaId"
    );
}
