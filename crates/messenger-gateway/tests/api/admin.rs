//! `AdminAccess` on a test-only router over real HTTP: closed without admin keys (403 naming
//! `server.admin_keys`), 401 without a key, 403 with a wrong one (an API key included), open
//! with a configured key or a key whose digest is configured.

use axum::routing::get;
use messenger_gateway::config::Config;
use messenger_gateway::http::admin::{AdminAccess, AdminKeys, ADMIN_DISABLED_CODE};
use reqwest::Method;

use crate::harness::*;

const ADMIN_KEY: &str = "admin-key-0123456789abcdef";
/// Its digest is configured, not the key.
const HASHED_ADMIN_KEY: &str = "hashed-admin-key-0123456789";
/// printf %s 'hashed-admin-key-0123456789' | openssl dgst -sha256
const HASHED_ADMIN_KEY_SHA256: &str =
    "46079230852bd2ac637a70d73fc0b7ffea1ad014cc0f1a3ca2be0a586dd16580";

/// The admin keys of a gateway configuration with `server_extra` in `[server]`.
fn admin_keys(server_extra: &str) -> AdminKeys {
    let toml = config_toml("http://127.0.0.1:9", "memory://", "").replacen(
        "[server]\n",
        &format!("[server]\n{server_extra}\n"),
        1,
    );
    let config = Config::from_toml_str(&toml, std::iter::empty()).unwrap();
    AdminKeys::new(&config.server.admin_keys, &config.server.admin_keys_sha256)
}

/// A router with one admin route, `GET /ops/probe`, served on loopback; its base URL.
async fn serve(keys: AdminKeys) -> String {
    async fn probe(_: AdminAccess) -> &'static str {
        "admin ok"
    }
    let app = axum::Router::new()
        .route("/ops/probe", get(probe))
        .with_state(keys);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn probe(base: &str, authorization: Option<&str>) -> Answer {
    let mut req = reqwest::Client::new().request(Method::GET, format!("{base}/ops/probe"));
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        text: res.text().await.unwrap(),
    }
}

#[tokio::test]
async fn admin_routes_are_closed_without_admin_keys() {
    let base = serve(admin_keys("")).await;
    let p = probe(&base, Some("Bearer anything-at-all-0123456789"))
        .await
        .problem(403);
    assert!(
        p["detail"].as_str().unwrap().contains("server.admin_keys"),
        "{p}"
    );
    assert_eq!(p["errors"][0]["code"], ADMIN_DISABLED_CODE);
    // Without credentials it is 401, as the document says of every admin route, configured
    // or not.
    let answer = probe(&base, None).await;
    assert!(answer.headers.contains_key("www-authenticate"));
    answer.problem(401);
}

#[tokio::test]
async fn admin_routes_need_an_admin_key() {
    let base = serve(admin_keys(&format!(
        "admin_keys = [\"{ADMIN_KEY}\"]\nadmin_keys_sha256 = [\"{HASHED_ADMIN_KEY_SHA256}\"]"
    )))
    .await;
    // No key, or not a bearer one: 401 with the challenge.
    for auth in [None, Some("Basic YTpi"), Some("Bearer ")] {
        let a = probe(&base, auth).await;
        a.problem(401);
        assert!(a.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
    // A wrong key, a space's API key, the digest itself: 403.
    for key in [
        "not-an-admin-key-0123456789",
        KEY_A,
        HASHED_ADMIN_KEY_SHA256,
        &ADMIN_KEY[..ADMIN_KEY.len() - 1],
    ] {
        let p = probe(&base, Some(&format!("Bearer {key}")))
            .await
            .problem(403);
        assert_ne!(p["errors"][0]["code"], ADMIN_DISABLED_CODE, "{key}: {p}");
    }
    // The configured key and the key whose digest is configured: in.
    for key in [ADMIN_KEY, HASHED_ADMIN_KEY] {
        let a = probe(&base, Some(&format!("Bearer {key}"))).await;
        assert_eq!(a.status, 200, "{key}: {}", a.text);
        assert_eq!(a.text, "admin ok");
    }
}

#[test]
fn admin_keys_are_checked_at_start() {
    let bad = |server_extra: &str| {
        let toml = config_toml("http://127.0.0.1:9", "memory://", "").replacen(
            "[server]\n",
            &format!("[server]\n{server_extra}\n"),
            1,
        );
        Config::from_toml_str(&toml, std::iter::empty())
            .unwrap_err()
            .to_string()
    };
    let e = bad("admin_keys = [\"short\"]");
    assert!(
        e.contains("server.admin_keys[0]: an admin key must be at least 16"),
        "{e}"
    );
    let e = bad("admin_keys_sha256 = [\"abc\"]");
    assert!(
        e.contains("server.admin_keys_sha256[0]: is not a SHA-256 digest"),
        "{e}"
    );
    let e = bad(&format!("admin_keys = [\"{KEY_B}\"]"));
    assert!(
        e.contains("server.admin_keys[0]: the key is used twice"),
        "{e}"
    );
}
