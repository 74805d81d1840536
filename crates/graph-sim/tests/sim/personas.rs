//! Sender actions and personas: what the simulator takes and refuses, as Graph does.

use crate::common::{answer, post_json, send_url, PAGE, TOKEN};
use graph_sim::GraphSim;
use messenger_model::graph::SenderAction;
use serde_json::json;

async fn sim() -> GraphSim {
    GraphSim::builder()
        .page(PAGE, TOKEN)
        .page("2000002", "OTHER_TOKEN")
        .start()
        .await
        .unwrap()
}

fn personas_url(base: &str, token: &str, query: &str) -> String {
    format!("{base}/v21.0/me/personas?access_token={token}{query}")
}

async fn create(sim: &GraphSim, name: &str) -> String {
    let a = post_json(
        &personas_url(sim.base_url(), TOKEN, ""),
        &json!({"name": name, "profile_picture_url": "https://example.com/p.png"}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.json);
    a.json["id"].as_str().unwrap().to_owned()
}

async fn get(url: &str) -> crate::common::Answer {
    answer(reqwest::Client::new().get(url).send().await.unwrap()).await
}

async fn delete(url: &str) -> crate::common::Answer {
    answer(reqwest::Client::new().delete(url).send().await.unwrap()).await
}

#[tokio::test]
async fn personas_are_created_listed_by_cursor_and_deleted_per_page() {
    let sim = sim().await;
    let base = sim.base_url().to_owned();
    let ids = [
        create(&sim, "Alex").await,
        create(&sim, "Sam").await,
        create(&sim, "Kim").await,
    ];
    assert!(ids.iter().all(|i| i.bytes().all(|b| b.is_ascii_digit())));
    assert_eq!(sim.personas(PAGE).len(), 3);

    let first = get(&personas_url(&base, TOKEN, "&limit=2")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json["data"][0]["name"], "Alex");
    assert_eq!(first.json["data"].as_array().unwrap().len(), 2);
    let after = first.json["paging"]["cursors"]["after"].as_str().unwrap();
    assert!(first.json["paging"]["next"].is_string());
    let second = get(&personas_url(
        &base,
        TOKEN,
        &format!("&limit=2&after={after}"),
    ))
    .await;
    assert_eq!(second.json["data"][0]["id"], ids[2].as_str());
    assert!(
        second.json["paging"].get("next").is_none(),
        "{:?}",
        second.json
    );

    // Another page sees none of them and cannot delete them.
    let other = get(&personas_url(&base, "OTHER_TOKEN", "")).await;
    assert_eq!(other.json, json!({"data": []}));
    let node = |id: &str, token: &str| format!("{base}/v21.0/{id}?access_token={token}");
    let refused = delete(&node(&ids[0], "OTHER_TOKEN")).await;
    assert_eq!((refused.code(), refused.subcode()), (100, Some(33)));

    let one = get(&node(&ids[1], TOKEN)).await;
    assert_eq!(one.json["name"], "Sam");
    let gone = delete(&node(&ids[1], TOKEN)).await;
    assert_eq!(
        (gone.status, gone.json.clone()),
        (200, json!({"success": true}))
    );
    let again = delete(&node(&ids[1], TOKEN)).await;
    assert_eq!(
        (again.status, again.code(), again.subcode()),
        (400, 100, Some(33))
    );
    assert!(again.message().contains("does not exist"));
    assert_eq!(sim.personas(PAGE).len(), 2);
}

#[tokio::test]
async fn bad_personas_are_refused_with_graphs_words() {
    let sim = sim().await;
    let url = personas_url(sim.base_url(), TOKEN, "");
    for (body, words) in [
        (
            json!({"profile_picture_url": "https://e.com/p.png"}),
            "name is required",
        ),
        (
            json!({"name": "x".repeat(51), "profile_picture_url": "https://e.com/p.png"}),
            "less than or equal to 50",
        ),
        (json!({"name": "Alex"}), "profile_picture_url is required"),
        (
            json!({"name": "Alex", "profile_picture_url": "not a url"}),
            "valid URL",
        ),
    ] {
        let a = post_json(&url, &body).await;
        assert_eq!((a.status, a.code()), (400, 100), "{body}");
        assert!(a.message().contains(words), "{body}: {}", a.message());
    }
    let no_token = post_json(
        &format!("{}/v21.0/me/personas", sim.base_url()),
        &json!({"name": "A", "profile_picture_url": "https://e.com/p.png"}),
    )
    .await;
    assert_eq!(no_token.code(), 190);
    assert!(sim.personas(PAGE).is_empty());
}

#[tokio::test]
async fn sender_actions_come_alone_and_persona_ids_must_be_the_pages() {
    let sim = sim().await;
    let url = send_url(sim.base_url());
    let typing = post_json(
        &url,
        &json!({"recipient": {"id": "5"}, "sender_action": "typing_on"}),
    )
    .await;
    assert_eq!(typing.status, 200);
    assert_eq!(typing.json, json!({"recipient_id": "5"}));
    for body in [
        json!({"recipient": {"id": "5"}, "sender_action": "typing_on", "messaging_type": "RESPONSE"}),
        json!({"recipient": {"id": "5"}, "sender_action": "mark_seen", "tag": "HUMAN_AGENT"}),
        json!({"recipient": {"id": "5"}, "sender_action": "typing_on", "message": {"text": "x"}}),
        json!({"recipient": {"id": "5"}, "sender_action": "typing_on", "persona_id": "42"}),
        json!({"recipient": {"id": "5"}, "message": {"text": "x"}, "persona_id": "42"}),
    ] {
        let a = post_json(&url, &body).await;
        assert_eq!((a.status, a.code()), (400, 100), "{body}: {:?}", a.json);
    }
    let persona = create(&sim, "Alex").await;
    let with = post_json(
        &url,
        &json!({"recipient": {"id": "5"}, "sender_action": "typing_on", "persona_id": persona}),
    )
    .await;
    assert_eq!(with.status, 200, "{:?}", with.json);
    let sent = post_json(
        &url,
        &json!({"recipient": {"id": "5"}, "message": {"text": "Alex here"}, "persona_id": persona}),
    )
    .await;
    assert_eq!(sent.status, 200, "{:?}", sent.json);
    assert_eq!(
        sim.sent_messages()[0].request.persona_id.as_deref(),
        Some(persona.as_str())
    );
    let actions = sim.sender_actions();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0].action, SenderAction::TypingOn);
    assert_eq!(actions[0].persona_id, None);
    assert_eq!(actions[1].persona_id.as_deref(), Some(persona.as_str()));
    assert_eq!(sim.sent_count(), 1, "actions are not messages");
}
