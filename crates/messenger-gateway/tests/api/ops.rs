//! Operations routes, the OpenAPI document against the route table, graceful shutdown.

use std::collections::BTreeSet;

use messenger_gateway::http::{Listener, ROUTES, UNKNOWN_ROUTE_CODE};
use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn health_readiness_metrics() {
    let mut env = Env::start().await;
    let h = env.call(Method::GET, "/healthz", None, &[], None).await;
    assert_eq!(h.status, 200);
    let r = env.call(Method::GET, "/readyz", None, &[], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["store"], "sqlite");
    let m = env
        .call(Method::GET, "/metrics", Some(METRICS_KEY), &[], None)
        .await;
    assert_eq!(m.status, 200);
    assert!(m.text.contains(
        "messenger_gateway_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"} 1"
    ), "{}", m.text);
    assert!(m
        .text
        .contains("messenger_gateway_http_request_duration_seconds_bucket"));
    // Secrets never reach the metrics or the API.
    for secret in [APP_SECRET, PAGE_TOKEN_A, KEY_A, TOKEN_KEY, SMS_TOKEN] {
        assert!(!m.text.contains(secret));
    }
    env.stop().await;
    // After shutdown nothing answers.
    let gone = env.http.get(format!("{}/healthz", env.base)).send().await;
    assert!(gone.is_err());
}

/// `(METHOD, path)` of every operation in the OpenAPI document.
fn openapi_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "patch", "delete", "head", "options"]
                .contains(&method.as_str())
            {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let env = Env::start().await;
    let a = env
        .call(Method::GET, "/openapi.json", None, &[], None)
        .await;
    assert_eq!(a.status, 200);
    let served = a.json();
    let checked_in: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(served, checked_in, "/openapi.json serves docs/openapi.json");
    assert_eq!(served["openapi"], "3.1.0");

    let documented = openapi_operations(&served);
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(routed.len(), ROUTES.len(), "no route twice");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from OpenAPI: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "OpenAPI operations with no route: {unrouted:?}"
    );

    // Every route of the table is really registered: the router answers it with a handler
    // (whatever the handler says), never with its unknown-route or wrong-method fallback.
    for r in ROUTES {
        let path = r
            .path
            .replace("{space}", SPACE_A)
            .replace("{id}", "m-1")
            .replace("{profileId}", "p-1")
            .replace("{eventId}", "e-1");
        let method = Method::from_bytes(r.method.as_str().as_bytes()).unwrap();
        let a = env.call(method, &path, Some(KEY_A), &[], None).await;
        assert_ne!(a.status, 405, "{} {path}: {}", r.method, a.text);
        let code = a.json()["errors"][0]["code"].clone();
        assert_ne!(code, UNKNOWN_ROUTE_CODE, "{} {path}", r.method);
        assert!(a.status < 500, "{} {path}: {}", r.method, a.text);
    }
}

