//! Profiles, Messenger IDs, the inbound window, and space isolation.

use std::sync::Arc;

use messenger_model::{EventEnvelope, EventName, FacebookProfile, MessageStatus, Profile};
use serde_json::{json, Value};

use crate::conformance::{at, message, T0};
use crate::{InsertOutcome, OptinToken, ProfileQuery, StatusUpdate, Store, StoreError};

const A: &str = "space-a";
const B: &str = "space-b";

fn alice() -> Profile {
    let mut p = Profile::new("alice").with_phone_number("+447700900123");
    p.email = Some("alice@example.com".into());
    p.custom.insert("tier".into(), json!("gold"));
    p.custom.insert("score".into(), json!(3));
    p.custom
        .insert("prefs".into(), json!({"lang": "en", "tags": [1, 2]}));
    p
}

/// Create, read back, merge (set fields replace, custom merges key by key, `null` removes).
pub async fn profile_create_get_merge(store: Arc<dyn Store>) {
    assert_eq!(store.get_profile(A, "alice").await.unwrap(), None);
    let created = store.merge_profile(A, alice()).await.unwrap();
    assert_eq!(created, alice());
    assert_eq!(store.get_profile(A, "alice").await.unwrap(), Some(alice()));

    let mut update = Profile::new("alice");
    update.first_name = Some("Alice".into());
    update.custom.insert("score".into(), Value::Null);
    update.custom.insert("colour".into(), json!("blue"));
    let merged = store.merge_profile(A, update).await.unwrap();
    assert_eq!(merged.first_name.as_deref(), Some("Alice"));
    assert_eq!(merged.phone_number.as_deref(), Some("+447700900123"));
    assert_eq!(merged.email.as_deref(), Some("alice@example.com"));
    assert_eq!(merged.custom.get("tier"), Some(&json!("gold")));
    assert_eq!(merged.custom.get("colour"), Some(&json!("blue")));
    assert_eq!(merged.custom.get("score"), None);
    assert_eq!(
        merged.custom.get("prefs"),
        Some(&json!({"lang": "en", "tags": [1, 2]}))
    );
    assert_eq!(store.get_profile(A, "alice").await.unwrap(), Some(merged));

    let err = store.merge_profile(A, Profile::new("")).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
}

/// `replace_profile` replaces whole; `delete_profile` removes the profile and its links.
pub async fn profile_replace_and_delete(store: Arc<dyn Store>) {
    store.merge_profile(A, alice()).await.unwrap();
    let mut replacement = Profile::new("alice");
    replacement.first_name = Some("Al".into());
    let stored = store.replace_profile(A, replacement.clone()).await.unwrap();
    assert_eq!(stored, replacement);
    assert_eq!(
        store.get_profile(A, "alice").await.unwrap(),
        Some(replacement)
    );

    store
        .link_messenger_id(A, "alice", "page-1", "psid-1")
        .await
        .unwrap();
    assert!(store.delete_profile(A, "alice").await.unwrap());
    assert_eq!(store.get_profile(A, "alice").await.unwrap(), None);
    assert_eq!(
        store
            .find_by_messenger_id(A, "page-1", "psid-1")
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete_profile(A, "alice").await.unwrap());
}

/// Messenger IDs are page-scoped links; linking moves a PSID; the API-set field is a fallback.
pub async fn profile_messenger_ids_are_page_scoped(store: Arc<dyn Store>) {
    store.merge_profile(A, alice()).await.unwrap();
    let linked = store
        .link_messenger_id(A, "alice", "page-1", "psid-1")
        .await
        .unwrap()
        .profile;
    assert_eq!(linked.fb_messenger_id.as_deref(), Some("psid-1"));
    assert_eq!(linked.phone_number.as_deref(), Some("+447700900123"));
    // Linking to a profile that does not exist creates it.
    let bob = store
        .link_messenger_id(A, "bob", "page-2", "psid-1")
        .await
        .unwrap()
        .profile;
    assert_eq!(bob.id, "bob");
    assert_eq!(store.get_profile(A, "bob").await.unwrap(), Some(bob));

    let find = |page: &'static str, psid: &'static str| {
        let store = store.clone();
        async move {
            store
                .find_by_messenger_id(A, page, psid)
                .await
                .unwrap()
                .map(|p| p.id)
        }
    };
    assert_eq!(find("page-1", "psid-1").await.as_deref(), Some("alice"));
    assert_eq!(find("page-2", "psid-1").await.as_deref(), Some("bob"));
    assert_eq!(find("page-1", "psid-2").await, None);
    // No link on page-3: the profile (lowest id) whose fbMessengerId field is the PSID.
    assert_eq!(find("page-3", "psid-1").await.as_deref(), Some("alice"));

    // A PSID belongs to one profile per page: linking it elsewhere moves it.
    store
        .link_messenger_id(A, "carol", "page-1", "psid-1")
        .await
        .unwrap();
    assert_eq!(find("page-1", "psid-1").await.as_deref(), Some("carol"));
    let alice_now = store.get_profile(A, "alice").await.unwrap().unwrap();
    assert_eq!(alice_now.fb_messenger_id, None);
    assert_eq!(find("page-2", "psid-1").await.as_deref(), Some("bob"));

    // A Messenger ID set through the API (page unknown) is found on any page.
    store
        .merge_profile(A, Profile::new("dave").with_fb_messenger_id("psid-9"))
        .await
        .unwrap();
    assert_eq!(find("page-1", "psid-9").await.as_deref(), Some("dave"));
}

