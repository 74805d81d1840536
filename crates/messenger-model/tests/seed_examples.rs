//! Every example request of the seed page: the well-formed ones parse and map to Graph sends
//! (snapshotted), the four malformed ones give a parse error with line and column.

use std::path::PathBuf;

use messenger_model::graph::Recipient;
use messenger_model::{plan_graph_sends, ModelError, SendRequest};

fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/seed-examples exists")
        .map(|e| e.expect("readable entry").path())
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

#[test]
fn there_are_thirteen_seed_examples() {
    assert_eq!(seeds().len(), 13);
}

#[test]
fn well_formed_seeds_parse_and_map() {
    for (name, bytes) in seeds()
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".malformed"))
    {
        let req = SendRequest::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan = plan_graph_sends(&req, &Recipient::psid("PSID-1"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let requests: Vec<_> = plan
            .iter()
            .map(|p| serde_json::to_value(&p.request).unwrap())
            .collect();
        insta::assert_json_snapshot!(format!("graph_sends__{name}"), requests);
    }
}

#[test]
fn malformed_seeds_say_line_and_column() {
    let malformed: Vec<_> = seeds()
        .into_iter()
        .filter(|(n, _)| n.ends_with(".malformed"))
        .collect();
    assert_eq!(malformed.len(), 4);
    for (name, bytes) in malformed {
        match SendRequest::from_json(&bytes) {
            Err(ModelError::Json {
                kind, line, column, ..
            }) => {
                // Every one of them misses the brace closing channelOptions: the parser notices at
                // the end of the document.
                assert_eq!(kind, "eof", "{name}");
                let lines = bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
                assert!(
                    line >= lines && column >= 1,
                    "{name}: line {line} column {column}"
                );
            }
            other => panic!("{name}: expected a JSON error, got {other:?}"),
        }
    }
}

#[test]
fn unknown_to_properties_are_kept() {
    let json = br#"{"to":{"profileId":"p1","loyaltyTier":"gold","nested":{"a":1}},"body":"x","rules":["fbMessenger"]}"#;
    let req = SendRequest::from_json(json).unwrap();
    assert_eq!(req.to.other["loyaltyTier"], "gold");
    let back = serde_json::to_value(&req).unwrap();
    assert_eq!(back["to"]["nested"]["a"], 1);
}

#[test]
fn seed_05_maps_parts_in_order() {
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/seed-examples/05-message-parts-image.json"),
    )
    .unwrap();
    let req = SendRequest::from_json(&bytes).unwrap();
    let plan = plan_graph_sends(&req, &Recipient::psid("P")).unwrap();
    assert_eq!(plan.len(), 2);
    let first = plan[0].request.message.as_ref().unwrap();
    assert_eq!(
        first.text.as_deref(),
        Some("Your order: ABC1245 has been dispatched.")
    );
    let second = plan[1].request.message.as_ref().unwrap();
    assert_eq!(second.attachment.as_ref().unwrap().type_name(), "image");
}
