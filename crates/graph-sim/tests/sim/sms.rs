//! Twilio's Messages API over real HTTP: success shape, validation, auth, faults, callbacks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{answer, Answer};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use graph_sim::{AutoReceipts, Fault, FaultRule, GraphSim};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH: &str = "twilio-auth-token";

async fn sim() -> GraphSim {
    GraphSim::builder()
        .sms_account(SID, AUTH)
        .start()
        .await
        .unwrap()
}

fn url(sim: &GraphSim) -> String {
    format!("{}/2010-04-01/Accounts/{SID}/Messages.json", sim.base_url())
}

async fn send(sim: &GraphSim, user: &str, pass: &str, form: &[(&str, &str)]) -> Answer {
    let r = reqwest::Client::new()
        .post(url(sim))
        .basic_auth(user, Some(pass))
        .form(form)
        .send()
        .await
        .unwrap();
    answer(r).await
}

#[tokio::test]
async fn a_message_is_created_with_twilios_shape() {
    let sim = sim().await;
    let a = send(
        &sim,
        SID,
        AUTH,
        &[
            ("To", "+447700900123"),
            ("From", "+15005550006"),
            ("Body", "Hello"),
        ],
    )
    .await;
    assert_eq!(a.status, 201, "{:?}", a.json);
    let sid = a.json["sid"].as_str().unwrap();
    assert!(sid.starts_with("SM") && sid.len() == 34);
    assert!(sid[2..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a.json["status"], "queued");
    assert_eq!(a.json["to"], "+447700900123");
    assert_eq!(a.json["from"], "+15005550006");
    assert_eq!(a.json["body"], "Hello");
    assert_eq!(a.json["num_segments"], "1");
    assert_eq!(a.json["account_sid"], SID);
    assert_eq!(a.json["direction"], "outbound-api");
    assert!(a.json["date_created"].as_str().unwrap().ends_with("+0000"));

    let kept = sim.sms_messages();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].sid, sid);
    assert_eq!(kept[0].body, "Hello");

    // Fetch it back.
    let r = reqwest::Client::new()
        .get(format!(
            "{}/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
            sim.base_url()
        ))
        .basic_auth(SID, Some(AUTH))
        .send()
        .await
        .unwrap();
    let fetched = answer(r).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json["sid"], sid);

    // A messaging service instead of From: "accepted".
    let a = send(
        &sim,
        SID,
        AUTH,
        &[
            ("To", "+447700900123"),
            ("MessagingServiceSid", "MG0123"),
            ("Body", "x".repeat(161).as_str()),
        ],
    )
    .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.json["status"], "accepted");
    assert_eq!(a.json["num_segments"], "2");
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_get_20003() {
    let sim = sim().await;
    let form = [
        ("To", "+447700900123"),
        ("From", "+15005550006"),
        ("Body", "x"),
    ];
    for (user, pass) in [(SID, "wrong"), ("ACother", AUTH)] {
        let a = send(&sim, user, pass, &form).await;
        assert_eq!(a.status, 401);
        assert_eq!(a.json["code"], 20003);
        assert_eq!(a.json["status"], 401);
    }
    let r = reqwest::Client::new()
        .post(url(&sim))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(sim.sms_messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_errors_have_twilios_codes() {
    let sim = sim().await;
    let long = "x".repeat(1601);
    let cases: [(&[(&str, &str)], u64); 5] = [
        (&[("From", "+15005550006"), ("Body", "x")], 21604),
        (&[("To", "+447700900123"), ("Body", "x")], 21603),
        (&[("To", "+447700900123"), ("From", "+15005550006")], 21602),
        (
            &[("To", "12"), ("From", "+15005550006"), ("Body", "x")],
            21211,
        ),
        (
            &[
                ("To", "+447700900123"),
                ("From", "+15005550006"),
                ("Body", &long),
            ],
            21617,
        ),
    ];
    for (form, code) in cases {
        let a = send(&sim, SID, AUTH, form).await;
        assert_eq!(a.status, 400, "{form:?}");
        assert_eq!(a.json["code"], code, "{form:?}");
        assert!(a.json["more_info"]
            .as_str()
            .unwrap()
            .ends_with(&code.to_string()));
    }
    let a = send(
        &sim,
        SID,
        AUTH,
        &[("To", "12"), ("From", "+15005550006"), ("Body", "x")],
    )
    .await;
    assert_eq!(
        a.json["message"],
        "The 'To' number 12 is not a valid phone number."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_target_the_to_number() {
    let sim = sim().await;
    sim.fault(FaultRule::recipient("+447700900999", Fault::InvalidRecipient).times(1));
    sim.fault(FaultRule::recipient("+447700900888", Fault::ServerError { status: 503 }).times(1));
    sim.fault(
        FaultRule::recipient(
            "+447700900777",
            Fault::RateLimit {
                code: 4,
                usage: None,
            },
        )
        .times(1),
    );
    let form = |to: &'static str| [("To", to), ("From", "ACME"), ("Body", "x")];
    assert_eq!(
        send(&sim, SID, AUTH, &form("+447700900999")).await.json["code"],
        21211
    );
    assert_eq!(
        send(&sim, SID, AUTH, &form("+447700900888")).await.status,
        503
    );
    let limited = send(&sim, SID, AUTH, &form("+447700900777")).await;
    assert_eq!(
        (limited.status, limited.json["code"].as_i64()),
        (429, Some(20429))
    );
    assert_eq!(
        send(&sim, SID, AUTH, &form("+447700900123")).await.status,
        201
    );
    assert_eq!(
        send(&sim, SID, AUTH, &form("+447700900999")).await.status,
        201
    );
    sim.shutdown().await;
}

type Callbacks = Arc<Mutex<Vec<(String, String)>>>;

async fn callback(State(seen): State<Callbacks>, headers: HeaderMap, body: String) -> &'static str {
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.lock().unwrap().push((sig, body));
    "ok"
}

#[tokio::test]
async fn status_callbacks_are_signed_like_twilios() {
    let seen: Callbacks = Arc::default();
    let app = axum::Router::new()
        .route("/status", post(callback))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cb_url = format!("http://{}/status", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = GraphSim::builder()
        .sms_account(SID, AUTH)
        .auto_receipts(AutoReceipts {
            delivery: Some(Duration::from_millis(10)),
            read: None,
        })
        .start()
        .await
        .unwrap();
    let a = send(
        &sim,
        SID,
        AUTH,
        &[
            ("To", "+447700900123"),
            ("From", "+15005550006"),
            ("Body", "x"),
            ("StatusCallback", &cb_url),
        ],
    )
    .await;
    assert_eq!(a.status, 201);
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for ((sig, body), status) in seen.iter().zip(["sent", "delivered"]) {
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert!(params.contains(&("MessageStatus".into(), status.into())));
        let refs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(sig, &graph_sim::sms::twilio_signature(AUTH, &cb_url, &refs));
    }
    sim.shutdown().await;
}
