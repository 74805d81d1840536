//! How many requests a lane keeps under way to its webhook: enough to keep up with the events
//! whatever the receiver's latency, never more than the target's `max_in_flight`, and fewer
//! when the receiver fails.
//!
//! The limit starts at [`INITIAL`]. Each request that succeeds while the lane has a backlog (more
//! events due than it posts at once) raises it by one, up to `max_in_flight`: a receiver that
//! answers in 100 ms needs 75 requests under way for 750 events a second, and gets there within
//! a second of backlog. Each request that fails halves it (at least 1), so a struggling receiver
//! is not pressed harder. Without a backlog the limit stays where it is.

/// The limit a lane starts with.
pub(super) const INITIAL: usize = 8;

/// A lane's request limit (additive increase while backlogged, multiplicative decrease on
/// failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Concurrency {
    limit: usize,
    cap: usize,
}

impl Concurrency {
    /// A limit of [`INITIAL`] (at most `cap`), growing up to `cap` (at least 1).
    pub(super) fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self {
            limit: INITIAL.min(cap),
            cap,
        }
    }

    /// Requests that may be under way now.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// A request succeeded; `backlogged`: more events were due than the lane could post.
    pub(super) fn succeeded(&mut self, backlogged: bool) {
        if backlogged && self.limit < self.cap {
            self.limit += 1;
        }
    }

    /// A request failed (an answer other than 2xx and 400, a timeout, no connection).
    pub(super) fn failed(&mut self) {
        self.limit = (self.limit / 2).max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_backlogged_up_to_the_cap_and_halves_on_failure() {
        let mut c = Concurrency::new(128);
        assert_eq!(c.limit(), INITIAL);
        c.succeeded(false);
        assert_eq!(c.limit(), INITIAL, "no backlog: no growth");
        for _ in 0..500 {
            c.succeeded(true);
        }
        assert_eq!(c.limit(), 128);
        c.failed();
        assert_eq!(c.limit(), 64);
        for _ in 0..10 {
            c.failed();
        }
        assert_eq!(c.limit(), 1);
        let small = Concurrency::new(4);
        assert_eq!(small.limit(), 4, "a cap under the start");
        assert_eq!(Concurrency::new(0).limit(), 1);
    }
}
