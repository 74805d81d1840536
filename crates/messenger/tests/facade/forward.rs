//! The webhook forwarder over real HTTP on loopback: a small axum receiver records every request
//! and answers from a script, so signatures, batching, retries, dead letters, redrive and
//! timeouts are seen exactly as a business's endpoint sees them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use messenger::events::{ForwardError, ForwardReport, Forwarder, Unrouted, WebhookTarget};
use messenger::DEFAULT_EVENT_TARGET;
use messenger_model::{EventEnvelope, EventName, Timestamp};
use messenger_store::{MemoryStore, Outbox, Store};
use messenger_test_support::wait;
use serde_json::{json, Value};

const SECRET: &str = "webhook-secret-1";
const T0: i64 = 1_700_000_000_000;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Sleeps, then answers.
    Slow(Duration, u16),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    space: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<Reply>>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().extend(replies);
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(
    State(r): State<Receiver>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    r.got.lock().unwrap().push(Received {
        space,
        headers,
        body,
    });
    let reply = r
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(200));
    let code = match reply {
        Reply::Status(code) => code,
        Reply::Slow(pause, code) => {
            tokio::time::sleep(pause).await;
            code
        }
    };
    StatusCode::from_u16(code).unwrap()
}

struct Harness {
    store: Arc<MemoryStore>,
    receiver: Receiver,
    base: String,
}

impl Harness {
    async fn start() -> Self {
        let receiver = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/hook/{space}", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            store: Arc::new(MemoryStore::new()),
            receiver,
            base: format!("http://{addr}"),
        }
    }

    /// A target for `space` at this receiver, retried after a few milliseconds.
    fn target(&self, space: &str) -> WebhookTarget {
        WebhookTarget::new(format!("{}/hook/{space}", self.base), SECRET)
            .schedule(vec![Duration::from_millis(5); 2])
    }

    fn forwarder(
        &self,
        targets: impl IntoIterator<Item = (&'static str, WebhookTarget)>,
    ) -> Forwarder {
        let targets: HashMap<String, WebhookTarget> = targets
            .into_iter()
            .map(|(s, t)| (s.to_owned(), t))
            .collect();
        let store: Arc<dyn Store> = self.store.clone();
        Forwarder::new(store, targets).unwrap()
    }

    async fn enqueue(&self, space: &str, event_id: &str, at: i64) {
        let at = Timestamp::from_millis(at);
        let envelope = EventEnvelope {
            event_id: event_id.into(),
            api_space_id: space.into(),
            name: EventName::MessageDelivered,
            payload: json!({"messageId": format!("msg-{event_id}"), "metadata": {"order": 7}}),
            revision: 2,
            timestamp: at,
        };
        assert!(self
            .store
            .enqueue_event(DEFAULT_EVENT_TARGET, envelope, at)
            .await
            .unwrap());
    }
}

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_ms)
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).unwrap().to_str().unwrap()
}

/// Checks both signatures the way a receiver would, from the raw body; returns `t`.
fn verify(r: &Received, secret: &str) -> Result<i64, String> {
    let mut sha1 = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    sha1.update(&r.body);
    let comapi = hex::decode(header(r, "x-comapi-signature")).map_err(|e| e.to_string())?;
    sha1.verify_slice(&comapi)
        .map_err(|_| "X-Comapi-Signature does not match".to_owned())?;

    let sig = header(r, "x-webhook-signature");
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .ok_or("malformed X-Webhook-Signature")?;
    let mut sha256 = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    sha256.update(t.as_bytes());
    sha256.update(b".");
    sha256.update(&r.body);
    let v1 = hex::decode(v1).map_err(|e| e.to_string())?;
    sha256
        .verify_slice(&v1)
        .map_err(|_| "X-Webhook-Signature does not match".to_owned())?;
    t.parse().map_err(|_| "t is not a number".to_owned())
}

