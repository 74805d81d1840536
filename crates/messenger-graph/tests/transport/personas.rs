//! Personas through GraphClient against graph-sim: create, list by cursor, delete, classified
//! errors; and the default of a transport that does not manage personas.

use std::sync::Arc;

use crate::common::*;
use async_trait::async_trait;
use messenger_graph::{AttachmentUpload, Error, ErrorKind, RetryingTransport, Transport};
use messenger_model::graph::{GraphSendRequest, NewPersona, Recipient, SendResponse, SenderAction};
use messenger_model::UserProfile;

fn alex(n: u32) -> NewPersona {
    NewPersona::new(format!("Alex {n}"), "https://example.com/alex.png")
}

#[tokio::test]
async fn personas_are_created_listed_page_by_page_and_deleted() {
    let sim = sim().await;
    let client = client(&sim);
    let mut created = Vec::new();
    for n in 0..3 {
        let p = client.create_persona(&alex(n)).await.expect("created");
        assert_eq!(p.name, format!("Alex {n}"));
        assert_eq!(
            p.profile_picture_url.as_deref(),
            Some("https://example.com/alex.png")
        );
        created.push(p);
    }
    let first = client.personas(None, 2).await.expect("first page");
    assert_eq!(first.data, created[..2]);
    let cursor = first.next_cursor().expect("a next page").to_owned();
    let second = client
        .personas(Some(&cursor), 2)
        .await
        .expect("second page");
    assert_eq!(second.data, created[2..]);
    assert_eq!(second.next_cursor(), None);

    client
        .delete_persona(&created[1].id)
        .await
        .expect("deleted");
    let e = client.delete_persona(&created[1].id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRecipient, "{e}");
    assert_eq!(e.graph_error().and_then(|g| g.error_subcode), Some(33));
    assert_eq!(sim.personas(PAGE_ID).len(), 2);

    // Each call carried the proof and the bearer token, never the token in the URL.
    let calls: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("personas") || r.method == "DELETE")
        .collect();
    assert_eq!(calls.len(), 7);
    let want = format!("appsecret_proof={}", proof(APP_SECRET, TOKEN));
    for c in &calls {
        assert!(c.query.as_deref().unwrap_or("").contains(&want), "{c:?}");
        assert!(!c.query.as_deref().unwrap_or("").contains(TOKEN));
        assert_eq!(
            c.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    assert!(calls
        .iter()
        .any(|c| c.query.as_deref().unwrap_or("").contains("limit=2")));
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_are_classified_and_input_is_checked_first() {
    let sim = sim().await;
    let client = client(&sim);
    let long = NewPersona::new("x".repeat(51), "https://example.com/a.png");
    let e = client.create_persona(&long).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidParameter, "{e}");
    assert!(e.to_string().contains("less than or equal to 50"), "{e}");

    let before = sim.requests().len();
    let blank = NewPersona::new(" ", "https://example.com/a.png");
    assert!(matches!(
        client.create_persona(&blank).await,
        Err(Error::InvalidInput { .. })
    ));
    for bad in ["", "me", "12/34", "1?x=2"] {
        assert!(
            matches!(
                client.delete_persona(bad).await,
                Err(Error::InvalidInput { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(sim.requests().len(), before, "nothing reached Graph");

    let wrong = messenger_graph::GraphClient::builder()
        .base_url(sim.base_url())
        .page_access_token("not-a-token")
        .build()
        .unwrap();
    let e = wrong.personas(None, 10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(!e.to_string().contains("not-a-token"));
    sim.shutdown().await;
}

#[tokio::test]
async fn typing_as_a_persona_is_one_request_with_only_recipient_action_and_persona() {
    let sim = sim().await;
    let client = client(&sim);
    let p = client.create_persona(&alex(1)).await.unwrap();
    let mut req = GraphSendRequest::sender_action(Recipient::psid(PSID), SenderAction::TypingOn);
    req.persona_id = Some(p.id.clone());
    let transport: Arc<dyn Transport> = Arc::new(RetryingTransport::new(client, fast_policy(2)));
    transport.send(&req).await.expect("typing as Alex");
    let body = send_calls(&sim)[0].json().unwrap();
    assert_eq!(
        body,
        serde_json::json!({"recipient": {"id": PSID}, "sender_action": "typing_on", "persona_id": p.id})
    );
    assert_eq!(
        sim.sender_actions()[0].persona_id.as_deref(),
        Some(p.id.as_str())
    );
    // Through the trait (and the retrying wrapper) the persona calls reach Graph too.
    assert_eq!(transport.personas(None, 10).await.unwrap().data, vec![p]);
    sim.shutdown().await;
}

/// A transport that only sends.
struct SendOnly;

#[async_trait]
impl Transport for SendOnly {
    async fn send(&self, _: &GraphSendRequest) -> Result<SendResponse, Error> {
        Ok(SendResponse::default())
    }
    async fn upload_attachment(&self, _: &AttachmentUpload) -> Result<String, Error> {
        Ok("1".into())
    }
    async fn sender_action(&self, _: &Recipient, _: SenderAction) -> Result<(), Error> {
        Ok(())
    }
    async fn user_profile(&self, _: &str) -> Result<UserProfile, Error> {
        Ok(UserProfile::default())
    }
}

#[tokio::test]
async fn a_transport_without_personas_refuses_them_permanently() {
    let t: Arc<dyn Transport> = Arc::new(SendOnly);
    let e = t.create_persona(&alex(1)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Permanent);
    assert!(!e.is_retryable());
    assert!(t.personas(None, 1).await.is_err());
    assert!(t.delete_persona("1").await.is_err());
}