/// Find by phone number and by query; results ordered by id; limits honoured.
pub async fn profile_find_by_phone_and_query(store: Arc<dyn Store>) {
    let phone = "+447700900123";
    for (id, psid) in [("bob", "psid-b"), ("alice", "psid-a")] {
        store
            .merge_profile(
                A,
                Profile::new(id)
                    .with_phone_number(phone)
                    .with_fb_messenger_id(psid),
            )
            .await
            .unwrap();
    }
    store
        .merge_profile(A, Profile::new("carol").with_phone_number("+15550100"))
        .await
        .unwrap();
    let ids = |v: Vec<Profile>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();

    assert_eq!(
        ids(store.find_by_phone_number(A, phone).await.unwrap()),
        ["alice", "bob"]
    );
    assert!(store
        .find_by_phone_number(A, "+000")
        .await
        .unwrap()
        .is_empty());
    let both = ProfileQuery {
        fb_messenger_id: Some("psid-b".into()),
        phone_number: Some(phone.into()),
        ..ProfileQuery::default()
    };
    assert_eq!(ids(store.find_profiles(A, &both).await.unwrap()), ["bob"]);
    let mismatch = ProfileQuery {
        fb_messenger_id: Some("psid-b".into()),
        phone_number: Some("+15550100".into()),
        ..ProfileQuery::default()
    };
    assert!(store.find_profiles(A, &mismatch).await.unwrap().is_empty());
    let first = ProfileQuery {
        phone_number: Some(phone.into()),
        limit: 1,
        ..ProfileQuery::default()
    };
    assert_eq!(
        ids(store.find_profiles(A, &first).await.unwrap()),
        ["alice"]
    );
}

/// A query without a field lists every profile of the space by id; `after` pages through them
/// (keyset), with or without fields, and never shows another space's profiles.
pub async fn profile_list_pages_by_id(store: Arc<dyn Store>) {
    let ids = |v: Vec<Profile>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert!(store
        .find_profiles(A, &ProfileQuery::default())
        .await
        .unwrap()
        .is_empty());
    for id in ["d", "b", "a", "e", "c"] {
        let p = Profile::new(id);
        let p = if id == "a" || id == "d" {
            p.with_phone_number("+447700900123")
        } else {
            p
        };
        store.merge_profile(A, p).await.unwrap();
    }
    store.merge_profile(B, Profile::new("bb")).await.unwrap();
    let all = store
        .find_profiles(A, &ProfileQuery::default())
        .await
        .unwrap();
    assert_eq!(ids(all), ["a", "b", "c", "d", "e"]);

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let q = ProfileQuery {
            after: after.clone(),
            limit: 2,
            ..ProfileQuery::default()
        };
        let page = ids(store.find_profiles(A, &q).await.unwrap());
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        pages.push(page);
    }
    assert_eq!(pages, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);

    // `after` need not be a stored id: it is a position in the order.
    let from_bb = ProfileQuery {
        after: Some("bb".into()),
        ..ProfileQuery::default()
    };
    assert_eq!(
        ids(store.find_profiles(A, &from_bb).await.unwrap()),
        ["c", "d", "e"]
    );
    let phone_after_a = ProfileQuery {
        phone_number: Some("+447700900123".into()),
        after: Some("a".into()),
        ..ProfileQuery::default()
    };
    assert_eq!(
        ids(store.find_profiles(A, &phone_after_a).await.unwrap()),
        ["d"]
    );
    let past_the_end = ProfileQuery {
        after: Some("e".into()),
        ..ProfileQuery::default()
    };
    assert!(store
        .find_profiles(A, &past_the_end)
        .await
        .unwrap()
        .is_empty());
}