#[tokio::test]
async fn delivers_one_event_signed_both_ways() {
    let h = Harness::start().await;
    let fwd = h.forwarder([("space-a", h.target("space-a"))]);
    h.enqueue("space-a", "evt-1", T0).await;

    let report = fwd.run_once("w1", at(0)).await.unwrap();
    assert_eq!(
        report,
        ForwardReport {
            leased: 1,
            posts: 1,
            delivered: 1,
            ..ForwardReport::default()
        }
    );
    let got = h.receiver.got();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.space, "space-a");
    assert_eq!(header(r, "content-type"), "application/json");
    assert_eq!(verify(r, SECRET), Ok(T0 / 1000));
    assert!(verify(r, "another-secret").is_err());
    // batch_size 1: the body is the envelope itself.
    let body = r.json();
    assert_eq!(body["eventId"], "evt-1");
    assert_eq!(body["apiSpaceId"], "space-a");
    assert_eq!(body["name"], "message.delivered");
    assert_eq!(body["revision"], 2);
    assert_eq!(body["payload"]["metadata"]["order"], 7);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    // Delivered is final: nothing is due any more, nothing is dead.
    let later = fwd.run_once("w1", at(3_600_000)).await.unwrap();
    assert_eq!(later, ForwardReport::default());
    assert!(fwd.dead_letters("space-a", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn batch_of_three_is_one_array_and_a_lone_event_waits_out_the_window() {
    let h = Harness::start().await;
    let target = h.target("space-a").batch(3, Duration::from_secs(60));
    let fwd = h.forwarder([("space-a", target)]);

    h.enqueue("space-a", "evt-1", T0).await;
    h.enqueue("space-a", "evt-2", T0 + 10).await;
    let report = fwd.run_once("w1", at(20)).await.unwrap();
    assert_eq!((report.leased, report.posts, report.waiting), (2, 0, 2));
    assert!(h.receiver.got().is_empty());

    h.enqueue("space-a", "evt-3", T0 + 1_000).await;
    let report = fwd.run_once("w1", at(1_000)).await.unwrap();
    assert_eq!((report.posts, report.delivered, report.waiting), (1, 3, 0));
    let got = h.receiver.got();
    assert_eq!(got.len(), 1);
    verify(&got[0], SECRET).unwrap();
    let ids: Vec<Value> = got[0]
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventId"].clone())
        .collect();
    assert_eq!(ids, [json!("evt-1"), json!("evt-2"), json!("evt-3")]);

    // One event alone waits until it has been queued for the window, then goes as an array.
    h.enqueue("space-a", "evt-4", T0 + 2_000).await;
    let report = fwd.run_once("w1", at(2_000)).await.unwrap();
    assert_eq!((report.posts, report.waiting), (0, 1));
    assert_eq!(fwd.waiting(), 1);
    let report = fwd.run_once("w1", at(61_999)).await.unwrap();
    assert_eq!(report.posts, 0);
    let report = fwd.run_once("w1", at(62_000)).await.unwrap();
    assert_eq!((report.posts, report.delivered, report.waiting), (1, 1, 0));
    let last = h.receiver.got().pop().unwrap().json();
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert_eq!(last[0]["eventId"], "evt-4");
}

#[tokio::test]
async fn without_a_window_a_backlog_goes_out_in_full_batches() {
    let h = Harness::start().await;
    let fwd = h.forwarder([("space-a", h.target("space-a").batch(3, Duration::ZERO))]);
    for i in 1..=7 {
        h.enqueue("space-a", &format!("evt-{i}"), T0 + i).await;
    }
    let report = fwd.run_once("w1", at(100)).await.unwrap();
    assert_eq!((report.posts, report.delivered), (3, 7));
    let mut sizes: Vec<usize> = h
        .receiver
        .got()
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 3, 3]);
}

