//! The record of each page's connection: the webhook's last deliveries per page and field.

use std::sync::Arc;

use crate::conformance::at;
use crate::{Store, WebhookSighting};

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
