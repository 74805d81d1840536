//! The README's run command: the demo walks through every step and ends well.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    messenger_gateway::demo::run(dir.path())
        .await
        .expect("the demo succeeds");
    assert!(dir.path().join("demo.db").exists());
}
