//! The attachment upload API: `POST /v{N}/me/message_attachments`.
//!
//! Multipart with a `message` field (`{"attachment":{"type":"image","payload":{"is_reusable":
//! true}}}`) and a `filedata` file part; or JSON (or form) with `message.attachment.payload.url`
//! for an upload by URL. Files over 25 MB are refused. Answers `{"attachment_id":"..."}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::AttachmentUploadResponse;
use serde_json::Value;

use crate::faults::graph_failure;
use crate::graph_api::{self, authenticate, token_of, GraphFailure, QueryParams};
use crate::graph_rules::MAX_ATTACHMENT_BYTES;
use crate::records::Upload;
use crate::state::SimState;
use crate::sync::lock;

/// The largest request body read: the largest file plus room for the other parts.
const MAX_BODY_BYTES: usize = MAX_ATTACHMENT_BYTES + 64 * 1024;

/// The attachment types an upload may have.
const UPLOAD_TYPES: &[&str] = &["image", "audio", "video", "file"];

/// What an upload request carried.
#[derive(Debug, Default)]
struct UploadForm {
    message: Option<Value>,
    access_token: Option<String>,
    appsecret_proof: Option<String>,
    file: Option<FilePart>,
}

#[derive(Debug)]
struct FilePart {
    filename: Option<String>,
    content_type: Option<String>,
    len: usize,
}

fn too_large() -> GraphFailure {
    GraphFailure::param(format!(
        "(#100) Upload attachment failure: the file is larger than the limit of {} MB",
        MAX_ATTACHMENT_BYTES / (1024 * 1024)
    ))
    .subcode(2_018_047)
}

/// `POST /{version}/{node}/message_attachments`.
pub(crate) async fn upload(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            state.record(&parts.method, &parts.uri, &parts.headers, &Bytes::new());
            return too_large().into_response_with(&state.ids);
        }
    };
    state.record(&parts.method, &parts.uri, &parts.headers, &bytes);
    let uri = parts.uri.clone();
    let headers = parts.headers.clone();
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    match upload_inner(&state, &version, &node, &uri, &headers, request, &bytes).await {
        Ok(id) => {
            let answer = AttachmentUploadResponse { attachment_id: id };
            let mut r = graph_api::json_ok(serde_json::to_vec(&answer).unwrap_or_default());
            state.faults.add_usage(&mut r);
            r
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

async fn upload_inner(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
    request: Request,
    bytes: &Bytes,
) -> Result<String, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let form = if is_multipart {
        read_multipart(request).await?
    } else {
        read_simple(headers, bytes)
    };

    let query = QueryParams::parse(uri.query());
    let token = token_of(&query, headers, form.access_token.as_deref());
    let proof = query
        .appsecret_proof
        .as_deref()
        .or(form.appsecret_proof.as_deref());
    let page_id = authenticate(&state.config.tokens, token, proof, node)?;

    let Some(message) = form.message else {
        return Err(GraphFailure::param(
            "(#100) The parameter message is required",
        ));
    };
    let attachment = &message["attachment"];
    let kind = attachment["type"].as_str().unwrap_or("");
    if !UPLOAD_TYPES.contains(&kind) {
        return Err(GraphFailure::param(
            "(#100) Param message[attachment][type] must be one of {image, audio, video, file}",
        ));
    }
    let payload = &attachment["payload"];
    let url = payload["url"].as_str().map(str::to_owned);
    let is_reusable = payload["is_reusable"].as_bool().unwrap_or(false)
        || payload["is_reusable"].as_str() == Some("true");
    if form.file.is_none() && url.is_none() {
        return Err(GraphFailure::param(
            "(#100) Upload attachment failure: send the file as filedata, or a \
             message[attachment][payload][url]",
        )
        .subcode(2_018_047));
    }
    if form.file.as_ref().is_some_and(|f| f.len == 0) {
        return Err(
            GraphFailure::param("(#100) Upload attachment failure: the file is empty")
                .subcode(2_018_047),
        );
    }

    let triggered = state.faults.take(&[]);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| graph_failure(f, &page_id))
    {
        return Err(f);
    }

    let attachment_id = state.ids.new_numeric_id();
    lock(&state.attachment_ids).insert(attachment_id.clone());
    let (filename, content_type, len) = match form.file {
        Some(f) => (f.filename, f.content_type, f.len),
        None => (None, None, 0),
    };
    lock(&state.uploads).push(Upload {
        attachment_id: attachment_id.clone(),
        page_id: page_id.to_string(),
        kind: kind.to_owned(),
        filename,
        content_type,
        len,
        url,
        is_reusable,
    });
    Ok(attachment_id)
}

/// Reads the multipart parts: `message` (JSON), `filedata` (the file), and token fields.
async fn read_multipart(request: Request) -> Result<UploadForm, GraphFailure> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        GraphFailure::param(format!("(#100) Invalid multipart body: {}", e.body_text()))
    };
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| GraphFailure::param(format!("(#100) Invalid multipart body: {e}")))?;
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "filedata" => {
                let filename = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                let data = field.bytes().await.map_err(bad)?;
                if data.len() > MAX_ATTACHMENT_BYTES {
                    return Err(too_large());
                }
                form.file = Some(FilePart {
                    filename,
                    content_type,
                    len: data.len(),
                });
            }
            "message" => {
                let text = field.text().await.map_err(bad)?;
                let value = serde_json::from_str(&text).map_err(|_| {
                    GraphFailure::param("(#100) Param message must be a JSON object")
                })?;
                form.message = Some(value);
            }
            "access_token" => form.access_token = Some(field.text().await.map_err(bad)?),
            "appsecret_proof" => form.appsecret_proof = Some(field.text().await.map_err(bad)?),
            _ => {
                // Other parts are read and ignored, as Graph ignores unknown parameters.
                field.bytes().await.map_err(bad)?;
            }
        }
    }
    Ok(form)
}

/// Reads a JSON or form body (upload by URL).
fn read_simple(headers: &HeaderMap, bytes: &[u8]) -> UploadForm {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let value = if is_form {
        crate::send_api::form_to_json(bytes)
    } else {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    };
    let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
    UploadForm {
        message: value.get("message").filter(|m| m.is_object()).cloned(),
        access_token: text("access_token"),
        appsecret_proof: text("appsecret_proof"),
        file: None,
    }
}