#[tokio::test]
async fn a_500_is_retried_on_the_schedule_with_the_same_event_id() {
    let h = Harness::start().await;
    let fwd = h.forwarder([("space-a", h.target("space-a"))]);
    h.receiver.script([Reply::Status(500)]);
    h.enqueue("space-a", "evt-1", T0).await;

    let first = fwd.run_once("w1", at(0)).await.unwrap();
    assert_eq!((first.posts, first.retried, first.delivered), (1, 1, 0));
    // Not due again before schedule[0] has passed.
    let early = fwd.run_once("w1", at(1)).await.unwrap();
    assert_eq!(early.leased, 0);
    let second = fwd.run_once("w1", at(1_000)).await.unwrap();
    assert_eq!((second.posts, second.delivered), (1, 1));

    let got = h.receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body, "a retry sends the same envelope");
    assert_eq!(got[1].json()["eventId"], "evt-1");
    verify(&got[1], SECRET).unwrap();
}

#[tokio::test]
async fn a_400_is_dead_at_once_and_never_retried() {
    let h = Harness::start().await;
    let fwd = h.forwarder([("space-a", h.target("space-a"))]);
    h.receiver.script([Reply::Status(400)]);
    h.enqueue("space-a", "evt-1", T0).await;

    let report = fwd.run_once("w1", at(0)).await.unwrap();
    assert_eq!((report.posts, report.dead, report.retried), (1, 1, 0));
    let later = fwd.run_once("w1", at(24 * 3_600_000)).await.unwrap();
    assert_eq!(later.leased, 0);
    assert_eq!(h.receiver.got().len(), 1);

    let dead = fwd.dead_letters("space-a", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].envelope.event_id, "evt-1");
    assert_eq!(dead[0].attempts, 1);
    assert!(dead[0].last_error.as_deref().unwrap().contains("400"));
}

#[tokio::test]
async fn exhausted_schedule_is_dead_then_redrive_delivers() {
    let h = Harness::start().await;
    let fwd = h.forwarder([("space-a", h.target("space-a"))]);
    // Other 4xx are retried too; two retries in the schedule, so three attempts.
    h.receiver
        .script([Reply::Status(503), Reply::Status(404), Reply::Status(502)]);
    h.enqueue("space-a", "evt-1", T0).await;

    let r1 = fwd.run_once("w1", at(0)).await.unwrap();
    let r2 = fwd.run_once("w1", at(1_000)).await.unwrap();
    let r3 = fwd.run_once("w1", at(2_000)).await.unwrap();
    assert_eq!((r1.retried, r2.retried, r3.retried, r3.dead), (1, 1, 0, 1));
    assert_eq!(fwd.run_once("w1", at(3_000)).await.unwrap().leased, 0);

    let dead = fwd.dead_letters("space-a", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("HTTP 502"));
    // Dead letters are per space.
    assert!(fwd.dead_letters("space-b", 10).await.unwrap().is_empty());

    assert_eq!(fwd.redrive("space-a", "evt-1", at(5_000)).await.unwrap(), 1);
    assert_eq!(fwd.redrive("space-a", "evt-1", at(5_000)).await.unwrap(), 0);
    let after = fwd.run_once("w1", at(5_000)).await.unwrap();
    assert_eq!((after.posts, after.delivered), (1, 1));
    assert!(fwd.dead_letters("space-a", 10).await.unwrap().is_empty());

    let got = h.receiver.got();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|r| r.json()["eventId"] == "evt-1"));
    assert!(got.iter().all(|r| verify(r, SECRET).is_ok()));
}