#[tokio::test]
async fn an_ops_listener_takes_the_metrics_off_the_public_port() {
    let mut env = Env::start_configured("ops_listen = \"127.0.0.1:0\"", "").await;
    let ops_addr = env
        .gateway
        .as_ref()
        .unwrap()
        .ops_addr
        .expect("an ops listener");
    let ops = format!("http://{ops_addr}");
    let get = |base: String, path: &'static str| {
        let http = env.http.clone();
        async move {
            let res = http.get(format!("{base}{path}")).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    // The public port: probes and the description, no metrics.
    for path in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(get(env.base.clone(), path).await.0, 200, "{path}");
    }
    let (status, text) = get(env.base.clone(), "/metrics").await;
    assert_eq!(status, 404, "{text}");
    // The ops port: the ops routes, and nothing of the API.
    for path in ["/healthz", "/readyz", "/openapi.json"] {
        assert_eq!(get(ops.clone(), path).await.0, 200, "{path}");
    }
    let (status, metrics) = get(ops.clone(), "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("messenger_gateway_http_requests_total"));
    for route in ROUTES.iter().filter(|r| r.listener == Listener::Main) {
        let path = route.path.replace("{space}", SPACE_A);
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let a = env
            .http
            .request(method, format!("{ops}{path}"))
            .bearer_auth(KEY_A)
            .send()
            .await
            .unwrap();
        assert_eq!(a.status(), 404, "{} {path} on the ops port", route.method);
    }
    // Shutdown closes both.
    env.stop().await;
    assert!(env.http.get(format!("{ops}/healthz")).send().await.is_err());
    assert!(env
        .http
        .get(format!("{}/healthz", env.base))
        .send()
        .await
        .is_err());
}

fn checked_in_document() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// Every key of `value` is a property of `schema` (when the schema closes its object), for
/// every object and array below it: what the model writes, the document names.
fn keys_are_documented(value: &Value, schema: &Value, at: &str, missing: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            for (key, v) in map {
                match props.and_then(|p| p.get(key)) {
                    Some(s) => keys_are_documented(v, s, &format!("{at}/{key}"), missing),
                    None if schema["additionalProperties"] == Value::Bool(false) => {
                        missing.push(format!("{at}/{key}"))
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                keys_are_documented(v, &schema["items"], &format!("{at}/{i}"), missing);
            }
        }
        _ => {}
    }
}

/// The schemas against the code: the send request's schema names every field messenger-model
/// writes (each seed example read as a `SendRequest` and written back), and closes the objects
/// the validator closes; `x-rules-beyond-schema` of both send operations lists real codes, and
/// every code messenger-validate has is either said by the schema or listed there.
#[test]
fn the_send_schema_matches_the_model_and_the_validator() {
    use messenger_model::SendRequest;
    use messenger_validate::ViolationCode;

    let doc = checked_in_document();
    let schema = &doc["components"]["schemas"]["SendRequest"];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/seed-examples");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(req) = serde_json::from_str::<SendRequest>(&text) else {
            continue; // the malformed seeds: not JSON a client could send
        };
        let written = serde_json::to_value(&req).unwrap();
        let mut missing = Vec::new();
        keys_are_documented(&written, schema, "", &mut missing);
        assert!(missing.is_empty(), "{}: {missing:?}", path.display());
        seeds += 1;
    }
    assert!(seeds >= 5, "only {seeds} seed examples read");
    for pointer in [
        "",
        "/properties/messageParts/items",
        "/properties/channelOptions",
        "/properties/channelOptions/properties/fbMessenger",
        "/properties/channelOptions/properties/sms",
        "/properties/customBody",
    ] {
        let at = schema.pointer(pointer).unwrap_or(&Value::Null);
        assert_eq!(
            at["additionalProperties"],
            Value::Bool(false),
            "SendRequest{pointer} must be closed (field.unknown)"
        );
    }

    // What the schema itself says: types, unknown fields, enums, required fields, patterns.
    let said_by_schema = [
        "field.unknown",
        "field.type",
        "field.required",
        "field.enum",
        "json.shape",
        "rules.empty",
        "rules.unknown",
        "rules.repeated",
        "part.channel_unknown",
        "phone.invalid",
        "expires_on.invalid",
        "persona_id.invalid",
    ];
    let codes: BTreeSet<&str> = ViolationCode::ALL.iter().map(|c| c.as_str()).collect();
    // Rules the gateway itself answers with a violation, beyond messenger-validate's: a batch
    // larger than the space's whole backlog (`http/messages.rs`, decision 0017), and a send that
    // asks for a channel no account is connected for (`http/channels.rs`, decision 0026).
    let gateway_codes = ["batch.over_backlog", "channel.not_connected"];
    for op in [
        "/apispaces/{space}/messages",
        "/apispaces/{space}/messages/batch",
    ] {
        let listed: BTreeSet<&str> = doc["paths"][op]["post"]["x-rules-beyond-schema"]
            .as_array()
            .unwrap_or_else(|| panic!("{op}: no x-rules-beyond-schema"))
            .iter()
            .map(|r| {
                let code = r["code"].as_str().unwrap();
                let pointer = r["pointer"].as_str().unwrap();
                assert!(
                    pointer.starts_with('^') && pointer.ends_with('$'),
                    "{pointer}"
                );
                assert!(!r["rule"].as_str().unwrap_or("").is_empty(), "{code}");
                code
            })
            .collect();
        let unknown: Vec<_> = listed
            .difference(&codes)
            .filter(|c| !gateway_codes.contains(*c))
            .collect();
        assert!(
            unknown.is_empty(),
            "{op}: not codes of messenger-validate or the gateway: {unknown:?}"
        );
        let unsaid: Vec<_> = codes
            .iter()
            .filter(|c| !listed.contains(*c) && !said_by_schema.contains(*c))
            .collect();
        assert!(
            unsaid.is_empty(),
            "{op}: codes neither in the schema nor listed: {unsaid:?}"
        );
    }
}
