//! The page's connection against graph-sim over HTTP: `debug_token`, `/me`, the app's
//! subscription, every subcode of error 190 on a revoked token, and Graph's versions.

use messenger_graph::{app_access_token, ErrorKind, GraphClient, TokenProblem, TOKEN_SUBCODES};
use messenger_model::graph::NEWEST_GRAPH_VERSION;

use crate::common::{client, sim, text, APP_SECRET, PAGE_ID, PSID, TOKEN};

const APP_ID: &str = graph_sim::connection::DEFAULT_APP_ID;

#[tokio::test]
async fn debug_token_reports_validity_expiry_scopes_and_each_revocation() {
    let sim = sim().await;
    let c = client(&sim);
    let app = app_access_token(APP_ID, APP_SECRET);
    let info = c.debug_token(&app).await.expect("debug_token answers");
    assert!(info.is_valid);
    assert_eq!(info.profile_id.as_deref(), Some(PAGE_ID));
    assert!(info.scopes.iter().any(|s| s == "pages_messaging"));
    assert_eq!(info.expires_at, Some(0));
    sim.set_token_expiry(TOKEN, 1_900_000_000);
    sim.set_token_scopes(TOKEN, ["pages_show_list"]);
    let info = c.debug_token(&app).await.unwrap();
    assert_eq!(info.expires_at, Some(1_900_000_000));
    assert_eq!(info.scopes, ["pages_show_list"]);

    for &(subcode, problem) in TOKEN_SUBCODES {
        assert!(sim.revoke_token(TOKEN, Some(subcode)));
        let info = c.debug_token(&app).await.expect("still an answer");
        assert!(!info.is_valid, "{subcode}");
        let error = info.error.expect("why");
        assert_eq!((error.code, error.error_subcode), (190, Some(subcode)));
        assert_eq!(TokenProblem::of(&error), Some(problem));
        // Every call with the token answers the same.
        let e = c.send(&text(PSID, "hi")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert_eq!(TokenProblem::of_error(&e), Some(problem), "{e}");
        let e = c.me().await.unwrap_err();
        assert_eq!(TokenProblem::of_error(&e), Some(problem));
    }
    assert!(sim.restore_token(TOKEN));
    assert!(c.debug_token(&app).await.unwrap().is_valid);
    assert_eq!(c.me().await.unwrap().id, PAGE_ID);
    // A wrong app token is refused as such: the call fails, not the page's token.
    let e = c.debug_token(&app_access_token(APP_ID, "wrong")).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::Auth);
    sim.shutdown().await;
}

#[tokio::test]
async fn subscribed_apps_lists_and_replaces_the_fields() {
    let sim = sim().await;
    let c = client(&sim);
    assert!(c.subscribed_apps(PAGE_ID).await.unwrap().data.is_empty());
    c.subscribe_app(PAGE_ID, &["messages", "message_echoes"])
        .await
        .expect("subscribes");
    let apps = c.subscribed_apps(PAGE_ID).await.unwrap();
    assert_eq!(apps.data.len(), 1);
    assert_eq!(apps.data[0].id, APP_ID);
    assert_eq!(
        apps.data[0].subscribed_fields,
        ["messages", "message_echoes"]
    );
    assert_eq!(
        sim.subscribed_fields(PAGE_ID),
        ["messages", "message_echoes"]
    );
    let bad = c
        .subscribe_app(PAGE_ID, &["not_a_field"])
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidParameter);
    let other = c.subscribed_apps("999").await.unwrap_err();
    assert_eq!(other.kind(), ErrorKind::InvalidRecipient, "{other}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_newest_version_is_served_and_a_later_one_is_not() {
    let sim = sim().await;
    let at = |version: &str| {
        GraphClient::builder()
            .base_url(sim.base_url())
            .version(version)
            .page_access_token(TOKEN)
            .app_secret(APP_SECRET)
            .build()
            .unwrap()
    };
    assert_eq!(NEWEST_GRAPH_VERSION, "v27.0");
    at(NEWEST_GRAPH_VERSION)
        .send(&text(PSID, "hi"))
        .await
        .expect("v27.0 is served");
    let e = at("v28.0").send(&text(PSID, "hi")).await.unwrap_err();
    assert_eq!(e.graph_error().map(|g| g.code), Some(2500), "{e}");
    sim.shutdown().await;
}
