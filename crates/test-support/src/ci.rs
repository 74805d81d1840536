//! Whether a test may be skipped when a service it needs is missing: never in CI.

/// Whether this run is CI's (`CI=true` or `CI=1`): a missing service then fails the test.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips the running test for `why` (a missing service), or panics with `why` under CI.
///
/// The skip is said in one line on the process's own stderr (`<service>: skipped <test>
/// (<why>); set CI=true to fail instead`): libtest captures what `eprintln!` prints and shows it
/// only for failing tests, so a skip would go unseen.
pub fn skip_or_fail(service: &str, why: &str) {
    assert!(!required(), "{service} is required when CI=true: {why}");
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("{service}: skipped {test} ({why}); set CI=true to fail instead\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}
