//! Instagram Login tokens: the latest issue kept across instances, refresh failures beside the
//! token until the next save, and tokens left alone by erasure and retention.

use std::sync::Arc;

use messenger_model::Profile;

use crate::conformance::at;
use crate::{
    RefreshFailure, SpaceScope, Store, StoreError, StoredToken, MAX_INSTAGRAM_ACCOUNT_ID_LEN,
    MAX_INSTAGRAM_TOKEN_LEN, MAX_REFRESH_FAILURE_LEN, MAX_RETENTION_BATCH,
};

const ACCOUNT: &str = "17841400000000001";
const OTHER: &str = "17841400000000002";
/// Sixty days, in seconds.
const LIFETIME: i64 = 60 * 86_400;

fn stored(token: &str, issued: i64) -> StoredToken {
    StoredToken {
        token: token.into(),
        issued_at: at(issued),
        expires_at: at(issued + LIFETIME),
        refresh_failure: None,
    }
}

async fn save(store: &Arc<dyn Store>, account: &str, token: &str, issued: i64) -> bool {
    store
        .save_instagram_token(account, token, at(issued), at(issued + LIFETIME))
        .await
        .unwrap()
}

/// A saved token is read back as saved, per account; a token issued later replaces it, one
/// issued earlier (an instance that refreshed before another and saves after it) does not; an
/// invalid save changes nothing and names no token.
pub async fn instagram_tokens_keep_the_latest_issue(store: Arc<dyn Store>) {
    assert_eq!(store.instagram_token(ACCOUNT).await.unwrap(), None);
    assert!(save(&store, ACCOUNT, "IGAA-configured", 0).await);
    assert!(save(&store, OTHER, "IGAA-other", 5).await);
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(stored("IGAA-configured", 0))
    );

    // Two instances refresh: the one issued later wins, whatever order they save in.
    assert!(save(&store, ACCOUNT, "IGAA-refreshed-late", 200).await);
    assert!(!save(&store, ACCOUNT, "IGAA-refreshed-early", 100).await);
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(stored("IGAA-refreshed-late", 200))
    );
    // Saving the same issue again is idempotent.
    assert!(save(&store, ACCOUNT, "IGAA-refreshed-late", 200).await);
    assert_eq!(
        store.instagram_token(OTHER).await.unwrap(),
        Some(stored("IGAA-other", 5))
    );

    let invalid = [
        ("", "IGAA-x".to_owned(), at(300), at(400)),
        (
            &*"1".repeat(MAX_INSTAGRAM_ACCOUNT_ID_LEN + 1),
            "IGAA-x".to_owned(),
            at(300),
            at(400),
        ),
        (ACCOUNT, String::new(), at(300), at(400)),
        (
            ACCOUNT,
            "T".repeat(MAX_INSTAGRAM_TOKEN_LEN + 1),
            at(300),
            at(400),
        ),
        (ACCOUNT, "IGAA-x".to_owned(), at(300), at(300)),
    ];
    for (account, token, issued, expires) in invalid {
        let err = store
            .save_instagram_token(account, &token, issued, expires)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
        assert!(!err.to_string().contains("IGAA-x"), "{err}");
    }
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(stored("IGAA-refreshed-late", 200))
    );
}

/// A failed refresh is recorded beside the account's token (the latest failure kept, a long
/// reason cut at a character boundary), never for an account without a token, and forgotten by
/// the next save, but not by a save that loses to a later issue.
pub async fn instagram_refresh_failures_last_until_the_next_save(store: Arc<dyn Store>) {
    assert!(!store
        .record_instagram_refresh_failure(ACCOUNT, "no token yet", at(1))
        .await
        .unwrap());
    assert_eq!(store.instagram_token(ACCOUNT).await.unwrap(), None);
    let err = store
        .record_instagram_refresh_failure("", "x", at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");

    assert!(save(&store, ACCOUNT, "IGAA-1", 0).await);
    assert!(save(&store, OTHER, "IGAA-2", 0).await);
    assert!(store
        .record_instagram_refresh_failure(ACCOUNT, "Graph error 190/463 (auth)", at(10))
        .await
        .unwrap());
    let long = format!("a{}", "é".repeat(MAX_REFRESH_FAILURE_LEN));
    assert!(store
        .record_instagram_refresh_failure(ACCOUNT, &long, at(20))
        .await
        .unwrap());
    let failure = store
        .instagram_token(ACCOUNT)
        .await
        .unwrap()
        .and_then(|t| t.refresh_failure)
        .expect("the failure is recorded");
    assert_eq!(failure.at, at(20));
    assert_eq!(failure.reason.len(), MAX_REFRESH_FAILURE_LEN - 1);
    assert!(long.starts_with(&failure.reason));
    // Another account has none.
    assert_eq!(
        store.instagram_token(OTHER).await.unwrap(),
        Some(stored("IGAA-2", 0))
    );

    // A save that loses keeps the failure; one that wins forgets it.
    assert!(save(&store, ACCOUNT, "IGAA-newer", 50).await);
    assert!(store
        .record_instagram_refresh_failure(ACCOUNT, "timed out", at(60))
        .await
        .unwrap());
    assert!(!save(&store, ACCOUNT, "IGAA-older", 40).await);
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(StoredToken {
            refresh_failure: Some(RefreshFailure {
                reason: "timed out".into(),
                at: at(60),
            }),
            ..stored("IGAA-newer", 50)
        })
    );
    assert!(save(&store, ACCOUNT, "IGAA-newest", 70).await);
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(stored("IGAA-newest", 70))
    );
}

/// Tokens are not customer data: erasing a customer of a space (whose pages name the account)
/// and every retention purge leave them as they were.
pub async fn instagram_tokens_survive_erasure_and_retention(store: Arc<dyn Store>) {
    assert!(save(&store, ACCOUNT, "IGAA-kept", 0).await);
    store
        .merge_profile("space-a", Profile::new("alice"))
        .await
        .unwrap();
    store
        .erase("space-a", "alice", &[ACCOUNT.to_owned()], at(10))
        .await
        .unwrap();
    let scope = SpaceScope::Except(Vec::new());
    let far = at(10 * LIFETIME);
    store
        .redact_messages(&scope, far, far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    store
        .purge_messages(&scope, far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    store
        .forget_idempotency_keys(&scope, far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    store
        .purge_dead_events(&scope, far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    store
        .purge_quarantined(far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    store
        .purge_inbound_window(far, MAX_RETENTION_BATCH)
        .await
        .unwrap();
    assert_eq!(
        store.instagram_token(ACCOUNT).await.unwrap(),
        Some(stored("IGAA-kept", 0))
    );
}
