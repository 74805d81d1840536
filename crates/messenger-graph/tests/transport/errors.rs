//! Every error class, from graph-sim's faults over loopback HTTP: kind, retryability, retry
//! hint, usage headers, and messages that carry Graph's details but never the token.

use std::time::Duration;

use crate::common::*;
use graph_sim::{Fault, FaultRule, FaultScope, UsageHeaders};
use messenger_graph::{Error, ErrorKind, GraphClient};
use serde_json::json;

fn global(fault: Fault) -> FaultRule {
    FaultRule {
        scope: FaultScope::Global,
        fault,
        times: None,
    }
}

async fn send_err(client: &GraphClient) -> Error {
    client
        .send(&text(PSID, "hello"))
        .await
        .expect_err("the fault makes the send fail")
}

fn assert_no_secrets(e: &Error) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "token in {shown}");
    assert!(!shown.contains(APP_SECRET), "app secret in {shown}");
}

#[tokio::test]
async fn rate_limits_are_retryable_with_usage_and_hint() {
    let sim = sim().await;
    let client = client(&sim);
    // (code, expected retry hint): Graph's default headers for the code, per graph-sim:
    // app usage at 100 % for 4 and 17, page usage for 32, business use case (5 minutes to
    // regain access) for 613 and 80006.
    let cases = [
        (4, None),
        (17, None),
        (32, None),
        (613, Some(Duration::from_secs(300))),
        (80006, Some(Duration::from_secs(300))),
    ];
    for (code, hint) in cases {
        sim.clear_faults();
        sim.fault(global(Fault::RateLimit { code, usage: None }));
        let e = send_err(&client).await;
        assert_eq!(e.kind(), ErrorKind::RateLimited, "code {code}: {e}");
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), hint, "code {code}");
        assert_eq!(e.graph_error().map(|g| g.code), Some(code));
        assert_eq!(e.status(), Some(400));
        let usage = e.usage().expect("usage headers parsed");
        assert_eq!(usage.max_percent(), 100, "code {code}: {usage:?}");
        assert_eq!(client.usage().map(|u| u.max_percent()), Some(100));
        assert_no_secrets(&e);
    }
    let e = send_err(&client).await;
    let business = &e.usage().expect("usage").business_use_cases[0];
    assert_eq!(business.id, PAGE_ID);
    assert_eq!(business.use_case, "messenger");
    assert_eq!(business.figures.estimated_time_to_regain_access, Some(5));
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_hint_follows_the_usage_headers() {
    let sim = sim().await;
    let client = client(&sim);
    sim.fault(global(Fault::RateLimit {
        code: 80006,
        usage: Some(UsageHeaders::business(PAGE_ID, 97, 2)),
    }));
    let e = send_err(&client).await;
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(e.usage().map(|u| u.max_percent()), Some(97));

    // No usage headers, a Retry-After header: the header is the hint.
    sim.clear_faults();
    sim.fault(global(Fault::Custom {
        status: 400,
        body: json!({"error": {"message": "(#4) Application request limit reached", "code": 4}}),
        headers: vec![("retry-after".into(), "3".into())],
    }));
    let e = send_err(&client).await;
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e.usage().is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_transient() {
    let sim = sim().await;
    let client = client(&sim);
    for status in [500u16, 502, 503] {
        sim.clear_faults();
        sim.fault(global(Fault::ServerError { status }));
        let e = send_err(&client).await;
        assert_eq!(e.kind(), ErrorKind::Transient, "HTTP {status}: {e}");
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), None);
        assert_eq!(e.status(), Some(status));
        assert!(e.graph_error().is_some());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn non_graph_error_bodies_are_classified_by_status() {
    let sim = sim().await;
    let client = client(&sim);
    sim.fault(global(Fault::Custom {
        status: 502,
        body: json!("Bad Gateway"),
        headers: vec![("retry-after".into(), "2".into())],
    }));
    let e = send_err(&client).await;
    assert!(matches!(e, Error::Http(_)), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(e.graph_error(), None);

    sim.clear_faults();
    sim.fault(global(Fault::Custom {
        status: 429,
        body: json!({}),
        headers: vec![],
    }));
    assert_eq!(send_err(&client).await.kind(), ErrorKind::RateLimited);
    sim.shutdown().await;
}

#[tokio::test]
async fn user_unavailable_is_permanent_for_this_recipient() {
    let sim = sim().await;
    let client = client(&sim);
    sim.fault(FaultRule {
        scope: FaultScope::Recipient(PSID.into()),
        fault: Fault::UserUnavailable,
        times: None,
    });
    let e = send_err(&client).await;
    assert_eq!(e.kind(), ErrorKind::UserUnavailable);
    assert!(!e.is_retryable());
    assert_eq!(e.retry_after(), None);
    let g = e.graph_error().expect("Graph error object");
    assert_eq!((g.code, g.error_subcode), (551, Some(1545041)));
    let trace = g.fbtrace_id.clone().expect("fbtrace_id");
    let shown = e.to_string();
    assert!(shown.contains("551/1545041"), "{shown}");
    assert!(shown.contains("This person isn't available"), "{shown}");
    assert!(shown.contains(&trace), "{shown}");
    assert_no_secrets(&e);

    // Another recipient is not affected.
    client
        .send(&text("1000000000000002", "hi"))
        .await
        .expect("other recipient");
    sim.shutdown().await;
}

#[tokio::test]
async fn outside_window_invalid_recipient_and_token_expired() {
    let sim = sim().await;
    let client = client(&sim);
    let cases = [
        (
            Fault::OutsideWindow,
            ErrorKind::OutsideWindow,
            10,
            Some(2018278),
        ),
        (
            Fault::InvalidRecipient,
            ErrorKind::InvalidRecipient,
            100,
            Some(2018001),
        ),
        (Fault::TokenExpired, ErrorKind::Auth, 190, Some(463)),
    ];
    for (fault, kind, code, subcode) in cases {
        sim.clear_faults();
        sim.fault(global(fault));
        let e = send_err(&client).await;
        assert_eq!(e.kind(), kind, "{e}");
        assert!(!e.is_retryable());
        assert_eq!(e.retry_after(), None);
        let g = e.graph_error().expect("Graph error object");
        assert_eq!((g.code, g.error_subcode), (code, subcode));
        assert_no_secrets(&e);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn retired_tag_is_an_invalid_parameter() {
    let sim = sim().await;
    let client = client(&sim);
    let req = text(PSID, "Your parcel shipped").with_tag("SHIPPING_UPDATE");
    let e = client.send(&req).await.expect_err("retired tag refused");
    assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{e}");
    assert_eq!(e.graph_error().map(|g| g.code), Some(100));
    assert!(!e.is_retryable());
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_token_is_auth() {
    let sim = sim().await;
    let client = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token("some-other-token")
        .app_secret(APP_SECRET)
        .build()
        .expect("client");
    let e = send_err(&client).await;
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.graph_error().map(|g| g.code), Some(190));
    assert!(!e.to_string().contains("some-other-token"));
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_answer_times_out_as_transient() {
    let sim = sim().await;
    let client = GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token(TOKEN)
        .app_secret(APP_SECRET)
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    sim.fault(global(Fault::Slow {
        delay: Duration::from_secs(2),
    }));
    let e = send_err(&client).await;
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Transient);
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
    assert_no_secrets(&e);
    sim.shutdown().await;
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // A port that was free a moment ago: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = GraphClient::builder()
        .base_url(format!("http://{addr}"))
        .page_access_token(TOKEN)
        .build()
        .expect("client");
    let e = send_err(&client).await;
    assert!(matches!(e, Error::Connection { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Transient);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}
