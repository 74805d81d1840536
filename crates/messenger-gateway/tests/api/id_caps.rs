//! Every id a client names is at most 256 characters (`messenger_validate::limits::ID_MAX_CHARS`):
//! in a path, a query or a body, a longer one is a 400 problem naming the parameter or the
//! field, and nothing is stored.

use messenger_validate::limits::ID_MAX_CHARS;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const ADMIN_KEY: &str = "id-caps-admin-key-0123456789";

fn long() -> String {
    "x".repeat(ID_MAX_CHARS + 1)
}

fn profile(id: &str) -> String {
    format!("/apispaces/{SPACE_A}/profiles/{}", encode(id))
}

#[track_caller]
fn names(p: &Value, code: &str, path: &str, name: &str) {
    assert_eq!(p["errors"][0]["code"], code, "{p}");
    assert_eq!(p["errors"][0]["path"], path, "{p}");
    let said = format!("{} {}", p["detail"], p["errors"][0]["message"]);
    assert!(said.contains(name) && said.contains("256"), "{p}");
}

#[tokio::test]
async fn path_ids_past_the_cap_are_refused_naming_the_parameter() {
    let env = Env::start_configured(&format!("admin_keys = [\"{ADMIN_KEY}\"]"), "").await;
    let eight_kb = "p".repeat(8 * 1024);
    for (method, path, name) in [
        (Method::PUT, profile(&long()), "profileId"),
        (Method::PATCH, profile(&long()), "profileId"),
        (Method::GET, profile(&eight_kb), "profileId"),
        (Method::DELETE, profile(&eight_kb), "profileId"),
        (
            Method::GET,
            format!("/apispaces/{SPACE_A}/messages/{}", long()),
            "id",
        ),
        (
            Method::POST,
            format!("/apispaces/{SPACE_A}/webhooks/dead/{}/redrive", long()),
            "eventId",
        ),
    ] {
        let a = env
            .json(method.clone(), &path, KEY_A, r#"{"firstName": "Long"}"#)
            .await;
        names(&a.problem(400), "path.length", "", name);
    }
    let a = env
        .call(
            Method::DELETE,
            &format!("/webhooks/facebook/quarantine/{}", long()),
            Some(ADMIN_KEY),
            &[],
            None,
        )
        .await;
    names(&a.problem(400), "path.length", "", "key");

    // Nothing was stored; an id at the cap is an id like any other.
    let listed = env
        .get(&format!("/apispaces/{SPACE_A}/profiles?limit=1000"), KEY_A)
        .await
        .json();
    assert_eq!(listed, json!([]), "{listed}");
    let at_cap = "y".repeat(ID_MAX_CHARS);
    let a = env
        .json(
            Method::PUT,
            &profile(&at_cap),
            KEY_A,
            r#"{"firstName": "Max"}"#,
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json()["id"], at_cap.as_str());
}

#[tokio::test]
async fn body_and_query_ids_past_the_cap_name_their_field() {
    let env = Env::start().await;
    let too_long = long();

    // A profile's own fields.
    for field in ["fbMessengerId", "id"] {
        let body = json!({ field: too_long }).to_string();
        let p = env
            .json(Method::PUT, &profile("dana"), KEY_A, &body)
            .await
            .problem(400);
        names(&p, "field.length", &format!("/{field}"), field);
    }

    // A send's and a batch's recipient.
    for field in ["profileId", "fbMessengerId"] {
        let request = json!({"to": { field: too_long }, "body": "hi", "rules": ["fbMessenger"]});
        let p = env.send(SPACE_A, KEY_A, &request).await.problem(400);
        names(&p, "field.length", &format!("/to/{field}"), field);
        let p = env
            .json(
                Method::POST,
                &format!("/apispaces/{SPACE_A}/messages/batch"),
                KEY_A,
                &json!([request]).to_string(),
            )
            .await
            .problem(400);
        assert_eq!(p["errors"][0]["path"], format!("/0/to/{field}"), "{p}");
        assert_eq!(p["errors"][0]["code"], "field.length", "{p}");

        // A sender action's recipient.
        let p = env
            .json(
                Method::POST,
                &format!("/apispaces/{SPACE_A}/channels/facebook/actions"),
                KEY_A,
                &json!({"to": { field: too_long }, "action": "typing_on"}).to_string(),
            )
            .await
            .problem(400);
        names(&p, "field.length", &format!("/to/{field}"), field);
    }

    // The state service's profile id (the same cap).
    let p = env
        .json(
            Method::POST,
            &format!("/apispaces/{SPACE_A}/channels/facebook/state"),
            KEY_A,
            &json!({"profileId": too_long}).to_string(),
        )
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["path"], "/profileId", "{p}");

    // Query filters.
    for query in [
        format!("/apispaces/{SPACE_A}/messages?profileId={too_long}"),
        format!("/apispaces/{SPACE_A}/messages?fbMessengerId={too_long}"),
        format!("/apispaces/{SPACE_A}/profiles?fbMessengerId={too_long}"),
    ] {
        let p = env.get(&query, KEY_A).await.problem(400);
        let name = if query.contains("profileId=") {
            "profileId"
        } else {
            "fbMessengerId"
        };
        names(&p, "query.length", "", name);
    }
    assert_eq!(
        env.get(&format!("/apispaces/{SPACE_A}/messages"), KEY_A)
            .await
            .json(),
        json!([]),
        "nothing was accepted"
    );
}
