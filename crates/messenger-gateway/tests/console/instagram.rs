//! The console on Instagram Direct, in the browser: a gateway whose space has an Instagram
//! account (through its page), graph-sim serving both channels. The operator filters the
//! listing by channel in the page's own form (the status choices lose `delivered`), sees each
//! Instagram message with the account it went out from, opens one and reads its channel, the
//! account and IGSID, and Instagram's statuses (sent, then read once the customer's read
//! arrives; never delivered); and sees a profile's Instagram IDs per account.

use graph_sim::{GraphSim, InstagramLogin};
use messenger_gateway::config::Config;
use messenger_gateway::{Gateway, GatewayHandle};
use serde_json::{json, Value};

use crate::webdriver::{Driver, Session};
use crate::{browser_missing, screenshots, until};

const SPACE: &str = "shop";
const KEY: &str = "shop-console-key-0123456789abcdef";
const PAGE: &str = "1000000000000001";
const PAGE_TOKEN: &str = "shop-page-token";
const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const IG_ACCOUNT: &str = "17841400000000001";
const PSID: &str = "24000000000001";

/// A gateway and graph-sim, the space sending on Messenger and on its Instagram account.
struct Shop {
    sim: GraphSim,
    gateway: GatewayHandle,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Shop {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sim = GraphSim::builder()
            .page(PAGE, PAGE_TOKEN)
            .app_secret(APP_SECRET)
            .webhook_url(format!("http://{addr}/webhooks/facebook"))
            .instagram_account(IG_ACCOUNT, InstagramLogin::Page(PAGE.into()))
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("console.db").display()
        );
        // The window is left to Meta: graph-sim keeps Instagram's and Messenger's.
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"

[database]
url = "{db}"

[facebook]
app_secret = "{APP_SECRET}"
verify_token = "console-verify-token"
graph_base_url = "{sim}"
token_key = "a console test's token key, of 32 bytes or more"

[dispatch]
poll_interval_ms = 20

[[spaces]]
id = "{SPACE}"
page_id = "{PAGE}"
page_token = "{PAGE_TOKEN}"
keys = ["{KEY}"]
window_check = "off"

[[spaces.instagram]]
account_id = "{IG_ACCOUNT}"
"#,
            sim = sim.base_url()
        );
        let config = Config::from_toml_str(&toml, std::iter::empty()).unwrap();
        let gateway = Gateway::builder(config)
            .listener(listener)
            .start()
            .await
            .unwrap();
        Self {
            sim,
            gateway,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let a = self
            .http
            .request(method, format!("{}/apispaces/{SPACE}{path}", self.base))
            .bearer_auth(KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = a.status().as_u16();
        (status, a.json().await.unwrap_or(Value::Null))
    }

    /// Sends `request` and waits until it is `sent`; returns its id.
    async fn sent(&self, request: Value) -> String {
        let (status, accepted) = self.call(reqwest::Method::POST, "/messages", request).await;
        assert_eq!(status, 201, "{accepted}");
        let id = accepted["id"].as_str().unwrap().to_owned();
        for _ in 0..500 {
            let m: Value = self
                .http
                .get(format!("{}/apispaces/{SPACE}/messages/{id}", self.base))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match m["status"].as_str() {
                Some("processing" | "retrying") => {}
                Some("sent") => return id,
                _ => panic!("not sent: {m}"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("{id} was not sent");
    }

    async fn shutdown(self) {
        self.gateway.shutdown().await;
        self.sim.shutdown().await;
    }
}

/// The texts of the elements `css` selects.
async fn texts(browser: &Session, css: &str) -> Vec<String> {
    let v = browser
        .script(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent);",
            json!([css]),
        )
        .await;
    serde_json::from_value(v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_instagram_messages_their_account_and_statuses() {
    if browser_missing() {
        return;
    }
    let shop = Shop::start().await;
    shop.sim.post_inbound_text(PAGE, PSID, "hi").await.unwrap();
    let messenger = shop
        .sent(json!({"to": {"fbMessengerId": PSID}, "body": "Hello on Messenger", "rules": ["fbMessenger"]}))
        .await;
    let commenter = shop.sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let comment = shop
        .sim
        .post_instagram_comment(IG_ACCOUNT, &commenter, "How much?")
        .await
        .unwrap();
    let reply = shop
        .sent(json!({"to": {"commentId": comment.id}, "body": "Sent you the price", "rules": ["instagram"]}))
        .await;
    let (status, _) = shop
        .call(
            reqwest::Method::PUT,
            "/profiles/dana",
            json!({"firstName": "Dana", "instagramIds": {IG_ACCOUNT: commenter}}),
        )
        .await;
    assert!(status < 300, "{status}");

    let shots = screenshots();
    let driver = Driver::start().await;
    let browser = driver.session().await;
    browser.goto(&format!("{}/console", shop.base)).await;
    let key = browser.wait_for("#key", 10).await;
    browser.type_into(&key, KEY).await;
    let sign_in = browser.wait_for("#signin", 5).await;
    browser.click(&sign_in).await;
    browser.wait_for("#message-list table", 10).await;
    assert_eq!(
        texts(&browser, "#message-list td.channel").await,
        ["Instagram", "Messenger"]
    );

    // The channel filter of the page's own form: Instagram's statuses have no delivered.
    let offered = "#f-status option";
    let all = texts(&browser, offered).await;
    assert!(all.contains(&"delivered".to_owned()), "{all:?}");
    browser
        .script(
            "const c = document.getElementById('f-channel');
             c.value = 'instagram';
             c.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    assert_eq!(
        texts(&browser, offered).await,
        [
            "any",
            "processing",
            "retrying",
            "sent",
            "read",
            "failed",
            "expired"
        ]
    );
    let filter = browser
        .wait_for("form.filters button[type=submit]", 5)
        .await;
    browser.click(&filter).await;
    until(
        &browser,
        "the listing filtered to Instagram",
        "return location.hash.includes('channel=instagram')
           && document.querySelectorAll('#message-list tbody tr').length === 1",
        10,
    )
    .await;
    assert_eq!(
        texts(&browser, "#message-list td.channel").await,
        ["Instagram"]
    );
    assert_eq!(
        texts(&browser, "#message-list td.sent-from").await,
        [format!("Instagram account {IG_ACCOUNT}")]
    );
    let links = texts(&browser, "#message-list tbody a").await;
    assert_eq!(
        links,
        [reply.as_str()],
        "not the Messenger message {messenger}"
    );
    browser
        .screenshot(&shots.join("instagram-messages.png"))
        .await;

    // The message: its channel, the account and the IGSID, and Instagram's statuses.
    let link = browser.wait_for("#message-list tbody a", 5).await;
    browser.click(&link).await;
    let channel = browser.wait_for("#channel", 10).await;
    assert_eq!(browser.text(&channel).await, "Instagram");
    let from = browser.wait_for("#sent-from", 5).await;
    assert_eq!(
        browser.text(&from).await,
        format!("Instagram account {IG_ACCOUNT}")
    );
    let to = browser.wait_for("#sent-to", 5).await;
    assert_eq!(browser.text(&to).await, format!("IGSID {commenter}"));
    assert_eq!(
        texts(&browser, "#progress ol.progress li").await,
        ["sent", "read"]
    );
    assert_eq!(
        texts(&browser, "#progress li.reached").await,
        ["sent"],
        "sent, not read yet"
    );
    let hint = texts(&browser, "#progress .hint").await;
    assert!(hint[0].contains("no delivery receipts"), "{hint:?}");
    let trace = texts(&browser, "tr.rule td:first-child").await;
    assert_eq!(trace, ["Instagram"]);
    browser
        .screenshot(&shots.join("instagram-message.png"))
        .await;

    // The commenter reads the reply: Instagram's read names it, and the message shows read.
    let mid = shop.sim.instagram_sent(IG_ACCOUNT)[0].mid.clone();
    let read = shop
        .sim
        .post_instagram_read(IG_ACCOUNT, &commenter, &mid)
        .await
        .unwrap();
    assert_eq!(read, 200);
    let mut reached = Vec::new();
    for n in 0..50 {
        browser
            .goto(&format!("{}/console#/messages/{reply}?n={n}", shop.base))
            .await;
        browser.wait_for("#progress", 10).await;
        reached = texts(&browser, "#progress li.reached").await;
        if reached.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        reached,
        ["sent", "read"],
        "read after sent, nothing between"
    );
    let timeline = texts(&browser, "#timeline li .status").await;
    assert_eq!(timeline, ["processing", "sent", "read"]);
    browser.screenshot(&shots.join("instagram-read.png")).await;

    // A profile's Instagram IDs, per account, with how the account is connected.
    browser
        .goto(&format!("{}/console#/profiles/dana", shop.base))
        .await;
    let row = browser.wait_for("tr.instagram-link", 10).await;
    let text = browser.text(&row).await;
    assert!(text.contains(IG_ACCOUNT), "{text}");
    assert!(text.contains(&commenter), "{text}");
    assert!(text.contains("through the Facebook page"), "{text}");
    browser
        .screenshot(&shots.join("instagram-profile.png"))
        .await;

    browser.quit().await;
    drop(driver);
    shop.shutdown().await;
}
