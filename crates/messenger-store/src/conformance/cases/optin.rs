//! Opt-in tokens bound to their first user, Messenger IDs held by one profile, and the
//! quarantine of webhook events.

use std::sync::Arc;

use messenger_model::Profile;

use crate::conformance::{at, T0};
use crate::{OptinToken, QuarantinedEvent, Redemption, Store, StoreError};

const A: &str = "space-a";

fn token(name: &str) -> OptinToken {
    OptinToken {
        token: name.into(),
        space: A.into(),
        profile_id: "alice".into(),
        data: None,
        created_at: T0,
        expires_at: at(600),
        bound_to: None,
    }
}

fn bound_psid(r: &Redemption) -> Option<&str> {
    match r {
        Redemption::Redeemed(t) | Redemption::UsedByAnother(t) => {
            t.bound_to.as_ref().map(|b| b.psid.as_str())
        }
        _ => None,
    }
}

/// The first user to redeem a token is bound to it; the same user may redeem it again, another
/// user is refused, and an expired or foreign token is unknown.
pub async fn optin_tokens_bind_the_first_user(store: Arc<dyn Store>) {
    store.put_optin_token(token("tok-1")).await.unwrap();
    let redeem = |space: &'static str, page: &'static str, psid: &'static str, secs| {
        let store = store.clone();
        async move {
            store
                .redeem_optin_token(space, "tok-1", page, psid, at(secs))
                .await
                .unwrap()
        }
    };
    let first = redeem(A, "page-1", "psid-a", 1).await;
    assert!(matches!(first, Redemption::Redeemed(_)), "{first:?}");
    assert_eq!(bound_psid(&first), Some("psid-a"));
    let again = redeem(A, "page-1", "psid-a", 2).await;
    assert!(matches!(again, Redemption::Redeemed(_)), "{again:?}");
    if let Redemption::Redeemed(t) = &again {
        assert_eq!(t.bound_to.as_ref().map(|b| b.at), Some(at(1)), "bound once");
        assert_eq!(t.profile_id, "alice");
    }
    let other = redeem(A, "page-1", "psid-b", 3).await;
    assert!(matches!(other, Redemption::UsedByAnother(_)), "{other:?}");
    assert_eq!(bound_psid(&other), Some("psid-a"));
    // The same PSID on another page is another user.
    let other_page = redeem(A, "page-2", "psid-a", 3).await;
    assert!(matches!(other_page, Redemption::UsedByAnother(_)));
    assert_eq!(
        redeem("space-b", "page-1", "psid-a", 3).await,
        Redemption::Unknown
    );
    assert_eq!(
        redeem(A, "page-1", "psid-a", 600).await,
        Redemption::Unknown
    );
    let read = store.get_optin_token(A, "tok-1", at(4)).await.unwrap();
    assert_eq!(
        read.and_then(|t| t.bound_to).map(|b| b.psid),
        Some("psid-a".to_owned())
    );
}

/// Of many users redeeming one token at once, exactly one is bound.
pub async fn optin_token_races_have_one_winner(store: Arc<dyn Store>) {
    store.put_optin_token(token("tok-race")).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            let psid = format!("psid-{i}");
            let r = store
                .redeem_optin_token(A, "tok-race", "page-1", &psid, at(1))
                .await
                .unwrap();
            (psid, r)
        });
    }
    let mut winners = Vec::new();
    let mut bound = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (psid, r) = joined.unwrap();
        bound.push(bound_psid(&r).map(str::to_owned));
        if matches!(r, Redemption::Redeemed(_)) {
            winners.push(psid);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one winner: {winners:?}");
    assert!(
        bound
            .iter()
            .all(|b| b.as_deref() == Some(winners[0].as_str())),
        "every redemption names the winner: {bound:?}"
    );
}

/// A `fbMessengerId` written through the API is held by one profile of the space; linking a
/// PSID takes it from the profile that held it and says so.
pub async fn profile_messenger_id_is_held_once(store: Arc<dyn Store>) {
    store
        .replace_profile(A, Profile::new("alice").with_fb_messenger_id("psid-1"))
        .await
        .unwrap();
    let taken = |e: StoreError| match e {
        StoreError::MessengerIdTaken { profile_id } => profile_id,
        other => panic!("expected MessengerIdTaken, got {other:?}"),
    };
    let err = store
        .replace_profile(A, Profile::new("bob").with_fb_messenger_id("psid-1"))
        .await
        .unwrap_err();
    assert_eq!(taken(err), "alice");
    let err = store
        .merge_profile(A, Profile::new("bob").with_fb_messenger_id("psid-1"))
        .await
        .unwrap_err();
    assert_eq!(taken(err), "alice");
    assert_eq!(
        store.get_profile(A, "bob").await.unwrap(),
        None,
        "nothing written"
    );
    // The holder itself may write it again; another space is another namespace.
    store
        .merge_profile(A, Profile::new("alice").with_fb_messenger_id("psid-1"))
        .await
        .unwrap();
    store
        .replace_profile(
            "space-b",
            Profile::new("bob").with_fb_messenger_id("psid-1"),
        )
        .await
        .unwrap();

    let linked = store
        .link_messenger_id(A, "carol", "page-1", "psid-1")
        .await
        .unwrap();
    assert_eq!(linked.moved_from.as_deref(), Some("alice"));
    assert_eq!(linked.profile.fb_messenger_id.as_deref(), Some("psid-1"));
    let alice = store.get_profile(A, "alice").await.unwrap().unwrap();
    assert_eq!(alice.fb_messenger_id, None);
    let again = store
        .link_messenger_id(A, "carol", "page-1", "psid-1")
        .await
        .unwrap();
    assert_eq!(again.moved_from, None);
}

fn quarantined(key: &str, secs: i64) -> QuarantinedEvent {
    QuarantinedEvent {
        key: key.into(),
        reason: "unknown event kind".into(),
        page_id: Some("page-1".into()),
        raw: format!(r#"{{"sender":{{"id":"1"}},"odd":"{key}"}}"#).into_bytes(),
        received_at: at(secs),
        quarantined_at: at(secs + 1),
    }
}

/// Quarantined events are kept once per key, listed oldest first, and deleted by key.
pub async fn quarantine_keeps_events_once(store: Arc<dyn Store>) {
    assert_eq!(store.quarantined_count().await.unwrap(), 0);
    let added = store
        .quarantine(vec![quarantined("q-1", 1), quarantined("q-2", 2)])
        .await
        .unwrap();
    assert_eq!(added, 2);
    let mut whole_body = quarantined("q-3", 3);
    whole_body.page_id = None;
    whole_body.raw = vec![0xff, 0x00, b'x'];
    let added = store
        .quarantine(vec![quarantined("q-1", 9), whole_body.clone()])
        .await
        .unwrap();
    assert_eq!(added, 1, "a key already quarantined is skipped");
    assert_eq!(store.quarantined_count().await.unwrap(), 3);
    let listed = store.list_quarantined(10).await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(keys, ["q-1", "q-2", "q-3"]);
    assert_eq!(listed[0], quarantined("q-1", 1));
    assert_eq!(listed[2], whole_body, "raw bytes kept exactly");
    assert_eq!(store.list_quarantined(1).await.unwrap().len(), 1);
    assert!(store.delete_quarantined("q-2").await.unwrap());
    assert!(!store.delete_quarantined("q-2").await.unwrap());
    assert_eq!(store.quarantined_count().await.unwrap(), 2);
}
