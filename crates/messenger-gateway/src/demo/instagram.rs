//! The demo's Instagram Direct step: a customer writes to the business's Instagram account
//! (connected through the demo's page), is answered there, reads it; a second answer she does
//! not read within its `deliveryTimeout` goes by SMS (Instagram has no delivery receipts: a read
//! is the last state).

use reqwest::Method;
use serde_json::{json, Value};

use super::{step, Demo, DemoError, SPACE};

/// The demo's Instagram professional account, linked to the demo's page.
pub(super) const ACCOUNT: &str = "17841400000000042";

/// Bea's phone, for the SMS fallback.
const BEA_PHONE: &str = "+351912345678";

fn failed(e: impl std::fmt::Display) -> DemoError {
    DemoError::Step(e.to_string())
}

/// Step 11.
pub(super) async fn walk(d: &mut Demo) -> Result<(), DemoError> {
    let space = format!("/apispaces/{SPACE}");
    step(
        11,
        "Bea writes on Instagram: answered there, and by SMS when she does not read in time",
    );
    let bea = d.sim.new_instagram_user(ACCOUNT).map_err(failed)?;
    let asked = d
        .sim
        .post_instagram_message(ACCOUNT, &bea, "Do you ship to Lisbon?")
        .await
        .map_err(failed)?;
    println!(
        "  Meta -> POST /webhooks/facebook (object instagram, signed): {}",
        asked.status
    );
    let inbound = d.expect_event("message.inbound").await?;
    println!(
        "  the business hears Bea on {}: {}",
        inbound.payload["channel"], inbound.payload["text"]
    );

    let answer = |text: &str| {
        json!({
            "to": {"instagramId": bea, "mobileNumber": BEA_PHONE},
            "body": text,
            "channelOptions": {"instagram": {"deliveryTimeout": 2}},
            "rules": ["instagram", "sms"]
        })
    };
    let first = d
        .send_and_follow(answer("Yes: 2 days to Lisbon, free over 50 EUR."))
        .await?;
    println!("  sent on {}", first["channel"]);
    let mid = d
        .sim
        .instagram_sent(ACCOUNT)
        .last()
        .map(|s| s.mid.clone())
        .ok_or_else(|| failed("graph-sim recorded no Instagram send"))?;
    d.sim
        .post_instagram_read(ACCOUNT, &bea, &mid)
        .await
        .map_err(failed)?;
    let read = d.expect_event("message.read").await?;
    println!("  Bea read it: message.read on {}", read.payload["channel"]);

    let (status, body) = d
        .call(
            Method::POST,
            &format!("{space}/messages"),
            Some(answer("Your code LISBOA10 takes 10% off until Sunday.")),
        )
        .await?;
    if status != 201 {
        return Err(failed(format!("the second answer: HTTP {status}")));
    }
    let id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let on_instagram = d.expect_event("message.sent").await?;
    println!(
        "  sent on {}; Bea does not read it...",
        on_instagram.payload["channel"]
    );
    let by_sms = d.expect_event("message.sent").await?;
    println!("  2 s later, sent again on {}", by_sms.payload["channel"]);
    let (_, resource) = d
        .call(Method::GET, &format!("{space}/messages/{id}"), None)
        .await?;
    let resource: Value = serde_json::from_str(&resource).map_err(failed)?;
    for t in resource["ruleTrace"].as_array().into_iter().flatten() {
        println!(
            "  rule {}: {} ({})",
            t["channel"], t["outcome"], t["reason"]
        );
    }
    let to_bea = d
        .sim
        .sms_messages()
        .into_iter()
        .filter(|sms| sms.to == BEA_PHONE)
        .count();
    println!("  SMS provider got {to_bea} SMS for Bea");
    if to_bea != 1 {
        return Err(failed(format!("{to_bea} SMS for Bea, not 1")));
    }
    Ok(())
}
