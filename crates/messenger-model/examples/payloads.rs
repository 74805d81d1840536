//! messenger-model alone: build send requests in the shapes of `fixtures/seed-examples/` (plain
//! text, message parts with an image, quick replies, a receipt template), plan their Graph Send
//! API calls and print the JSON bodies. No I/O beyond stdout, no runtime:
//! `cargo run -p messenger-model --example payloads`.

use messenger_model::graph::{
    Message, QuickReply, ReceiptAddress, ReceiptAdjustment, ReceiptElement, ReceiptSummary,
    ReceiptTemplate, Recipient, Template,
};
use messenger_model::{plan_graph_sends, Channel, MessagePart, SendRequest, To};
use serde_json::{Number, Value};

/// The PSID the requests resolve to (the facade finds it from the profile; here it is given).
const PSID: &str = "1000000000000001";

fn number(n: f64) -> Result<Number, Box<dyn std::error::Error>> {
    Number::from_f64(n).ok_or_else(|| format!("{n} is not a JSON number").into())
}

/// 13-custom-body-receipt.json, built with the model's types.
fn receipt() -> Result<Message, Box<dyn std::error::Error>> {
    let shirt = |title: &str, quantity: u64, price: u64, image: &str| ReceiptElement {
        title: title.to_owned(),
        subtitle: Some("100% Soft and Luxurious Cotton".to_owned()),
        quantity: Some(quantity.into()),
        price: price.into(),
        currency: Some("USD".to_owned()),
        image_url: Some(image.to_owned()),
    };
    let template = ReceiptTemplate {
        recipient_name: "Stephane Crozatier".to_owned(),
        order_number: "12345678902".to_owned(),
        currency: "USD".to_owned(),
        payment_method: "Visa 2345".to_owned(),
        order_url: Some("http://petersapparel.parseapp.com/order?order_id=123456".to_owned()),
        timestamp: Some("1428444852".to_owned()),
        merchant_name: None,
        elements: vec![
            shirt(
                "Classic White T-Shirt",
                2,
                50,
                "http://clipart-library.com/images/rcjKk9yni.png",
            ),
            shirt(
                "Classic Gray T-Shirt",
                1,
                25,
                "http://clipart-library.com/images/yTkAjXk9c.png",
            ),
        ],
        address: Some(ReceiptAddress {
            street_1: "1 Hacker Way".to_owned(),
            street_2: None,
            city: "Menlo Park".to_owned(),
            postal_code: "94025".to_owned(),
            state: "CA".to_owned(),
            country: "US".to_owned(),
        }),
        summary: ReceiptSummary {
            subtotal: Some(75.into()),
            shipping_cost: Some(number(4.95)?),
            total_tax: Some(number(6.19)?),
            total_cost: number(56.14)?,
        },
        adjustments: vec![
            ReceiptAdjustment {
                name: "New Customer Discount".to_owned(),
                amount: 20.into(),
            },
            ReceiptAdjustment {
                name: "$10 Off Coupon".to_owned(),
                amount: 10.into(),
            },
        ],
        extra: serde_json::Map::new(),
    };
    Ok(Message::template(Template::Receipt(Box::new(template))))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests = [
        (
            "01 plain text",
            SendRequest::new(To::profile("customer-42"))
                .body("Your order has been dispatched")
                .rules([Channel::FbMessenger]),
        ),
        (
            "05 message parts with an image",
            SendRequest::new(To::profile("customer-42"))
                .title("Your order has been dispatched")
                .part(MessagePart::text(
                    "Your order: ABC1245 has been dispatched.",
                ))
                .part(MessagePart::url(
                    "image/png",
                    "http://cdn.dnky.co/3rdparty/comapi/images/laptop.png",
                ))
                .rules([Channel::FbMessenger]),
        ),
        (
            "12 quick replies (customBody)",
            SendRequest::new(To::profile("customer-42"))
                .body("Test from Comapi")
                .fb_messenger_message(
                    Message::text("Pick a color:")
                        .with_quick_reply(QuickReply::text(
                            "Red",
                            "DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_RED",
                        ))
                        .with_quick_reply(QuickReply::text(
                            "Green",
                            "DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_GREEN",
                        )),
                )
                .rules([Channel::FbMessenger]),
        ),
        (
            "13 receipt template (customBody)",
            SendRequest::new(To::profile("customer-42"))
                .body("Test from Comapi")
                .fb_messenger_message(receipt()?)
                .rules([Channel::FbMessenger]),
        ),
    ];

    let mut bodies: Vec<Vec<Value>> = Vec::new();
    for (name, request) in &requests {
        println!("== {name}");
        println!("send request: {}", serde_json::to_string(request)?);
        let sends = plan_graph_sends(request, &Recipient::psid(PSID))?;
        let mut planned = Vec::new();
        for (i, send) in sends.iter().enumerate() {
            let body = serde_json::to_value(&send.request)?;
            println!(
                "Graph send {}: {}",
                i + 1,
                serde_json::to_string_pretty(&body)?
            );
            planned.push(body);
        }
        bodies.push(planned);
    }

    // The shapes Meta expects, as in the seed examples.
    let [text, parts, quick, receipt] = bodies.as_slice() else {
        return Err("one plan per request".into());
    };
    check(
        text[0]["message"]["text"] == "Your order has been dispatched",
        "text",
    )?;
    check(parts.len() == 2, "one Graph send per message part")?;
    check(
        parts[1]["message"]["attachment"]["type"] == "image",
        "image part",
    )?;
    check(
        quick[0]["message"]["quick_replies"][1]["title"] == "Green",
        "quick replies",
    )?;
    let payload = &receipt[0]["message"]["attachment"]["payload"];
    check(payload["template_type"] == "receipt", "receipt template")?;
    check(payload["summary"]["total_cost"] == 56.14, "receipt total")?;
    check(
        payload["elements"][0]["price"] == 50,
        "integer prices stay integers",
    )?;
    Ok(())
}

fn check(ok: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected Graph payload: {what}").into())
    }
}
