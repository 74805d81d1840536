//! Message templates: generic, button, media and receipt, and their buttons.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// A template payload, tagged by `template_type`.
///
/// ```
/// use messenger_model::graph::{Button, ButtonTemplate, Message, Template};
/// let m = Message::template(Template::Button(ButtonTemplate {
///     text: "What next?".into(),
///     buttons: vec![Button::postback("Talk to us", "CONTACT")],
///     extra: Default::default(),
/// }));
/// let v = serde_json::to_value(&m).unwrap();
/// assert_eq!(v["attachment"]["payload"]["template_type"], "button");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "template_type", rename_all = "lowercase")]
pub enum Template {
    /// A carousel of elements with image, title, subtitle and buttons.
    Generic(GenericTemplate),
    /// Text with up to three buttons.
    Button(ButtonTemplate),
    /// An image or video with buttons.
    Media(MediaTemplate),
    /// An order receipt (boxed: it is much larger than the others).
    Receipt(Box<ReceiptTemplate>),
}

/// The generic template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GenericTemplate {
    /// The elements (at most 10).
    pub elements: Vec<GenericElement>,
    /// `horizontal` or `square`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_aspect_ratio: Option<String>,
    /// Other fields, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One element of a generic template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GenericElement {
    /// Title (at most 80 characters).
    pub title: String,
    /// Subtitle (at most 80 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// What a tap on the element does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_action: Option<Value>,
    /// Buttons (at most 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

/// The button template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ButtonTemplate {
    /// Text (at most 640 characters).
    pub text: String,
    /// Buttons (1 to 3).
    pub buttons: Vec<Button>,
    /// Other fields, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The media template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaTemplate {
    /// The element (exactly one).
    pub elements: Vec<MediaElement>,
    /// Other fields, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The element of a media template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaElement {
    /// `image` or `video`.
    pub media_type: String,
    /// A Facebook URL of the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An uploaded attachment's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// Buttons (at most 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

/// The receipt template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptTemplate {
    /// Customer's name.
    pub recipient_name: String,
    /// Order number (unique per order).
    pub order_number: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// How it was paid.
    pub payment_method: String,
    /// Link to the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_url: Option<String>,
    /// Order time, Unix seconds as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The merchant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_name: Option<String>,
    /// Items (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<ReceiptElement>,
    /// Shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<ReceiptAddress>,
    /// Totals.
    pub summary: ReceiptSummary,
    /// Discounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<ReceiptAdjustment>,
    /// Other fields, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One item of a receipt. Amounts are kept as JSON numbers exactly as given (`50` stays `50`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptElement {
    /// Item name.
    pub title: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// How many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Number>,
    /// Price.
    pub price: Number,
    /// Currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// A receipt's shipping address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReceiptAddress {
    /// Street line 1.
    pub street_1: String,
    /// Street line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_2: Option<String>,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// State or region.
    pub state: String,
    /// Country.
    pub country: String,
}

/// A receipt's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptSummary {
    /// Subtotal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<Number>,
    /// Shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_cost: Option<Number>,
    /// Tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tax: Option<Number>,
    /// Total (required).
    pub total_cost: Number,
}

/// A receipt adjustment (discount).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptAdjustment {
    /// What it is.
    pub name: String,
    /// How much.
    pub amount: Number,
}

/// A template button, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Button {
    /// Opens a URL.
    WebUrl {
        /// Button title (at most 20 characters).
        title: String,
        /// The URL (http or https).
        url: String,
        /// `compact`, `tall` or `full`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webview_height_ratio: Option<String>,
    },
    /// Sends a postback webhook with the payload.
    Postback {
        /// Button title (at most 20 characters).
        title: String,
        /// Returned in the webhook (at most 1000 characters).
        payload: String,
    },
    /// Calls a phone number.
    PhoneNumber {
        /// Button title (at most 20 characters).
        title: String,
        /// The number, `+` and digits.
        payload: String,
    },
}

impl Button {
    /// A postback button.
    pub fn postback(title: impl Into<String>, payload: impl Into<String>) -> Self {
        Self::Postback {
            title: title.into(),
            payload: payload.into(),
        }
    }

    /// A URL button.
    pub fn web_url(title: impl Into<String>, url: impl Into<String>) -> Self {
        Self::WebUrl {
            title: title.into(),
            url: url.into(),
            webview_height_ratio: None,
        }
    }

    /// The button's title.
    pub fn title(&self) -> &str {
        match self {
            Self::WebUrl { title, .. }
            | Self::Postback { title, .. }
            | Self::PhoneNumber { title, .. } => title,
        }
    }
}
