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
    let m = env.call(Method::GET, "/metrics", None, &[], None).await;
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
