//! The README's run command: the demo walks through every step and ends well, run as the real
//! binary (`messenger-gateway demo`), its story checked line by line where it matters.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_messenger-gateway"))
        .arg("demo")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .await
        .expect("running messenger-gateway demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the demo failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("demo.db").exists());
    for line in [
        "== 9. Carol never opens Messenger: the SMS goes after a 2 s delivery deadline",
        "  sent on \"fbMessenger\"; no delivery receipt comes...",
        "  2 s later, sent again on \"sms\"",
        "  rule \"fbMessenger\": \"failed\" (\"no delivery receipt within the deliveryTimeout: 2 s\")",
        "  SMS provider got 1 SMS for Carol",
        "== 10. Alice reacts to the order message with a heart",
        "  the business hears: \"react\" \"love\" on message",
        "== 11. Bea writes on Instagram: answered there, and by SMS when she does not read in time",
        "  the business hears Bea on \"instagram\": \"Do you ship to Lisbon?\"",
        "  sent on \"instagram\"",
        "  Bea read it: message.read on \"instagram\"",
        "  sent on \"instagram\"; Bea does not read it...",
        "  rule \"instagram\": \"failed\" (\"no delivery receipt within the deliveryTimeout: 2 s, not read\")",
        "  SMS provider got 1 SMS for Bea",
        "  it closes as the demo ends: run `messenger-gateway demo --serve` to keep it open",
        "Done.",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "no line {line:?} in:\n{stdout}"
        );
    }
    // The doctor's report for the demo's page, at the start (nothing delivered yet: the likely
    // causes) and at the end (the deliveries of the walk, per field).
    let (start, end) = stdout
        .split_once("== 12. The connection doctor again")
        .unwrap_or_else(|| panic!("no second doctor's report in:\n{stdout}"));
    let start = start
        .split_once("== 0. The connection doctor checks the page")
        .unwrap_or_else(|| panic!("no doctor's report at the start in:\n{stdout}"))
        .1;
    for report in [start, end] {
        assert!(report.contains("debug_token: valid"), "{report}");
        assert!(
            report.contains("subscribed to every field needed"),
            "{report}"
        );
    }
    assert!(start.contains("development mode"), "{start}");
    let webhook = end
        .lines()
        .find(|l| l.contains("last signed deliveries:"))
        .unwrap_or_else(|| panic!("no webhook finding in:\n{end}"));
    assert!(webhook.contains(" messages 20"), "{webhook}");
    assert!(webhook.contains(" message_reactions 20"), "{webhook}");
}
