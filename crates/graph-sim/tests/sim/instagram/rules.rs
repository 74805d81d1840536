//! Instagram's send rules: the window (24 hours; 7 days with `HUMAN_AGENT`), text in bytes,
//! text-only quick replies, `HUMAN_AGENT` the only tag, no personas, IGSIDs only.

use serde_json::{json, Value};

use super::*;
use crate::common::{post_json, text_to};

const HOUR: i64 = 3600 * 1000;

fn tagged(igsid: &str, tag: &str) -> Value {
    json!({
        "recipient": {"id": igsid},
        "messaging_type": "MESSAGE_TAG",
        "tag": tag,
        "message": {"text": "a human answers"}
    })
}

#[tokio::test]
async fn the_window_opens_when_the_user_writes_and_human_agent_extends_it() {
    let (url, _received) = receiver().await;
    let sim = builder().webhook_url(url).start().await.unwrap();
    let igsid = sim.new_instagram_user(IG_ACCOUNT).unwrap();
    let send = ig_send_url(&sim, IG_TOKEN);

    let never_wrote = post_json(&send, &text_to(&igsid, "hi")).await;
    assert_eq!(
        (never_wrote.code(), never_wrote.subcode()),
        (10, Some(2_534_022))
    );
    assert_eq!(error_type(&never_wrote), "IGApiException");
    assert!(never_wrote
        .message()
        .contains("This message is sent outside of allowed window"));

    sim.post_instagram_message(IG_ACCOUNT, &igsid, "hello?")
        .await
        .unwrap();
    assert_eq!(post_json(&send, &text_to(&igsid, "hi")).await.status, 200);

    let now = Timestamp::now().millis();
    sim.set_last_inbound(IG_ACCOUNT, &igsid, now - 25 * HOUR);
    let late = post_json(&send, &text_to(&igsid, "hi")).await;
    assert_eq!(late.subcode(), Some(2_534_022));
    let human = post_json(&send, &tagged(&igsid, "HUMAN_AGENT")).await;
    assert_eq!(human.status, 200, "{:?}", human.json);
    let feedback = post_json(&send, &tagged(&igsid, "CUSTOMER_FEEDBACK")).await;
    assert_eq!(feedback.code(), 100, "not an Instagram tag");
    assert!(feedback.message().contains("HUMAN_AGENT"));

    sim.set_last_inbound(IG_ACCOUNT, &igsid, now - 7 * 24 * HOUR - HOUR);
    let too_late = post_json(&send, &tagged(&igsid, "HUMAN_AGENT")).await;
    assert_eq!(too_late.subcode(), Some(2_534_022));

    let sent = sim.instagram_sent(IG_ACCOUNT);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].request.tag.as_deref(), Some("HUMAN_AGENT"));
    sim.shutdown().await;
}

#[tokio::test]
async fn instagram_refuses_what_messenger_takes() {
    let sim = builder().start().await.unwrap();
    let igsid = user_who_wrote(&sim, FB_ACCOUNT);
    let send = fb_send_url(&sim);
    let qr = |n: usize, title: &str, kind: &str| {
        let replies: Vec<Value> = (0..n)
            .map(|i| json!({"content_type": kind, "title": title, "payload": format!("P{i}")}))
            .collect();
        json!({"recipient": {"id": igsid}, "message": {"text": "pick", "quick_replies": replies}})
    };
    let cases = [
        (text_to(&igsid, &"€".repeat(334)), "message[text]"),
        (qr(14, "ok", "text"), "quick_replies"),
        (qr(1, &"t".repeat(21), "text"), "title"),
        (qr(1, "ok", "user_phone_number"), "content_type"),
        (
            json!({"recipient": {"id": igsid}, "persona_id": "7", "message": {"text": "x"}}),
            "persona_id",
        ),
        (
            json!({"recipient": {"id": igsid}, "sender_action": "react", "payload": {"message_id": "m"}}),
            "reaction",
        ),
    ];
    for (body, names) in cases {
        let refused = post_json(&send, &body).await;
        assert_eq!((refused.status, refused.code()), (400, 100), "{body}");
        assert!(
            refused.message().contains(names),
            "{body} -> {}",
            refused.message()
        );
    }
    // Instagram is never reached by phone number (on the Facebook host that is Messenger's).
    let by_phone =
        json!({"recipient": {"phone_number": "+447700900123"}, "message": {"text": "x"}});
    let refused = post_json(&ig_send_url(&sim, IG_TOKEN), &by_phone).await;
    assert_eq!(refused.code(), 100);
    assert!(
        refused.message().contains("phone_number"),
        "{}",
        refused.message()
    );
    assert!(sim.instagram_sent(FB_ACCOUNT).is_empty());
    assert!(sim.instagram_sent(IG_ACCOUNT).is_empty());

    let fits = [
        text_to(&igsid, &"€".repeat(333)),
        qr(13, &"t".repeat(20), "text"),
    ];
    for body in fits {
        let ok = post_json(&send, &body).await;
        assert_eq!(ok.status, 200, "{body} -> {:?}", ok.json);
    }
    assert_eq!(sim.instagram_sent(FB_ACCOUNT).len(), 2);
    sim.shutdown().await;
}
