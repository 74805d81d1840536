//! The record of each page's connection: the webhook's last deliveries per page and field.

use std::sync::Arc;

use crate::conformance::at;
use crate::{PageReauth, Store, WebhookSighting};

/// Each page and field keeps the latest time recorded, whatever the order of the calls (as
/// instances record them); pages are apart; an invalid sighting fails the whole call.
pub async fn connection_webhook_sightings_keep_the_latest(store: Arc<dyn Store>) {
    assert!(store.webhook_sightings("P1").await.unwrap().is_empty());
    store.record_webhook_sightings(&[]).await.unwrap();
    store
        .record_webhook_sightings(&[
            WebhookSighting::new("P1", "messages", at(10)),
            WebhookSighting::new("P1", "message_echoes", at(5)),
            WebhookSighting::new("P2", "messages", at(7)),
        ])
        .await
        .unwrap();
    // Another instance with an older sighting of one field and a newer one of another.
    store
        .record_webhook_sightings(&[
            WebhookSighting::new("P1", "messages", at(3)),
            WebhookSighting::new("P1", "message_echoes", at(20)),
            WebhookSighting::new("P1", "standby", at(1)),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.webhook_sightings("P1").await.unwrap(),
        vec![
            WebhookSighting::new("P1", "message_echoes", at(20)),
            WebhookSighting::new("P1", "messages", at(10)),
            WebhookSighting::new("P1", "standby", at(1)),
        ]
    );
    assert_eq!(
        store.webhook_sightings("P2").await.unwrap(),
        vec![WebhookSighting::new("P2", "messages", at(7))]
    );

    // A field name too long beside a valid sighting: nothing is recorded.
    let err = store
        .record_webhook_sightings(&[
            WebhookSighting::new("P3", "messages", at(30)),
            WebhookSighting::new("P3", "f".repeat(crate::MAX_SIGHTING_KEY_LEN + 1), at(30)),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, crate::StoreError::Invalid { .. }), "{err:?}");
    let err = store
        .record_webhook_sightings(&[WebhookSighting::new("", "messages", at(30))])
        .await
        .unwrap_err();
    assert!(matches!(err, crate::StoreError::Invalid { .. }), "{err:?}");
    assert!(store.webhook_sightings("P3").await.unwrap().is_empty());
}

/// A page's token state: recorded, replaced keeping the earlier time, read, cleared once;
/// pages apart; an empty page id refused.
pub async fn connection_page_reauth_recorded_and_cleared(store: Arc<dyn Store>) {
    let reauth = |page: &str, problem: &str, since: i64, instance: &str| PageReauth {
        page_id: page.to_owned(),
        problem: problem.to_owned(),
        reason: format!("Error validating access token ({problem})"),
        since: at(since),
        instance: instance.to_owned(),
    };
    assert_eq!(store.page_reauth("P1").await.unwrap(), None);
    assert!(!store.clear_page_reauth("P1").await.unwrap());
    store
        .record_page_reauth(&reauth("P1", "password_changed", 10, "gw-a"))
        .await
        .unwrap();
    store
        .record_page_reauth(&reauth("P2", "expired", 5, "gw-a"))
        .await
        .unwrap();
    // Another instance finds it later, with another reading: its words, the earlier time.
    store
        .record_page_reauth(&reauth("P1", "invalid", 30, "gw-b"))
        .await
        .unwrap();
    assert_eq!(
        store.page_reauth("P1").await.unwrap(),
        Some(PageReauth {
            since: at(10),
            ..reauth("P1", "invalid", 30, "gw-b")
        })
    );
    assert!(store.clear_page_reauth("P1").await.unwrap());
    assert!(!store.clear_page_reauth("P1").await.unwrap());
    assert_eq!(store.page_reauth("P1").await.unwrap(), None);
    assert_eq!(
        store.page_reauth("P2").await.unwrap(),
        Some(reauth("P2", "expired", 5, "gw-a"))
    );
    let err = store
        .record_page_reauth(&reauth("", "expired", 5, "gw-a"))
        .await
        .unwrap_err();
    assert!(matches!(err, crate::StoreError::Invalid { .. }), "{err:?}");
}
