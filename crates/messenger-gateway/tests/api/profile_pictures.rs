//! A profile's `facebook.profilePic` is a picture on Meta's hosts or a 400 naming it, and the
//! console's Content-Security-Policy loads images only from its own origin and those hosts: an
//! admin's browser never calls a server a tenant named.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

fn path(id: &str) -> String {
    format!("/apispaces/{SPACE_A}/profiles/{}", encode(id))
}

fn with_picture(url: &str) -> String {
    json!({"firstName": "Pat", "facebook": {"firstName": "Pat", "profilePic": url}}).to_string()
}

#[tokio::test]
async fn only_pictures_on_meta_hosts_are_taken() {
    let env = Env::start().await;
    for (url, code) in [
        ("https://tenant.example/pixel.png", "url.host"),
        ("https://fbcdn.net.tenant.example/p.png", "url.host"),
        ("https://user:pw@scontent.xx.fbcdn.net/p.jpg", "url.host"),
        (
            "http://platform-lookaside.fbsbx.com/platform/profilepic/",
            "url.scheme",
        ),
        ("javascript:alert(1)", "url.scheme"),
        ("", "url.scheme"),
    ] {
        for method in [Method::PUT, Method::PATCH] {
            if method == Method::PATCH {
                // PATCH needs the profile to exist.
                let a = env
                    .json(Method::PUT, &path("pat"), KEY_A, r#"{"firstName": "Pat"}"#)
                    .await;
                assert!(a.status < 300, "{}", a.text);
            }
            let p = env
                .json(method.clone(), &path("pat"), KEY_A, &with_picture(url))
                .await
                .problem(400);
            assert_eq!(p["errors"][0]["path"], "/facebook/profilePic", "{url}: {p}");
            assert_eq!(p["errors"][0]["code"], code, "{url}: {p}");
            assert!(
                p["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("platform-lookaside.fbsbx.com"),
                "{p}"
            );
        }
    }
    let long = format!("https://scontent.xx.fbcdn.net/{}", "a".repeat(3_000));
    let p = env
        .json(Method::PUT, &path("pat"), KEY_A, &with_picture(&long))
        .await
        .problem(400);
    assert_eq!(p["errors"][0]["code"], "field.length", "{p}");
    // Nothing refused was stored.
    let stored = env.get(&path("pat"), KEY_A).await.json();
    assert!(stored["facebook"].get("profilePic").is_none(), "{stored}");

    for url in [
        "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=24000000000001&width=1024",
        "https://scontent-lhr8-1.xx.fbcdn.net/v/t1.30497-1/84628273_n.jpg?stp=dst-jpg&oh=00_A",
    ] {
        let a = env
            .json(Method::PUT, &path("pat"), KEY_A, &with_picture(url))
            .await;
        assert!(a.status == 200 || a.status == 201, "{url}: {}", a.text);
        assert_eq!(a.json()["facebook"]["profilePic"], url);
    }
}

#[tokio::test]
async fn the_console_loads_images_only_from_meta_hosts() {
    let env = Env::start().await;
    let page = env.call(Method::GET, "/console", None, &[], None).await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap().to_owned();
    let img_src = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("img-src "))
        .unwrap_or_else(|| panic!("no img-src in {csp}"));
    let sources: Vec<&str> = img_src.split_whitespace().collect();
    assert_eq!(
        sources,
        [
            "'self'",
            "https://platform-lookaside.fbsbx.com",
            "https://*.fbcdn.net",
            "https://*.fbsbx.com"
        ],
        "{csp}"
    );
    assert!(csp.contains("default-src 'self'"), "{csp}");
}
