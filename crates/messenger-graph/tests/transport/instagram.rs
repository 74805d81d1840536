//! A client for Instagram Login against a stand-in for graph.instagram.com on loopback: sends
//! to `/me/messages` there with the Instagram user token, `/me`'s two ids, the token's refresh,
//! a refreshed token used by every clone, and no token in any error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use messenger_graph::{ErrorKind, GraphClient, GraphHost, Transport};
use messenger_model::graph::{GraphSendRequest, Message, Recipient};
use serde_json::{json, Value};

const OLD_TOKEN: &str = "IGAA-old-token-never-logged";
const NEW_TOKEN: &str = "IGAA-new-token-never-logged";
const IGSID: &str = "9000000000000001";
const ACCOUNT: &str = "17841400000000001";

/// A call the stand-in received: path, `Authorization` header, query.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    authorization: Option<String>,
    query: HashMap<String, String>,
}

/// The stand-in's state: the token it accepts, and the calls it received.
#[derive(Default)]
struct Ig {
    valid: Mutex<String>,
    calls: Mutex<Vec<Call>>,
}

impl Ig {
    fn record(&self, path: &str, headers: &HeaderMap, query: &HashMap<String, String>) {
        self.calls.lock().unwrap().push(Call {
            path: path.to_owned(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            query: query.clone(),
        });
    }

    fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let want = format!("Bearer {}", self.valid.lock().unwrap());
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
    }
}

fn ig_error(code: i64, message: &str) -> Response {
    let body = json!({"error": {
        "message": message, "type": "IGApiException", "code": code,
        "is_transient": false, "fbtrace_id": "AigTrace"
    }});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn me(
    State(ig): State<Arc<Ig>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    ig.record("/v26.0/me", &headers, &q);
    if !ig.bearer_ok(&headers) {
        return ig_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    let mut answer = json!({"id": "7000000000000001"});
    for field in q.get("fields").map(String::as_str).unwrap_or("").split(',') {
        match field {
            "user_id" => answer["user_id"] = ACCOUNT.into(),
            "username" => answer["username"] = "the.shop".into(),
            _ => {}
        }
    }
    Json(answer).into_response()
}

async fn messages(
    State(ig): State<Arc<Ig>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    ig.record("/v26.0/me/messages", &headers, &q);
    if !ig.bearer_ok(&headers) {
        return ig_error(
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    if body["recipient"]["id"] == "0" {
        let e = json!({"error": {
            "message": "This message is sent outside of allowed window.",
            "type": "IGApiException", "code": 10, "error_subcode": 2534022,
            "is_transient": false, "fbtrace_id": "AigTrace"
        }});
        return (StatusCode::BAD_REQUEST, Json(e)).into_response();
    }
    Json(json!({"recipient_id": body["recipient"]["id"], "message_id": "aWdfZAG1faWQ"}))
        .into_response()
}

async fn refresh(
    State(ig): State<Arc<Ig>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    ig.record("/refresh_access_token", &headers, &q);
    let current = ig.valid.lock().unwrap().clone();
    if q.get("grant_type").map(String::as_str) != Some("ig_refresh_token")
        || q.get("access_token") != Some(&current)
    {
        return ig_error(190, "Error validating access token");
    }
    *ig.valid.lock().unwrap() = NEW_TOKEN.to_owned();
    Json(json!({"access_token": NEW_TOKEN, "token_type": "bearer", "expires_in": 5_184_000}))
        .into_response()
}

/// The stand-in on loopback: its base URL (with a path prefix, as a simulator may have) and
/// state.
async fn stand_in() -> (String, Arc<Ig>) {
    let ig = Arc::new(Ig::default());
    *ig.valid.lock().unwrap() = OLD_TOKEN.to_owned();
    let app = Router::new()
        .route("/ig/v26.0/me", get(me))
        .route("/ig/v26.0/me/messages", post(messages))
        .route("/ig/refresh_access_token", get(refresh))
        .with_state(Arc::clone(&ig));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/ig"), ig)
}

fn instagram_client(base: &str) -> GraphClient {
    GraphClient::builder()
        .base_url("http://127.0.0.1:1")
        .instagram_base_url(base)
        .version("v26.0")
        .instagram_user_token(OLD_TOKEN)
        .build()
        .unwrap()
}

fn text(igsid: &str) -> GraphSendRequest {
    GraphSendRequest::message(Recipient::psid(igsid), Message::text("Your order shipped"))
}

#[tokio::test]
async fn sends_go_to_the_instagram_host_with_the_user_token() {
    let (base, ig) = stand_in().await;
    let client = instagram_client(&base);
    assert_eq!(client.host(), Some(GraphHost::Instagram));
    let transport: Arc<dyn Transport> = Arc::new(client);
    let sent = transport.send(&text(IGSID)).await.expect("sent");
    assert_eq!(sent.recipient_id.as_deref(), Some(IGSID));
    assert_eq!(sent.message_id.as_deref(), Some("aWdfZAG1faWQ"));
    let calls = ig.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, "/v26.0/me/messages");
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some(format!("Bearer {OLD_TOKEN}").as_str())
    );
    // The token travels in the header only.
    assert!(calls[0].query.values().all(|v| !v.contains(OLD_TOKEN)));
}

#[tokio::test]
async fn instagram_errors_are_classified_and_name_no_token() {
    let (base, _ig) = stand_in().await;
    let client = instagram_client(&base);
    let e = client.send(&text("0")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutsideWindow);
    assert_eq!(
        e.graph_error().and_then(|g| g.kind.as_deref()),
        Some("IGApiException")
    );
    assert_eq!(e.graph_error().and_then(|g| g.is_transient), Some(false));
    // A token the host does not know: auth, and the message names no token.
    let stale = client.for_instagram_account("IGAA-stale-token").unwrap();
    let e = stale.instagram_me().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(!format!("{e} {e:?}").contains("IGAA"), "{e:?}");
    let e = stale.refresh_access_token().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(!format!("{e} {e:?}").contains("IGAA"), "{e:?}");
}

#[tokio::test]
async fn me_answers_the_account_id_webhooks_carry() {
    let (base, ig) = stand_in().await;
    let me = instagram_client(&base).instagram_me().await.expect("me");
    assert_eq!(me.user_id, ACCOUNT);
    assert_eq!(me.id, "7000000000000001");
    assert_ne!(me.id, me.user_id);
    assert_eq!(me.username.as_deref(), Some("the.shop"));
    let calls = ig.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0].query.get("fields").map(String::as_str),
        Some("user_id,username")
    );
}

