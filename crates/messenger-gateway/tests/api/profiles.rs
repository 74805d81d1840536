//! Profiles CRUD and the Facebook metadata service.

use messenger_model::UserProfile;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

fn path(id: &str) -> String {
    format!("/apispaces/{SPACE_A}/profiles/{}", encode(id))
}

#[tokio::test]
async fn profiles_crud() {
    let env = Env::start().await;
    let id = "bob@example.com";
    env.get(&path(id), KEY_A).await.problem(404);

    // PUT creates (201); the path's id wins over the body's.
    let body = json!({"id": "mallory", "phoneNumber": "+447700900321", "firstName": "Bob", "tier": "gold"});
    let a = env
        .json(Method::PUT, &path(id), KEY_A, &body.to_string())
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["id"], id);
    assert_eq!(a.json()["tier"], "gold");
    assert_eq!(env.get(&path(id), KEY_A).await.json(), a.json());

    // PATCH merges; null removes a custom property.
    let a = env
        .json(
            Method::PATCH,
            &path(id),
            KEY_A,
            r#"{"lastName": "Builder", "tier": null, "shoe": 44}"#,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let p = a.json();
    assert_eq!(p["firstName"], "Bob");
    assert_eq!(p["lastName"], "Builder");
    assert_eq!(p["shoe"], 44);
    assert!(p.get("tier").is_none(), "{p}");

    // PUT replaces the whole profile (200 now).
    let a = env
        .json(
            Method::PUT,
            &path(id),
            KEY_A,
            r#"{"email": "bob@example.com"}"#,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"id": id, "email": "bob@example.com"}));

    // Find by phone number, after setting one.
    env.json(
        Method::PATCH,
        &path(id),
        KEY_A,
        r#"{"phoneNumber": "447700900321"}"#,
    )
    .await;
    let found = env
        .get(
            &format!("/apispaces/{SPACE_A}/profiles?phoneNumber=447700900321"),
            KEY_A,
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.json().as_array().unwrap().len(), 1);
    env.get(&format!("/apispaces/{SPACE_A}/profiles?color=red"), KEY_A)
        .await
        .problem(400);

    // DELETE, then it is gone.
    let a = env
        .call(Method::DELETE, &path(id), Some(KEY_A), &[], None)
        .await;
    assert_eq!(a.status, 204);
    env.call(Method::DELETE, &path(id), Some(KEY_A), &[], None)
        .await
        .problem(404);
    env.json(Method::PATCH, &path(id), KEY_A, "{}")
        .await
        .problem(404);
}

/// Without a filter, `GET .../profiles` lists the space's profiles by id, a page at a time:
/// a full page names the next with `Next-Cursor` (decision 0009).
#[tokio::test]
async fn profiles_are_listed_page_by_page() {
    let env = Env::start().await;
    let list = format!("/apispaces/{SPACE_A}/profiles");
    let empty = env.get(&list, KEY_A).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.json(), json!([]));
    assert_eq!(empty.header("next-cursor"), None);
    for id in ["carol", "alice", "dave@example.com", "bob"] {
        let a = env.json(Method::PUT, &path(id), KEY_A, "{}").await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    // Another space's profile is never listed.
    let other = format!("/apispaces/{SPACE_B}/profiles/eve");
    assert_eq!(env.json(Method::PUT, &other, KEY_B, "{}").await.status, 201);

    let mut seen = Vec::new();
    let mut url = format!("{list}?limit=3");
    let mut pages = 0;
    loop {
        let page = env.get(&url, KEY_A).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        for p in page.json().as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        match page.header("next-cursor") {
            Some(cursor) => url = format!("{list}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["alice", "bob", "carol", "dave@example.com"]);
    assert_eq!(pages, 2);
    // A filter pages the same way; a cursor the API did not make is 400 `query.cursor`.
    let found = env.get(&format!("{list}?limit=1"), KEY_A).await;
    assert!(found.header("next-cursor").is_some());
    for bad in ["zz", "", "abc"] {
        let p = env
            .get(&format!("{list}?cursor={bad}"), KEY_A)
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["code"], "query.cursor", "{bad}");
    }
}

#[tokio::test]
async fn profile_bodies_are_checked() {
    let env = Env::start().await;
    let cases: [(&str, &str, &str); 5] = [
        ("[1, 2]", "", "field.type"),
        (
            r#"{"phoneNumber": "call me"}"#,
            "/phoneNumber",
            "phone.invalid",
        ),
        (r#"{"firstName": 7}"#, "/firstName", "field.type"),
        (
            r#"{"facebook": {"timezone": "GMT"}}"#,
            "/facebook/timezone",
            "field.type",
        ),
        (r#"{"facebook": 3}"#, "/facebook", "field.type"),
    ];
    for (body, pointer, code) in cases {
        let p = env
            .json(Method::PUT, &path("carol"), KEY_A, body)
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["path"], pointer, "{body}: {p}");
        assert_eq!(p["errors"][0]["code"], code, "{body}: {p}");
    }
    let p = env
        .json(Method::PUT, &path("carol"), KEY_A, "{\"a\": }")
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["line"], 1);
    env.get(&path("carol"), KEY_A).await.problem(404);
}

#[tokio::test]
async fn the_state_token_links_an_opt_in_to_its_profile() {
    let env = Env::start().await;
    env.sim.set_user_profile(
        "24000000000301",
        UserProfile {
            first_name: Some("Dana".into()),
            last_name: Some("Scully".into()),
            ..UserProfile::default()
        },
    );
    let state_path = format!("/apispaces/{SPACE_A}/channels/facebook/state");
    let a = env
        .json(
            Method::POST,
            &state_path,
            KEY_A,
            r#"{"profileId": "dana@example.com", "data": {"campaign": "spring"}}"#,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));
    let token = a.text.clone();
    assert!(token.len() <= 250);
    assert!(!token.contains("dana"));
    assert!(token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=-.:_".contains(c)));

    // Meta's opt-in with that data-ref: the PSID lands on the profile, Facebook's names too.
    let status = env
        .sim
        .post_optin(PAGE_A, "24000000000301", Some(&token))
        .await
        .unwrap();
    assert_eq!(status, 200);
    env.webhooks_applied().await;
    let p: Value = env.get(&path("dana@example.com"), KEY_A).await.json();
    assert_eq!(p["fbMessengerId"], "24000000000301");
    assert_eq!(p["facebook"]["firstName"], "Dana");

    for (body, code) in [
        ("{}", "field.required"),
        (r#"{"profileId": 5}"#, "field.type"),
        (r#"{"profileId": "x", "colour": 1}"#, "field.unknown"),
        (r#"{"profileId": ""}"#, "field.length"),
    ] {
        let p = env
            .json(Method::POST, &state_path, KEY_A, body)
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["code"], code, "{body}: {p}");
    }
}
