//! Scripted faults over real HTTP: each kind's status, body and headers; scopes and counts.

use std::time::{Duration, Instant};

use crate::common::{post_json, send_url, text_to, Answer, PAGE, TOKEN};
use graph_sim::{Fault, FaultRule, FaultScope, GraphSim, UsageHeaders};
use serde_json::json;

async fn sim() -> GraphSim {
    GraphSim::builder().page(PAGE, TOKEN).start().await.unwrap()
}

async fn send(sim: &GraphSim, psid: &str) -> Answer {
    post_json(&send_url(sim.base_url()), &text_to(psid, "hi")).await
}

#[tokio::test]
async fn permanent_recipient_errors_have_graphs_codes() {
    let sim = sim().await;
    let cases = [
        (Fault::UserUnavailable, 551, Some(1_545_041)),
        (Fault::OutsideWindow, 10, Some(2_018_278)),
        (Fault::InvalidRecipient, 100, Some(2_018_001)),
        (Fault::TokenExpired, 190, Some(463)),
    ];
    for (fault, code, subcode) in cases {
        sim.fault(FaultRule::recipient("555", fault.clone()).times(1));
        let a = send(&sim, "555").await;
        assert_eq!(a.status, 400, "{fault:?}");
        assert_eq!(a.code(), code, "{fault:?}");
        assert_eq!(a.subcode(), subcode, "{fault:?}");
        assert_eq!(a.json["error"]["type"], "OAuthException");
        assert!(a.json["error"]["fbtrace_id"].is_string());
        assert!(!a.message().is_empty());
        assert_eq!(
            a.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
        // Used up: the next send goes through.
        assert_eq!(send(&sim, "555").await.status, 200, "{fault:?}");
    }
    assert_eq!(sim.sent_count(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limits_carry_usage_headers() {
    let sim = sim().await;

    sim.fault(
        FaultRule::global(Fault::RateLimit {
            code: 4,
            usage: None,
        })
        .times(1),
    );
    let a = send(&sim, "1").await;
    assert_eq!((a.status, a.code()), (400, 4));
    assert_eq!(a.json["error"]["is_transient"], true);
    let app: serde_json::Value = serde_json::from_str(a.header("x-app-usage").unwrap()).unwrap();
    assert_eq!(app["call_count"], 100);

    for code in [613, 80006] {
        sim.fault(FaultRule::global(Fault::RateLimit { code, usage: None }).times(1));
        let a = send(&sim, "1").await;
        assert_eq!((a.status, a.code()), (400, code));
        let buc: serde_json::Value =
            serde_json::from_str(a.header("x-business-use-case-usage").unwrap()).unwrap();
        assert_eq!(buc[PAGE][0]["type"], "messenger");
        assert_eq!(buc[PAGE][0]["call_count"], 100);
        assert_eq!(buc[PAGE][0]["estimated_time_to_regain_access"], 5);
    }

    sim.fault(
        FaultRule::global(Fault::RateLimit {
            code: 32,
            usage: None,
        })
        .times(1),
    );
    let a = send(&sim, "1").await;
    assert_eq!(a.code(), 32);
    assert!(a.header("x-page-usage").is_some());

    let explicit = UsageHeaders::business(PAGE, 97, 12);
    sim.fault(
        FaultRule::global(Fault::RateLimit {
            code: 613,
            usage: Some(explicit.clone()),
        })
        .times(1),
    );
    let a = send(&sim, "1").await;
    assert_eq!(
        a.header("x-business-use-case-usage"),
        explicit.business.as_deref()
    );
    assert!(a.header("x-app-usage").is_none());

    sim.fault(
        FaultRule::global(Fault::RateLimit {
            code: 17,
            usage: Some(UsageHeaders::default()),
        })
        .times(1),
    );
    let a = send(&sim, "1").await;
    assert_eq!(a.code(), 17);
    assert!(a.header("x-app-usage").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_have_the_given_status() {
    let sim = sim().await;
    for status in [500u16, 502, 503] {
        sim.fault(FaultRule::global(Fault::ServerError { status }).times(1));
        let a = send(&sim, "1").await;
        assert_eq!(a.status, status);
        assert_eq!(a.json["error"]["is_transient"], true);
    }
    assert_eq!(sim.sent_count(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_answers_late_but_answers() {
    let sim = sim().await;
    sim.fault(FaultRule {
        scope: FaultScope::Global,
        fault: Fault::Slow {
            delay: Duration::from_millis(300),
        },
        times: Some(1),
    });
    let started = Instant::now();
    let a = send(&sim, "1").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(a.status, 200);
    assert_eq!(sim.sent_count(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn custom_faults_answer_exactly_as_given() {
    let sim = sim().await;
    sim.fault(FaultRule::global(Fault::Custom {
        status: 403,
        body: json!({"error":{"message":"(#200) Requires pages_messaging permission","type":"OAuthException","code":200}}),
        headers: vec![("x-custom".into(), "yes".into())],
    }));
    for _ in 0..2 {
        let a = send(&sim, "1").await;
        assert_eq!((a.status, a.code()), (403, 200));
        assert_eq!(a.header("x-custom"), Some("yes"));
    }
    sim.clear_faults();
    assert_eq!(send(&sim, "1").await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn recipient_scope_spares_other_recipients() {
    let sim = sim().await;
    sim.fault(FaultRule::recipient("666", Fault::UserUnavailable));
    assert_eq!(send(&sim, "666").await.code(), 551);
    assert_eq!(send(&sim, "777").await.status, 200);
    assert_eq!(send(&sim, "666").await.code(), 551);

    // A phone-number recipient matches by the number as sent.
    sim.fault(FaultRule::recipient(
        "+447700900123",
        Fault::InvalidRecipient,
    ));
    let a = post_json(
        &send_url(sim.base_url()),
        &json!({"recipient":{"phone_number":"+447700900123"},"message":{"text":"x"}}),
    )
    .await;
    assert_eq!(a.subcode(), Some(2_018_001));
    sim.shutdown().await;
}

#[tokio::test]
async fn profile_fetches_see_faults_too() {
    let sim = sim().await;
    sim.fault(FaultRule::recipient("888", Fault::UserUnavailable).times(1));
    let url = format!(
        "{}/v21.0/888?fields=first_name&access_token={TOKEN}",
        sim.base_url()
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn usage_headers_on_successful_answers() {
    let sim = sim().await;
    assert!(send(&sim, "1").await.header("x-app-usage").is_none());
    sim.set_usage_headers(Some(UsageHeaders::app(85)));
    let a = send(&sim, "1").await;
    assert_eq!(a.status, 200);
    let app: serde_json::Value = serde_json::from_str(a.header("x-app-usage").unwrap()).unwrap();
    assert_eq!(app["call_count"], 85);
    sim.set_usage_headers(None);
    assert!(send(&sim, "1").await.header("x-app-usage").is_none());
    sim.shutdown().await;
}
