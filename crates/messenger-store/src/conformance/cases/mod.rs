//! The kit's cases, one public async function per behaviour.

mod connection;
mod deadlines;
mod dispatch;
mod erasure;
mod held;
mod ingest;
mod instagram;
mod listing;
mod messages;
mod optin;
mod outbox;
mod pacing;
mod profiles;
mod receipts;
mod retention;

pub use connection::*;
pub use deadlines::*;
pub use dispatch::*;
pub use erasure::*;
pub use held::*;
pub use ingest::*;
pub use instagram::*;
pub use listing::*;
pub use messages::*;
pub use optin::*;
pub use outbox::*;
pub use pacing::*;
pub use profiles::*;
pub use receipts::*;
pub use retention::*;

use super::Case;

/// Every case with its name, in the order [`crate::conformance_tests!`] lists them.
pub const ALL: &[(&str, Case)] = &[
    ("profile_create_get_merge", |s| {
        Box::pin(profile_create_get_merge(s))
    }),
    ("profile_replace_and_delete", |s| {
        Box::pin(profile_replace_and_delete(s))
    }),
    ("profile_messenger_ids_are_page_scoped", |s| {
        Box::pin(profile_messenger_ids_are_page_scoped(s))
    }),
    ("profile_find_by_phone_and_query", |s| {
        Box::pin(profile_find_by_phone_and_query(s))
    }),
    ("profile_list_pages_by_id", |s| {
        Box::pin(profile_list_pages_by_id(s))
    }),
    ("profile_facebook_section", |s| {
        Box::pin(profile_facebook_section(s))
    }),
    ("profile_inbound_window_moves_forward", |s| {
        Box::pin(profile_inbound_window_moves_forward(s))
    }),
    ("spaces_are_isolated", |s| Box::pin(spaces_are_isolated(s))),
    ("message_insert_and_get", |s| {
        Box::pin(message_insert_and_get(s))
    }),
    ("message_idempotency_returns_first", |s| {
        Box::pin(message_idempotency_returns_first(s))
    }),
    ("message_batch_insert", |s| {
        Box::pin(message_batch_insert(s))
    }),
    ("message_batch_is_atomic", |s| {
        Box::pin(message_batch_is_atomic(s))
    }),
    ("message_status_never_moves_backwards", |s| {
        Box::pin(message_status_never_moves_backwards(s))
    }),
    ("message_trace_and_graph_ids", |s| {
        Box::pin(message_trace_and_graph_ids(s))
    }),
    ("message_watermarks", |s| Box::pin(message_watermarks(s))),
    ("message_settle_records_everything", |s| {
        Box::pin(message_settle_records_everything(s))
    }),
    ("dispatch_leases_due_messages_once", |s| {
        Box::pin(dispatch_leases_due_messages_once(s))
    }),
    ("dispatch_keeps_recipient_order", |s| {
        Box::pin(dispatch_keeps_recipient_order(s))
    }),
    ("dispatch_release_requires_holder", |s| {
        Box::pin(dispatch_release_requires_holder(s))
    }),
    ("dispatch_expired_leases_are_recovered", |s| {
        Box::pin(dispatch_expired_leases_are_recovered(s))
    }),
    ("dispatch_instance_takes_back_its_own_leases", |s| {
        Box::pin(dispatch_instance_takes_back_its_own_leases(s))
    }),
    ("dispatch_final_status_ends_lease", |s| {
        Box::pin(dispatch_final_status_ends_lease(s))
    }),
    ("dispatch_concurrent_workers_never_share", |s| {
        Box::pin(dispatch_concurrent_workers_never_share(s))
    }),
    ("dispatch_spaces_take_turns", |s| {
        Box::pin(dispatch_spaces_take_turns(s))
    }),
    ("dispatch_defer_gives_back_untouched", |s| {
        Box::pin(dispatch_defer_gives_back_untouched(s))
    }),
    ("pacing_buckets_keep_the_pace", |s| {
        Box::pin(pacing_buckets_keep_the_pace(s))
    }),
    ("pacing_concurrent_reservations_never_overbook", |s| {
        Box::pin(pacing_concurrent_reservations_never_overbook(s))
    }),
    ("outbox_enqueue_lease_deliver", |s| {
        Box::pin(outbox_enqueue_lease_deliver(s))
    }),
    ("outbox_retry_dead_and_redrive", |s| {
        Box::pin(outbox_retry_dead_and_redrive(s))
    }),
    ("outbox_leases_by_target", |s| {
        Box::pin(outbox_leases_by_target(s))
    }),
    ("inbox_marks_seen_once", |s| {
        Box::pin(inbox_marks_seen_once(s))
    }),
    ("optin_tokens_expire_and_are_scoped", |s| {
        Box::pin(optin_tokens_expire_and_are_scoped(s))
    }),
    ("optin_tokens_bind_the_first_user", |s| {
        Box::pin(optin_tokens_bind_the_first_user(s))
    }),
    ("optin_token_races_have_one_winner", |s| {
        Box::pin(optin_token_races_have_one_winner(s))
    }),
    ("profile_messenger_id_is_held_once", |s| {
        Box::pin(profile_messenger_id_is_held_once(s))
    }),
    ("quarantine_keeps_events_once", |s| {
        Box::pin(quarantine_keeps_events_once(s))
    }),
    ("webhook_queue_leases_in_order", |s| {
        Box::pin(webhook_queue_leases_in_order(s))
    }),
    ("webhook_queue_leases_of_an_instance_are_taken_back", |s| {
        Box::pin(webhook_queue_leases_of_an_instance_are_taken_back(s))
    }),
    ("receipts_settle_and_queue", |s| {
        Box::pin(receipts_settle_and_queue(s))
    }),
    ("receipts_apply_in_order_with_events", |s| {
        Box::pin(receipts_apply_in_order_with_events(s))
    }),
    ("receipts_invalid_fail_whole_call", |s| {
        Box::pin(receipts_invalid_fail_whole_call(s))
    }),
    ("receipts_before_the_send_are_held", |s| {
        Box::pin(receipts_before_the_send_are_held(s))
    }),
    ("held_receipts_are_purged", |s| {
        Box::pin(held_receipts_are_purged(s))
    }),
    ("inbox_seen_among", |s| Box::pin(inbox_seen_among(s))),
    ("queue_depths_are_counted", |s| {
        Box::pin(queue_depths_are_counted(s))
    }),
    ("deadlines_set_cleared_and_claimed_once", |s| {
        Box::pin(deadlines_set_cleared_and_claimed_once(s))
    }),
    ("deadlines_concurrent_claimers_fire_once", |s| {
        Box::pin(deadlines_concurrent_claimers_fire_once(s))
    }),
    ("message_listing_newest_first", |s| {
        Box::pin(message_listing_newest_first(s))
    }),
    ("message_listing_stable_under_inserts", |s| {
        Box::pin(message_listing_stable_under_inserts(s))
    }),
    ("retention_redacts_content_keeps_statuses", |s| {
        Box::pin(retention_redacts_content_keeps_statuses(s))
    }),
    ("retention_purges_messages_and_keys", |s| {
        Box::pin(retention_purges_messages_and_keys(s))
    }),
    ("retention_purges_dead_quarantine_inbound", |s| {
        Box::pin(retention_purges_dead_quarantine_inbound(s))
    }),
    ("erasure_removes_the_customer_and_keeps_others", |s| {
        Box::pin(erasure_removes_the_customer_and_keeps_others(s))
    }),
    ("erasure_twice_answers_zeros", |s| {
        Box::pin(erasure_twice_answers_zeros(s))
    }),
    ("export_pages_through_a_history", |s| {
        Box::pin(export_pages_through_a_history(s))
    }),
    ("connection_webhook_sightings_keep_the_latest", |s| {
        Box::pin(connection_webhook_sightings_keep_the_latest(s))
    }),
    ("connection_page_reauth_recorded_and_cleared", |s| {
        Box::pin(connection_page_reauth_recorded_and_cleared(s))
    }),
    ("instagram_tokens_keep_the_latest_issue", |s| {
        Box::pin(instagram_tokens_keep_the_latest_issue(s))
    }),
    ("instagram_refresh_failures_last_until_the_next_save", |s| {
        Box::pin(instagram_refresh_failures_last_until_the_next_save(s))
    }),
    ("instagram_tokens_survive_erasure_and_retention", |s| {
        Box::pin(instagram_tokens_survive_erasure_and_retention(s))
    }),
];
