//! A customer's data on request (decision 0019):
//! `POST /apispaces/{space}/profiles/{profileId}/erasure` erases it (GDPR article 17) and
//! `GET /apispaces/{space}/profiles/{profileId}/export` returns it as one JSON document
//! (article 15), streamed page by page so that memory stays bounded whatever the history.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_model::Timestamp;
use messenger_store::{
    ErasureRecord, MessageRecord, OutboxEvent, Page, Store, Subject, ERASURE_BATCH,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::auth::{PathParams, SpaceAccess, SpaceRead};
use super::problem::{path_id, Problem};
use super::AppState;

/// Chunks of an export waiting to be written to the client: with a page each, what an export
/// holds in memory at most.
const EXPORT_CHUNKS_AHEAD: usize = 2;

/// The erasure's answer: its id (keep it with the request), space, time and counts.
pub(crate) fn erasure_answer(record: &ErasureRecord) -> Value {
    json!({
        "erasureId": record.id,
        "apiSpaceId": record.space,
        "erasedAt": record.erased_at,
        "counts": record.counts,
    })
}

/// `POST .../profiles/{profileId}/erasure`: erases the customer, 200 with the counts (zeros
/// when there was nothing left to erase).
pub(super) async fn erase(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = path_id(&params, "profileId")?;
    let record = state.messenger.erase_customer(&access.space, id).await?;
    Ok(Json(erasure_answer(&record)).into_response())
}

/// `GET .../profiles/{profileId}/export`: everything the space holds about the customer, as
/// one JSON document written while it is read. A store failure before the first byte is a
/// problem document; after it, the body ends early (the document does not parse), and the
/// failure is logged.
pub(super) async fn export(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = path_id(&params, "profileId")?;
    let subject = state.messenger.customer(&access.space, id).await?;
    let store = Arc::clone(state.messenger.store());
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_CHUNKS_AHEAD);
    tokio::spawn(async move {
        if let Err(e) = write_export(&*store, &subject, &tx).await {
            tracing::warn!(space = %subject.space, error = %messenger::error_chain(&e), "an export ended early");
            let _ = tx
                .send(Err(std::io::Error::other("the export failed")))
                .await;
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Why an export stopped: the store failed, or the client went away.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("reading the store")]
    Store(#[from] messenger_store::StoreError),
    #[error("the client went away")]
    Gone,
}

/// Sends `bytes` as the next chunk.
async fn send(
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    bytes: Vec<u8>,
) -> Result<(), ExportError> {
    tx.send(Ok(Bytes::from(bytes)))
        .await
        .map_err(|_| ExportError::Gone)
}

/// A message as the export shows it: its resource (statuses with their history, rule trace,
/// Graph ids, error) and the request as it was accepted.
fn exported_message(m: &MessageRecord) -> Value {
    let mut v = serde_json::to_value(m.to_resource()).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert(
            "request".into(),
            serde_json::to_value(&m.request).unwrap_or(Value::Null),
        );
        map.insert("sentAt".into(), json!(m.sent_at));
    }
    v
}

/// An event as the export shows it: its envelope, where it is (`pending`, `delivered`,
/// `dead`) and which webhook it is for.
fn exported_event(e: &OutboxEvent) -> Value {
    let mut v = serde_json::to_value(&e.envelope).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("state".into(), json!(e.state.as_str()));
        map.insert("target".into(), json!(e.target));
    }
    v
}

/// Appends `items` to `out` as JSON array elements (`first` says whether one came before).
fn push_items<T>(out: &mut Vec<u8>, first: &mut bool, items: &[T], show: fn(&T) -> Value) {
    for item in items {
        if !std::mem::take(first) {
            out.push(b',');
        }
        // Writing a `Value` to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &show(item));
    }
}

/// Writes the elements of one list of the document, a page at a time from `fetch` (given the
/// cursor of the page).
async fn write_list<T, F, Fut>(
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    fetch: F,
    show: fn(&T) -> Value,
) -> Result<(), ExportError>
where
    F: Fn(Option<i64>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, messenger_store::StoreError>>,
{
    let (mut first, mut after) = (true, None);
    loop {
        let page = fetch(after).await?;
        let mut out = Vec::new();
        push_items(&mut out, &mut first, &page.items, show);
        send(tx, out).await?;
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Writes the export document, a page at a time.
async fn write_export(
    store: &dyn Store,
    subject: &Subject,
    tx: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), ExportError> {
    let ids: Vec<Value> = subject
        .messenger_ids
        .iter()
        .map(|(page, psid)| json!({"pageId": page, "psid": psid}))
        .collect();
    let head = json!({
        "apiSpaceId": subject.space,
        "profileId": subject.profile_id,
        "exportedAt": Timestamp::now(),
        "profile": subject.profile,
        "messengerIds": ids,
    });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.pop(); // the closing brace: the lists follow
    out.extend_from_slice(br#","messages":["#);
    send(tx, out).await?;
    let messages = |after| store.messages_naming(subject, after, ERASURE_BATCH);
    write_list(tx, messages, exported_message).await?;
    send(tx, br#"],"events":["#.to_vec()).await?;
    let events = |after| store.events_naming(subject, after, ERASURE_BATCH);
    write_list(tx, events, exported_event).await?;
    send(tx, b"]}".to_vec()).await
}