#[tokio::test]
async fn a_refreshed_token_is_used_by_every_clone_from_then_on() {
    let (base, ig) = stand_in().await;
    let client = instagram_client(&base);
    let sender = client.clone();
    sender
        .send(&text(IGSID))
        .await
        .expect("sent with the old token");

    let refreshed = client.refresh_access_token().await.expect("refreshed");
    assert_eq!(refreshed.access_token, NEW_TOKEN);
    assert_eq!(refreshed.expires_in, 5_184_000);
    assert!(!format!("{refreshed:?}").contains(NEW_TOKEN));
    // The host now refuses the old token: the client keeps it until told.
    let e = sender.send(&text(IGSID)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    client.set_access_token(&refreshed.access_token).unwrap();
    sender
        .send(&text(IGSID))
        .await
        .expect("sent with the new token");

    let calls = ig.calls.lock().unwrap().clone();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v26.0/me/messages",
            "/refresh_access_token",
            "/v26.0/me/messages",
            "/v26.0/me/messages"
        ]
    );
    let refresh = &calls[1];
    assert_eq!(
        refresh.query.get("grant_type").map(String::as_str),
        Some("ig_refresh_token")
    );
    assert_eq!(
        refresh.query.get("access_token").map(String::as_str),
        Some(OLD_TOKEN)
    );
    let bearer = |c: &Call| c.authorization.clone().unwrap_or_default();
    assert_eq!(bearer(&calls[2]), format!("Bearer {OLD_TOKEN}"));
    assert_eq!(bearer(&calls[3]), format!("Bearer {NEW_TOKEN}"));
}

