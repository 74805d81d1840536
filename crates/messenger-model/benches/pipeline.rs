//! The request path without I/O: parse a seed request's bytes into a JSON value, validate it
//! (structural pass, deserialization, rules), map it to Graph sends, and serialize each send.
//!
//! Run: `cargo bench -p messenger-model --bench pipeline -- --warm-up-time 1 --measurement-time 3`
//! (figures in `docs/performance.md`).

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use messenger_model::graph::Recipient;
use messenger_model::plan_graph_sends;
use messenger_validate::{validate_json, Policy, Window};

const PARTS_IMAGE: &[u8] =
    include_bytes!("../../../fixtures/seed-examples/05-message-parts-image.json");
const RECEIPT: &[u8] =
    include_bytes!("../../../fixtures/seed-examples/13-custom-body-receipt.json");

/// One request through the whole pipeline; returns the bytes written, so nothing is optimised
/// away.
fn pipeline(bytes: &[u8], policy: &Policy, recipient: &Recipient) -> usize {
    let value: serde_json::Value = serde_json::from_slice(bytes).expect("seed is JSON");
    let req = validate_json(&value, policy).expect("seed is valid");
    let plan = plan_graph_sends(&req, recipient).expect("seed maps to Graph sends");
    plan.iter()
        .map(|send| {
            serde_json::to_vec(&send.request)
                .expect("Graph request serializes")
                .len()
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let policy = Policy {
        window: Window::Unchecked,
        customer_matching: false,
        now: messenger_model::Timestamp::from_millis(1_778_414_400_000),
    };
    let recipient = Recipient::psid("1234567890123456");
    let mut group = c.benchmark_group("parse_validate_map_serialize");
    for (name, bytes) in [
        ("05-message-parts-image", PARTS_IMAGE),
        ("13-custom-body-receipt", RECEIPT),
    ] {
        // Fail fast (outside the timing) if a seed stops passing.
        assert!(pipeline(bytes, &policy, &recipient) > 0);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| pipeline(black_box(bytes), &policy, &recipient))
        });
    }
    group.finish();

    // Where the time goes, stage by stage, for the larger seed.
    let mut stages = c.benchmark_group("receipt_stages");
    let value: serde_json::Value = serde_json::from_slice(RECEIPT).expect("seed is JSON");
    let req = validate_json(&value, &policy).expect("seed is valid");
    let plan = plan_graph_sends(&req, &recipient).expect("seed maps");
    stages.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(RECEIPT)))
    });
    stages.bench_function("validate_json", |b| {
        b.iter(|| validate_json(black_box(&value), &policy))
    });
    stages.bench_function("validate_request", |b| {
        b.iter(|| messenger_validate::validate_request(black_box(&req), &policy))
    });
    stages.bench_function("plan_graph_sends", |b| {
        b.iter(|| plan_graph_sends(black_box(&req), &recipient))
    });
    stages.bench_function("serialize", |b| {
        b.iter(|| serde_json::to_vec(&black_box(&plan)[0].request))
    });
    stages.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
