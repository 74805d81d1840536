//! Shared helpers for the integration tests: a reqwest client and JSON posting.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The page and token every test uses.
pub(crate) const PAGE: &str = "1000001";
/// The page's token.
pub(crate) const TOKEN: &str = "PAGE_TOKEN_1";

/// An answer: status, headers and JSON body (`Null` if not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    /// `error.code` of a Graph error body.
    pub(crate) fn code(&self) -> i64 {
        self.json["error"]["code"].as_i64().unwrap_or(-1)
    }

    /// `error.error_subcode` of a Graph error body.
    pub(crate) fn subcode(&self) -> Option<i64> {
        self.json["error"]["error_subcode"].as_i64()
    }

    /// `error.message` of a Graph error body.
    pub(crate) fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

/// POSTs `body` as JSON to `url`.
pub(crate) async fn post_json(url: &str, body: &Value) -> Answer {
    answer(
        reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The Send API URL of `base` with the test token.
pub(crate) fn send_url(base: &str) -> String {
    format!("{base}/v21.0/me/messages?access_token={TOKEN}")
}

/// A text send to `psid`.
pub(crate) fn text_to(psid: &str, text: &str) -> Value {
    serde_json::json!({
        "recipient": {"id": psid},
        "messaging_type": "RESPONSE",
        "message": {"text": text}
    })
}
