//! The conformance test kit: one suite of behaviours that every store implementation must show.
//!
//! Each behaviour is a public async function in [`cases`] that takes a fresh, empty store and
//! panics (asserts) when the store misbehaves. A backend's test file runs all of them as separate
//! `#[tokio::test]`s with [`conformance_tests!`](crate::conformance_tests), given a
//! [`StoreFactory`] that makes a fresh store per test:
//!
//! ```text
//! // tests/conformance.rs of a backend crate (dev-dependency on messenger-store with
//! // features = ["conformance"], and on tokio)
//! use std::sync::Arc;
//! use messenger_store::conformance::TestStore;
//!
//! async fn fresh_store() -> Option<TestStore> {
//!     Some(TestStore::new(Arc::new(MyStore::open_empty().await)))
//! }
//! messenger_store::conformance_tests!(fresh_store);
//! ```
//!
//! The factory returns `None` to skip (say why on stderr; e.g. a database that is not reachable
//! outside CI). A [`TestStore`] may carry a cleanup future (close the pool, drop the test schema)
//! that runs after the case, whether it passed or not.
//!
//! Cases pass explicit times ([`T0`] and [`at`]), never read the clock, and never sleep.
//! Available with the crate's `conformance` feature.

pub mod cases;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use messenger_model::{SendRequest, Timestamp, To};

use crate::{NewMessage, Store};

/// A boxed future, as cases and cleanups are.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// One behaviour of the kit: takes a fresh store, panics on misbehaviour.
pub type Case = fn(Arc<dyn Store>) -> BoxFuture;

/// A fresh store for one case, and what to do after it.
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    cleanup: Option<BoxFuture>,
}

impl TestStore {
    /// A store with nothing to clean up.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cleanup: None,
        }
    }

    /// Runs `cleanup` after the case (it runs even when the case fails).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }
}

/// Makes a fresh, empty store for each case.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// A fresh store, or `None` to skip the case (after saying why on stderr).
    async fn create(&self) -> Option<TestStore>;
}

#[async_trait]
impl<F, Fut> StoreFactory for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Option<TestStore>> + Send,
{
    async fn create(&self) -> Option<TestStore> {
        self().await
    }
}

/// Runs one case against a fresh store from `factory`, then the store's cleanup. A failing case
/// fails (panics) after the cleanup ran.
pub async fn run_case<F: StoreFactory + ?Sized>(factory: &F, name: &str, case: Case) {
    let Some(TestStore { store, cleanup }) = factory.create().await else {
        eprintln!("conformance case {name}: SKIPPED (the factory gave no store)");
        return;
    };
    // Run the case in its own task so a panic is caught and the cleanup still runs.
    let outcome = tokio::spawn(case(store)).await;
    if let Some(cleanup) = cleanup {
        cleanup.await;
    }
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("conformance case {name} did not finish: {e}"),
    }
}

/// Runs every case of the kit, one after another, each on a fresh store.
pub async fn run_all<F: StoreFactory + ?Sized>(factory: &F) {
    for (name, case) in cases::ALL {
        run_case(factory, name, *case).await;
    }
}

/// The instant cases start at (2026-01-01T00:00:00Z).
pub const T0: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// [`T0`] plus `secs` seconds.
pub const fn at(secs: i64) -> Timestamp {
    T0.add_millis(secs * 1000)
}

/// A message of `space` to `recipient_key` with text `body`, accepted at [`T0`].
pub fn message(space: &str, recipient_key: &str, body: &str) -> NewMessage {
    let req = SendRequest::new(To::fb_messenger_id(recipient_key)).body(body);
    NewMessage::new(space, recipient_key, req, T0)
}

/// Expands to one `#[tokio::test]` per case of the kit, each running the case against a fresh
/// store from `$factory` (an expression implementing
/// [`StoreFactory`](crate::conformance::StoreFactory), e.g. the path of an
/// `async fn() -> Option<TestStore>`). The crate using it needs tokio as a dev-dependency.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            profile_create_get_merge,
            profile_replace_and_delete,
            profile_messenger_ids_are_page_scoped,
            profile_find_by_phone_and_query,
            profile_list_pages_by_id,
            profile_facebook_section,
            profile_inbound_window_moves_forward,
            spaces_are_isolated,
            message_insert_and_get,
            message_idempotency_returns_first,
            message_batch_insert,
            message_batch_is_atomic,
            message_status_never_moves_backwards,
            message_trace_and_graph_ids,
            message_watermarks,
            message_settle_records_everything,
            dispatch_leases_due_messages_once,
            dispatch_keeps_recipient_order,
            dispatch_release_requires_holder,
            dispatch_expired_leases_are_recovered,
            dispatch_instance_takes_back_its_own_leases,
            dispatch_final_status_ends_lease,
            dispatch_concurrent_workers_never_share,
            dispatch_spaces_take_turns,
            dispatch_defer_gives_back_untouched,
            pacing_buckets_keep_the_pace,
            pacing_concurrent_reservations_never_overbook,
            outbox_enqueue_lease_deliver,
            outbox_retry_dead_and_redrive,
            outbox_leases_by_target,
            inbox_marks_seen_once,
            optin_tokens_expire_and_are_scoped,
            optin_tokens_bind_the_first_user,
            optin_token_races_have_one_winner,
            profile_messenger_id_is_held_once,
            quarantine_keeps_events_once,
            webhook_queue_leases_in_order,
            webhook_queue_leases_of_an_instance_are_taken_back,
            receipts_settle_and_queue,
            receipts_apply_in_order_with_events,
            receipts_invalid_fail_whole_call,
            receipts_before_the_send_are_held,
            held_receipts_are_purged,
            inbox_seen_among,
            queue_depths_are_counted,
            deadlines_set_cleared_and_claimed_once,
            deadlines_concurrent_claimers_fire_once,
            message_listing_newest_first,
            message_listing_stable_under_inserts,
            retention_redacts_content_keeps_statuses,
            retention_purges_messages_and_keys,
            retention_purges_dead_quarantine_inbound,
            erasure_removes_the_customer_and_keeps_others,
            erasure_twice_answers_zeros,
            export_pages_through_a_history,
            connection_webhook_sightings_keep_the_latest,
            connection_page_reauth_recorded_and_cleared,
            instagram_tokens_keep_the_latest_issue,
            instagram_refresh_failures_last_until_the_next_save,
            instagram_tokens_survive_erasure_and_retention
        );
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::run_case(
                    &$factory,
                    stringify!($case),
                    |store| ::std::boxed::Box::pin($crate::conformance::cases::$case(store)),
                )
                .await;
            }
        )+

        #[test]
        fn conformance_kit_runs_every_case() {
            let names: &[&str] = &[$(stringify!($case)),+];
            let all: ::std::vec::Vec<&str> =
                $crate::conformance::cases::ALL.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, all.as_slice(), "conformance_tests! and cases::ALL differ");
        }
    };
}