#[tokio::test]
async fn a_timeout_is_a_failure() {
    let h = Harness::start().await;
    let short = Duration::from_millis(200);
    let fwd = h.forwarder([
        ("space-a", h.target("space-a").timeout(short)),
        (
            "space-b",
            h.target("space-b").timeout(short).schedule(Vec::new()),
        ),
    ]);
    h.receiver
        .script([Reply::Slow(Duration::from_millis(1_500), 200)]);
    h.enqueue("space-a", "evt-1", T0).await;

    let report = fwd.run_once("w1", at(0)).await.unwrap();
    assert_eq!((report.posts, report.retried, report.delivered), (1, 1, 0));
    let report = fwd.run_once("w1", at(1_000)).await.unwrap();
    assert_eq!(report.delivered, 1);

    // With no retries left, a timeout makes the event dead, and says why.
    h.receiver
        .script([Reply::Slow(Duration::from_millis(1_500), 200)]);
    h.enqueue("space-b", "evt-2", T0 + 2_000).await;
    let report = fwd.run_once("w1", at(2_000)).await.unwrap();
    assert_eq!(report.dead, 1);
    let dead = fwd.dead_letters("space-b", 10).await.unwrap();
    assert!(dead[0].last_error.as_deref().unwrap().contains("timed out"));
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let h = Harness::start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target = WebhookTarget::new(format!("http://{closed}/hook"), SECRET)
        .schedule(vec![Duration::from_millis(5)]);
    let fwd = h.forwarder([("space-a", target)]);
    h.enqueue("space-a", "evt-1", T0).await;
    let r1 = fwd.run_once("w1", at(0)).await.unwrap();
    let r2 = fwd.run_once("w1", at(1_000)).await.unwrap();
    assert_eq!((r1.retried, r2.dead), (1, 1));
    let dead = fwd.dead_letters("space-a", 10).await.unwrap();
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .starts_with("connection failed"));
}

#[tokio::test]
async fn events_without_a_webhook_are_dropped_or_dead_lettered() {
    let h = Harness::start().await;
    h.enqueue("space-x", "evt-1", T0).await;
    // Queued for another target name of a configured space: no webhook for it either.
    let envelope = EventEnvelope {
        event_id: "evt-2".into(),
        api_space_id: "space-a".into(),
        name: EventName::MessageSent,
        payload: json!({}),
        revision: 1,
        timestamp: at(0),
    };
    h.store.enqueue_event("crm", envelope, at(0)).await.unwrap();

    let fwd = h.forwarder([("space-a", h.target("space-a"))]);
    let report = fwd.run_once("w1", at(0)).await.unwrap();
    assert_eq!((report.leased, report.dropped, report.posts), (2, 2, 0));
    assert!(fwd.dead_letters("space-x", 10).await.unwrap().is_empty());

    h.enqueue("space-x", "evt-3", T0 + 1).await;
    let keep = h
        .forwarder([("space-a", h.target("space-a"))])
        .unrouted(Unrouted::DeadLetter);
    let report = keep.run_once("w1", at(1)).await.unwrap();
    assert_eq!((report.dead, report.posts), (1, 0));
    let dead = keep.dead_letters("space-x", 10).await.unwrap();
    assert_eq!(dead[0].envelope.event_id, "evt-3");
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("no webhook"));
    assert!(h.receiver.got().is_empty());
}

#[tokio::test]
async fn run_delivers_and_flushes_waiting_batches_at_shutdown() {
    let h = Harness::start().await;
    let fwd = h
        .forwarder([
            ("space-a", h.target("space-a")),
            (
                "space-b",
                h.target("space-b").batch(10, Duration::from_secs(60)),
            ),
        ])
        .poll_interval(Duration::from_millis(10));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(fwd.clone().run("w1", async {
        let _ = stopped.await;
    }));

    let now = Timestamp::now().millis();
    h.enqueue("space-a", "evt-a", now).await;
    h.enqueue("space-b", "evt-b", now).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while h.receiver.got().is_empty() || fwd.waiting() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nothing delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let got = h.receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].space, "space-a");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let got = h.receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].space, "space-b");
    assert_eq!(got[1].json()[0]["eventId"], "evt-b");
    assert_eq!(fwd.waiting(), 0);
}

