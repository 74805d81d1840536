//! Meta's limits and the product's own caps, as data in one place: when Meta changes a figure,
//! the change is one line here (and the table in `docs/validation.md`).
//!
//! Lengths are counted in Unicode scalar values (Rust `char`s), which is how Meta words its
//! limits ("characters"). Sources: Meta's Send API reference and template references, as
//! summarised in `docs/validation.md`.

/// Messenger text (`message.text`, a `body` sent to Messenger, a `text/*` part): characters.
pub const TEXT_MAX_CHARS: usize = 2000;

/// Quick replies per message.
pub const QUICK_REPLIES_MAX: usize = 13;
/// Quick reply title: characters.
pub const QUICK_REPLY_TITLE_MAX_CHARS: usize = 20;
/// Quick reply payload: characters.
pub const QUICK_REPLY_PAYLOAD_MAX_CHARS: usize = 1000;

/// Graph `message.metadata` (returned in the echo): characters.
pub const MESSAGE_METADATA_MAX_CHARS: usize = 1000;

/// Generic template: elements.
pub const GENERIC_ELEMENTS_MAX: usize = 10;
/// Generic template element title: characters.
pub const GENERIC_TITLE_MAX_CHARS: usize = 80;
/// Generic template element subtitle: characters.
pub const GENERIC_SUBTITLE_MAX_CHARS: usize = 80;
/// Buttons per generic element, per media element, per button template.
pub const BUTTONS_MAX: usize = 3;
/// Button template: at least this many buttons.
pub const BUTTON_TEMPLATE_MIN_BUTTONS: usize = 1;
/// Button template text: characters.
pub const BUTTON_TEMPLATE_TEXT_MAX_CHARS: usize = 640;
/// Button title: characters.
pub const BUTTON_TITLE_MAX_CHARS: usize = 20;
/// Postback button payload: characters.
pub const POSTBACK_PAYLOAD_MAX_CHARS: usize = 1000;
/// Media template: exactly this many elements.
pub const MEDIA_TEMPLATE_ELEMENTS: usize = 1;
/// Receipt template: elements (items). Meta's reference says 100.
pub const RECEIPT_ELEMENTS_MAX: usize = 100;

/// Attachment size Meta accepts (upload or URL fetch): 25 MB, read as MiB.
pub const ATTACHMENT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// URL schemes Graph fetches media from and opens in buttons.
pub const URL_SCHEMES: [&str; 2] = ["http", "https"];

/// Phone numbers (`to.phoneNumber`, `to.mobileNumber`, call buttons): digits, without `+`.
pub const PHONE_MIN_DIGITS: usize = 8;
/// Phone numbers: at most this many digits (E.164).
pub const PHONE_MAX_DIGITS: usize = 15;

/// A persona id (a Graph object id): at most this many digits.
pub const PERSONA_ID_MAX_DIGITS: usize = 32;
/// A persona's name: characters (Meta's limit).
pub const PERSONA_NAME_MAX_CHARS: usize = 50;

/// The standard messaging window: hours after the user's last message.
pub const STANDARD_WINDOW_HOURS: i64 = 24;

/// `channelOptions.fbMessenger.deliveryTimeout`: the shortest wait for a delivery receipt, in
/// seconds.
pub const DELIVERY_TIMEOUT_MIN_SECS: u64 = 1;
/// `deliveryTimeout`: the longest wait, in seconds (7 days).
pub const DELIVERY_TIMEOUT_MAX_SECS: u64 = 604_800;

/// The longest id a client names, in characters: a profile id, a Messenger id (PSID), and in
/// the gateway every id in a path, a query or a body (event ids, quarantine keys, message ids).
/// Longer ones are refused (`field.length`), never stored.
pub const ID_MAX_CHARS: usize = 256;

/// Instagram text (`message.text`, a `body` or `text/*` part sent to Instagram): **bytes** of
/// UTF-8, not characters (Meta's Instagram send-message page).
pub const INSTAGRAM_TEXT_MAX_BYTES: usize = 1000;
/// Instagram quick replies per message (Instagram's quick-replies page).
pub const INSTAGRAM_QUICK_REPLIES_MAX: usize = 13;
/// Instagram quick reply title: characters.
pub const INSTAGRAM_QUICK_REPLY_TITLE_MAX_CHARS: usize = 20;
/// Instagram button template: at most this many buttons (Instagram's button-template page).
/// The page gives no limit on the template's text, so none is applied.
pub const INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS: usize = 3;
/// Instagram image (png, jpeg, gif): 8 MB, read as MiB like Messenger's 25 MB.
pub const INSTAGRAM_IMAGE_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Instagram video (mp4, ogg, avi, mov, webm) and audio (aac, m4a, wav, mp4): 25 MB (MiB).
///
/// The product's reference gives no size for Instagram's PDF files, nor a count of images in
/// one send, elements in a generic template or buttons per element (only a third party's
/// figures), so those are not limited here: Meta's answer decides.
pub const INSTAGRAM_VIDEO_AUDIO_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// The MIME types Instagram takes, per kind of attachment (Meta's Instagram send-message and
/// attachment-upload pages; PDF since 2025-12-19).
pub const INSTAGRAM_MEDIA_TYPES: &[(&str, &[&str])] = &[
    ("image", &["image/png", "image/jpeg", "image/gif"]),
    (
        "video",
        &[
            "video/mp4",
            "video/ogg",
            "video/x-msvideo",
            "video/avi",
            "video/quicktime",
            "video/webm",
        ],
    ),
    (
        "audio",
        &[
            "audio/aac",
            "audio/mp4",
            "audio/x-m4a",
            "audio/m4a",
            "audio/wav",
            "audio/x-wav",
            "audio/wave",
        ],
    ),
    ("file", &["application/pdf"]),
];

/// Validation stops listing after this many violations (bad input of any size stays cheap).
pub const MAX_VIOLATIONS: usize = 100;

/// An offending value is cut to this many characters in a violation.
pub const VALUE_MAX_CHARS: usize = 100;

/// Milliseconds in an hour.
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;
