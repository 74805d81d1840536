//! Retries against graph-sim: what is retried, how often, and within which deadline, counted
//! from the requests the simulator received.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use graph_sim::{Fault, FaultRule, FaultScope, UsageHeaders};
use messenger_graph::{ErrorKind, Jitter, RetryPolicy, RetryingTransport, Transport};
use serde_json::json;

fn global(fault: Fault, times: Option<u32>) -> FaultRule {
    FaultRule {
        scope: FaultScope::Global,
        fault,
        times,
    }
}

#[tokio::test]
async fn server_error_twice_then_success_takes_three_attempts() {
    let sim = sim().await;
    sim.fault(global(Fault::ServerError { status: 503 }, Some(2)));
    let transport: Arc<dyn Transport> =
        Arc::new(RetryingTransport::new(client(&sim), fast_policy(5)));
    let sent = transport
        .send(&text(PSID, "third time lucky"))
        .await
        .expect("succeeds on the third attempt");
    assert!(sent.message_id.is_some());
    assert_eq!(send_calls(&sim).len(), 3);
    assert_eq!(sim.sent_messages().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn policy_run_retries_a_client_call() {
    let sim = sim().await;
    sim.fault(global(Fault::ServerError { status: 500 }, Some(2)));
    let client = client(&sim);
    let req = text(PSID, "via run");
    let sent = fast_policy(3)
        .run(|| client.send(&req))
        .await
        .expect("third attempt succeeds");
    assert!(sent.message_id.is_some());
    assert_eq!(send_calls(&sim).len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn attempts_are_bounded() {
    let sim = sim().await;
    sim.fault(global(Fault::ServerError { status: 503 }, None));
    let transport = RetryingTransport::new(client(&sim), fast_policy(4));
    let e = transport
        .send(&text(PSID, "never"))
        .await
        .expect_err("always 503");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(send_calls(&sim).len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_unavailable_is_attempted_once() {
    let sim = sim().await;
    sim.fault(FaultRule {
        scope: FaultScope::Recipient(PSID.into()),
        fault: Fault::UserUnavailable,
        times: None,
    });
    let transport = RetryingTransport::new(client(&sim), fast_policy(5));
    let e = transport.send(&text(PSID, "hello")).await.expect_err("551");
    assert_eq!(e.kind(), ErrorKind::UserUnavailable);
    assert_eq!(send_calls(&sim).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn permanent_errors_are_never_retried() {
    let sim = sim().await;
    let transport = RetryingTransport::new(client(&sim), fast_policy(5));
    for fault in [
        Fault::OutsideWindow,
        Fault::InvalidRecipient,
        Fault::TokenExpired,
    ] {
        sim.clear_faults();
        sim.reset_records();
        sim.fault(global(fault.clone(), None));
        let e = transport.send(&text(PSID, "x")).await.expect_err("fails");
        assert!(!e.is_retryable(), "{fault:?}");
        assert_eq!(send_calls(&sim).len(), 1, "{fault:?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn deadline_bounds_the_retries() {
    let sim = sim().await;
    sim.fault(global(Fault::ServerError { status: 503 }, None));
    let deadline = Duration::from_millis(300);
    let policy = RetryPolicy {
        max_attempts: 1000,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(80),
        multiplier: 2.0,
        jitter: Jitter::None,
        deadline: Some(deadline),
    };
    let transport = RetryingTransport::new(client(&sim), policy);
    let started = Instant::now();
    let e = transport
        .send(&text(PSID, "x"))
        .await
        .expect_err("always 503");
    let elapsed = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Transient);
    let attempts = send_calls(&sim).len();
    // Delays 40, 80, 80, ... ms: at most 300 ms of waiting fits 4 retries (40+80+80+80=280).
    assert!((2..=5).contains(&attempts), "{attempts} attempts");
    // No new attempt starts after the deadline; the last one is a loopback round trip.
    assert!(
        elapsed < deadline + Duration::from_millis(700),
        "{elapsed:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_hint_beyond_the_deadline_gives_up_at_once() {
    let sim = sim().await;
    // Graph says: access regained in 5 minutes.
    sim.fault(global(
        Fault::RateLimit {
            code: 80006,
            usage: Some(UsageHeaders::business(PAGE_ID, 100, 5)),
        },
        None,
    ));
    let policy = RetryPolicy {
        deadline: Some(Duration::from_secs(10)),
        ..fast_policy(5)
    };
    let transport = RetryingTransport::new(client(&sim), policy);
    // Graph's Retry-After (300 s) is past the deadline (10 s): the error comes back at once,
    // after one call. The timeout only guards against waiting it out.
    let e = tokio::time::timeout(Duration::from_secs(60), transport.send(&text(PSID, "x")))
        .await
        .expect("returned without waiting out Retry-After")
        .expect_err("rate limited");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(300)));
    assert_eq!(send_calls(&sim).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_retry_after_is_honoured() {
    let sim = sim().await;
    sim.fault(global(
        Fault::Custom {
            status: 400,
            body: json!({"error": {"message": "(#613) Calls to this api have exceeded the rate limit.", "code": 613}}),
            headers: vec![("retry-after".into(), "1".into())],
        },
        Some(1),
    ));
    let transport = RetryingTransport::new(client(&sim), fast_policy(3));
    let started = Instant::now();
    transport
        .send(&text(PSID, "after the limit"))
        .await
        .expect("second attempt succeeds");
    // The backoff alone would be at most 20 ms; Graph asked for 1 s.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(send_calls(&sim).len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn other_calls_are_retried_too() {
    let sim = sim().await;
    sim.fault(global(Fault::ServerError { status: 500 }, Some(1)));
    let transport = RetryingTransport::new(client(&sim), fast_policy(3));
    let profile = transport
        .user_profile(PSID)
        .await
        .expect("profile after one retry");
    assert!(profile.first_name.is_some() || profile.id.is_some());
    let profile_calls = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(PSID))
        .count();
    assert_eq!(profile_calls, 2);
    sim.shutdown().await;
}