#[tokio::test]
async fn bad_targets_are_refused_without_leaking_the_secret() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let bad = [
        WebhookTarget::new("https://example.com/h", SECRET).batch(0, Duration::ZERO),
        WebhookTarget::new("https://example.com/h", SECRET).batch(501, Duration::ZERO),
        WebhookTarget::new("https://example.com/h", SECRET).batch(2, Duration::from_secs(61)),
        WebhookTarget::new("mailto:ops@example.com", SECRET),
    ];
    for target in bad {
        let targets = HashMap::from([("space-a".to_owned(), target)]);
        let err = Forwarder::new(store.clone(), targets).unwrap_err();
        assert!(matches!(err, ForwardError::InvalidTarget { .. }), "{err}");
        assert!(!err.to_string().contains(SECRET));
    }
    let fwd = Forwarder::new(
        store,
        HashMap::from([(
            "space-a".to_owned(),
            WebhookTarget::new("https://example.com/h", SECRET),
        )]),
    )
    .unwrap();
    assert!(!format!("{fwd:?}").contains(SECRET));
    // The lease covers the timeouts of a round's requests.
    assert!(fwd.lease_for() >= Duration::from_secs(10));
}

/// Records the most requests in flight per space, and the errors.
#[derive(Default)]
struct MostInFlight(Mutex<HashMap<String, usize>>, Mutex<Vec<String>>);

impl messenger::events::ForwardObserver for MostInFlight {
    fn report(&self, _space: Option<&str>, _report: &ForwardReport) {}

    fn error(&self, _space: Option<&str>, error: &ForwardError) {
        self.1.lock().unwrap().push(error.to_string());
    }

    fn in_flight(&self, space: &str, requests: usize) {
        let mut most = self.0.lock().unwrap();
        let m = most.entry(space.to_owned()).or_default();
        *m = (*m).max(requests);
    }
}

#[tokio::test]
async fn run_keeps_a_hanging_target_to_itself() {
    let h = Harness::start().await;
    // space-a's webhook accepts connections and never answers.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}/hook/space-a", hang.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            held.push(socket);
        }
    });
    let timeout = Duration::from_secs(5);
    let observer = Arc::new(MostInFlight::default());
    let fwd = h
        .forwarder([
            (
                "space-a",
                WebhookTarget::new(hang_url, SECRET)
                    .timeout(timeout)
                    .max_in_flight(2),
            ),
            ("space-b", h.target("space-b")),
        ])
        .poll_interval(Duration::from_millis(10))
        .observer(observer.clone());
    let now = Timestamp::now().millis();
    for i in 0..5 {
        h.enqueue("space-a", &format!("evt-a{i}"), now + i).await;
        h.enqueue("space-b", &format!("evt-b{i}"), now + i).await;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(fwd.clone().run("w1", async {
        let _ = stopped.await;
    }));
    // All of space-b's events arrive while space-a's requests hang: none of them has timed out
    // (which the observer would have heard as an error) when the last of space-b's is in.
    let every = Duration::from_millis(10);
    wait::until("space-b's five events", every, || async {
        match h.receiver.got().len() {
            5.. => Ok(()),
            got => Err(format!("{got} received")),
        }
    })
    .await;
    assert!(
        observer.1.lock().unwrap().is_empty(),
        "space-b waited for space-a's requests to time out"
    );
    assert!(h.receiver.got().iter().all(|r| r.space == "space-b"));
    // space-a fills its two slots (the second POST may start after space-b is done) and no more.
    wait::until("space-a's two slots taken", every, || async {
        match observer.0.lock().unwrap().get("space-a") {
            Some(2) => Ok(()),
            slots => Err(format!("{slots:?}")),
        }
    })
    .await;
    assert!(
        observer.1.lock().unwrap().is_empty(),
        "space-a's requests timed out early"
    );
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    // space-a's two requests timed out and are due again; the other three were never leased.
    let pending = h.store.pending_by_target().await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].space.as_str(), pending[0].count),
        ("space-a", 5)
    );
    assert!(observer.1.lock().unwrap().is_empty());
}