#[tokio::test]
async fn an_unreachable_host_names_no_token() {
    // Nothing listens on port 1: the refresh fails to connect, and neither its message nor
    // its causes carry the token that was in the URL's query.
    let client = instagram_client("http://127.0.0.1:1");
    let e = client.refresh_access_token().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    let mut chain = format!("{e} {e:?}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!chain.contains(OLD_TOKEN), "{chain}");
}

mod against_graph_sim {
    //! The same calls against graph-sim's Instagram host: its `/me`, its refresh with Meta's
    //! 24-hour minimum age, and each host refusing the other's token as Meta does.

    use std::time::Duration;

    use graph_sim::{GraphSim, InstagramLogin};
    use messenger_graph::{Blame, ErrorKind, GraphClient, GraphHost};

    use super::text;

    const PAGE_ID: &str = "100200300400500";
    const PAGE_TOKEN: &str = "EAAG-page-token-never-logged";
    const ACCOUNT: &str = "17841400000000002";
    const IG_TOKEN: &str = "IGAA-sim-token-never-logged";
    const IG_SECRET: &str = "ig-app-secret-never-logged";
    const APP_SCOPED: &str = "9000000000000002";

    async fn sim() -> GraphSim {
        GraphSim::builder()
            .page(PAGE_ID, PAGE_TOKEN)
            .instagram_account(
                ACCOUNT,
                InstagramLogin::instagram(IG_TOKEN, IG_SECRET, APP_SCOPED, "shop"),
            )
            .instagram_host(true)
            .instagram_window(false)
            .start()
            .await
            .expect("graph-sim starts")
    }

    fn client(sim: &GraphSim) -> GraphClient {
        GraphClient::builder()
            .base_url(sim.base_url())
            .instagram_base_url(sim.instagram_url().expect("the Instagram host"))
            .page_access_token(PAGE_TOKEN)
            .instagram_app_secret(IG_SECRET)
            .build()
            .expect("client builds")
    }

    #[tokio::test]
    async fn me_send_and_refresh_on_the_instagram_host() {
        let sim = sim().await;
        let ig = client(&sim).for_instagram_account(IG_TOKEN).unwrap();
        assert_eq!(ig.host(), Some(GraphHost::Instagram));

        let me = ig.instagram_me().await.expect("me");
        assert_eq!((me.id.as_str(), me.user_id.as_str()), (APP_SCOPED, ACCOUNT));
        assert_eq!(me.username.as_deref(), Some("shop"));

        let igsid = sim.new_instagram_user(ACCOUNT).unwrap();
        ig.send(&text(&igsid)).await.expect("sent");

        // Meta refreshes a token once it is 24 hours old.
        let young = ig.refresh_access_token().await.unwrap_err();
        assert!(!young.is_retryable(), "{young}");
        assert!(!young.to_string().contains(IG_TOKEN), "{young}");
        sim.age_instagram_token(IG_TOKEN, Duration::from_secs(2 * 86_400))
            .expect("the token is known");
        let refreshed = ig.refresh_access_token().await.expect("refreshed");
        assert_ne!(refreshed.access_token, IG_TOKEN);
        assert_eq!(refreshed.expires_in, 60 * 86_400);
        let issued = sim
            .instagram_token(&refreshed.access_token)
            .expect("the simulator issued it");
        assert_eq!(issued.account_id, ACCOUNT);

        ig.set_access_token(&refreshed.access_token).unwrap();
        assert_eq!(ig.instagram_me().await.expect("me").user_id, ACCOUNT);
        ig.send(&text(&igsid))
            .await
            .expect("sent with the new token");
        assert_eq!(sim.instagram_sent(ACCOUNT).len(), 2);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_token_on_the_wrong_host_is_the_accounts_setup() {
        let sim = sim().await;
        let client = client(&sim);
        // An Instagram user token on graph.facebook.com.
        let misplaced = client.for_page(IG_TOKEN).unwrap();
        let e = misplaced.send(&text("9000000000000009")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AccountSetup, "{e}");
        assert_eq!(e.kind().blame(), Blame::Setup);
        assert!(e.kind().blame().needs_operator());
        assert!(!e.to_string().contains(IG_TOKEN), "{e}");
        // A page token on graph.instagram.com.
        let misplaced = client.for_instagram_account(PAGE_TOKEN).unwrap();
        let e = misplaced.instagram_me().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AccountSetup, "{e}");
        assert_eq!(
            e.graph_error().and_then(|g| g.kind.as_deref()),
            Some("IGApiException")
        );
        sim.shutdown().await;
    }
}
