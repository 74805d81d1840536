//! An Instagram Login token's life against graph-sim's Instagram host: checked at start (and
//! saved for every instance), left alone until due, refreshed and adopted by another instance,
//! and a token that expired or belongs to another account stops its account.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use graph_sim::{GraphSim, InstagramLogin as SimLogin};
use messenger::instagram::tokens::TokenState;
use messenger::{InstagramAccount, Messenger, Space};
use messenger_graph::GraphClient;
use messenger_model::Timestamp;
use messenger_store::{MemoryStore, Store};

const PAGE: &str = "PAGE-1";
const ACCOUNT: &str = "17841400000000102";
const TOKEN: &str = "ig-user-token-of-102";
const SECRET: &str = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d";
const DAY: Duration = Duration::from_secs(86_400);

async fn sim() -> GraphSim {
    GraphSim::builder()
        .page(PAGE, "page-token-1")
        .app_secret("app-secret-1")
        .instagram_host(true)
        .instagram_account(
            ACCOUNT,
            SimLogin::instagram(TOKEN, SECRET, "9000000000000102", "acme.shop"),
        )
        .start()
        .await
        .unwrap()
}

/// A facade on `store` whose space connects `account` with Instagram Login and `token`; its
/// clock runs `ahead` milliseconds ahead of the system's.
fn facade(
    sim: &GraphSim,
    store: Arc<dyn Store>,
    account: &str,
    token: &str,
    ahead: &Arc<AtomicI64>,
) -> Messenger {
    let base = GraphClient::builder()
        .base_url(sim.base_url())
        .instagram_base_url(sim.instagram_url().unwrap())
        .instagram_app_secret(SECRET)
        .build()
        .unwrap();
    let page = Arc::new(base.for_page("page-token-1").unwrap());
    let ig = InstagramAccount::instagram_login(account, &base, token).unwrap();
    let ahead = Arc::clone(ahead);
    Messenger::builder()
        .store(store)
        .clock(Arc::new(move || {
            Timestamp::now().add_millis(ahead.load(Ordering::Relaxed))
        }))
        .space(Space::new("default", PAGE, page).connect_instagram(ig))
        .build()
        .unwrap()
}

fn only(states: Vec<messenger::instagram::tokens::TokenReport>) -> TokenState {
    assert_eq!(states.len(), 1, "{states:?}");
    states.into_iter().next().unwrap().state
}

#[tokio::test]
async fn a_token_is_checked_saved_refreshed_when_due_and_adopted_by_another_instance() {
    let sim = sim().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ahead = Arc::new(AtomicI64::new(0));
    let first = facade(&sim, Arc::clone(&store), ACCOUNT, TOKEN, &ahead);

    // At start: /me names the configured account; the fresh token cannot be refreshed yet (Meta
    // refreshes a token a day old), so it is saved as it is.
    let state = only(first.connect_instagram_logins().await);
    assert_eq!(
        state,
        TokenState::Valid {
            username: Some("acme.shop".into()),
            source: "configured"
        }
    );
    let saved = store.instagram_token(ACCOUNT).await.unwrap().unwrap();
    assert_eq!(saved.token, TOKEN);
    let refresh_after = 30 * DAY;
    assert_eq!(
        only(first.refresh_instagram_tokens(refresh_after).await),
        TokenState::Unchanged
    );

    // 31 days on (for the facade and for Meta), the token is refreshed and kept in the store.
    ahead.fetch_add(
        i64::try_from((31 * DAY).as_millis()).unwrap(),
        Ordering::Relaxed,
    );
    sim.age_instagram_token(TOKEN, 31 * DAY).unwrap();
    let state = only(first.refresh_instagram_tokens(refresh_after).await);
    assert_eq!(
        state,
        TokenState::Valid {
            username: None,
            source: "refreshed"
        }
    );
    let refreshed = store.instagram_token(ACCOUNT).await.unwrap().unwrap();
    assert_ne!(refreshed.token, TOKEN);
    assert!(
        sim.instagram_token(&refreshed.token).is_some(),
        "Meta issued it"
    );
    assert!(refreshed.expires_at > first.now().add_duration(59 * DAY));

    // Another instance configured with the old token sends with the refreshed one.
    let second = facade(&sim, Arc::clone(&store), ACCOUNT, TOKEN, &ahead);
    assert_eq!(
        only(second.connect_instagram_logins().await),
        TokenState::Valid {
            username: Some("acme.shop".into()),
            source: "store"
        }
    );
    assert_eq!(
        only(second.refresh_instagram_tokens(refresh_after).await),
        TokenState::Unchanged,
        "the refreshed token is not due"
    );

    // Never refreshed again, the token expires: the account waits for new credentials.
    ahead.fetch_add(
        i64::try_from((61 * DAY).as_millis()).unwrap(),
        Ordering::Relaxed,
    );
    let state = only(first.refresh_instagram_tokens(refresh_after).await);
    assert!(
        matches!(state, TokenState::Refused(ref why) if why.contains("expired")),
        "{state:?}"
    );
    let space = first.space("default").unwrap();
    let account = space.instagram_account(ACCOUNT).unwrap();
    assert!(
        account.health.reauth().is_some(),
        "the account needs new credentials"
    );
    assert!(!format!("{state:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_token_of_another_account_is_named_and_stops_the_configured_one() {
    let sim = sim().await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ahead = Arc::new(AtomicI64::new(0));
    // The app-scoped id configured by mistake.
    let wrong = facade(&sim, Arc::clone(&store), "9000000000000102", TOKEN, &ahead);
    let state = only(wrong.connect_instagram_logins().await);
    assert_eq!(
        state,
        TokenState::OtherAccount {
            user_id: ACCOUNT.into(),
            app_scoped_id: "9000000000000102".into()
        }
    );
    let space = wrong.space("default").unwrap();
    assert!(space
        .instagram_account("9000000000000102")
        .unwrap()
        .health
        .reauth()
        .is_some());
    assert!(store
        .instagram_token("9000000000000102")
        .await
        .unwrap()
        .is_none());

    // A token Graph does not know is refused.
    let unknown = facade(&sim, store, ACCOUNT, "not-a-token", &ahead);
    let state = only(unknown.connect_instagram_logins().await);
    assert!(matches!(state, TokenState::Refused(_)), "{state:?}");
}