/// The `facebook` section is stored, replaced whole, and kept by merges without one.
pub async fn profile_facebook_section(store: Arc<dyn Store>) {
    let fb = FacebookProfile {
        first_name: Some("Alice".into()),
        last_name: Some("Liddell".into()),
        profile_pic: Some("https://example.com/a.jpg".into()),
        locale: Some("en_GB".into()),
        gender: None,
        timezone: Some(5.5),
    };
    assert_eq!(
        store
            .set_facebook_profile(A, "alice", fb.clone())
            .await
            .unwrap(),
        None
    );
    store.merge_profile(A, alice()).await.unwrap();
    let with_fb = store
        .set_facebook_profile(A, "alice", fb.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with_fb.facebook.as_ref(), Some(&fb));
    assert_eq!(with_fb.email.as_deref(), Some("alice@example.com"));

    let mut update = Profile::new("alice");
    update.last_name = Some("L.".into());
    let merged = store.merge_profile(A, update).await.unwrap();
    assert_eq!(merged.facebook.as_ref(), Some(&fb));

    let other = FacebookProfile {
        first_name: Some("Al".into()),
        ..FacebookProfile::default()
    };
    store
        .set_facebook_profile(A, "alice", other.clone())
        .await
        .unwrap();
    let stored = store.get_profile(A, "alice").await.unwrap().unwrap();
    assert_eq!(stored.facebook, Some(other));
    assert_eq!(stored.last_name.as_deref(), Some("L."));
}

/// The last inbound time per (space, page, PSID) only moves forward.
pub async fn profile_inbound_window_moves_forward(store: Arc<dyn Store>) {
    let last = |page: &'static str, space: &'static str| {
        let store = store.clone();
        async move { store.last_inbound(space, page, "psid-1").await.unwrap() }
    };
    assert_eq!(last("page-1", A).await, None);
    store
        .record_inbound(A, "page-1", "psid-1", at(10))
        .await
        .unwrap();
    assert_eq!(last("page-1", A).await, Some(at(10)));
    store
        .record_inbound(A, "page-1", "psid-1", at(5))
        .await
        .unwrap();
    assert_eq!(last("page-1", A).await, Some(at(10)));
    store
        .record_inbound(A, "page-1", "psid-1", at(20))
        .await
        .unwrap();
    assert_eq!(last("page-1", A).await, Some(at(20)));
    assert_eq!(last("page-2", A).await, None);
    assert_eq!(last("page-1", B).await, None);
}

/// Nothing of one API space is visible from another.
pub async fn spaces_are_isolated(store: Arc<dyn Store>) {
    store.merge_profile(A, alice()).await.unwrap();
    store
        .link_messenger_id(A, "alice", "page-1", "psid-1")
        .await
        .unwrap();
    assert_eq!(store.get_profile(B, "alice").await.unwrap(), None);
    assert!(!store.delete_profile(B, "alice").await.unwrap());
    assert!(store.get_profile(A, "alice").await.unwrap().is_some());
    assert!(store
        .find_by_phone_number(B, "+447700900123")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .find_by_messenger_id(B, "page-1", "psid-1")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_facebook_profile(B, "alice", FacebookProfile::default())
            .await
            .unwrap(),
        None
    );

    let in_a = message(A, "psid:1", "hi").idempotency("key-1", "h1");
    let id_a = in_a.id.clone();
    store.insert_message(in_a).await.unwrap();
    assert_eq!(store.get_message(B, &id_a).await.unwrap(), None);
    let err = store
        .update_status(B, &id_a, StatusUpdate::new(MessageStatus::Sent, at(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let in_b = message(B, "psid:1", "hi").idempotency("key-1", "h1");
    let id_b = in_b.id.clone();
    assert_eq!(
        store.insert_message(in_b).await.unwrap(),
        InsertOutcome::Inserted { id: id_b.clone() }
    );
    store.add_graph_message_id(A, &id_a, "mid.1").await.unwrap();
    assert_eq!(
        store.find_by_graph_message_id(B, "mid.1").await.unwrap(),
        None
    );
    store.add_graph_message_id(B, &id_b, "mid.1").await.unwrap();
    let found = store.find_by_graph_message_id(A, "mid.1").await.unwrap();
    assert_eq!(found.map(|m| m.id), Some(id_a));

    let envelope = EventEnvelope {
        event_id: "evt-1".into(),
        api_space_id: A.into(),
        name: EventName::MessageSent,
        payload: json!({}),
        revision: 1,
        timestamp: T0,
    };
    store.enqueue_event("default", envelope, T0).await.unwrap();
    assert_eq!(store.redrive(B, "evt-1", T0).await.unwrap(), 0);
    assert!(store.list_dead(B, 10).await.unwrap().is_empty());

    store
        .put_optin_token(OptinToken {
            token: "tok-1".into(),
            space: A.into(),
            profile_id: "alice".into(),
            data: None,
            created_at: T0,
            expires_at: at(3600),
            bound_to: None,
        })
        .await
        .unwrap();
    assert!(store
        .get_optin_token(B, "tok-1", T0)
        .await
        .unwrap()
        .is_none());
}
