//! Webhook bodies: the corpus of realistic (and some broken) bodies, lenient parsing event by
//! event, and a property test that parsing never panics and never drops an event.

mod corpus;
mod instagram;
mod lenient;

use messenger_model::webhook::EventKind;
use serde_json::Value;

/// A short name for an event kind, for comparing lists of kinds.
pub(crate) fn kind_name(kind: &EventKind<'_>) -> &'static str {
    match kind {
        EventKind::Message(_) => "message",
        EventKind::Echo(_) => "echo",
        EventKind::Postback(_) => "postback",
        EventKind::Optin(_) => "optin",
        EventKind::Delivery(_) => "delivery",
        EventKind::Read(_) => "read",
        EventKind::Referral(_) => "referral",
        EventKind::Reaction(_) => "reaction",
        EventKind::Edit(_) => "edit",
        EventKind::Feedback(_) => "feedback",
        EventKind::Handover(_) => "handover",
        EventKind::Unknown => "unknown",
    }
}

/// The events of a body as Meta sent it, counted from the raw JSON: every element of each
/// entry's `messaging` and `standby` arrays, each entry that is not an object, and each list
/// (`entry`, `messaging`, `standby`) present but neither an array nor `null` as one.
pub(crate) fn raw_event_count(body: &Value) -> usize {
    fn list(v: Option<&Value>) -> usize {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Array(items)) => items.len(),
            Some(_) => 1,
        }
    }
    match body.get("entry") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(entries)) => entries
            .iter()
            .map(|e| match e {
                Value::Object(_) => list(e.get("messaging")) + list(e.get("standby")),
                _ => 1,
            })
            .sum(),
        Some(_) => 1,
    }
}

/// The `.json` bodies of `tests/<dir>` (not its subdirectories), by file stem, in name order.
pub(crate) fn corpus_files(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}
