//! Waiting for a state: how the workspace's tests wait for something to happen.
//!
//! A test waits for what it can observe (a status, a counter, an answer), polling it, and
//! asserts on the state it finds, never on how long it took. The only clock is a guard against
//! hanging, [`HANG_GUARD`], generous enough that a loaded machine never reaches it: reaching it
//! means the state never came, and the test fails with the last thing it saw.

use std::future::Future;
use std::time::Duration;

/// How long a test waits for a state before it gives up: a guard against hanging, never a
/// measure of speed.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Polls `probe` every `every` until it returns `Ok`, and returns that value. `probe` returns
/// `Err(what it saw)` while the state has not come; if [`HANG_GUARD`] runs out first, the test
/// fails with `what` and the last thing the probe saw.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use messenger_test_support::wait::until;
///
/// let mut polls = 0;
/// let seen = until("the third poll", Duration::from_millis(1), || {
///     polls += 1;
///     let now = polls;
///     async move { if now >= 3 { Ok(now) } else { Err(format!("poll {now}")) } }
/// })
/// .await;
/// assert_eq!(seen, 3);
/// # });
/// ```
///
/// # Panics
///
/// When the state has not come within [`HANG_GUARD`].
pub async fn until<T, F, Fut>(what: &str, every: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    until_within(HANG_GUARD, what, every, probe).await
}

/// [`until`] with a guard of `cap` instead of [`HANG_GUARD`], for a wait that is itself bounded
/// by the test's own setup (for example a state that must come while a fault lasts).
///
/// # Panics
///
/// When the state has not come within `cap`.
pub async fn until_within<T, F, Fut>(cap: Duration, what: &str, every: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut last = String::new();
    let waiting = async {
        loop {
            match probe().await {
                Ok(value) => return value,
                Err(seen) => last = seen,
            }
            tokio::time::sleep(every).await;
        }
    };
    let outcome = tokio::time::timeout(cap, waiting).await;
    match outcome {
        Ok(value) => value,
        Err(_) => panic!("{what}: not reached within {cap:?}; last seen: {last}"),
    }
}
